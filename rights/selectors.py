"""Reads of rights: the ticket search, a person's open requests (retention holds, banners) and the
contents of the disclosure document."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.utils import timezone

from audit.models import AuditLogEntry
from audit.reports import action_label, clean_text
from audit.selectors import audit_entries_about_resident
from eligibility.models import EligibilityDecision, Ticket
from eligibility.selectors import eligibility_held_about
from records.models import ResidencyStatus, Resident, VaccinationRecord
from records.selectors import residency_periods_for
from rights.models import (
    CorrectionRequest,
    CorrectionStatus,
    DisclosureRequest,
    DisclosureStatus,
    ProtectionChange,
    ReceptionTicket,
    SuspensionRequest,
    SuspensionStatus,
    TicketStatus,
)
from rights.permissions import can_view_protection, can_view_tickets

PAGE_SIZE = 50


@dataclass(frozen=True)
class TicketCriteria:
    """All given criteria must match. None of them is a name: a person is found by 宛名番号, so the
    criteria can travel in a URL without carrying personal data beyond that number."""

    number: str = ""
    kind: str = ""
    status: str = ""
    channel: str = ""
    address_number: str = ""
    received_from: date | None = None
    received_to: date | None = None


def ticket_search(*, actor: Any, criteria: TicketCriteria) -> QuerySet[ReceptionTicket]:
    if not can_view_tickets(actor):
        raise PermissionDenied
    qs = ReceptionTicket.objects.select_related("received_by", "answered_by", "resident")
    if criteria.number:
        digits = criteria.number.strip().rsplit("-", 1)[-1]
        if not digits.isdigit():
            return qs.none()
        qs = qs.filter(pk=int(digits))
    if criteria.kind:
        qs = qs.filter(kind=criteria.kind)
    if criteria.status:
        qs = qs.filter(status=criteria.status)
    if criteria.channel:
        qs = qs.filter(channel=criteria.channel)
    if criteria.address_number:
        qs = qs.filter(resident_address_number=criteria.address_number.strip())
    if criteria.received_from:
        qs = qs.filter(received_on__gte=criteria.received_from)
    if criteria.received_to:
        qs = qs.filter(received_on__lte=criteria.received_to)
    return qs.order_by("-received_on", "-id")


def ticket_get(*, actor: Any, pk: int) -> ReceptionTicket:
    if not can_view_tickets(actor):
        raise PermissionDenied
    return ReceptionTicket.objects.select_related("received_by", "answered_by", "resident").get(pk=pk)


def ticket_request(ticket: ReceptionTicket) -> DisclosureRequest | CorrectionRequest | SuspensionRequest | None:
    """The request received on ``ticket`` (None for an inquiry)."""
    for model in (DisclosureRequest, CorrectionRequest, SuspensionRequest):
        found = model.objects.filter(ticket=ticket).select_related("resident").first()
        if found is not None:
            return found
    return None


def disclosure_get(*, actor: Any, pk: int) -> DisclosureRequest:
    if not can_view_tickets(actor):
        raise PermissionDenied
    return DisclosureRequest.objects.select_related("ticket", "resident").get(pk=pk)


def correction_get(*, actor: Any, pk: int) -> CorrectionRequest:
    if not can_view_tickets(actor):
        raise PermissionDenied
    return CorrectionRequest.objects.select_related("ticket", "resident", "record").get(pk=pk)


def suspension_get(*, actor: Any, pk: int) -> SuspensionRequest:
    if not can_view_tickets(actor):
        raise PermissionDenied
    return SuspensionRequest.objects.select_related("ticket", "resident").get(pk=pk)


def rights_held_resident_ids() -> set[int]:
    """Residents who must not be purged (retention hold provider "rights"): an open disclosure,
    correction or suspension request, or a granted suspension."""
    held: set[int] = set()
    open_requests: list[QuerySet[Any]] = [
        DisclosureRequest.objects.exclude(status=DisclosureStatus.HANDED_OVER),
        CorrectionRequest.objects.filter(status=CorrectionStatus.RECEIVED),
        SuspensionRequest.objects.filter(status__in=[SuspensionStatus.RECEIVED, SuspensionStatus.GRANTED]),
    ]
    for qs in open_requests:
        held.update(qs.filter(resident__isnull=False).values_list("resident_id", flat=True))
    return held


@dataclass(frozen=True)
class ResidentRightsStatus:
    """What the resident page shows about the person's rights: the granted suspensions (the banner names
    them), the protection flag's latest change, and the open requests."""

    suspensions: list[SuspensionRequest]
    protection: ProtectionChange | None
    open_tickets: list[ReceptionTicket]


def resident_rights_status(*, resident: Resident) -> ResidentRightsStatus:
    """For the resident page, whose own permission (records.view_resident) covers what it shows."""
    suspensions = list(
        SuspensionRequest.objects.select_related("ticket", "decided_by")
        .filter(resident=resident, status=SuspensionStatus.GRANTED).order_by("decided_at")
    )
    protection = (
        ProtectionChange.objects.select_related("changed_by").filter(resident=resident).first()
        if resident.is_protected else None
    )
    open_tickets = list(
        ReceptionTicket.objects.filter(resident=resident, status=TicketStatus.OPEN).order_by("-received_on")
    )
    return ResidentRightsStatus(suspensions, protection, open_tickets)


def protection_changes(*, actor: Any, resident_id: int | None = None, limit: int = 200) -> list[ProtectionChange]:
    """The flag's history, newest first (of one person when ``resident_id`` is given)."""
    if not can_view_protection(actor):
        raise PermissionDenied
    qs = ProtectionChange.objects.select_related("changed_by", "resident")
    if resident_id is not None:
        qs = qs.filter(resident_id=resident_id)
    return list(qs[:limit])


def protected_residents(*, actor: Any) -> QuerySet[Resident]:
    if not can_view_protection(actor):
        raise PermissionDenied
    return Resident.objects.filter(is_protected=True).only("pk", "address_number", "name").order_by("address_number")


def resident_by_address_number(*, actor: Any, address_number: str) -> Resident | None:
    """The person an administrator names on the protection page (they cannot search residents)."""
    if not can_view_protection(actor):
        raise PermissionDenied
    return Resident.objects.filter(address_number=address_number.strip()).first()


# --- The disclosure document -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRow:
    seq: int
    at: datetime
    user: str
    what: str
    view: str
    purpose: str


@dataclass(frozen=True)
class HistoryRow:
    seq: int
    at: datetime
    user: str
    action: str
    what: str
    fields: str


@dataclass(frozen=True)
class PeriodRow:
    valid_from: date
    valid_until: date | None
    status_label: str
    address: str


@dataclass
class DisclosureContents:
    resident: Resident
    periods: list[PeriodRow]
    records: list[VaccinationRecord]
    accesses: list[AccessRow] = field(default_factory=list)
    history: list[HistoryRow] = field(default_factory=list)
    tickets: list[ReceptionTicket] = field(default_factory=list)
    suspensions: list[SuspensionRequest] = field(default_factory=list)
    up_to_seq: int = 0
    decisions: list[EligibilityDecision] = field(default_factory=list)
    vaccination_tickets: list[Ticket] = field(default_factory=list)


def _user_label(entry: AuditLogEntry) -> str:
    if entry.actor is None:
        return "（システム）"
    full = f"{entry.actor.last_name} {entry.actor.first_name}".strip()
    return f"{entry.actor.get_username()}（{full}）" if full else entry.actor.get_username()


def _field_labels(entry: AuditLogEntry) -> str:
    model = entry.content_type.model_class()
    labels = []
    for name in (entry.changes_dict or {}):
        try:
            labels.append(str(getattr(model._meta.get_field(name), "verbose_name", name)) if model else name)
        except FieldDoesNotExist:  # a field since removed keeps its column name
            labels.append(name)
    return "、".join(labels)


def disclosure_contents(*, resident: Resident) -> DisclosureContents:
    """Everything held about ``resident``: basic items (My Number masked), residency history,
    vaccination records, eligibility decisions and vaccination tickets (eligibility), their requests to
    the city, and every audit entry about them and their records — reads (who viewed, on which screen,
    for what stated reason) and changes (which items; the values are those shown above).
    For the disclosure service, which checks the permission."""
    labels = dict(ResidencyStatus.choices)
    periods = [
        PeriodRow(p.valid_from, p.valid_until, str(labels.get(p.status, p.status)), p.address)
        for p in residency_periods_for([resident.pk]).get(resident.pk, [])
    ]
    records = list(
        VaccinationRecord.objects.select_related("clinic", "vaccine").filter(resident=resident)
        .order_by("vaccinated_on", "id")
    )
    contents = DisclosureContents(resident=resident, periods=periods, records=records)
    for entry in audit_entries_about_resident(resident_id=resident.pk).iterator(chunk_size=2000):
        data = entry.additional_data or {}
        contents.up_to_seq = max(contents.up_to_seq, entry.seq)
        what = f"{entry.content_type.name}: {clean_text(entry.object_repr)}"
        if entry.action == AuditLogEntry.Action.ACCESS:
            contents.accesses.append(AccessRow(
                seq=entry.seq, at=timezone.localtime(entry.timestamp), user=_user_label(entry), what=what,
                view=str(data.get("view", "")), purpose=clean_text(data.get("purpose", "")),
            ))
        else:
            contents.history.append(HistoryRow(
                seq=entry.seq, at=timezone.localtime(entry.timestamp), user=_user_label(entry),
                action=action_label(entry), what=what, fields=_field_labels(entry),
            ))
    contents.tickets = list(ReceptionTicket.objects.filter(resident=resident).order_by("received_on", "id"))
    contents.suspensions = list(SuspensionRequest.objects.filter(resident=resident).order_by("created_at"))
    eligibility = eligibility_held_about(resident=resident)
    contents.decisions, contents.vaccination_tickets = eligibility.decisions, eligibility.tickets
    return contents
