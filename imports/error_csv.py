"""The row-error CSV of an import: the rows that had errors, in the upload's own column layout (the SPEC
header, so each cell stays in the column it came from and the clinic can copy rows back into its own
sheet), then 行番号・エラー項目・エラー内容. A clinic corrects the rows, deletes the three error columns
and uploads the rows again as a correction file.

UTF-8 with BOM and CRLF (Excel opens it as it is) and formula-safe (koshigaya_vax.csvexport: a cell that
starts with = + - @ gets a leading apostrophe). It repeats what the clinic sent, My Numbers included:
that is its purpose, so the download is recorded as an export (EXPORT_MADE), and the values never reach
a log or an audit entry.
"""

from collections import defaultdict
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.csvformat import CSV_COLUMNS
from imports.models import ClinicImport, ImportRowError
from imports.permissions import can_view_row_errors
from imports.services import clinic_import_error_rows
from koshigaya_vax.csvexport import csv_bytes

ERROR_COLUMNS = ("行番号", "エラー項目", "エラー内容")
EXPORT_KIND = "import_error_rows"


def _error_columns(row_number: int, errors: list[ImportRowError]) -> list[Any]:
    columns = list(dict.fromkeys(e.column for e in errors if e.column))
    details = [f"{e.column}: {e.message}" if e.column else e.message for e in errors]
    return [row_number, "、".join(columns), " / ".join(details)]


@transaction.atomic
def clinic_import_error_csv(*, actor: Any, clinic_import: ClinicImport) -> bytes:
    """The CSV bytes; records EXPORT_MADE (the import, how many rows; never a value). One line per row
    with errors, however many errors it had. A row with more cells than the header keeps the extra cells
    after the error columns, so nothing the clinic sent is dropped and the error columns stay aligned."""
    if not can_view_row_errors(actor, clinic_import):
        raise PermissionDenied
    errors_by_row: dict[int, list[ImportRowError]] = defaultdict(list)
    for error in clinic_import.row_errors.order_by("row_number", "id"):
        errors_by_row[error.row_number].append(error)
    width = len(CSV_COLUMNS)
    lines: list[list[Any]] = []
    for row_number, cells in clinic_import_error_rows(clinic_import=clinic_import):
        cells = list(cells)
        layout = (cells + [""] * width)[:width]
        lines.append([*layout, *_error_columns(row_number, errors_by_row.get(row_number, [])), *cells[width:]])
    content = csv_bytes([*CSV_COLUMNS, *ERROR_COLUMNS], lines)
    audit_event_record(
        event=AuditEvent.EXPORT_MADE, actor=actor, target=clinic_import,
        data={"kind": EXPORT_KIND, "rows": len(lines), "clinic": clinic_import.clinic.code},
    )
    return content
