"""CSV for people who open it in Excel: UTF-8 with BOM, CRLF, and no cell that a spreadsheet would run
as a formula (OWASP "CSV injection": a leading = + - @, tab or carriage return gets a leading quote)."""

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """The text of a cell, made inert: ``=HYPERLINK("x")`` becomes ``'=HYPERLINK("x")``. Numbers are
    written as they are (a negative number is data, not a formula)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8")
