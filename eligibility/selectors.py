"""Reads of eligibility: campaigns, the facts a rule decides on (one person or many in bulk), decisions,
runs and batches. Each selector for a screen takes the actor and refuses one without the permission."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet

from eligibility import permissions
from eligibility.models import (
    Campaign,
    CampaignRule,
    EligibilityCheck,
    EligibilityDecision,
    ExtractionRun,
    NoticeBatch,
    NoticeItem,
    PriorityGroup,
    PriorityGroupMembership,
    Ticket,
)
from eligibility.rules import Dose, PersonFacts, Rule
from records.models import ExaminationCategory, ResidencyPeriod, Resident, VaccinationRecord, Vaccine
from records.rules.residency import Period, derived_periods
from records.selectors import residency_periods_for


def _require(actor: Any, permission: str) -> None:
    if not permissions.can(actor, permission):
        raise PermissionDenied


def raw_rows(qs: QuerySet[Any]) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset straight from the database cursor, without the ORM's
    per-row conversion (several microseconds a row over hundreds of thousands of rows). Dates and
    numbers come back as they are; booleans are 0/1 on SQLite, so callers wrap them in ``bool``."""
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def rule_from_version(version: CampaignRule) -> Rule:
    """The pure rule of a stored version (the same object every time: decisions are reproducible)."""
    groups = list(version.priority_groups.all())
    return Rule(
        vaccine_codes=frozenset(v.code for v in version.vaccines.all()),
        min_age=version.min_age, max_age=version.max_age,
        allow_non_residents=version.allow_non_residents, allow_later_move_in=version.allow_later_move_in,
        priority_groups=frozenset(g.code for g in groups),
        dose_number=version.dose_number, max_doses=version.max_doses,
        min_interval_days=version.min_interval_days,
        priority_group_names={g.code: g.name for g in groups},
    )


def priority_group_names() -> dict[str, str]:
    return dict(PriorityGroup.objects.values_list("code", "name"))


def person_facts_for(resident_ids: list[int]) -> dict[int, PersonFacts]:
    """Facts of many residents in four queries: birth dates, residency periods (stored history, else
    derived; records.selectors.residency_periods_for), every vaccination given (doses before moving in
    included), active priority groups."""
    births = dict(Resident.objects.filter(id__in=resident_ids).values_list("id", "birth_date"))
    periods = residency_periods_for(list(births))
    doses = doses_for(resident_ids)
    groups = groups_for(resident_ids)
    return {
        rid: PersonFacts(birth_date=birth, periods=tuple(periods.get(rid, ())), doses=tuple(doses.get(rid, ())),
                         priority_groups=frozenset(groups.get(rid, ())))
        for rid, birth in births.items()
    }


def periods_for_chunk(rows: list[tuple[Any, ...]]) -> dict[int, list[Period]]:
    """``records.selectors.residency_periods_for`` for an id-ordered chunk whose summary columns are
    already loaded (``rows`` of id, status, birth date, moved in, moved out, died): the stored history
    by one range scan into plain tuples, else the periods the summary columns imply
    (records.rules.residency.derived_periods) — the same answer without a second resident query or
    model instances."""
    first, last = rows[0][0], rows[-1][0]
    stored: dict[int, list[Period]] = defaultdict(list)
    for rid, status, start, until, address in raw_rows(
        ResidencyPeriod.objects.filter(resident_id__gte=first, resident_id__lte=last)
        .order_by("resident_id", "valid_from").values_list("resident_id", "status", "valid_from", "valid_until",
                                                            "address")
    ):
        stored[rid].append(Period(status, start, until, address))
    out: dict[int, list[Period]] = {}
    for rid, status, birth, moved_in, moved_out, died, address in rows:
        out[rid] = stored.get(rid) or derived_periods(status=status, birth_date=birth, moved_in_on=moved_in,
                                                      moved_out_on=moved_out, died_on=died, address=address)
    return out


def doses_for(resident_ids: Iterable[int], *, id_range: tuple[int, int] | None = None,
              vaccine_codes: frozenset[str] | None = None) -> dict[int, list[Dose]]:
    """Vaccinations given (診察区分 1), by resident, optionally of ``vaccine_codes`` only. ``id_range``
    (first, last) replaces the id list with a range scan for the extraction's chunks."""
    qs = VaccinationRecord.objects.filter(examination_category=ExaminationCategory.VACCINATED)
    # Vaccine codes by id from the (small) master: no join per dose row.
    vaccines = Vaccine.objects.all()
    if vaccine_codes is not None:
        vaccines = vaccines.filter(code__in=sorted(vaccine_codes))
    code_of = dict(vaccines.values_list("id", "code"))
    if vaccine_codes is not None:
        qs = qs.filter(vaccine_id__in=list(code_of))
    if id_range:
        qs = qs.filter(resident_id__gte=id_range[0], resident_id__lte=id_range[1])
    else:
        qs = qs.filter(resident_id__in=list(resident_ids))
    out: dict[int, list[Dose]] = defaultdict(list)
    for rid, on, vaccine_id, before in raw_rows(
        qs.values_list("resident_id", "vaccinated_on", "vaccine_id", "before_move_in")
    ):
        out[rid].append(Dose(on, code_of[vaccine_id], bool(before)))
    return out


def groups_for(resident_ids: Iterable[int], *, id_range: tuple[int, int] | None = None) -> dict[int, set[str]]:
    qs = PriorityGroupMembership.objects.filter(revoked_at__isnull=True)
    if id_range:
        qs = qs.filter(resident_id__gte=id_range[0], resident_id__lte=id_range[1])
    else:
        qs = qs.filter(resident_id__in=list(resident_ids))
    out: dict[int, set[str]] = defaultdict(set)
    for rid, code in qs.values_list("resident_id", "group__code"):
        out[rid].add(code)
    return out


# --- Screens ---------------------------------------------------------------------------------------


def campaign_list(*, actor: Any) -> QuerySet[Campaign]:
    _require(actor, permissions.VIEW_CAMPAIGN)
    return Campaign.objects.all()


def campaign_get(*, actor: Any, pk: int) -> Campaign:
    _require(actor, permissions.VIEW_CAMPAIGN)
    return Campaign.objects.get(pk=pk)


def check_get(*, actor: Any, pk: int) -> EligibilityCheck:
    _require(actor, permissions.CHECK)
    return EligibilityCheck.objects.select_related("campaign", "resident").get(pk=pk)


def decision_list(*, actor: Any, resident: Resident | None = None) -> QuerySet[EligibilityDecision]:
    _require(actor, permissions.VIEW_DECISION)
    qs = EligibilityDecision.objects.select_related("resident", "campaign", "rule", "decided_by")
    if resident is not None:
        qs = qs.filter(resident=resident)
    return qs.order_by("-created_at", "-id")


def run_get(*, actor: Any, pk: int) -> ExtractionRun:
    _require(actor, permissions.VIEW_EXTRACTION)
    return ExtractionRun.objects.select_related("campaign", "rule").get(pk=pk)


def batch_get(*, actor: Any, pk: int) -> NoticeBatch:
    _require(actor, permissions.VIEW_BATCH)
    return NoticeBatch.objects.select_related("campaign", "rule", "run").get(pk=pk)


def batch_items(*, actor: Any, batch: NoticeBatch, mail_held: bool | None = None) -> QuerySet[NoticeItem]:
    _require(actor, permissions.VIEW_BATCH)
    qs = batch.items.select_related("resident", "ticket")
    if mail_held is not None:
        qs = qs.filter(mail_held=mail_held, released_by__isnull=True) if mail_held else qs.exclude(
            mail_held=True, released_by__isnull=True)
    return qs.order_by("id")


def mailable_items(batch: NoticeBatch) -> QuerySet[NoticeItem]:
    """Items that go to the printer: not held, or released by staff."""
    return batch.items.exclude(mail_held=True, released_by__isnull=True).order_by("id")


def tickets_of(*, actor: Any, resident: Resident) -> QuerySet[Ticket]:
    _require(actor, permissions.VIEW_BATCH)
    return resident.tickets.select_related("campaign").order_by("-created_at", "-id")


def ticket_get(*, actor: Any, pk: int) -> Ticket:
    _require(actor, permissions.VIEW_BATCH)
    return Ticket.objects.select_related("campaign", "resident").get(pk=pk)


def memberships_of(*, actor: Any, resident: Resident) -> QuerySet[PriorityGroupMembership]:
    _require(actor, permissions.VIEW_DECISION)
    return resident.priority_groups.filter(revoked_at__isnull=True).select_related("group")


def reference_date_default(campaign: Campaign) -> date:
    return campaign.current_rule.reference_date


@dataclass(frozen=True)
class HeldAboutResident:
    decisions: list[EligibilityDecision]
    tickets: list[Ticket]


def eligibility_held_about(*, resident: Resident) -> HeldAboutResident:
    """Every eligibility decision (campaign, rule version, result, reasons, date) and ticket held about
    ``resident``, oldest first; for the disclosure document (rights), whose service checks its own
    permission."""
    decisions = list(
        EligibilityDecision.objects.filter(resident=resident).select_related("campaign", "rule")
        .order_by("created_at", "id")
    )
    tickets = list(Ticket.objects.filter(resident=resident).select_related("campaign").order_by("issued_on", "id"))
    return HeldAboutResident(decisions=decisions, tickets=tickets)
