"""Writing an import's records in bulk, inside the caller's transaction, and their audit entries.

On PostgreSQL each row gets its id from the table's sequence first; the rows are COPYed (as text lines
formatted here) into a temporary table and moved with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING
RETURNING id``: the unique constraint on the event decides, in the same statement, which rows are already
held (even if another import committed them a moment ago), and the ids that come back are the rows that
went in. That statement and the new rows' foreign-key checks run in pipeline mode: while the server
works, this process builds the rows' audit entries. Elsewhere (SQLite in development and tests) the held
events are looked up first and the rest go in with ``bulk_create``. Bulk writes send no auditlog signals,
so the CREATE entries are built here as text (JSON diff, repr) and chained by
audit.services.audit_entries_bulk_write.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring as _json_str  # the encoder of json.dumps(ensure_ascii=False)
from typing import Any

from django.db import connection

from audit.chain import BatchEntry
from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_write
from imports.selectors import import_existing_events
from koshigaya_vax.pgcopy import COPY_NULL, COPY_SPECIAL, copy_field, copy_text, sequence_ids_take
from records.models import RecordSource, VaccinationRecord

# The values a row contributes, in this order; the rest (id, timestamps, source, import) are the same for
# the whole import. created_by/updated_by stay empty: the import names who answers for its records
# (VaccinationRecord.author), and a user id on every row would cost two foreign-key checks per row.
RecordValues = tuple[
    int, date, int | None, str, int, date, int, str, int, bool, str, str, int, int, Decimal, str, str, str
]
ROW_FIELDS = (
    "resident_id", "vaccinated_on", "clinic_id", "place_text", "age_at_vaccination", "billing_month",
    "examination_category", "lot_number", "vaccine_id", "before_move_in", "screening_doctor",
    "vaccinating_doctor", "payment_category", "fee_yen", "dose_ml", "remarks1", "remarks2", "remarks3",
)
_FIXED_FIELDS = ("created_at", "updated_at", "source", "source_import_id")
_TEMP_TABLE = "kvax_import_rows"
LOOKUP_BATCH = 5000


def event_key(values: RecordValues) -> tuple[int, date, int, int]:
    """(resident, 接種日, vaccine, 診察区分): the one-record-per-event constraint's key."""
    return (values[0], values[1], values[8], values[6])


@dataclass(frozen=True)
class Inserted:
    ids: list[int]  # of the inserted records, in row order
    positions: list[int]  # their positions in the rows given
    held: list[int]  # positions of rows whose event was already recorded (not inserted)
    entries: list[BatchEntry]  # the inserted records' CREATE audit entries, not yet written (records_audit)


def _fixed(import_id: int, now: datetime) -> tuple[Any, ...]:
    return (now, now, RecordSource.CLINIC_IMPORT.value, import_id)


def records_insert(*, rows: Sequence[RecordValues], import_id: int, now: datetime) -> Inserted:
    """Insert the rows whose event is not held yet as records of the import, check their foreign keys
    (PostgreSQL defers them to COMMIT otherwise, when the audit chain's head would be held), and build
    their audit entries (written by records_audit)."""
    if not rows:
        return Inserted(ids=[], positions=[], held=[], entries=[])
    if connection.vendor == "postgresql":
        return _insert_postgresql(rows, _fixed(import_id, now), _Changes(import_id=import_id))
    return _insert_generic(rows, _fixed(import_id, now), _Changes(import_id=import_id))


def _columns(names: Sequence[str]) -> str:
    column_of = {f.attname: f.column for f in VaccinationRecord._meta.concrete_fields}
    return ", ".join(connection.ops.quote_name(str(column_of[name])) for name in names)


def _insert_postgresql(rows: Sequence[RecordValues], fixed: tuple[Any, ...], changes: "_Changes") -> Inserted:
    table = connection.ops.quote_name(VaccinationRecord._meta.db_table)
    columns = _columns(("id", *ROW_FIELDS, *_FIXED_FIELDS))
    key_columns = _columns(("resident_id", "vaccinated_on", "vaccine_id", "examination_category"))
    with connection.cursor() as cursor, connection.wrap_database_errors:
        # Every row's id is taken from the table's sequence first (one round trip): the RETURNING list then
        # says which rows went in without matching rows to keys, and ids of rows found held are left unused.
        table_name = VaccinationRecord._meta.db_table
        ids = sequence_ids_take(cursor, {table_name: len(rows)})[table_name]
        cursor.execute(f"DROP TABLE IF EXISTS {_TEMP_TABLE}")
        cursor.execute(
            # Identifiers only, all from the model's metadata: nothing from the file reaches the SQL text.
            f"CREATE TEMPORARY TABLE {_TEMP_TABLE} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT {columns} FROM {table} WITH NO DATA"
        )
        # Django's cursor wrapper hands .copy() to psycopg's cursor; wrap_database_errors turns psycopg's
        # errors (a check constraint) into Django's.
        with cursor.copy(f"COPY {_TEMP_TABLE} FROM STDIN") as copy:  # type: ignore[attr-defined]
            lines = _CopyLines(fixed)
            for start in range(0, len(rows), _COPY_CHUNK):
                copy.write(lines.format(ids, rows, start, min(start + _COPY_CHUNK, len(rows))))
        # Pipeline mode: the INSERT (no ORDER BY: the ids already say which row is which, and sorting
        # 100,000 wide rows spills to disk) and the check of the new rows' foreign keys go to the server at
        # once, and run there while this process builds an audit entry for every row; the few whose event
        # turns out to be held are dropped. Errors (a constraint) surface when the block ends.
        with connection.connection.pipeline(), connection.cursor() as checks:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_TEMP_TABLE} "  # noqa: S608
                f"ON CONFLICT ({key_columns}) DO NOTHING RETURNING id"
            )
            checks.execute("SET CONSTRAINTS ALL IMMEDIATE")
            entries = [_entry(record_id, rows[position], changes) for position, record_id in enumerate(ids)]
        taken = {record_id for (record_id,) in cursor.fetchall()}
        cursor.execute(f"DROP TABLE {_TEMP_TABLE}")
    positions = [position for position, record_id in enumerate(ids) if record_id in taken]
    return Inserted(
        ids=[ids[position] for position in positions],
        positions=positions,
        held=[position for position, record_id in enumerate(ids) if record_id not in taken],
        entries=[entries[position] for position in positions],
    )


_COPY_CHUNK = 2000


class _CopyLines:
    """Rows as lines of COPY's text format, formatted here rather than field by field in psycopg: the
    codes and numbers are digits, the dates repeat (each distinct one is formatted once), and the
    free-text cells (place, lot, doctors, remarks) are escaped only in the rare row where one holds a
    backslash, tab or line break."""

    def __init__(self, fixed: tuple[Any, ...]) -> None:
        self.dates: dict[date, str] = {}
        self.tail = "\t".join(
            copy_field(v) for v in fixed
        ) + "\n"

    def format(self, ids: Sequence[int], rows: Sequence[RecordValues], start: int, end: int) -> str:
        dates, tail = self.dates, self.tail
        lines = []
        for position in range(start, end):
            (resident, vaccinated_on, clinic, place, age, billing_month, category, lot, vaccine, before_move_in,
             screening, vaccinating, payment, fee, dose, remarks1, remarks2, remarks3) = rows[position]
            if COPY_SPECIAL.search(place + lot + screening + vaccinating + remarks1 + remarks2 + remarks3):
                place, lot, screening, vaccinating, remarks1, remarks2, remarks3 = (
                    copy_text(v) for v in (place, lot, screening, vaccinating, remarks1, remarks2, remarks3))
            day = dates.get(vaccinated_on)
            if day is None:
                day = dates[vaccinated_on] = vaccinated_on.isoformat()
            month = dates.get(billing_month)
            if month is None:
                month = dates[billing_month] = billing_month.isoformat()
            lines.append(
                f"{ids[position]}\t{resident}\t{day}\t{COPY_NULL if clinic is None else clinic}\t{place}\t{age}\t"
                f"{month}\t{category}\t{lot}\t{vaccine}\t{'t' if before_move_in else 'f'}\t{screening}\t"
                f"{vaccinating}\t{payment}\t{fee}\t{dose}\t{remarks1}\t{remarks2}\t{remarks3}\t{tail}"
            )
        return "".join(lines)


def _insert_generic(rows: Sequence[RecordValues], fixed: tuple[Any, ...], changes: "_Changes") -> Inserted:
    held: set[int] = set()
    for start in range(0, len(rows), LOOKUP_BATCH):
        chunk = rows[start:start + LOOKUP_BATCH]
        existing = import_existing_events(
            resident_ids={v[0] for v in chunk}, first_day=min(v[1] for v in chunk), last_day=max(v[1] for v in chunk)
        )
        held.update(start + i for i, values in enumerate(chunk) if event_key(values) in existing)
    names = (*ROW_FIELDS, *_FIXED_FIELDS)
    positions = [position for position in range(len(rows)) if position not in held]
    objects = [VaccinationRecord(**dict(zip(names, (*rows[p], *fixed), strict=True))) for p in positions]
    VaccinationRecord.objects.bulk_create(objects, batch_size=500)
    return Inserted(ids=[obj.pk for obj in objects], positions=positions, held=sorted(held),
                    entries=[_entry(obj.pk, rows[p], changes) for obj, p in zip(objects, positions, strict=True)])


# --- audit ------------------------------------------------------------------------------------------
# django-auditlog's name for each value of a record's CREATE diff ("resident", not "resident_id"), with
# its place in RecordValues; "id" and the import-wide values are added. Sorted: the entry's JSON must be
# audit.chain.json_text of the diff, which sorts keys.
_AUDIT_FIELDS = sorted(
    [(name.removesuffix("_id"), index) for index, name in enumerate(ROW_FIELDS)]
    + [("id", -1), ("source", -2), ("source_import", -3)]
)


_DOSE_PLACES = VaccinationRecord._meta.get_field("dose_ml").decimal_places  # type: ignore[union-attr]


def record_repr(record_id: int, vaccinated_on: date) -> str:
    """``str()`` of the record (records.VaccinationRecord.__str__), its audit entries' object_repr."""
    return f"接種記録 #{record_id} ({vaccinated_on.isoformat()})"


class _Changes:
    """The records as created, in django-auditlog's shape (``{"field": ["None", "value"]}``, foreign keys
    as ids, empty and null values left out as auditlog leaves out what did not change): the 16 items, the
    resident, the source and the import — built as JSON text from the row's values, keys in
    sorted order, each repeating value's ``"name":["None","text"]`` part built once. A record holds no My
    Number."""

    def __init__(self, *, import_id: int) -> None:
        fixed = {-2: RecordSource.CLINIC_IMPORT.value, -3: str(import_id)}
        self.plan: list[tuple[str, int, dict[Any, str] | None]] = []
        for name, index in _AUDIT_FIELDS:
            if index in fixed:
                self.plan.append((f'"{name}":["None",{_json_str(fixed[index])}]', -2, None))
            else:
                # The resident and the record's id are different in every row: not worth remembering.
                cache: dict[Any, str] | None = None if name in ("id", "resident") else {}
                self.plan.append((f'"{name}":["None",', index, cache))

    def json(self, record_id: int, values: RecordValues) -> str:
        parts = []
        for prefix, index, cache in self.plan:
            if index == -2:
                parts.append(prefix)
                continue
            value = record_id if index == -1 else values[index]
            if cache is None:
                parts.append(f'{prefix}"{value}"]')
                continue
            if type(value) is Decimal:
                # As stored (0.5 is kept as 0.50) and remembered by that text: 0.5 == 0.50 as keys.
                value = f"{value:.{_DOSE_PLACES}f}"
            part = cache.get(value)
            if part is None:
                part = cache[value] = _diff_part(prefix, value)
            if part:
                parts.append(part)
        return "{" + ",".join(parts) + "}"


def _diff_part(prefix: str, value: Any) -> str:
    """One value of the diff as auditlog writes it; "" for a value auditlog leaves out (empty, null)."""
    if value is None or value == "":
        return ""
    text = ("True" if value else "False") if type(value) is bool else str(value)
    return f"{prefix}{_json_str(text)}]"


def _entry(record_id: int, values: RecordValues, changes: _Changes) -> BatchEntry:
    return str(record_id), record_id, record_repr(record_id, values[1]), changes.json(record_id, values)


def records_audit(*, inserted: Inserted, actor: Any) -> int:
    """Write one CREATE entry per inserted record (built by records_insert as text, no model instances)
    through audit.services.audit_entries_bulk_write. Call last in the transaction: it holds the audit
    chain's head until the commit. The import is named in each entry's changes (source_import)."""
    return audit_entries_bulk_write(
        actor=actor, action=AuditLogEntry.Action.CREATE, model=VaccinationRecord, entries=inserted.entries,
        count=len(inserted.entries),
    )
