"""Reads of the retention app: policies in force, holds, reports and their progress."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum

from records.models import Resident
from retention import permissions
from retention.classes import DataClass, data_class, data_classes
from retention.holds import hold_providers
from retention.models import BatchStatus, LegalHold, PurgeBatch, PurgeItem, PurgeReport, RetentionPolicy

OWN_PROVIDER = "retention.legal_hold"


def open_hold_resident_ids() -> set[int]:
    """Residents under an open administrator's hold (registered as a hold provider in apps.ready)."""
    return set(LegalHold.objects.filter(released_at__isnull=True).values_list("resident_id", flat=True))


def policy_years(*, key: str) -> int:
    """The period in force for a class: the stored policy, else the class's default."""
    stored = RetentionPolicy.objects.filter(data_class=key).values_list("years", flat=True).first()
    return stored if stored is not None else data_class(key).default_years


@dataclass(frozen=True)
class PolicyRow:
    data_class: DataClass
    years: int
    policy: RetentionPolicy | None


def policy_list(*, actor: Any) -> list[PolicyRow]:
    if not actor.has_perm(permissions.VIEW_POLICY):
        raise PermissionDenied
    stored = {p.data_class: p for p in RetentionPolicy.objects.select_related("updated_by")}
    return [
        PolicyRow(cls, stored[cls.key].years if cls.key in stored else cls.default_years, stored.get(cls.key))
        for cls in data_classes()
    ]


def policy_history(*, actor: Any, key: str) -> QuerySet[Any]:
    if not actor.has_perm(permissions.VIEW_POLICY):
        raise PermissionDenied
    from retention.models import RetentionPolicyChange

    return RetentionPolicyChange.objects.filter(policy__data_class=key).select_related("changed_by")


def hold_list(*, actor: Any, open_only: bool = False) -> QuerySet[LegalHold]:
    if not actor.has_perm(permissions.VIEW_HOLD):
        raise PermissionDenied
    qs = LegalHold.objects.select_related("resident", "placed_by", "released_by")
    return qs.filter(released_at__isnull=True) if open_only else qs


def hold_get(*, actor: Any, pk: int) -> LegalHold:
    return hold_list(actor=actor).get(pk=pk)


def hold_resident_lookup(*, actor: Any, address_number: str) -> Resident | None:
    """The person an administrator names by 宛名番号 to place a hold (administrators do not search
    residents: the exact number only)."""
    if not permissions.can_place_hold(actor):
        raise PermissionDenied
    return Resident.objects.filter(address_number=address_number.strip()).first()


def other_hold_providers() -> list[str]:
    """Names of the other apps' hold providers (e.g. open rights requests), shown beside the holds."""
    return sorted(name for name in hold_providers() if name != OWN_PROVIDER)


def report_list(*, actor: Any) -> QuerySet[PurgeReport]:
    if not permissions.can_view_report(actor):
        raise PermissionDenied
    return PurgeReport.objects.select_related("created_by", "approved_by").prefetch_related("items")


def report_get(*, actor: Any, pk: int) -> PurgeReport:
    return report_list(actor=actor).get(pk=pk)


@dataclass(frozen=True)
class Progress:
    batches_total: int
    batches_done: int
    deleted: int
    skipped: int

    @property
    def percent(self) -> int:
        return int(self.batches_done * 100 / self.batches_total) if self.batches_total else 100


def report_progress(*, report: PurgeReport) -> Progress:
    batches = PurgeBatch.objects.filter(item__report=report)
    done = batches.filter(status=BatchStatus.DONE)
    totals = PurgeItem.objects.filter(report=report).aggregate(deleted=Sum("deleted"), skipped=Sum("skipped"))
    return Progress(batches.count(), done.count(), totals["deleted"] or 0, totals["skipped"] or 0)


def class_label(key: str) -> str:
    try:
        return str(data_class(key).label)
    except KeyError:
        return key
