"""Processing a received change file: parse and check every row, then apply the valid ones — residents'
summary columns and residency histories — in one transaction, set-based.

State machine (checked under ``select_for_update``): RECEIVED -> VALIDATING -> APPLIED | FAILED. Parsing
reads only (``rows_validated`` is updated per chunk for the progress bar); everything is written in the
final transaction, which locks the file again and applies only if it is still VALIDATING. A worker killed
at any moment leaves the file untouched (a re-run starts from scratch) or fully applied; a second worker
or a re-run never applies it twice. On PostgreSQL the final transaction also takes an advisory lock, so
two change files are applied one after the other, each on the state the other left.

Per person, the file's changes are applied in 異動日 order (row order on the same day) through
records.rules.residency.place_change, starting from the stored history (or the one the summary columns
imply, for people who have none yet). A change older than the person's latest known one is placed in
the history but does not overwrite the current 氏名/住所/…: those come from the most recent change.
"""

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from json.encoder import encode_basestring as _json_str  # the encoder of json.dumps(ensure_ascii=False)
from operator import attrgetter, itemgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from audit.chain import BatchEntry
from audit.context import acting_as
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_write, audit_event_record
from imports.csvformat import RowError, is_blank
from imports.feed.layout import (
    CREATING_KINDS,
    FEED_COLUMN_COUNT,
    FEED_COLUMNS,
    FeedRow,
    feed_caches_clear,
    feed_header_problem,
    keys_of,
    validate_feed_row,
)
from imports.models import FeedStatus, ResidentFeedFile, ResidentFeedRowError
from imports.services.parsing import MalformedCsv, csv_records
from imports.services.storage import import_file_read
from koshigaya_vax.batchjobs import gc_paused
from koshigaya_vax.pgcopy import COPY_NULL, COPY_SPECIAL, array_literal, copy_field, copy_text, sequence_ids_take
from records.crypto import encrypt_my_number, my_number_blind_index
from records.models import ResidencyCause, ResidencyPeriod, Resident
from records.rules.residency import (
    BIRTH,
    CORRECTION,
    RESIDENT,
    Change,
    Period,
    change_problem,
    derived_periods,
    is_latest,
    place_change,
    summary_of,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000  # rows parsed between two progress updates
LOOKUP_BATCH = 2000  # keys per lookup query (under SQLite's parameter limit)
WRITE_BATCH = 2000
COPY_CHUNK = 2000  # lines sent to PostgreSQL per write: it parses and indexes them while the next are formatted
_ADVISORY_LOCK = 7_000_007  # pg_advisory_xact_lock key: one change file applied at a time
MASK = "********"

# The resident columns a change may set (besides updated_at).
RESIDENT_FIELDS = (
    "name", "name_kana", "kana_key", "name_key", "sex", "birth_date", "postal_code", "address",
    "my_number_ciphertext", "my_number_index", "residency_status", "moved_in_on", "moved_out_on", "died_on",
)
_MASKED = frozenset({"my_number_ciphertext", "my_number_index"})
_resident_values = itemgetter(*RESIDENT_FIELDS)  # a person's values dict -> RESIDENT_FIELDS' values, in order
# A person's audit entry also holds the residency periods the file wrote for them, under the name of the
# reverse relation (audit.reports labels it with the period model's name and masks it as an address).
HISTORY_KEY = "residency_periods"
PERIOD_FIELDS = ("status", "valid_until", "address", "postal_code", "cause")

_MESSAGES = {
    "resident_unknown": ("宛名番号",
                         "宛名番号に該当する宛名がありません（出生・転入以外の異動は登録済みの宛名が対象です）。"),
    "birth_known": ("宛名番号", "出生の異動ですが、この宛名番号は既に登録されています。"),
    "my_number_taken": ("個人番号", "この個人番号は別の宛名に登録されています。"),
    "my_number_differs": ("個人番号",
                          "個人番号が登録済みの番号と異なります（番号の訂正は異動区分07（職権修正）で送ってください）。"),
    "after_death": ("異動日", "死亡日より後の異動です（職権修正以外は反映できません）。"),
}


class _FileProblem(Exception):
    def __init__(self, code: str, message: str, rows_total: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.rows_total = rows_total


@dataclass
class _Parsed:
    rows_total: int = 0
    rows: list[tuple[int, FeedRow]] = field(default_factory=list)
    errors: list[tuple[int, RowError]] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)


def _parse(feed_file: ResidentFeedFile, records: Iterator[list[str]], *, today: date) -> _Parsed:
    header = next(records, None)
    if header is None or (is_blank(header) and not any(any(r) for r in records)):
        raise _FileProblem("empty", "ファイルが空です（見出し行も異動の行もありません）。")
    if is_blank(header):
        raise _FileProblem("header_missing",
                           "1行目が空行です。1行目に見出し行（" + "、".join(FEED_COLUMNS) + "）を置いてください。")
    problem = feed_header_problem(header)
    if problem:
        raise _FileProblem("header_invalid", problem)
    parsed = _Parsed()
    wrong_width = 0
    number = 1
    for cells in records:
        number += 1
        if not any(cells):
            continue
        parsed.rows_total += 1
        row, errors = validate_feed_row(cells, today=today)
        if row is None:
            parsed.error_rows.add(number)
            parsed.errors.extend((number, error) for error in errors)
            wrong_width += len(cells) != FEED_COLUMN_COUNT
        else:
            parsed.rows.append((number, row))
        if parsed.rows_total % CHUNK_ROWS == 0:
            ResidentFeedFile.objects.filter(pk=feed_file.pk).update(rows_validated=parsed.rows_total)
    if parsed.rows_total == 0:
        raise _FileProblem("header_only", "見出し行だけで、異動の行がありません。")
    if wrong_width == parsed.rows_total:
        raise _FileProblem(
            "column_count",
            f"どの行も列数が様式（{FEED_COLUMN_COUNT}列）と異なります。区切り文字（カンマ）と列の過不足を確認してください。",
            rows_total=parsed.rows_total,
        )
    return parsed


def _start(feed_id: int) -> ResidentFeedFile:
    """RECEIVED (or VALIDATING left by a worker that died) -> VALIDATING, committed at once."""
    with transaction.atomic():
        feed_file = ResidentFeedFile.objects.select_for_update(of=("self",)).select_related("uploaded_by").get(
            pk=feed_id
        )
        if feed_file.status in (FeedStatus.APPLIED, FeedStatus.FAILED):
            return feed_file
        if feed_file.status == FeedStatus.VALIDATING:
            logger.warning("feed file %s: found VALIDATING, re-running it from the start", feed_id)
        feed_file.status = FeedStatus.VALIDATING
        feed_file.started_at = timezone.now()
        feed_file.rows_validated = 0
        feed_file.save(update_fields=["status", "started_at", "rows_validated", "updated_at"])
    return feed_file


def resident_feed_process(*, feed_id: int) -> ResidentFeedFile:
    """Process the file (see the module docstring); returns it APPLIED or FAILED, or unchanged if it
    already was. FAILED is for the file's own problems (empty, header, no row of the right width, broken
    quoting); anything else (the stored file missing or altered, a database error) propagates and
    leaves the file VALIDATING, to be run again."""
    feed_file = _start(feed_id)
    if feed_file.status != FeedStatus.VALIDATING:
        return feed_file
    actor = feed_file.uploaded_by
    with acting_as(actor), gc_paused():
        try:
            try:
                text = import_file_read(clinic_import=feed_file).decode(feed_file.encoding)
                parsed = _parse(feed_file, csv_records(text), today=timezone.localdate())
            except MalformedCsv as exc:
                return _fail(feed_file, actor, _FileProblem("csv_malformed", exc.message))
            except _FileProblem as problem:
                return _fail(feed_file, actor, problem)
            return _apply(feed_file, actor, parsed)
        finally:
            feed_caches_clear()  # the memos hold names and birth dates: none stays in the worker


def _lock_validating(feed_id: int) -> ResidentFeedFile | None:
    locked = ResidentFeedFile.objects.select_for_update().get(pk=feed_id)
    return locked if locked.status == FeedStatus.VALIDATING else None


def _fail(feed_file: ResidentFeedFile, actor: Any, problem: _FileProblem) -> ResidentFeedFile:
    with transaction.atomic():
        locked = _lock_validating(feed_file.pk)
        if locked is None:
            return ResidentFeedFile.objects.get(pk=feed_file.pk)
        locked.status = FeedStatus.FAILED
        locked.failure_message = problem.message
        if problem.rows_total:
            locked.rows_total = problem.rows_total
        locked.rows_validated = problem.rows_total
        locked.rows_applied = locked.rows_error = locked.residents_created = 0
        locked.finished_at = timezone.now()
        locked.full_clean()
        locked.save()
        audit_event_record(event=AuditEvent.FEED_FAILED, actor=actor, target=locked,
                           data={"reason": problem.code, "rows_total": problem.rows_total})
    return locked


# --- Applying -----------------------------------------------------------------------------------------
# People are handled as plain values, never as model instances (Model.__init__ and attribute access cost
# more per row than everything else here): what a change may set as a dict, what was loaded as a tuple.


class _Person:
    """One person's state while the file's changes are applied to it. ``before`` is None for a person the
    file creates."""

    __slots__ = ("address_number", "before", "changed", "id", "periods", "stored", "values")

    def __init__(self, pk: int | None, address_number: str, values: dict[str, Any],
                 before: tuple[Any, ...] | None) -> None:
        self.id = pk
        self.address_number = address_number
        self.values = values  # RESIDENT_FIELDS -> value, as the changes leave them
        self.before = before  # RESIDENT_FIELDS' values as loaded, in that order
        self.stored: dict[date, tuple[int, Period]] = {}  # the stored history by start (empty if none)
        self.periods: list[Period] = []
        self.changed = False


def _batches(items: Sequence[Any], size: int = LOOKUP_BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _column_of(model: type[Model]) -> dict[str, str]:
    return {f.attname: str(f.column) for f in model._meta.concrete_fields}


def _select(model: type[Model], columns: Sequence[str], key: str, keys: Sequence[Any], *,
            lock: bool = False) -> Iterator[tuple[Any, ...]]:
    """Rows (values of ``columns``) whose ``key`` is one of ``keys``: on PostgreSQL one query with the keys
    as one array literal (koshigaya_vax.pgcopy.array_literal), elsewhere a
    query per 2,000 keys. ``lock`` locks the rows (FOR UPDATE) until the transaction ends. Identifiers
    only come from the model's metadata."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column_of = _column_of(model)
        field = model._meta.get_field(key)
        kind = "bigint" if field.get_internal_type() in ("AutoField", "BigAutoField", "ForeignKey") else "text"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(quote(column_of[c]) for c in columns)} FROM {quote(model._meta.db_table)} "  # noqa: S608
                f"WHERE {quote(column_of[key])} = ANY(%s::{kind}[]){' FOR UPDATE' if lock else ''}",
                [array_literal(keys)],
            )
            yield from cursor.fetchall()
        return
    for batch in _batches(keys):
        queryset = model._default_manager.filter(**{f"{key}__in": batch}).order_by()
        yield from (queryset.select_for_update() if lock else queryset).values_list(*columns)


_RESIDENT_COLUMNS = ("id", "address_number", *RESIDENT_FIELDS)
_PERIOD_COLUMNS = ("id", "resident_id", "status", "valid_from", "valid_until", "address", "postal_code", "cause")
_INITIAL = ResidencyCause.INITIAL.value


def _load(address_numbers: list[str], indexes: list[str]) -> tuple[dict[str, _Person], dict[str, str]]:
    """The people the file names (by 宛名番号) with their histories, and which 宛名番号 holds each of
    the file's My Numbers (by blind index): three queries on PostgreSQL."""
    people: dict[str, _Person] = {}
    # Locked: a resident changed elsewhere (a correction request, say) between this read and the feed's
    # write would otherwise lose that change; the other writer waits for this transaction instead.
    for row in _select(Resident, _RESIDENT_COLUMNS, "address_number", address_numbers, lock=True):
        before = tuple(row[2:])
        people[row[1]] = _Person(row[0], row[1], dict(zip(RESIDENT_FIELDS, before, strict=True)), before)
    by_id = {person.id: person for person in people.values()}
    for pk, resident_id, status, valid_from, valid_until, address, postal_code, cause in _select(
        ResidencyPeriod, _PERIOD_COLUMNS, "resident_id", list(by_id)
    ):
        by_id[resident_id].stored[valid_from] = (pk, Period(status, valid_from, valid_until, address, postal_code,
                                                            cause))
    for person in people.values():
        if person.stored:
            person.periods = sorted((p for _, p in person.stored.values()), key=attrgetter("valid_from"))
            continue
        values = person.values
        postal_code = values["postal_code"]
        person.periods = [
            Period(p.status, p.valid_from, p.valid_until, p.address, postal_code, _INITIAL)
            for p in derived_periods(status=values["residency_status"], birth_date=values["birth_date"],
                                     moved_in_on=values["moved_in_on"], moved_out_on=values["moved_out_on"],
                                     died_on=values["died_on"], address=values["address"])
        ]
    owners = {str(index): address_number for index, address_number in _select(
        Resident, ("my_number_index", "address_number"), "my_number_index", indexes)}
    return people, owners


def _new_person(row: FeedRow) -> _Person:
    values = {"my_number_ciphertext": "", "my_number_index": None, "residency_status": RESIDENT,
              "moved_in_on": None, "moved_out_on": None, "died_on": None, "address": row.address,
              "postal_code": row.postal_code}
    _take_items(values, row)
    return _Person(None, row.address_number, values, None)


def _take_items(values: dict[str, Any], row: FeedRow) -> None:
    values["name"], values["name_kana"] = row.name, row.name_kana
    values["kana_key"], values["name_key"] = keys_of(row)
    values["sex"], values["birth_date"] = row.sex, row.birth_date


@dataclass
class _Applied:
    people: dict[str, _Person]
    errors: list[tuple[int, RowError]]
    applied: int


def _apply_rows(rows: list[tuple[int, FeedRow]]) -> _Applied:
    """Every change applied in memory: people's new histories and summary columns, and the row errors."""
    indexes = {row.my_number: my_number_blind_index(row.my_number) for _, row in rows if row.my_number}
    people, owners = _load(sorted({row.address_number for _, row in rows}), sorted(set(indexes.values())))
    errors: list[tuple[int, RowError]] = []
    applied = 0

    def reject(number: int, code: str) -> None:
        column, message = _MESSAGES[code]
        errors.append((number, RowError(column, code, message)))

    by_person: dict[str, list[tuple[int, FeedRow]]] = defaultdict(list)
    for number, row in rows:
        by_person[row.address_number].append((number, row))
    for address_number, changes in by_person.items():
        if len(changes) > 1:
            changes.sort(key=lambda item: (item[1].on, item[0]))
        person = people.get(address_number)
        for number, row in changes:
            creating = person is None
            if creating and row.kind not in CREATING_KINDS:
                reject(number, "resident_unknown")
                continue
            if not creating and row.kind == BIRTH:
                reject(number, "birth_known")
                continue
            candidate = _new_person(row) if person is None else person
            values = candidate.values
            index = indexes.get(row.my_number) if row.my_number else None
            if index is not None:
                owner = owners.get(index)
                if owner is not None and owner != address_number:
                    reject(number, "my_number_taken")
                    continue
                held = values["my_number_index"]
                if held and held != index and row.kind != CORRECTION:
                    reject(number, "my_number_differs")
                    continue
            change = Change(row.kind, row.on, row.address, row.postal_code)
            problem = change_problem(candidate.periods, change)
            if problem is not None:
                reject(number, problem)
                continue
            person = people[address_number] = candidate
            latest = is_latest(person.periods, row.on)
            person.periods = place_change(person.periods, change)
            if latest:
                _take_items(values, row)
            # A My Number is not tied to a date: set when the person has none, replaced by a correction (the
            # only kind that got past the check above with a different one).
            if index is not None and index != values["my_number_index"]:
                if values["my_number_index"]:
                    owners.pop(values["my_number_index"], None)
                values["my_number_ciphertext"] = encrypt_my_number(row.my_number)
                values["my_number_index"] = index
                owners[index] = address_number
            person.changed = True
            applied += 1
        if person is not None and person.changed:
            values = person.values
            summary = summary_of(person.periods, moved_in_on=values["moved_in_on"], address=values["address"],
                                 postal_code=values["postal_code"])
            values["residency_status"] = summary.status
            values["moved_in_on"], values["moved_out_on"] = summary.moved_in_on, summary.moved_out_on
            values["died_on"] = summary.died_on
            values["address"], values["postal_code"] = summary.address, summary.postal_code
    return _Applied({a: p for a, p in people.items() if p.changed}, errors, applied)


# --- Diffs, in django-auditlog's shape --------------------------------------------------------------


def _text(value: Any) -> str:
    """A value as django-auditlog writes it in a diff (None as "None", dates in ISO form)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return "None"
    if kind is date or kind is datetime:
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _diff(names: Sequence[str], before: Sequence[Any], after: Sequence[Any]) -> dict[str, list[str]]:
    """``{name: [old, new]}`` for each of ``names`` whose value changed (a null that became empty did not),
    My Number columns masked."""
    changes = {}
    for name, old, new in zip(names, before, after, strict=True):
        if old == new or (old is None and (new == "" or new is None)):
            continue
        changes[name] = [MASK, MASK] if name in _MASKED else [_text(old), _text(new)]
    return changes


def changes_json(changes: dict[str, list[str]]) -> str:
    """A diff as the text audit.chain.json_text makes of it (keys sorted, compact, not ASCII-escaped),
    without the generic encoder: every value is a pair of strings."""
    return "{" + ",".join(
        f"{_json_str(name)}:[{_json_str(old)},{_json_str(new)}]" for name, (old, new) in sorted(changes.items())
    ) + "}"


# --- Writing ----------------------------------------------------------------------------------------


class _NewPeriod:
    """A period the file opens (``id`` set once taken). A plain class: a file opens tens of thousands."""

    __slots__ = ("id", "period", "resident")

    def __init__(self, resident: _Person, period: Period) -> None:
        self.resident = resident
        self.period = period
        self.id: int | None = None


@dataclass
class _Writes:
    created: list[_Person] = field(default_factory=list)
    updated: list[_Person] = field(default_factory=list)  # people whose own row changes
    # Every person the file touched: the stored periods it changed, as they were, and the periods it added
    # or changed, as they are (the diffs are made from these while PostgreSQL applies the updates).
    histories: list[tuple[_Person, list[Period], list[Period]]] = field(default_factory=list)
    periods_created: list[_NewPeriod] = field(default_factory=list)
    periods_updated: list[tuple[int, int, Period]] = field(default_factory=list)  # (id, resident id, period now)
    # The audit entries of all of it, by action (built while PostgreSQL applies the updates).
    audit: list[tuple[int, list[BatchEntry]]] = field(default_factory=list)


def _period_values(period: Period) -> tuple[str, date | None, str, str, str]:
    """The values of PERIOD_FIELDS a period is stored with."""
    return period.status, period.valid_until, period.address[:200], period.postal_code, period.cause


def _plan(people: dict[str, _Person]) -> _Writes:
    """What to write: residents created and updated, periods created and updated, and what the file did to
    each person's history. place_change never drops a start date (a same-day change replaces the period in
    place), so a stored period is only ever updated."""
    writes = _Writes()
    for person in people.values():
        before: list[Period] = []
        after: list[Period] = []
        for period in person.periods:
            old = person.stored.get(period.valid_from)
            if old is None:
                writes.periods_created.append(_NewPeriod(person, period))
                after.append(period)
                continue
            pk, stored = old
            if _period_values(stored) != _period_values(period):
                writes.periods_updated.append((pk, person.id, period))  # type: ignore[arg-type]
                before.append(stored)
                after.append(period)
        writes.histories.append((person, before, after))
        if person.before is None:
            writes.created.append(person)
        elif person.before != _resident_values(person.values):
            writes.updated.append(person)
    return writes


_NEW_RESIDENT_FIELDS = tuple(f.attname for f in Resident._meta.concrete_fields)
_RESIDENT_DEFAULTS = {f.attname: f.get_default() for f in Resident._meta.concrete_fields}
_NEW_PERIOD_FIELDS = ("id", "resident_id", "valid_from", *PERIOD_FIELDS, "created_at", "updated_at")


def _new_resident_values(person: _Person, now: datetime) -> dict[str, Any]:
    return {**_RESIDENT_DEFAULTS, **person.values, "id": person.id, "address_number": person.address_number,
            "created_at": now, "updated_at": now}


def _write_generic(writes: _Writes, now: datetime) -> None:
    """The ORM's bulk writes (SQLite in development and tests)."""
    created = [Resident(**{k: v for k, v in _new_resident_values(p, now).items() if k != "id"})
               for p in writes.created]
    for batch in _batches(created, WRITE_BATCH):
        Resident.objects.bulk_create(batch)
    for person, resident in zip(writes.created, created, strict=True):
        person.id = resident.pk
    updated = [Resident(id=person.id, address_number=person.address_number, **person.values, updated_at=now)
               for person in writes.updated]
    Resident.objects.bulk_update(updated, [*RESIDENT_FIELDS, "updated_at"], batch_size=500)
    periods = [
        ResidencyPeriod(id=pk, resident_id=resident_id, valid_from=period.valid_from,
                        **dict(zip(PERIOD_FIELDS, _period_values(period), strict=True)), updated_at=now)
        for pk, resident_id, period in writes.periods_updated
    ]
    ResidencyPeriod.objects.bulk_update(periods, [*PERIOD_FIELDS, "updated_at"], batch_size=500)
    new = [
        ResidencyPeriod(resident_id=item.resident.id, valid_from=item.period.valid_from,  # type: ignore[misc]
                        **dict(zip(PERIOD_FIELDS, _period_values(item.period), strict=True)),
                        created_at=now, updated_at=now)
        for item in writes.periods_created
    ]
    for batch in _batches(new, WRITE_BATCH):
        ResidencyPeriod.objects.bulk_create(batch)
    for item, saved in zip(writes.periods_created, new, strict=True):
        item.id = saved.pk


def _day(value: date | None) -> str:
    return COPY_NULL if value is None else value.isoformat()


def _chunks(lines: Iterable[str]) -> Iterator[str]:
    """Lines of COPY text joined a chunk at a time: PostgreSQL parses and indexes one chunk while the next
    is formatted."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == COPY_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _row_lines(rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    for row in rows:
        yield "\t".join([copy_field(value) for value in row]) + "\n"


# The columns of an updated resident's COPY line, in _resident_line's order (RESIDENT_FIELDS and updated_at).
_RESIDENT_LINE_FIELDS = (
    "name", "name_kana", "kana_key", "name_key", "sex", "birth_date", "postal_code", "address",
    "my_number_ciphertext", "my_number_index", "residency_status", "moved_in_on", "moved_out_on", "died_on",
    "updated_at",
)


def _escaped(*texts: str) -> tuple[str, ...]:
    """``texts`` as COPY fields: one search over all of them, escaped one by one only if something needs it
    (names and addresses almost never hold a backslash, tab or line break)."""
    if COPY_SPECIAL.search("".join(texts)) is None:
        return texts
    return tuple(map(copy_text, texts))


def _resident_line(pk: int, values: dict[str, Any], stamp: str) -> str:
    """An updated resident as a line of COPY text: id, then _RESIDENT_LINE_FIELDS (free text escaped)."""
    index = values["my_number_index"]
    name, kana, kana_key, name_key, postal_code, address, ciphertext, status, index = _escaped(
        values["name"], values["name_kana"], values["kana_key"], values["name_key"], values["postal_code"],
        values["address"], values["my_number_ciphertext"], values["residency_status"], "" if index is None else index)
    return (
        f"{pk}\t{name}\t{kana}\t{kana_key}\t{name_key}\t{values['sex']}\t{values['birth_date'].isoformat()}\t"
        f"{postal_code}\t{address}\t{ciphertext}\t{index or COPY_NULL}\t{status}\t{_day(values['moved_in_on'])}\t"
        f"{_day(values['moved_out_on'])}\t{_day(values['died_on'])}\t{stamp}\n"
    )


def _period_line(pk: int, resident_id: int, period: Period, stamp: str) -> str:
    """A new period as a line of COPY text, in _NEW_PERIOD_FIELDS' order."""
    status, address, postal_code, cause = _escaped(period.status, period.address[:200], period.postal_code,
                                                   period.cause)
    return (
        f"{pk}\t{resident_id}\t{period.valid_from.isoformat()}\t{status}\t{_day(period.valid_until)}\t{address}\t"
        f"{postal_code}\t{cause}\t{stamp}\t{stamp}\n"
    )


def _columns(model: type[Model], names: Sequence[str]) -> str:
    """Quoted column names; identifiers only ever come from the model's metadata."""
    column_of = _column_of(model)
    return ", ".join(connection.ops.quote_name(column_of[name]) for name in names)


def _copy_into(cursor: Any, table: str, columns: str, lines: Iterable[str]) -> None:
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for chunk in _chunks(lines):
            copy.write(chunk)


def _update_from(cursor: Any, model: type[Model], names: Sequence[str], lines: Iterable[str], temp: str) -> str:
    """COPY ``lines`` (COPY text of ``id`` and ``names``) into a temporary table; returns the ``UPDATE table
    SET names = ... FROM`` it for the caller to run (the table is dropped at the commit)."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_of = _column_of(model)
    columns = [quote(column_of[name]) for name in ("id", *names)]
    cursor.execute(f"DROP TABLE IF EXISTS {temp}")
    cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
                   f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
    _copy_into(cursor, temp, ", ".join(columns), lines)
    assignments = ", ".join(f"{c} = t.{c}" for c in columns[1:])
    return f"UPDATE {table} SET {assignments} FROM {temp} t WHERE {table}.{columns[0]} = t.{columns[0]}"  # noqa: S608


def _write_postgresql(writes: _Writes, now: datetime) -> None:
    """New rows COPYed straight into their tables with ids taken up front; updates COPYed into temporary
    tables and applied by ``UPDATE ... FROM``. The residents' UPDATE (the longest statement) and the
    foreign-key checks of the new periods run in pipeline mode, while this process builds the audit
    entries (writes.audit)."""
    quote = connection.ops.quote_name
    stamp = now.isoformat()
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # Ids taken up front: rows go in by COPY straight into the tables, and the audit entries know them.
        ids = sequence_ids_take(cursor, {Resident._meta.db_table: len(writes.created),
                                         ResidencyPeriod._meta.db_table: len(writes.periods_created)})
        resident_ids, period_ids = ids[Resident._meta.db_table], ids[ResidencyPeriod._meta.db_table]
        for person, pk in zip(writes.created, resident_ids, strict=True):
            person.id = pk
        for item, pk in zip(writes.periods_created, period_ids, strict=True):
            item.id = pk
        if writes.created:
            values = itemgetter(*_NEW_RESIDENT_FIELDS)
            _copy_into(cursor, quote(Resident._meta.db_table), _columns(Resident, _NEW_RESIDENT_FIELDS),
                       _row_lines(values(_new_resident_values(p, now)) for p in writes.created))
        if writes.periods_created:
            _copy_into(cursor, quote(ResidencyPeriod._meta.db_table), _columns(ResidencyPeriod, _NEW_PERIOD_FIELDS),
                       (_period_line(item.id, item.resident.id, item.period, stamp)  # type: ignore[arg-type]
                        for item in writes.periods_created))
        if writes.periods_updated:
            cursor.execute(_update_from(cursor, ResidencyPeriod, (*PERIOD_FIELDS, "updated_at"), _row_lines(
                (pk, *_period_values(period), now) for pk, _, period in writes.periods_updated
            ), "kvax_feed_periods"))
        statements = ["SET CONSTRAINTS ALL IMMEDIATE"]  # the new periods' foreign keys, checked now
        if writes.updated:
            statements.insert(0, _update_from(cursor, Resident, _RESIDENT_LINE_FIELDS, (
                _resident_line(person.id, person.values, stamp)  # type: ignore[arg-type]
                for person in writes.updated
            ), "kvax_feed_residents"))
        # Pipeline mode: the statements are sent at once and run on the server while this process builds the
        # audit entries; their errors (a constraint) surface when the block ends.
        with connection.connection.pipeline():
            for statement in statements:
                cursor.execute(statement)
            writes.audit = _audit_entries(writes)


def _write(people: dict[str, _Person], now: datetime) -> _Writes:
    """Residents created and updated, periods created and updated, set-based; and their audit entries,
    built (writes.audit) but not yet written."""
    writes = _plan(people)
    if connection.vendor == "postgresql":
        _write_postgresql(writes, now)
    else:
        _write_generic(writes, now)
        writes.audit = _audit_entries(writes)
    return writes


# --- Audit entries ------------------------------------------------------------------------------------
# One entry per person the file created or changed: their field diff in django-auditlog's shape (My Number
# columns masked) and, under HISTORY_KEY, the residency periods written for them (one entry per period
# tripled the entries of a file: some 87,000 periods for 50,000 changes). Built as text and chained by
# audit.services.audit_entries_bulk_write.

_CREATED_RESIDENT_FIELDS = ("address_number", *RESIDENT_FIELDS)
_NOTHING = (None,) * len(_CREATED_RESIDENT_FIELDS)


def _resident_repr(person: _Person) -> str:
    """``str()`` of the resident (records.Resident.__str__: 宛名番号 and name, never the My Number)."""
    return f"{person.address_number} {person.values['name']}"


def _period_text(period: Period) -> str:
    """A period as one line of a history diff: ``2019-04-01–2025-06-01 resident 343-0001 越谷市… (initial)``
    (stored values, as django-auditlog writes them; the end is open while the period is current)."""
    until = "" if period.valid_until is None else period.valid_until.isoformat()
    postal_code = f" {period.postal_code}" if period.postal_code else ""
    address = f" {period.address[:200]}" if period.address else ""
    return f"{period.valid_from.isoformat()}–{until} {period.status}{postal_code}{address} ({period.cause})"


def _history_diff(before: list[Period], after: list[Period]) -> list[str]:
    """The HISTORY_KEY diff: the periods the file changed as they were ("None" if it only added some), and
    the periods it added or changed as they are now, in date order."""
    return ["; ".join(map(_period_text, before)) or "None", "; ".join(map(_period_text, after))]


def _audit_entries(writes: _Writes) -> list[tuple[int, list[BatchEntry]]]:
    """One entry per person the file created or changed, by action, in the order they are chained."""
    residents_created: list[BatchEntry] = []
    residents_changed: list[BatchEntry] = []
    for person, before, after in writes.histories:
        pk = person.id
        values = person.values
        if person.before is None:
            changes = {"id": ["None", str(pk)], HISTORY_KEY: _history_diff(before, after), **_diff(
                _CREATED_RESIDENT_FIELDS, _NOTHING, (person.address_number, *_resident_values(values)))}
            residents_created.append((str(pk), pk, _resident_repr(person), changes_json(changes)))
            continue
        changes = _diff(RESIDENT_FIELDS, person.before, _resident_values(values))
        if after:
            changes[HISTORY_KEY] = _history_diff(before, after)
        if changes:
            residents_changed.append((str(pk), pk, _resident_repr(person), changes_json(changes)))
    return [(AuditLogEntry.Action.CREATE, residents_created), (AuditLogEntry.Action.UPDATE, residents_changed)]


def _audit(writes: _Writes, actor: Any, feed_id: int) -> int:
    """Chain the entries built by _write, each naming the file; returns how many. Last in the transaction:
    the audit chain's head stays locked from here until the commit."""
    return sum(
        audit_entries_bulk_write(actor=actor, action=action, model=Resident, entries=entries, count=len(entries),
                                 additional_data={"feed_file": feed_id})
        for action, entries in writes.audit
    )


def _save_row_errors(feed_id: int, errors: list[tuple[int, RowError]]) -> None:
    for batch in _batches(errors, WRITE_BATCH):
        ResidentFeedRowError.objects.bulk_create([
            ResidentFeedRowError(feed_file_id=feed_id, row_number=number, column=e.column, code=e.code,
                                 message=e.message[:300])
            for number, e in batch
        ])


def _apply(feed_file: ResidentFeedFile, actor: Any, parsed: _Parsed) -> ResidentFeedFile:
    with transaction.atomic():
        locked = _lock_validating(feed_file.pk)
        if locked is None:  # another worker got there first
            return ResidentFeedFile.objects.get(pk=feed_file.pk)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
        now = timezone.now()
        applied = _apply_rows(parsed.rows)
        writes = _write(applied.people, now)
        errors = sorted(parsed.errors + applied.errors, key=lambda item: item[0])
        _save_row_errors(locked.pk, errors)
        error_rows = parsed.error_rows | {number for number, _ in applied.errors}
        locked.status = FeedStatus.APPLIED
        locked.rows_total = locked.rows_validated = parsed.rows_total
        locked.rows_applied = applied.applied
        locked.rows_error = len(error_rows)
        locked.residents_created = len(writes.created)
        locked.failure_message = ""
        locked.finished_at = now
        locked.full_clean()
        locked.save()
        # Last: the audit chain's head stays locked from here until the commit. The event follows the file's
        # entries directly in the chain (the head stays locked in between): "audit_entries" says how many
        # entries before it are the file's writes.
        entries = _audit(writes, actor, locked.pk)
        audit_event_record(
            event=AuditEvent.FEED_APPLIED, actor=actor, target=locked,
            data={"rows_total": locked.rows_total, "rows_applied": locked.rows_applied,
                  "rows_error": locked.rows_error, "residents_created": locked.residents_created,
                  "residents_updated": len(writes.updated), "periods_created": len(writes.periods_created),
                  "periods_updated": len(writes.periods_updated), "audit_entries": entries},
        )
    return locked
