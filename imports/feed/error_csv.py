"""The row-error CSV of a change file: the rows that were not applied, as the resident-records system sent
them (the feed's own header), then 行番号・エラー項目・エラー内容, for staff to take up with the
resident-records system, which sends the corrected changes again. UTF-8 with BOM, CRLF, formula-safe
(koshigaya_vax.csvexport). The 個人番号 column is masked (``********9018``; a value that is not a valid
My Number is blanked): the full number never leaves the system in a CSV, and the source system holds it
anyway. The rows still hold names and addresses: the download is recorded as an export (EXPORT_MADE) and
only staff may make it."""

from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.error_csv import ERROR_COLUMNS
from imports.feed.layout import FEED_COLUMNS, MY_NUMBER
from imports.models import ResidentFeedFile, ResidentFeedRowError
from imports.permissions import can_view_feed_row_errors
from imports.services.parsing import MalformedCsv, csv_records
from imports.services.storage import import_file_read
from koshigaya_vax.csvexport import csv_bytes
from records.rules.mynumber import MyNumberError, mask_my_number, normalize_my_number

EXPORT_KIND = "feed_error_rows"


def _masked(raw: str) -> str:
    if not raw.strip():
        return ""
    try:
        return mask_my_number(normalize_my_number(raw))
    except MyNumberError:
        return "（不正な値のため表示しません）"


def _rows(feed_file: ResidentFeedFile, numbers: set[int]) -> list[tuple[int, list[str]]]:
    if not numbers or not feed_file.stored_file:
        return []
    text = import_file_read(clinic_import=feed_file).decode(feed_file.encoding)
    last = max(numbers)
    found: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(csv_records(text), start=1):
            if number in numbers:
                found.append((number, cells))
            if number >= last:
                break
    except MalformedCsv:
        pass  # errors are only recorded for rows that were read
    return found


@transaction.atomic
def resident_feed_error_csv(*, actor: Any, feed_file: ResidentFeedFile) -> bytes:
    """The CSV bytes; records EXPORT_MADE (the file and how many rows, never a value)."""
    if not can_view_feed_row_errors(actor):
        raise PermissionDenied
    errors_by_row: dict[int, list[ResidentFeedRowError]] = defaultdict(list)
    for error in feed_file.row_errors.order_by("row_number", "id"):
        errors_by_row[error.row_number].append(error)
    width = len(FEED_COLUMNS)
    lines: list[list[Any]] = []
    for number, cells in _rows(feed_file, set(errors_by_row)):
        errors = errors_by_row[number]
        cells = list(cells)
        if len(cells) > MY_NUMBER:
            cells[MY_NUMBER] = _masked(cells[MY_NUMBER])
        # Extra cells beyond the layout could hold anything, a My Number too: they are not repeated.
        cells = cells[:width]
        columns = "、".join(dict.fromkeys(e.column for e in errors if e.column))
        details = " / ".join(f"{e.column}: {e.message}" if e.column else e.message for e in errors)
        lines.append([*(cells + [""] * width)[:width], number, columns, details])
    content = csv_bytes([*FEED_COLUMNS, *ERROR_COLUMNS], lines)
    audit_event_record(event=AuditEvent.EXPORT_MADE, actor=actor, target=feed_file,
                       data={"kind": EXPORT_KIND, "rows": len(lines)})
    return content
