"""Correction requests (訂正請求): the decision, and the correction applied through records.services (its
field diff audited with the deciding staff member as actor) in the decision's transaction, linked to the
request."""

from datetime import date

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.forms import VaccinationRecordForm
from records.models import VaccinationRecord
from rights import services
from rights.models import CorrectionStatus, TicketStatus
from tests.factories import ResidentFactory, VaccinationRecordFactory
from tests.rights.helpers import correction

pytestmark = pytest.mark.django_db


def _record_post(record, **changes):
    """The record form's data as the browser sends it, with ``changes``."""
    initial = VaccinationRecordForm.initial_from(record)
    data = {}
    for name, value in initial.items():
        if hasattr(value, "pk"):
            value = value.pk
        elif isinstance(value, date):
            value = value.strftime("%Y-%m") if name == "billing_month" else value.isoformat()
        elif isinstance(value, bool):
            value = "on" if value else ""
        data[name] = "" if value is None else value
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def _record_diffs(record_pk):
    return list(AuditLogEntry.objects.filter(content_type=ContentType.objects.get_for_model(VaccinationRecord),
                                             object_pk=str(record_pk), action=AuditLogEntry.Action.UPDATE))


def test_accepting_corrects_the_record_through_the_services_and_is_linked(staff_user, client_for):
    resident = ResidentFactory()
    record = VaccinationRecordFactory(resident=resident, lot_number="AB12-345")
    request = correction(staff_user, resident, record)
    client = client_for(staff_user)
    url = reverse("rights:correction_decide", args=[request.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"decision": "apply", "reason": "医療機関の接種記録で誤りを確認した",
                                 **_record_post(record, lot_number="ZZ99-001")})
    assert response.status_code == 302, response.content.decode()[-3000:]
    record.refresh_from_db()
    assert record.lot_number == "ZZ99-001" and record.updated_by == staff_user
    [diff] = _record_diffs(record.pk)
    assert diff.actor == staff_user
    assert diff.changes_dict["lot_number"] == ["AB12-345", "ZZ99-001"]
    request.refresh_from_db()
    assert request.status == CorrectionStatus.ACCEPTED and request.decided_by == staff_user
    assert request.applied_change == "訂正: LOT-NO"
    assert request.ticket.status == TicketStatus.CLOSED
    [event] = AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_CORRECTION_DECIDED)
    assert event.additional_data == {"request": request.pk, "ticket": request.ticket_id, "decision": "accepted",
                                     "record": record.pk, "applied": "訂正: LOT-NO"}
    assert event.seq > diff.seq  # one transaction: the diff, then the decision
    page = client.get(reverse("rights:ticket_detail", args=[request.ticket_id])).content.decode()
    assert "訂正: LOT-NO" in page and "医療機関の接種記録で誤りを確認した" in page


def test_an_invalid_correction_changes_nothing(staff_user, client_for):
    resident = ResidentFactory()
    record = VaccinationRecordFactory(resident=resident)
    request = correction(staff_user, resident, record)
    url = reverse("rights:correction_decide", args=[request.pk])
    # A vaccination date in the future breaks the record's rules: reported on the field, nothing saved.
    response = client_for(staff_user).post(url, {"decision": "apply", "reason": "訂正",
                                                 **_record_post(record, vaccinated_on="2099-01-01")})
    assert response.status_code == 200
    assert 'class="field__error"' in response.content.decode()
    request.refresh_from_db()
    assert request.status == CorrectionStatus.RECEIVED
    assert _record_diffs(record.pk) == []
    assert not AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_CORRECTION_DECIDED).exists()
    # The same record unchanged is not a correction.
    with pytest.raises(ValidationError):
        services.correction_request_apply(actor=staff_user, request=request, reason="訂正",
                                          data={"lot_number": record.lot_number})


def test_accepting_by_deleting_the_record(staff_user):
    resident = ResidentFactory()
    record = VaccinationRecordFactory(resident=resident)
    request = correction(staff_user, resident, record, requested_change="この接種は受けていません。")
    services.correction_request_apply_delete(actor=staff_user, request=request, reason="別人の記録と確認")
    assert not VaccinationRecord.objects.filter(pk=record.pk).exists()
    [deletion] = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.DELETE, object_pk=str(record.pk),
                                              content_type=ContentType.objects.get_for_model(VaccinationRecord))
    assert deletion.actor == staff_user
    assert request.ticket.number in deletion.additional_data["reason"]
    request.refresh_from_db()
    assert request.record is None and request.record_ref == record.pk
    assert request.status == CorrectionStatus.ACCEPTED


def test_rejecting_needs_a_reason_and_deciding_twice_is_refused(staff_user):
    resident = ResidentFactory()
    request = correction(staff_user, resident)
    with pytest.raises(ValidationError):
        services.correction_request_reject(actor=staff_user, request=request, reason=" ")
    services.correction_request_reject(actor=staff_user, request=request, reason="記録は接種済証と一致している")
    request.refresh_from_db()
    assert request.status == CorrectionStatus.REJECTED
    with pytest.raises(ValidationError):
        services.correction_request_reject(actor=staff_user, request=request, reason="再度")


def test_a_record_of_someone_else_cannot_be_named(staff_user):
    resident, other = ResidentFactory(), ResidentFactory()
    record = VaccinationRecordFactory(resident=other)
    with pytest.raises(ValidationError) as exc:
        correction(staff_user, resident, record)
    assert "record" in exc.value.error_dict
