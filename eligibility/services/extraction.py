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
from django.db import connection, transaction
from django.db.models.base import ModelState
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
from eligibility.rules import AGE_BAND_LABELS, PersonFacts, Rule, age_band, age_passes, is_target, prior_doses
from eligibility.selectors import (
    doses_for,
    groups_for,
    periods_for_chunk,
    priority_group_names,
    raw_rows,
    rule_from_version,
)
from records.models import Resident
from records.rules.age import legal_age

PROTECTED_HOLD_REASON = "支援措置対象者（DV等）のため送付を保留"
NO_GROUP = "（なし）"


@dataclass(frozen=True, slots=True)
class Person:
    resident_id: int
    facts: PersonFacts
    is_protected: bool
    use_suspended: bool


def iter_people(*, rules: tuple[tuple[Rule, date], ...] = (),
                chunk_size: int | None = None) -> Iterator[tuple[int, list[Person]]]:
    """Every resident, one id-ordered chunk at a time: ``(residents read, people)``. Three queries per
    chunk (residents, stored residency periods, doses), each a range scan over the chunk's ids, and the
    priority groups once. With ``rules``, only people whose age passes at least one of them are built into facts
    (the age criterion needs nothing but the birth date; the others could not be targets anyway)."""
    size = chunk_size or settings.ELIGIBILITY_EXTRACTION_CHUNK
    # Doses of other vaccines never count: not loaded (all doses when no rule is given).
    vaccine_codes = frozenset().union(*(rule.vaccine_codes for rule, _as_of in rules)) if rules else None
    # Memberships are few (an application each): all of them in one query for the whole run.
    groups = groups_for((), id_range=(0, 2**62))
    last = 0
    while True:
        rows = raw_rows(
            Resident.objects.filter(id__gt=last).order_by("id").values_list(
                "id", "residency_status", "birth_date", "moved_in_on", "moved_out_on", "died_on", "address",
                "is_protected", "use_suspended")[:size]
        )
        if not rows:
            return
        first, last = rows[0][0], rows[-1][0]
        if rules:
            wanted = [row for row in rows if any(age_passes(row[2], rule, as_of) for rule, as_of in rules)]
        else:
            wanted = rows
        people: list[Person] = []
        if wanted:
            periods = periods_for_chunk([row[:7] for row in wanted])
            # Always a range scan over the chunk: the doses of people not wanted cost less to read and
            # ignore than a list of thousands of ids costs to send and plan.
            doses = doses_for((), id_range=(first, last), vaccine_codes=vaccine_codes)
            people = [
                Person(row[0], PersonFacts(birth_date=row[2], periods=tuple(periods[row[0]]),
                                           doses=tuple(doses.get(row[0], ())),
                                           priority_groups=frozenset(groups.get(row[0], ()))),
                       bool(row[7]), bool(row[8]))
                for row in wanted
            ]
        yield len(rows), people


@dataclass
class Tally:
    """Targets of one rule with the counts shown before issuing."""

    targets: list[tuple[int, int, bool, int]]  # (resident id, age on the reference date, protected, dose)
    by_age_band: Counter[str]
    by_group: Counter[str]
    excluded_suspended: int = 0
    held_protected: int = 0

    @classmethod
    def empty(cls) -> "Tally":
        return cls([], Counter(), Counter())

    def add(self, person: Person, as_of: date, dose: int) -> None:
        age = legal_age(person.facts.birth_date, as_of)
        self.targets.append((person.resident_id, age, person.is_protected, dose))
        self.by_age_band[age_band(age)] += 1
        for code in person.facts.priority_groups or (NO_GROUP,):
            self.by_group[code] += 1
        if person.is_protected:
            self.held_protected += 1

    def age_bands(self) -> dict[str, int]:
        return {label: self.by_age_band.get(label, 0) for label in AGE_BAND_LABELS}


def evaluate(rule: Rule, as_of: date, *, on_chunk: Callable[[int], None] | None = None) -> Tally:
    """Every resident against ``rule`` on ``as_of``. Targets under 利用停止 are counted, not kept."""
    tally = Tally.empty()
    processed = 0
    for read, people in iter_people(rules=((rule, as_of),)):
        for person in people:
            if not is_target(person.facts, rule, as_of=as_of):
                continue
            if person.use_suspended:
                tally.excluded_suspended += 1
            else:
                tally.add(person, as_of, rule.dose_number or prior_doses(person.facts, rule, as_of) + 1)
        processed += read
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


def _insert_items(batch: NoticeBatch, targets: list[tuple[int, int, bool, int]]) -> list[NoticeItem]:
    """The batch's items: COPY on PostgreSQL (then their ids read back in one query), bulk_create
    elsewhere. Returns unsaved-looking instances carrying pk, for the audit entries."""
    if connection.vendor != "postgresql":
        return NoticeItem.objects.bulk_create(
            [NoticeItem(batch=batch, resident_id=rid, dose_number=dose, age=age, mail_held=protected,
                        hold_reason=PROTECTED_HOLD_REASON if protected else "")
             for rid, age, protected, dose in targets],
            batch_size=5000,
        )
    table = connection.ops.quote_name(NoticeItem._meta.db_table)
    columns = "batch_id, resident_id, dose_number, age, mail_held, hold_reason, release_reason"
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[attr-defined]
        for rid, age, protected, dose in targets:
            copy.write_row((batch.pk, rid, dose, age, protected, PROTECTED_HOLD_REASON if protected else "", ""))
    return [_item_row(pk, batch.pk, rid, held)
            for pk, rid, held in raw_rows(batch.items.order_by("id").values_list("id", "resident_id", "mail_held"))]


def _item_row(pk: int, batch_id: int, resident_id: int, mail_held: bool) -> NoticeItem:
    """A NoticeItem carrying only what its audit entry reads (pk, batch, resident, mail_held, str()),
    made without Model.__init__ (about 30 µs an instance over every item of the batch). Never saved."""
    item = NoticeItem.__new__(NoticeItem)
    item.__dict__.update(id=pk, batch_id=batch_id, resident_id=resident_id, mail_held=bool(mail_held),
                         _state=ModelState())
    return item


def _item_created_changes(item: Any) -> dict[str, Any]:
    return {"batch": [None, str(item.batch_id)], "resident": [None, str(item.resident_id)],
            "mail_held": [None, str(item.mail_held)]}


def _store(run: ExtractionRun, tally: Tally, group_names: dict[str, str]) -> NoticeBatch:
    with transaction.atomic():
        locked = ExtractionRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != RunStatus.RUNNING:
            raise ValidationError("抽出の状態が変わったため保存しませんでした。")
        batch = NoticeBatch(run=run, campaign=run.campaign, rule=run.rule)
        batch.full_clean()
        batch.save()
        items = _insert_items(batch, tally.targets)
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
    rules = ((current, current_version.reference_date), (draft, draft_reference_date))
    for _read, people in iter_people(rules=rules):
        for person in people:
            before = is_target(person.facts, current, as_of=current_version.reference_date)
            after = is_target(person.facts, draft, as_of=draft_reference_date)
            if person.use_suspended:
                suspended += before or after
                continue
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
