"""Values as fields of PostgreSQL's COPY text format, for the bulk writers that format their own lines
(audit.chain, imports.services.inserting, imports.feed.applying): tab-separated, ``\\N`` for null,
backslash, tab, newline and carriage return escaped."""

import re
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
