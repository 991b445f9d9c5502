"""Reads of linkage data, always on behalf of an actor whose permission is checked here."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from linkage import permissions
from linkage.models import Exchange, InboundQuery, InboundStatus, ProvisionRecord


def exchange_list(*, actor: Any, resident_id: int | None = None) -> QuerySet[Exchange]:
    if not actor.has_perm(permissions.VIEW_EXCHANGE):
        raise PermissionDenied
    qs = Exchange.objects.select_related("resident", "requested_by").order_by("-created_at", "-id")
    return qs.filter(resident_id=resident_id) if resident_id is not None else qs


def exchange_get(*, actor: Any, pk: int) -> Exchange:
    return exchange_list(actor=actor).select_related("result").get(pk=pk)


def inbound_list(*, actor: Any) -> QuerySet[InboundQuery]:
    """Those awaiting confirmation first (oldest first), then the rest, newest first."""
    if not actor.has_perm(permissions.VIEW_INBOUND):
        raise PermissionDenied
    waiting_first = Case(When(status=InboundStatus.AWAITING_CONFIRMATION, then=Value(0)), default=Value(1),
                         output_field=IntegerField())
    return (InboundQuery.objects.select_related("resident", "decided_by")
            .annotate(waiting_first=waiting_first).order_by("waiting_first", "-received_at", "-id"))


def inbound_get(*, actor: Any, pk: int) -> InboundQuery:
    return inbound_list(actor=actor).get(pk=pk)


@dataclass(frozen=True)
class ProvisionRecordCriteria:
    date_from: date | None = None
    date_to: date | None = None
    direction: str = ""
    outcome: str = ""
    body_code: str = ""  # the other party, whichever side it was on
    address_number: str = ""

    def as_query(self) -> dict[str, str]:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.__dict__.items() if v}


def _start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def provision_record_search(*, actor: Any, criteria: ProvisionRecordCriteria) -> QuerySet[ProvisionRecord]:
    if not permissions.can_view_provision_records(actor):
        raise PermissionDenied
    qs = ProvisionRecord.objects.select_related("staff").order_by("-completed_at", "-id")
    if criteria.date_from:
        qs = qs.filter(completed_at__gte=_start(criteria.date_from))
    if criteria.date_to:
        qs = qs.filter(completed_at__lt=_start(criteria.date_to + timedelta(days=1)))
    if criteria.direction:
        qs = qs.filter(direction=criteria.direction)
    if criteria.outcome:
        qs = qs.filter(outcome=criteria.outcome)
    if criteria.body_code:
        qs = qs.filter(requester_code=criteria.body_code) | qs.filter(provider_code=criteria.body_code)
    if criteria.address_number:
        qs = qs.filter(address_number=criteria.address_number.strip())
    return qs
