"""Deleting a record entered in error through the browser: reason required, audited, staff only."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditLogEntry
from records.models import VaccinationRecord
from tests.factories import UserFactory, VaccinationRecordFactory

pytestmark = pytest.mark.django_db


def test_delete_asks_for_a_reason_and_records_it(staff_user, client_for):
    record = VaccinationRecordFactory()
    client = client_for(staff_user)
    url = reverse("records:record_delete", args=[record.pk])

    page = client.get(url)
    assert page.status_code == 200 and "削除の理由" in page.content.decode()
    detail = client.get(reverse("records:resident_detail", args=[record.resident_id])).content.decode()
    assert url in detail

    refused = client.post(url, {"reason": ""})
    assert refused.status_code == 200
    assert VaccinationRecord.objects.filter(pk=record.pk).exists()

    done = client.post(url, {"reason": "二重登録"}, REMOTE_ADDR="192.0.2.7")
    assert done.status_code == 302
    assert not VaccinationRecord.objects.filter(pk=record.pk).exists()
    entry = AuditLogEntry.objects.get(
        content_type=ContentType.objects.get_for_model(VaccinationRecord), object_pk=str(record.pk),
        action=AuditLogEntry.Action.DELETE,
    )
    assert (entry.actor, entry.remote_addr, entry.additional_data) == (staff_user, "192.0.2.7", {"reason": "二重登録"})


@pytest.mark.parametrize("role", [Role.CLINIC, Role.AUDITOR, Role.ADMINISTRATOR])
def test_other_roles_cannot_delete(role, client_for):
    record = VaccinationRecordFactory()
    client = client_for(UserFactory(with_role=role))
    assert client.post(reverse("records:record_delete", args=[record.pk]), {"reason": "x"}).status_code == 403
    assert VaccinationRecord.objects.filter(pk=record.pk).exists()
