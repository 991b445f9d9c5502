"""What the services of rights share: free-text checks and the ticket's closing."""

import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from koshigaya_vax.logging import redact
from rights.models import ReceptionTicket, TicketStatus


def require(allowed: bool) -> None:
    if not allowed:
        raise PermissionDenied


def clean_text(value: str, *, field: str, required: bool = True, max_length: int = 2000) -> str:
    """Stripped text for a field that the audit log keeps (field diffs, events): required unless told
    otherwise, bounded, and never holding a run of 12 digits — a My Number typed into a free-text box
    would otherwise be written into the append-only log."""
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({field: _("入力してください。")}, code="required")
    if len(value) > max_length:
        raise ValidationError({field: _("%(n)s文字以内で入力してください。") % {"n": max_length}}, code="max_length")
    normalised = unicodedata.normalize("NFKC", value)
    if redact(normalised) != normalised:
        raise ValidationError(
            {field: _("12桁の数字（個人番号のおそれがあるもの）は入力できません。内容は監査記録に残ります。")},
            code="my_number_like",
        )
    return value


def ticket_close(*, actor: Any, ticket: ReceptionTicket, answer: str) -> None:
    """Close ``ticket`` with ``answer`` (kept when staff already wrote one). Caller saves nothing else on
    the ticket and runs inside its own transaction under acting_as(actor)."""
    if ticket.status == TicketStatus.CLOSED:
        return
    ticket.answer = ticket.answer or answer
    ticket.answered_by = actor
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = timezone.now()
    ticket.full_clean()
    ticket.save()
