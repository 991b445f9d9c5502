"""Reception tickets (受付票): inquiries received by counter, phone or mail; numbered; searchable; answered
and closed; free texts never hold a 12-digit number; auditors read, only staff write."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from rights import services
from rights.models import Channel, ReceptionTicket, TicketStatus
from tests.factories import ResidentFactory
from tests.rights.helpers import TODAY, disclosure

pytestmark = pytest.mark.django_db


def _inquiry(client, **overrides):
    data = {"received_on": "2026-11-20", "channel": "phone", "requester_name": "越谷 一郎",
            "requester_relation": "self", "requester_contact": "048-000-0000", "subject": "接種券の再発行について"}
    data.update(overrides)
    return client.post(reverse("rights:inquiry_create"), data)


def test_an_inquiry_is_received_answered_and_closed(staff_user, client_for):
    resident = ResidentFactory(address_number="500001")
    client = client_for(staff_user)
    response = _inquiry(client, address_number="500001")
    ticket = ReceptionTicket.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("rights:ticket_detail", args=[ticket.pk])
    assert (ticket.kind, ticket.channel, ticket.resident, ticket.received_by) == (
        "inquiry", Channel.PHONE, resident, staff_user)
    assert ticket.number == f"2026-{ticket.pk:06d}"
    assert AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_TICKET_RECEIVED, object_pk=str(resident.pk)).exists()

    answer = reverse("rights:ticket_answer", args=[ticket.pk])
    assert client.post(answer, {"answer": "再発行の手続を案内した"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.answered_by == staff_user
    assert client.post(answer, {"answer": "再発行の手続を案内し、申請を受け付けた", "close": "on"}).status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None
    with pytest.raises(ValidationError):
        services.ticket_answer(actor=staff_user, ticket=ticket, answer="追記", close=False)
    page = client.get(reverse("rights:ticket_detail", args=[ticket.pk])).content.decode()
    assert "再発行の手続を案内し、申請を受け付けた" in page and "完了" in page


def test_bad_input_is_reported_per_field(staff_user, client_for):
    client = client_for(staff_user)
    response = _inquiry(client, address_number="999999999", subject="番号は 1234 5678 9018 です")
    body = response.content.decode()
    assert response.status_code == 200
    assert "この宛名番号の宛名はありません。" in body
    assert not ReceptionTicket.objects.exists()
    response = _inquiry(client, subject="番号は １２３４５６７８９０１８ です")
    body = response.content.decode()
    assert "12桁の数字" in body
    assert not ReceptionTicket.objects.exists()
    with pytest.raises(ValidationError) as exc:
        services.ticket_create(actor=staff_user, channel=Channel.COUNTER, received_on=TODAY.replace(year=2099),
                               requester_name="越谷", subject="内容")
    assert "received_on" in exc.value.error_dict


def test_the_list_searches_by_number_kind_status_and_address_number(staff_user, auditor_user, client_for):
    resident = ResidentFactory(address_number="500002")
    first = services.ticket_create(actor=staff_user, channel=Channel.MAIL, received_on=TODAY,
                                   requester_name="申出 一", subject="問合せA")
    second = disclosure(staff_user, resident).ticket
    client = client_for(auditor_user)  # auditors read the list

    def listed(**query):
        body = client.get(reverse("rights:ticket_list"), query).content.decode()
        return {t.number for t in (first, second) if t.number in body}

    assert listed() == {first.number, second.number}
    assert listed(kind="disclosure") == {second.number}
    assert listed(address_number="500002") == {second.number}
    assert listed(number=first.number) == {first.number}
    assert listed(number=str(second.pk)) == {second.number}
    assert listed(status="closed") == set()
    assert listed(channel="mail") == {first.number}
    assert listed(received_from="2026-11-21") == set()
    # The list's read of the person is on record.
    assert AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, object_pk=str(resident.pk),
                                        additional_data__view="rights:ticket_list", actor=auditor_user).exists()


def test_auditors_and_clinics_cannot_write(auditor_user, clinic_user, staff_user, client_for):
    ticket = services.ticket_create(actor=staff_user, channel=Channel.COUNTER, received_on=TODAY,
                                    requester_name="越谷", subject="内容")
    assert client_for(auditor_user).post(reverse("rights:ticket_answer", args=[ticket.pk]),
                                         {"answer": "x", "close": "on"}).status_code == 403
    assert _inquiry(client_for(auditor_user)).status_code == 403
    assert client_for(clinic_user).get(reverse("rights:ticket_list")).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and ticket.answer == ""


def test_the_resident_page_links_the_desk(staff_user, client_for):
    resident = ResidentFactory()
    page = client_for(staff_user).get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
    for name in ("inquiry_create", "disclosure_create", "correction_create", "suspension_create"):
        assert f'{reverse(f"rights:{name}")}?resident={resident.pk}' in page
    form = client_for(staff_user).get(reverse("rights:disclosure_create"), {"resident": resident.pk})
    assert f'value="{resident.address_number}"' in form.content.decode()


def test_the_identity_check_records_a_document_type_never_a_number(staff_user):
    from rights.models import DisclosureRequest

    resident = ResidentFactory()
    with pytest.raises(ValidationError) as exc:
        disclosure(staff_user, resident, identity_document="my_number_copy")
    assert "identity_document" in exc.value.error_dict
    with pytest.raises(ValidationError) as exc:
        disclosure(staff_user, resident, identity_document="my_number_card", identity_note="番号123456789018を確認")
    assert "identity_note" in exc.value.error_dict
    assert not DisclosureRequest.objects.exists() and not ReceptionTicket.objects.exists()  # nothing half-saved
    request = disclosure(staff_user, resident, identity_document="my_number_card", identity_note="代理人: 委任状を確認")
    assert request.get_identity_document_display() == "個人番号カード（番号は記録しない）"


def test_a_ticket_page_records_the_read_of_the_person(staff_user, client_for):
    from retention.holds import held_resident_ids_from_providers

    resident = ResidentFactory()
    request = disclosure(staff_user, resident)
    assert resident.pk in held_resident_ids_from_providers()  # open disclosure: held against purging
    client_for(staff_user).get(reverse("rights:ticket_detail", args=[request.ticket_id]))
    viewed = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, actor=staff_user,
                                          additional_data__view="rights:ticket_detail")
    assert {(e.content_type.model, e.object_pk) for e in viewed} == {
        ("receptionticket", str(request.ticket_id)), ("resident", str(resident.pk))}
