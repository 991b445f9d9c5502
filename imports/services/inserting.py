"""Writing an import's records in bulk, inside the caller's transaction, and their audit entries.

On PostgreSQL the rows are COPYed into a temporary table and moved with one ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING RETURNING``: the unique constraint on the event decides, in the same statement, which
rows are already held (even if another import committed them a moment ago), and the new ids come back.
Elsewhere (SQLite in development and tests) the held events are looked up first and the rest go in with
``bulk_create``. Bulk writes send no auditlog signals, so the CREATE entries are written here, through
audit.services.audit_entries_bulk_create.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models.base import ModelState

from audit.models import AuditLogEntry
from audit.services import audit_entries_bulk_create
from imports.selectors import import_existing_events
from records.models import RecordSource, VaccinationRecord

# The values a row contributes, in this order; the rest (id, timestamps, source, import, creator) are the
# same for the whole import.
RecordValues = tuple[
    int, date, int | None, str, int, date, int, str, int, bool, str, str, int, int, Decimal, str, str, str
]
ROW_FIELDS = (
    "resident_id", "vaccinated_on", "clinic_id", "place_text", "age_at_vaccination", "billing_month",
    "examination_category", "lot_number", "vaccine_id", "before_move_in", "screening_doctor",
    "vaccinating_doctor", "payment_category", "fee_yen", "dose_ml", "remarks1", "remarks2", "remarks3",
)
_FIXED_FIELDS = ("created_at", "updated_at", "source", "source_import_id", "created_by_id", "updated_by_id")
_TEMP_TABLE = "kvax_import_rows"
AUDIT_BATCH = 5000
LOOKUP_BATCH = 5000


def event_key(values: RecordValues) -> tuple[int, date, int, int]:
    """(resident, 接種日, vaccine, 診察区分): the one-record-per-event constraint's key."""
    return (values[0], values[1], values[8], values[6])


@dataclass(frozen=True)
class Inserted:
    ids: list[int]  # of the inserted records, in row order
    positions: list[int]  # their positions in the rows given
    held: list[int]  # positions of rows whose event was already recorded (not inserted)


def _fixed(import_id: int, created_by_id: int, now: datetime) -> tuple[Any, ...]:
    return (now, now, RecordSource.CLINIC_IMPORT.value, import_id, created_by_id, created_by_id)


def records_insert(
    *, rows: Sequence[RecordValues], import_id: int, created_by_id: int, now: datetime
) -> Inserted:
    """Insert the rows whose event is not held yet as records of the import."""
    if not rows:
        return Inserted(ids=[], positions=[], held=[])
    if connection.vendor == "postgresql":
        return _insert_postgresql(rows, _fixed(import_id, created_by_id, now))
    return _insert_generic(rows, _fixed(import_id, created_by_id, now))


def _columns(names: Sequence[str]) -> str:
    column_of = {f.attname: f.column for f in VaccinationRecord._meta.concrete_fields}
    return ", ".join(connection.ops.quote_name(str(column_of[name])) for name in names)


def _insert_postgresql(rows: Sequence[RecordValues], fixed: tuple[Any, ...]) -> Inserted:
    table = connection.ops.quote_name(VaccinationRecord._meta.db_table)
    columns = _columns((*ROW_FIELDS, *_FIXED_FIELDS))
    key_columns = _columns(("resident_id", "vaccinated_on", "vaccine_id", "examination_category"))
    converted: dict[Any, str] = {}

    def as_text(value: Any) -> str | None:
        # psycopg's COPY formats (and escapes) str fastest; dates and Decimals repeat, so each distinct
        # one is converted once.
        kind = type(value)
        if kind is str:
            return value  # type: ignore[no-any-return]
        if kind is int:
            return str(value)
        if value is None:
            return None
        if kind is bool:
            return "t" if value else "f"
        text = converted.get(value)
        if text is None:
            text = converted[value] = value.isoformat() if isinstance(value, date | datetime) else str(value)
        return text

    fixed_text = tuple(as_text(v) for v in fixed)
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(f"DROP TABLE IF EXISTS {_TEMP_TABLE}")
        cursor.execute(
            # Identifiers only, all from the model's metadata: nothing from the file reaches the SQL text.
            f"CREATE TEMPORARY TABLE {_TEMP_TABLE} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT 0 AS position, {columns} FROM {table} WITH NO DATA"
        )
        with cursor.copy(f"COPY {_TEMP_TABLE} FROM STDIN") as copy:  # type: ignore[attr-defined]
            write = copy.write_row
            for position, values in enumerate(rows):
                write((str(position), *[as_text(v) for v in values], *fixed_text))
        # Django's cursor wrapper hands .copy() to psycopg's cursor; wrap_database_errors turns psycopg's
        # errors (a check constraint) into Django's.
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {_TEMP_TABLE} ORDER BY position "  # noqa: S608
            f"ON CONFLICT ({key_columns}) DO NOTHING RETURNING id, {key_columns}"
        )
        returned = cursor.fetchall()
        cursor.execute(f"DROP TABLE {_TEMP_TABLE}")
    position_of = {event_key(values): position for position, values in enumerate(rows)}
    inserted = sorted((position_of[(r, d, v, c)], record_id) for record_id, r, d, v, c in returned)
    taken = {position for position, _ in inserted}
    return Inserted(
        ids=[record_id for _, record_id in inserted],
        positions=[position for position, _ in inserted],
        held=[position for position in range(len(rows)) if position not in taken],
    )


def _insert_generic(rows: Sequence[RecordValues], fixed: tuple[Any, ...]) -> Inserted:
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
    return Inserted(ids=[obj.pk for obj in objects], positions=positions, held=sorted(held))


# --- audit ------------------------------------------------------------------------------------------
_AUDIT_NAMES = tuple(name.removesuffix("_id") for name in ROW_FIELDS)


class _Changes:
    """The records as created, in django-auditlog's shape (``{"field": ["None", "value"]}``, foreign keys
    as ids, empty and null values left out as auditlog leaves out what did not change): the 16 items, the
    resident, the source, the import and the creator — built from the row's values, not from the model
    instance, with each repeating value (dates, codes, amounts) turned into text once. A record holds no
    My Number."""

    def __init__(self, *, import_id: int, created_by_id: int) -> None:
        self.fixed = {"source": ["None", RecordSource.CLINIC_IMPORT.value], "source_import": ["None", str(import_id)],
                      "created_by": ["None", str(created_by_id)]}
        self.text: dict[Any, str] = {}
        self.by_id: dict[int, dict[str, list[str]]] = {}

    def add(self, record_id: int, values: RecordValues) -> None:
        text = self.text
        changes = {"id": ["None", str(record_id)]}
        for name, value in zip(_AUDIT_NAMES, values, strict=True):
            kind = type(value)
            if kind is str:
                if value:
                    changes[name] = ["None", value]  # type: ignore[list-item]
            elif kind is int:
                changes[name] = ["None", str(value)]
            elif kind is bool:
                changes[name] = ["None", "True" if value else "False"]
            elif value is not None:
                converted = text.get(value)
                if converted is None:
                    converted = text[value] = str(value)
                changes[name] = ["None", converted]
        changes.update(self.fixed)
        self.by_id[record_id] = changes

    def __call__(self, obj: Any) -> dict[str, list[str]]:
        return self.by_id[obj.pk]


def _saved_record(names: Sequence[str], values: Sequence[Any]) -> VaccinationRecord:
    """The inserted record as a model instance, for its audit entry's type, id and text. Built the way
    Django unpickles a model (``__new__``, then the field values and a fresh state), not through
    ``__init__``, which costs more than the rest of the entry for 100,000 records."""
    record = VaccinationRecord.__new__(VaccinationRecord)
    record.__dict__.update(zip(names, values, strict=True))
    record._state = ModelState()
    record._state.adding, record._state.db = False, connection.alias
    return record


def records_audit(
    *, inserted: Inserted, rows: Sequence[RecordValues], import_id: int, created_by_id: int, now: datetime,
    actor: Any,
) -> int:
    """One CREATE entry per inserted record, chained in batches (each batch's model instances are dropped
    before the next is built). Call last in the transaction: it holds the audit chain's head until the
    commit."""
    names = ("id", *ROW_FIELDS, *_FIXED_FIELDS)
    fixed = _fixed(import_id, created_by_id, now)
    written = 0
    for start in range(0, len(inserted.ids), AUDIT_BATCH):
        changes = _Changes(import_id=import_id, created_by_id=created_by_id)
        batch = []
        for record_id, position in zip(
            inserted.ids[start:start + AUDIT_BATCH], inserted.positions[start:start + AUDIT_BATCH], strict=True
        ):
            values = rows[position]
            changes.add(record_id, values)
            batch.append(_saved_record(names, (record_id, *values, *fixed)))
        # The import is named in each entry's changes (source_import): no additional data to serialise.
        written += audit_entries_bulk_create(
            actor=actor, action=AuditLogEntry.Action.CREATE, objects=batch, changes=changes,
        )
    return written
