"""Values as fields of PostgreSQL's COPY text format, for the bulk writers that format their own lines
(audit.chain, imports.services.inserting, imports.feed.applying): tab-separated, ``\\N`` for null,
backslash, tab, newline and carriage return escaped. And what bulk statements pass besides: keys as one
array literal, and the ids new rows take from their tables' sequences."""

import re
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

COPY_NULL = "\\N"
COPY_SPECIAL = re.compile(r"[\\\t\n\r]")  # the characters a text field must escape


def copy_text(value: str) -> str:
    """A text value as one field (JSON text from json.dumps holds no raw control characters, only
    backslashes)."""
    if COPY_SPECIAL.search(value) is None:
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_field(value: Any) -> str:
    """Any value as one field: null, text, boolean, date or time (ISO), number."""
    kind = type(value)
    if kind is str:
        return copy_text(value)
    if value is None:
        return COPY_NULL
    if kind is bool:
        return "t" if value else "f"
    if kind is date or kind is datetime:
        return value.isoformat()  # type: ignore[no-any-return]
    return str(value)


def array_literal(values: Iterable[Any]) -> str:
    """A PostgreSQL array literal of ``values`` (as text, every element quoted), to pass as one parameter
    cast to ``text[]`` or ``bigint[]``: psycopg adapts a long Python list element by element in Python,
    which costs more than the lookup itself (45,000 keys: 0.05 s against 0.01 s)."""
    return "{" + ",".join('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def sequence_ids_take(cursor: Any, counts: dict[str, int]) -> dict[str, list[int]]:
    """``count`` new ids from the ``id`` sequence of each table in ``counts`` (a table name from a model's
    metadata), in one round trip after one lookup of the sequences: rows COPYed straight into their table
    carry them, and whatever refers to them knows them before they are written.

    The sequence is passed as a ``regclass`` parameter, a constant to the planner: naming it with
    ``pg_get_serial_sequence()`` inside ``nextval()`` looked it up again for every id, six times slower
    (87,000 ids: 0.24 s against 0.04 s)."""
    tables = [table for table, count in counts.items() if count > 0]
    if not tables:
        return {table: [] for table in counts}
    cursor.execute("SELECT " + ", ".join(["pg_get_serial_sequence(%s, 'id')"] * len(tables)), tables)
    sequences = cursor.fetchone()
    cursor.execute(
        # Only placeholders are joined: the names and counts are parameters.
        "SELECT " + ", ".join(["(SELECT array_agg(nextval(%s::regclass)) FROM generate_series(1, %s))"] * len(tables)),  # noqa: S608
        [value for sequence, table in zip(sequences, tables, strict=True) for value in (sequence, counts[table])],
    )
    taken = dict(zip(tables, cursor.fetchone(), strict=True))
    return {table: taken.get(table) or [] for table in counts}
