"""Target extraction (対象者抽出) over every resident, and the what-if preview of a draft rule.

Set-based: residents are read in id-ordered chunks (ELIGIBILITY_EXTRACTION_CHUNK), each chunk's
residency periods, doses and priority groups in one query apiece, the pure rule applied in memory.
Progress is committed after every chunk so the run's page can follow it; the batch, its items and
their audit entries are stored at the end in one transaction, so a run that fails or is redelivered to
another worker leaves nothing half-written and starts again from the beginning.
"""

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.context import acting_as
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_create, audit_event_record
from eligibility.models import (
    Campaign,
    CampaignRule,
    ExtractionRun,
    NoticeBatch,
    NoticeItem,
    RunStatus,
)
from eligibility.rules import AGE_BAND_LABELS, PersonFacts, Rule, age_band, is_eligible
from eligibility.selectors import doses_for, groups_for, priority_group_names, rule_from_version
from records.models import Resident
from records.rules.age import legal_age
from records.selectors import residency_periods_for

PROTECTED_HOLD_REASON = "支援措置対象者（DV等）のため送付を保留"
NO_GROUP = "（なし）"


@dataclass(frozen=True, slots=True)
class Person:
    resident_id: int
    facts: PersonFacts
    is_protected: bool
    use_suspended: bool


def iter_people(*, chunk_size: int | None = None) -> Iterator[list[Person]]:
    """Every resident with the facts a rule needs, one chunk at a time (four queries per chunk)."""
    size = chunk_size or settings.ELIGIBILITY_EXTRACTION_CHUNK
    last = 0
    while True:
        rows = list(
            Resident.objects.filter(id__gt=last).order_by("id")
            .values_list("id", "birth_date", "is_protected", "use_suspended")[:size]
        )
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        ids = [r[0] for r in rows]
        periods = residency_periods_for(ids)
        doses = doses_for(ids, id_range=(first, last))
        groups = groups_for(ids, id_range=(first, last))
        yield [
            Person(rid, PersonFacts(birth_date=birth, periods=tuple(periods.get(rid, ())),
                                    doses=tuple(doses.get(rid, ())), priority_groups=frozenset(groups.get(rid, ()))),
                   protected, suspended)
            for rid, birth, protected, suspended in rows
        ]


@dataclass
class Tally:
    """Targets of one rule with the counts shown before issuing."""

    targets: list[tuple[int, int, bool]]  # (resident id, age on the reference date, protected)
    by_age_band: Counter[str]
    by_group: Counter[str]
    excluded_suspended: int = 0
    held_protected: int = 0

    @classmethod
    def empty(cls) -> "Tally":
        return cls([], Counter(), Counter())

    def add(self, person: Person, as_of: date) -> None:
        age = legal_age(person.facts.birth_date, as_of)
        self.targets.append((person.resident_id, age, person.is_protected))
        self.by_age_band[age_band(age)] += 1
        for code in person.facts.priority_groups or (NO_GROUP,):
            self.by_group[code] += 1
        if person.is_protected:
            self.held_protected += 1

    def age_bands(self) -> dict[str, int]:
        return {label: self.by_age_band.get(label, 0) for label in AGE_BAND_LABELS}


def evaluate(rule: Rule, as_of: date, *, on_chunk: Callable[[int], None] | None = None) -> Tally:
    tally = Tally.empty()
    processed = 0
    for chunk in iter_people():
        for person in chunk:
            if person.use_suspended:
                tally.excluded_suspended += 1
            elif is_eligible(person.facts, rule, as_of=as_of).eligible:
                tally.add(person, as_of)
        processed += len(chunk)
        if on_chunk is not None:
            on_chunk(processed)
    return tally


@transaction.atomic
def extraction_run_start(*, actor: Any, campaign: Campaign) -> ExtractionRun:
    """Queue an extraction with the campaign's current rule version; the task starts once this commits."""
    from eligibility.tasks import extraction_run_task

    if ExtractionRun.objects.filter(campaign=campaign, status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists():
        raise ValidationError("この接種事業の対象者抽出が実行中です。終わってから実行してください。")
    rule = campaign.current_rule
    run = ExtractionRun(campaign=campaign, rule=rule, started_by=actor)
    run.full_clean()
    run.save()
    audit_event_record(event=AuditEvent.EXTRACTION_STARTED, actor=actor, target=run,
                       data={"run_id": run.pk, "campaign_id": campaign.pk, "rule_version": rule.version})
    run_id = run.pk
    transaction.on_commit(lambda: extraction_run_task.delay(run_id=run_id))
    return run


def _claim(run_id: int) -> ExtractionRun | None:
    with transaction.atomic():
        run = ExtractionRun.objects.select_for_update().select_related("rule", "campaign", "started_by").get(pk=run_id)
        # RUNNING again means the worker that had it died before storing anything: start over.
        if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
            return None
        run.status, run.started_at = RunStatus.RUNNING, timezone.now()
        run.residents_total, run.residents_processed = Resident.objects.count(), 0
        run.save()
        return run


def _item_created_changes(item: Any) -> dict[str, Any]:
    return {"batch": [None, str(item.batch_id)], "resident": [None, str(item.resident_id)],
            "mail_held": [None, str(item.mail_held)]}


def _store(run: ExtractionRun, tally: Tally, group_names: dict[str, str]) -> NoticeBatch:
    dose_number = run.rule.dose_number
    with transaction.atomic():
        locked = ExtractionRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.RUNNING:
            raise ValidationError("抽出の状態が変わったため保存しませんでした。")
        batch = NoticeBatch(run=run, campaign=run.campaign, rule=run.rule)
        batch.full_clean()
        batch.save()
        items = NoticeItem.objects.bulk_create(
            [NoticeItem(batch=batch, resident_id=rid, dose_number=dose_number, age=age, mail_held=protected,
                        hold_reason=PROTECTED_HOLD_REASON if protected else "")
             for rid, age, protected in tally.targets],
            batch_size=5000,
        )
        ExtractionRun.objects.filter(pk=run.pk).update(
            status=RunStatus.DONE, finished_at=timezone.now(), targets=len(tally.targets),
            excluded_suspended=tally.excluded_suspended, held_protected=tally.held_protected,
            counts_by_age_band=tally.age_bands(),
            counts_by_priority_group={group_names.get(k, k): v for k, v in sorted(tally.by_group.items())},
        )
        audit_event_record(event=AuditEvent.EXTRACTION_FINISHED, actor=run.started_by, target=run, data={
            "run_id": run.pk, "batch_id": batch.pk, "targets": len(tally.targets),
            "excluded_suspended": tally.excluded_suspended, "held_protected": tally.held_protected,
        })
        # bulk_create sends no signals: one creation entry per item, last (it holds the chain head).
        audit_entries_bulk_create(
            actor=run.started_by, action=AuditLogEntry.Action.CREATE, objects=items,
            changes=_item_created_changes,
            additional_data={"run_id": run.pk},
        )
    return batch


def extraction_run_execute(*, run_id: int) -> ExtractionRun:
    """Run a queued extraction to the end (idempotent: a finished run is returned as it is)."""
    run = _claim(run_id)
    if run is None:
        return ExtractionRun.objects.get(pk=run_id)
    try:
        with acting_as(run.started_by):
            rule = rule_from_version(run.rule)

            def progress(processed: int) -> None:
                ExtractionRun.objects.filter(pk=run_id).update(residents_processed=processed)

            tally = evaluate(rule, run.rule.reference_date, on_chunk=progress)
            _store(run, tally, priority_group_names())
    except Exception as exc:
        with transaction.atomic():
            ExtractionRun.objects.filter(pk=run_id).update(
                status=RunStatus.FAILED, finished_at=timezone.now(),
                failure_message=f"抽出中にエラーが発生しました（{type(exc).__name__}）。",
            )
            audit_event_record(event=AuditEvent.EXTRACTION_FAILED, actor=run.started_by, target=run,
                               data={"run_id": run_id, "error": type(exc).__name__})
        raise
    return ExtractionRun.objects.get(pk=run_id)


@dataclass(frozen=True)
class WhatIfResult:
    current_targets: int
    draft_targets: int
    newly_eligible: int
    no_longer_eligible: int
    current_by_age_band: dict[str, int]
    draft_by_age_band: dict[str, int]
    newly_by_age_band: dict[str, int]
    dropped_by_age_band: dict[str, int]
    excluded_suspended: int


def _bands(counter: Counter[str]) -> dict[str, int]:
    return {label: counter.get(label, 0) for label in AGE_BAND_LABELS}


@transaction.atomic
def what_if_preview(*, actor: Any, campaign: Campaign, draft: Rule, draft_reference_date: date) -> WhatIfResult:
    """Counts under the current rule and a draft one (not stored), and who would change, in one pass."""
    current_version: CampaignRule = campaign.current_rule
    current = rule_from_version(current_version)
    cur_bands: Counter[str] = Counter()
    new_bands: Counter[str] = Counter()
    gained: Counter[str] = Counter()
    lost: Counter[str] = Counter()
    suspended = 0
    for chunk in iter_people():
        for person in chunk:
            if person.use_suspended:
                suspended += 1
                continue
            before = is_eligible(person.facts, current, as_of=current_version.reference_date).eligible
            after = is_eligible(person.facts, draft, as_of=draft_reference_date).eligible
            if before:
                cur_bands[age_band(legal_age(person.facts.birth_date, current_version.reference_date))] += 1
            if after:
                band = age_band(legal_age(person.facts.birth_date, draft_reference_date))
                new_bands[band] += 1
                if not before:
                    gained[band] += 1
            elif before:
                lost[age_band(legal_age(person.facts.birth_date, current_version.reference_date))] += 1
    result = WhatIfResult(
        current_targets=sum(cur_bands.values()), draft_targets=sum(new_bands.values()),
        newly_eligible=sum(gained.values()), no_longer_eligible=sum(lost.values()),
        current_by_age_band=_bands(cur_bands), draft_by_age_band=_bands(new_bands),
        newly_by_age_band=_bands(gained), dropped_by_age_band=_bands(lost), excluded_suspended=suspended,
    )
    audit_event_record(event=AuditEvent.WHAT_IF_PREVIEWED, actor=actor, target=campaign, data={
        "campaign_id": campaign.pk, "rule_version": current_version.version,
        "current_targets": result.current_targets, "draft_targets": result.draft_targets,
    })
    return result
