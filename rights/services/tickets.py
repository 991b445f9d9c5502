"""Reception tickets (受付票): inquiries, and the ticket every request is received on."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from records.models import Resident
from rights.models import (
    REQUEST_CHANNELS,
    ReceptionTicket,
    RequesterRelation,
    TicketKind,
    TicketStatus,
)
from rights.permissions import ADD_TICKET, CHANGE_TICKET
from rights.services._common import clean_text, require, ticket_close


def ticket_build(
    *,
    actor: Any,
    kind: str,
    channel: str,
    received_on: date,
    requester_name: str,
    subject: str,
    resident: Resident | None = None,
    requester_relation: str = RequesterRelation.SELF,
    requester_contact: str = "",
) -> ReceptionTicket:
    """A validated, unsaved ticket (the request services save it with their request)."""
    if kind != TicketKind.INQUIRY and channel not in REQUEST_CHANNELS:
        raise ValidationError(
            {"channel": _("開示・訂正・利用停止請求は窓口または郵送（本人確認書類と書面）でのみ受け付けます。"
                          "電話・FAXでの請求は受け付けられません。")},
            code="request_channel",
        )
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": _("受付日に未来の日付は指定できません。")}, code="future")
    ticket = ReceptionTicket(
        kind=kind, channel=channel, received_on=received_on,
        requester_name=clean_text(requester_name, field="requester_name", max_length=100),
        requester_relation=requester_relation,
        requester_contact=clean_text(requester_contact, field="requester_contact", required=False, max_length=100),
        resident=resident, resident_address_number=resident.address_number if resident else "",
        subject=clean_text(subject, field="subject"), received_by=actor,
    )
    ticket.full_clean()
    return ticket


@transaction.atomic
def ticket_create(
    *,
    actor: Any,
    channel: str,
    received_on: date,
    requester_name: str,
    subject: str,
    resident: Resident | None = None,
    requester_relation: str = RequesterRelation.SELF,
    requester_contact: str = "",
) -> ReceptionTicket:
    """Receive an inquiry (問合せ) by counter, phone or mail."""
    require(actor.has_perm(ADD_TICKET))
    ticket = ticket_build(
        actor=actor, kind=TicketKind.INQUIRY, channel=channel, received_on=received_on,
        requester_name=requester_name, subject=subject, resident=resident,
        requester_relation=requester_relation, requester_contact=requester_contact,
    )
    with acting_as(actor):
        ticket.save()
    audit_event_record(event=AuditEvent.RIGHTS_TICKET_RECEIVED, actor=actor, target=resident or ticket,
                       data={"ticket": ticket.pk, "kind": ticket.kind, "channel": ticket.channel})
    return ticket


@transaction.atomic
def ticket_answer(*, actor: Any, ticket: ReceptionTicket, answer: str, close: bool) -> ReceptionTicket:
    """Record what was answered or done; with ``close`` the ticket is finished. A closed ticket is not
    changed again (a new inquiry gets a new ticket)."""
    require(actor.has_perm(CHANGE_TICKET))
    ticket = ReceptionTicket.objects.select_for_update().get(pk=ticket.pk)
    if ticket.status == TicketStatus.CLOSED:
        raise ValidationError({"__all__": _("完了した受付票は変更できません。")}, code="closed")
    answer = clean_text(answer, field="answer")
    with acting_as(actor):
        ticket.answer = answer
        ticket.answered_by = actor
        if close:
            ticket_close(actor=actor, ticket=ticket, answer=answer)
        else:
            ticket.full_clean()
            ticket.save()
    audit_event_record(event=AuditEvent.RIGHTS_TICKET_ANSWERED, actor=actor, target=ticket.resident or ticket,
                       data={"ticket": ticket.pk, "closed": close})
    return ticket

