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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from operator import attrgetter
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.db.models.base import ModelState
from django.utils import timezone

from audit.context import acting_as
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_create, audit_event_record
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
from records.crypto import encrypt_my_number, my_number_blind_index
from records.models import ResidencyCause, ResidencyPeriod, Resident
from records.rules.residency import (
    BIRTH,
    CORRECTION,
    Change,
    Period,
    change_problem,
    is_latest,
    place_change,
    summary_of,
)

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000  # rows parsed between two progress updates
LOOKUP_BATCH = 2000  # keys per lookup query (under SQLite's parameter limit)
WRITE_BATCH = 2000
AUDIT_BATCH = 5000
_ADVISORY_LOCK = 7_000_007  # pg_advisory_xact_lock key: one change file applied at a time
MASK = "********"

# The resident columns a change may set (besides updated_at).
RESIDENT_FIELDS = (
    "name", "name_kana", "kana_key", "name_key", "sex", "birth_date", "postal_code", "address",
    "my_number_ciphertext", "my_number_index", "residency_status", "moved_in_on", "moved_out_on", "died_on",
)
_MASKED = frozenset({"my_number_ciphertext", "my_number_index"})
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
    with acting_as(actor):
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


@dataclass
class _Person:
    """One person's state while the file's changes are applied to it."""

    resident: Resident
    is_new: bool
    stored: dict[date, tuple[int, Period]]  # the stored history by start (empty if none is stored)
    periods: list[Period]
    before: dict[str, Any]
    changed: bool = False


def _instance(model: type[Any], values: dict[str, Any], alias: str) -> Any:
    """A saved row as a model instance, built the way Django unpickles one (``__new__``, the values, a fresh
    state) rather than through ``__init__``, which costs more than everything else per row here."""
    obj = object.__new__(model)
    obj.__dict__.update(values)
    obj._state = ModelState()
    obj._state.adding, obj._state.db = False, alias
    return obj


_RESIDENT_ATTNAMES = tuple(f.attname for f in Resident._meta.concrete_fields)


_resident_fields = attrgetter(*RESIDENT_FIELDS)


def _resident_values(resident: Resident) -> dict[str, Any]:
    return dict(zip(RESIDENT_FIELDS, _resident_fields(resident), strict=True))


def _batches(items: Sequence[Any], size: int = LOOKUP_BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _select(model: type[Model], columns: Sequence[str], key: str, keys: Sequence[Any], *,
            lock: bool = False) -> Iterator[tuple[Any, ...]]:
    """Rows (values of ``columns``) whose ``key`` is one of ``keys``: on PostgreSQL one query with the keys
    as one array parameter (psycopg adapts a long list of parameters one by one, slowly), elsewhere a
    query per 2,000 keys. ``lock`` locks the rows (FOR UPDATE) until the transaction ends. Identifiers
    only come from the model's metadata."""
    if not keys:
        return
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
        field = model._meta.get_field(key)
        kind = "bigint" if field.get_internal_type() in ("AutoField", "BigAutoField", "ForeignKey") else "text"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(quote(column_of[c]) for c in columns)} FROM {quote(model._meta.db_table)} "  # noqa: S608
                f"WHERE {quote(column_of[key])} = ANY(%s::{kind}[]){' FOR UPDATE' if lock else ''}",
                [list(keys)],
            )
            yield from cursor.fetchall()
        return
    for batch in _batches(keys):
        queryset = model._default_manager.filter(**{f"{key}__in": batch}).order_by()
        yield from (queryset.select_for_update() if lock else queryset).values_list(*columns)


_PERIOD_COLUMNS = ("id", "resident_id", "status", "valid_from", "valid_until", "address", "postal_code", "cause")


def _load(address_numbers: list[str], indexes: list[str]) -> tuple[dict[str, _Person], dict[str, str]]:
    """The people the file names (by 宛名番号) with their histories, and which 宛名番号 holds each of
    the file's My Numbers (by blind index): three queries on PostgreSQL."""
    people: dict[str, _Person] = {}
    alias = connection.alias
    # Locked: a resident changed elsewhere (a correction request, say) between this read and the feed's
    # write would otherwise lose that change; the other writer waits for this transaction instead.
    for values in _select(Resident, _RESIDENT_ATTNAMES, "address_number", address_numbers, lock=True):
        resident = _instance(Resident, dict(zip(_RESIDENT_ATTNAMES, values, strict=True)), alias)
        people[resident.address_number] = _Person(resident, False, {}, [], _resident_values(resident))
    by_id = {person.resident.pk: person for person in people.values()}
    for pk, resident_id, status, valid_from, valid_until, address, postal_code, cause in _select(
        ResidencyPeriod, _PERIOD_COLUMNS, "resident_id", list(by_id)
    ):
        by_id[resident_id].stored[valid_from] = (pk, Period(status, valid_from, valid_until, address, postal_code,
                                                            cause))
    for person in people.values():
        if person.stored:
            person.periods = sorted((p for _, p in person.stored.values()), key=lambda p: p.valid_from)
        else:
            person.periods = [Period(p.status, p.valid_from, p.valid_until, p.address, person.resident.postal_code,
                                     ResidencyCause.INITIAL.value) for p in person.resident.derived_periods()]
    owners = {str(index): address_number for index, address_number in _select(
        Resident, ("my_number_index", "address_number"), "my_number_index", indexes)}
    return people, owners


def _new_person(row: FeedRow) -> _Person:
    resident = Resident(address_number=row.address_number, address=row.address, postal_code=row.postal_code)
    _take_items(resident, row)
    return _Person(resident, True, {}, [], {})


def _take_items(resident: Resident, row: FeedRow) -> None:
    resident.name, resident.name_kana = row.name, row.name_kana
    resident.kana_key, resident.name_key = keys_of(row)
    resident.sex, resident.birth_date = row.sex, row.birth_date


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
            resident = candidate.resident
            index = indexes.get(row.my_number) if row.my_number else None
            if index is not None:
                owner = owners.get(index)
                if owner is not None and owner != address_number:
                    reject(number, "my_number_taken")
                    continue
                if resident.my_number_index and resident.my_number_index != index and row.kind != CORRECTION:
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
                _take_items(resident, row)
            # A My Number is not tied to a date: set when the person has none, replaced by a correction (the
            # only kind that got past the check above with a different one).
            if index is not None and index != resident.my_number_index:
                if resident.my_number_index:
                    owners.pop(resident.my_number_index, None)
                resident.my_number_ciphertext = encrypt_my_number(row.my_number)
                resident.my_number_index = index
                owners[index] = address_number
            person.changed = True
            applied += 1
        if person is not None and person.changed:
            resident = person.resident
            summary = summary_of(person.periods, moved_in_on=resident.moved_in_on, address=resident.address,
                                 postal_code=resident.postal_code)
            resident.residency_status = summary.status
            resident.moved_in_on, resident.moved_out_on = summary.moved_in_on, summary.moved_out_on
            resident.died_on = summary.died_on
            resident.address, resident.postal_code = summary.address, summary.postal_code
    return _Applied({a: p for a, p in people.items() if p.changed}, errors, applied)


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


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    changes = {}
    for name, new in after.items():
        old = before.get(name)
        if old == new or (old is None and (new == "" or new is None)):
            continue
        changes[name] = [MASK, MASK] if name in _MASKED else [_text(old), _text(new)]
    return changes


def _pg_update(model: type[Model], names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """``UPDATE table SET names = ... FROM (COPYed rows) WHERE id = ...``: one statement for any number of
    rows (rows are ``(id, *values)``). Identifiers only come from the model's metadata."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    columns = [quote(column_of[name]) for name in ("id", *names)]
    temp = quote(f"kvax_feed_{model._meta.model_name}")
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
                       f"SELECT {', '.join(columns)} FROM {table} WITH NO DATA")
        with cursor.copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([v if type(v) is str else _copy_text(v) for v in row])
        assignments = ", ".join(f"{c} = t.{c}" for c in columns[1:])
        cursor.execute(f"UPDATE {table} SET {assignments} FROM {temp} t WHERE {table}.{columns[0]} = t.{columns[0]}")  # noqa: S608
        cursor.execute(f"DROP TABLE {temp}")


def _pg_insert(model: type[Model], names: Sequence[str], rows: list[tuple[Any, ...]],
               keys: Sequence[str]) -> dict[tuple[Any, ...], int]:
    """COPY ``rows`` (values of ``names``) into a temporary table and ``INSERT ... SELECT`` them into the
    model's table: ``{values of keys: new id}``. Identifiers only come from the model's metadata."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in names)
    key_columns = ", ".join(quote(column_of[name]) for name in keys)
    temp = quote(f"kvax_feed_new_{model._meta.model_name}")
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
                       f"SELECT {columns} FROM {table} WITH NO DATA")
        with cursor.copy(f"COPY {temp} ({columns}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row([v if type(v) is str else _copy_text(v) for v in row])
        cursor.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {temp} "  # noqa: S608
                       f"RETURNING id, {key_columns}")
        returned = cursor.fetchall()
        cursor.execute(f"DROP TABLE {temp}")
    return {tuple(row[1:]): row[0] for row in returned}


def _copy_text(value: Any) -> str | None:
    """A value as COPY's text format takes it (psycopg writes str fastest)."""
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if value is None:
        return None
    if kind is bool:
        return "t" if value else "f"
    if kind is date or kind is datetime:
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def _bulk_update(model: type[Model], objects: list[Any], names: Sequence[str]) -> None:
    if not objects:
        return
    if connection.vendor == "postgresql":
        # "id" is the primary key's attname on every model written here: read straight, not through .pk.
        values = attrgetter("id", *names)
        _pg_update(model, names, [values(obj) for obj in objects])
    else:
        model._default_manager.bulk_update(objects, list(names), batch_size=500)  # type: ignore[attr-defined]


@dataclass
class _Writes:
    created: list[Resident] = field(default_factory=list)
    updated: list[tuple[Resident, dict[str, list[str]]]] = field(default_factory=list)
    periods_created: list[ResidencyPeriod] = field(default_factory=list)
    periods_updated: list[tuple[ResidencyPeriod, dict[str, list[str]]]] = field(default_factory=list)


def _write(people: dict[str, _Person], now: datetime) -> _Writes:
    """Residents created and updated, periods created and updated, set-based. place_change never drops a
    start date (a same-day change replaces the period in place), so a stored period is only ever updated."""
    writes = _Writes()
    for person in people.values():
        resident = person.resident
        resident.updated_at = now
        if person.is_new:
            resident.created_at = now
            writes.created.append(resident)
        else:
            changes = _diff(person.before, _resident_values(resident))
            if changes:
                writes.updated.append((resident, changes))
    _insert_residents(writes.created)
    _bulk_update(Resident, [r for r, _ in writes.updated], (*RESIDENT_FIELDS, "updated_at"))

    alias = connection.alias
    for person in people.values():
        resident_id = person.resident.pk
        for period in person.periods:
            values = {"status": period.status, "valid_until": period.valid_until, "address": period.address[:200],
                      "postal_code": period.postal_code, "cause": period.cause}
            old = person.stored.get(period.valid_from)
            if old is None:
                writes.periods_created.append(_instance(ResidencyPeriod, {
                    "id": None, "resident_id": resident_id, "valid_from": period.valid_from, **values,
                    "created_at": now, "updated_at": now,
                }, alias))
                continue
            pk, before = old
            changes = _diff({"status": before.status, "valid_until": before.valid_until, "address": before.address,
                             "postal_code": before.postal_code, "cause": before.cause}, values)
            if changes:
                writes.periods_updated.append((_instance(ResidencyPeriod, {
                    "id": pk, "resident_id": resident_id, "valid_from": period.valid_from, **values,
                    "updated_at": now,
                }, alias), changes))
    _bulk_update(ResidencyPeriod, [p for p, _ in writes.periods_updated], (*PERIOD_FIELDS, "updated_at"))
    _insert_periods(writes.periods_created)
    return writes


_NEW_RESIDENT_FIELDS = tuple(name for name in _RESIDENT_ATTNAMES if name != "id")
_NEW_PERIOD_FIELDS = ("resident_id", "valid_from", *PERIOD_FIELDS, "created_at", "updated_at")


def _insert_residents(residents: list[Resident]) -> None:
    if connection.vendor != "postgresql":
        for batch in _batches(residents, WRITE_BATCH):
            Resident.objects.bulk_create(batch)
        return
    values = attrgetter(*_NEW_RESIDENT_FIELDS)
    ids = _pg_insert(Resident, _NEW_RESIDENT_FIELDS, [values(r) for r in residents], ("address_number",))
    for resident in residents:
        resident.pk = ids[(resident.address_number,)]
        resident._state.adding = False


def _insert_periods(periods: list[ResidencyPeriod]) -> None:
    if connection.vendor != "postgresql":
        created = [ResidencyPeriod(**{name: getattr(p, name) for name in _NEW_PERIOD_FIELDS}) for p in periods]
        for batch in _batches(created, WRITE_BATCH):
            ResidencyPeriod.objects.bulk_create(batch)
        for period, saved in zip(periods, created, strict=True):
            period.pk = saved.pk
        return
    values = attrgetter(*_NEW_PERIOD_FIELDS)
    ids = _pg_insert(ResidencyPeriod, _NEW_PERIOD_FIELDS, [values(p) for p in periods], ("resident_id", "valid_from"))
    for period in periods:
        period.pk = ids[(period.resident_id, period.valid_from)]


def _resident_created_changes(resident: Resident) -> dict[str, list[str]]:
    return {"id": ["None", str(resident.pk)],
            **_diff({}, {"address_number": resident.address_number, **_resident_values(resident)})}


def _period_created_changes(period: ResidencyPeriod) -> dict[str, list[str]]:
    changes = {"id": ["None", str(period.id)], "resident": ["None", str(period.resident_id)],
               "valid_from": ["None", period.valid_from.isoformat()], "status": ["None", period.status]}
    if period.valid_until is not None:
        changes["valid_until"] = ["None", period.valid_until.isoformat()]
    if period.address:
        changes["address"] = ["None", period.address]
    if period.postal_code:
        changes["postal_code"] = ["None", period.postal_code]
    if period.cause:
        changes["cause"] = ["None", period.cause]
    return changes


def _changes_by_pk(batch: Sequence[tuple[Model, dict[str, list[str]]]]) -> Callable[[Model], dict[str, Any]]:
    by_pk = {obj.id: changes for obj, changes in batch}  # type: ignore[attr-defined]
    return lambda obj: by_pk[obj.id]  # type: ignore[attr-defined]


def _audit(writes: _Writes, actor: Any, feed_id: int) -> None:
    """Field diffs in django-auditlog's shape for every bulk write (My Number columns masked)."""
    data = {"feed_file": feed_id}
    groups: list[tuple[int, list[Any], Any]] = [
        (AuditLogEntry.Action.CREATE, writes.created, _resident_created_changes),
        (AuditLogEntry.Action.UPDATE, writes.updated, None),
        (AuditLogEntry.Action.CREATE, writes.periods_created, _period_created_changes),
        (AuditLogEntry.Action.UPDATE, writes.periods_updated, None),
    ]
    for action, items, build in groups:
        for batch in _batches(items, AUDIT_BATCH):
            if build is None:
                objects = [obj for obj, _ in batch]
                audit_entries_bulk_create(actor=actor, action=action, objects=objects,
                                          changes=_changes_by_pk(batch), additional_data=data)
            else:
                audit_entries_bulk_create(actor=actor, action=action, objects=list(batch), changes=build,
                                          additional_data=data)


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
        # Last: the audit chain's head stays locked from here until the commit.
        _audit(writes, actor, locked.pk)
        audit_event_record(
            event=AuditEvent.FEED_APPLIED, actor=actor, target=locked,
            data={"rows_total": locked.rows_total, "rows_applied": locked.rows_applied,
                  "rows_error": locked.rows_error, "residents_created": locked.residents_created,
                  "residents_updated": len(writes.updated), "periods_created": len(writes.periods_created),
                  "periods_updated": len(writes.periods_updated)},
        )
    return locked
