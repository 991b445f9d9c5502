"""Services of the clinic CSV import: receiving a file, processing it, and reading back its error rows.
Callers import from here; the modules behind it are the engine's own business."""

from imports.csvformat import CSV_COLUMNS
from imports.services.errors import ImportRefused
from imports.services.processing import DUPLICATE, clinic_import_error_rows, clinic_import_process
from imports.services.receiving import clinic_import_receive, may_import_for_clinic

__all__ = [
    "CSV_COLUMNS",
    "DUPLICATE",
    "ImportRefused",
    "clinic_import_error_rows",
    "clinic_import_process",
    "clinic_import_receive",
    "may_import_for_clinic",
]
