"""Suspension-of-use requests (利用停止請求): granting sets Resident.use_suspended, lifting clears it (unless
another granted suspension stands), both audited; the resident page names the request; requests by
telephone are refused (seed V 1②)."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident
from retention.holds import held_resident_ids_from_providers
from rights import services
from rights.models import Channel, SuspensionStatus, TicketStatus
from tests.factories import ResidentFactory
from tests.rights.helpers import TODAY, suspension

pytestmark = pytest.mark.django_db


def _flag_diffs(resident):
    return [e.changes_dict["use_suspended"] for e in AuditLogEntry.objects.filter(
        action=AuditLogEntry.Action.UPDATE, object_pk=str(resident.pk),
        content_type=ContentType.objects.get_for_model(Resident)).order_by("seq")
        if "use_suspended" in e.changes_dict]


def test_granting_sets_the_flag_and_the_resident_page_names_the_request(staff_user, client_for):
    resident = ResidentFactory()
    request = suspension(staff_user, resident)
    assert not Resident.objects.get(pk=resident.pk).use_suspended  # received is not granted
    client = client_for(staff_user)
    response = client.post(reverse("rights:suspension_decide", args=[request.pk]),
                           {"decision": "grant", "reason": "目的外利用のおそれを確認したため"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.use_suspended and resident.auto_response_blocked
    request.refresh_from_db()
    assert request.status == SuspensionStatus.GRANTED and request.decided_by == staff_user
    assert request.ticket.status == TicketStatus.CLOSED
    assert _flag_diffs(resident) == [["False", "True"]]
    [event] = AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_SUSPENSION_DECIDED)
    assert event.additional_data["use_suspended"] is True and event.object_pk == str(resident.pk)

    page = client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
    assert "利用停止中" in page
    assert f"利用停止請求 受付票 {request.ticket.number}" in page
    assert reverse("rights:ticket_detail", args=[request.ticket_id]) in page
    listing = client.post(reverse("records:resident_search"), {"address_number": resident.address_number})
    assert "利用停止中" in listing.content.decode()

    # Deciding twice is refused.
    with pytest.raises(ValidationError):
        services.suspension_request_decide(actor=staff_user, request=request, grant=False, reason="再決定")


def test_lifting_clears_the_flag_only_when_no_other_suspension_stands(staff_user, client_for):
    resident = ResidentFactory()
    first, second = suspension(staff_user, resident), suspension(staff_user, resident, grounds="別の理由")
    for request in (first, second):
        services.suspension_request_decide(actor=staff_user, request=request, grant=True, reason="認める")
    client = client_for(staff_user)
    lifted = client.post(reverse("rights:suspension_lift", args=[first.pk]), {"reason": "本人の申出により解除"})
    assert lifted.status_code == 302
    resident.refresh_from_db()
    assert resident.use_suspended  # the second still stands
    page = client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
    assert second.ticket.number in page and f"受付票 {first.ticket.number}（" not in page
    services.suspension_request_lift(actor=staff_user, request=second, reason="本人の申出により解除")
    resident.refresh_from_db()
    assert not resident.use_suspended
    assert _flag_diffs(resident) == [["False", "True"], ["True", "False"]]
    assert AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_SUSPENSION_LIFTED).count() == 2
    first.refresh_from_db()
    assert first.status == SuspensionStatus.LIFTED and first.lift_reason == "本人の申出により解除"
    with pytest.raises(ValidationError):
        services.suspension_request_lift(actor=staff_user, request=first, reason="もう一度")


def test_a_refused_request_leaves_the_flag_alone_and_needs_a_reason(staff_user):
    resident = ResidentFactory()
    request = suspension(staff_user, resident)
    with pytest.raises(ValidationError) as exc:
        services.suspension_request_decide(actor=staff_user, request=request, grant=False, reason="")
    assert "decision_reason" in exc.value.error_dict
    services.suspension_request_decide(actor=staff_user, request=request, grant=False, reason="法令に基づく利用のため")
    resident.refresh_from_db()
    assert not resident.use_suspended
    assert _flag_diffs(resident) == []


def test_requests_by_telephone_are_refused_but_inquiries_are_not(staff_user, client_for):
    resident = ResidentFactory()
    with pytest.raises(ValidationError) as exc:
        suspension(staff_user, resident, channel=Channel.PHONE)
    assert "channel" in exc.value.error_dict
    response = client_for(staff_user).post(reverse("rights:suspension_create"), {
        "address_number": resident.address_number, "received_on": "2026-11-20", "channel": "phone",
        "requester_name": "越谷 花子", "requester_relation": "self", "identity_document": "driver_license",
        "grounds": "理由",
    })
    assert response.status_code == 200 and 'class="field__error"' in response.content.decode()
    ticket = services.ticket_create(actor=staff_user, channel=Channel.PHONE, received_on=TODAY,
                                    requester_name="越谷 花子", subject="接種記録の見方について", resident=resident)
    assert ticket.kind == "inquiry"


def test_open_and_granted_requests_hold_the_person_against_purging(staff_user):
    resident, other = ResidentFactory(), ResidentFactory()
    request = suspension(staff_user, resident)
    assert resident.pk in held_resident_ids_from_providers()
    assert other.pk not in held_resident_ids_from_providers()
    services.suspension_request_decide(actor=staff_user, request=request, grant=True, reason="認める")
    assert resident.pk in held_resident_ids_from_providers()
    services.suspension_request_lift(actor=staff_user, request=request, reason="解除")
    assert resident.pk not in held_resident_ids_from_providers()


def test_only_staff_decide(auditor_user, staff_user, client_for):
    request = suspension(staff_user, ResidentFactory())
    with pytest.raises(PermissionDenied):
        services.suspension_request_decide(actor=auditor_user, request=request, grant=True, reason="r")
    assert client_for(auditor_user).post(reverse("rights:suspension_decide", args=[request.pk]),
                                         {"decision": "grant", "reason": "r"}).status_code == 403
    request.refresh_from_db()
    assert request.status == SuspensionStatus.RECEIVED
