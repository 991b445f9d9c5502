"""The field-diff tier of the audit trail: every write names its actor; no entry holds a My Number."""

import contextvars
import json

import pytest
from auditlog.context import set_actor
from django.contrib.contenttypes.models import ContentType

from accounts.roles import Role
from audit.context import acting_as
from audit.models import AuditLogEntry
from records.crypto import decrypt_my_number
from records.models import Resident, VaccinationRecord
from records.services import vaccination_record_create, vaccination_record_delete, vaccination_record_update
from tests.factories import ResidentFactory, UserFactory, record_kwargs

pytestmark = pytest.mark.django_db


def entries_for(model, pk):
    return AuditLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model), object_pk=str(pk)
    ).order_by("timestamp", "id")


def test_create_change_delete_each_name_the_actor():
    creator, editor, deleter = (UserFactory(with_role=Role.STAFF) for _ in range(3))
    resident = ResidentFactory()
    record = vaccination_record_create(actor=creator, **record_kwargs(resident))
    vaccination_record_update(actor=editor, record=record, data={"fee_yen": 1000})
    vaccination_record_delete(actor=deleter, record=record, reason="二重入力のため")
    log = list(entries_for(VaccinationRecord, record.pk))
    assert [(e.action, e.actor) for e in log] == [
        (AuditLogEntry.Action.CREATE, creator),
        (AuditLogEntry.Action.UPDATE, editor),
        (AuditLogEntry.Action.DELETE, deleter),
    ]
    assert log[1].changes_dict["fee_yen"] == ["3520", "1000"]
    assert log[2].additional_data == {"reason": "二重入力のため"}


def test_acting_as_keeps_the_outer_context():
    outer, inner = UserFactory(), UserFactory()
    resident = ResidentFactory()

    def request_like():
        # auditlog's bare set_actor never resets its context variable: run it in a copy of the context
        # (as audit.middleware does for requests) so nothing leaks into later tests.
        with set_actor(outer, remote_addr="192.0.2.10"):
            with acting_as(inner):
                created = vaccination_record_create(actor=inner, **record_kwargs(resident))
            return created, vaccination_record_update(actor=outer, record=created, data={"fee_yen": 10})

    first, second = contextvars.copy_context().run(request_like)
    created, updated = entries_for(VaccinationRecord, first.pk)
    assert (created.actor, created.remote_addr) == (inner, "192.0.2.10")
    assert (updated.actor, updated.remote_addr) == (outer, "192.0.2.10")
    assert second.updated_by == outer


def test_no_audit_entry_contains_a_my_number():
    actor = UserFactory(with_role=Role.STAFF)
    residents = [ResidentFactory(actor=actor) for _ in range(20)]
    for resident in residents:
        vaccination_record_create(actor=actor, **record_kwargs(resident))
    numbers = [decrypt_my_number(r.my_number_ciphertext) for r in Resident.objects.all()]
    assert len(numbers) == 20
    entries = list(AuditLogEntry.objects.all())
    assert len(entries) >= 40
    for entry in entries:
        blob = json.dumps(
            [entry.changes, entry.changes_text, entry.object_repr, entry.additional_data, entry.serialized_data],
            ensure_ascii=False,
        )
        for number in numbers:
            assert number not in blob
            # Nor most of it: any 8 consecutive digits of it (timestamps and ids have shorter digit runs, so
            # a match can only be a leak).
            assert not any(number[i : i + 8] in blob for i in range(5))


def test_my_number_fields_are_masked_completely():
    resident = ResidentFactory()
    entry = entries_for(Resident, resident.pk).get(action=AuditLogEntry.Action.CREATE)
    assert entry.changes_dict["my_number_ciphertext"][1] == "********"
    assert entry.changes_dict["my_number_index"][1] == "********"
