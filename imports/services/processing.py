"""Processing a received import: parse, validate every row, identify the person, drop duplicates and
commit the valid rows exactly once.

State machine (checked under ``select_for_update``): RECEIVED -> VALIDATING -> COMMITTED | FAILED.
Validation reads only; rows are written in the final transaction alone, which locks the import again and
commits only if it is still VALIDATING. So a worker killed at any moment leaves the import untouched (a
re-run starts it from scratch) or fully committed, and a second worker or a re-run can never commit it
twice. ``rows_validated`` is updated after every chunk outside that transaction, for the progress bar.
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.csvformat import COLUMN_COUNT, CSV_COLUMNS, ParsedRow, RowError, RowValidator, header_problem, is_blank
from imports.models import ClinicImport, ImportRowError, ImportStatus
from imports.selectors import import_clinic_ids_by_code, import_vaccine_ids_by_code
from imports.services.inserting import RecordValues, event_key, records_audit, records_insert
from imports.services.matching import match_residents
from imports.services.parsing import MalformedCsv, csv_records
from imports.services.storage import import_file_read
from koshigaya_vax.batchjobs import gc_paused

logger = logging.getLogger(__name__)

CHUNK_ROWS = 5000  # rows validated between two progress updates
# Rows whose people are looked up together. One lookup per 50,000 rows costs PostgreSQL about one scan of
# the residents, as does one per 5,000 (it scans rather than probes the index for thousands of keys), so
# bigger batches are cheaper overall; the rows waiting for it are kept anyway until the commit.
MATCH_ROWS = 50_000
ROW_ERROR_BATCH = 2000
DUPLICATE = "duplicate"  # ImportRowError.code of a row not stored because its record is held already
_DUPLICATE_HELD = "同じ接種記録（接種日・ワクチン・診察区分）が既に登録されています。"
EventKey = tuple[int, date, int, int]  # resident, 接種日, vaccine, 診察区分


class _FileProblem(Exception):
    """The file as a whole cannot be taken (empty, header only, wrong header, no row of the right width)."""

    def __init__(self, code: str, message: str, rows_total: int = 0) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.rows_total = rows_total


@dataclass
class _Outcome:
    rows_total: int = 0
    # Rows to insert: row numbers and values in parallel lists (compact for 100,000-row files).
    numbers: list[int] = field(default_factory=list)
    values: list[RecordValues] = field(default_factory=list)
    errors: list[tuple[int, RowError]] = field(default_factory=list)
    error_rows: set[int] = field(default_factory=set)
    duplicates: list[tuple[int, str]] = field(default_factory=list)


def _values(resident_id: int, row: ParsedRow) -> RecordValues:
    return (
        resident_id, row.vaccinated_on, row.clinic_id, row.place_text, row.age_at_vaccination, row.billing_month,
        row.examination_category, row.lot_number, row.vaccine_id, row.before_move_in, row.screening_doctor,
        row.vaccinating_doctor, row.payment_category, row.fee_yen, row.dose_ml, row.remarks1, row.remarks2,
        row.remarks3,
    )


class _Validation:
    """One pass over the file, a chunk of rows at a time: pure checks, then the bulk resident match and
    the duplicate check within the file."""

    def __init__(self, clinic_import: ClinicImport, *, today: date) -> None:
        self.clinic_import = clinic_import
        self.validator = RowValidator(
            clinic_code=clinic_import.clinic.code,
            clinic_ids=import_clinic_ids_by_code(),
            vaccine_ids=import_vaccine_ids_by_code(),
            billing_month=clinic_import.billing_month,
            today=today,
        )
        self.outcome = _Outcome()
        self.first_seen: dict[EventKey, int] = {}
        self.pending: list[tuple[int, ParsedRow]] = []
        self.wrong_width = 0

    def run(self, records: Iterator[list[str]]) -> _Outcome:
        header = next(records, None)
        if header is None or (is_blank(header) and not any(any(r) for r in records)):
            raise _FileProblem("empty", "ファイルが空です（見出し行も接種記録の行もありません）。")
        if is_blank(header):
            raise _FileProblem(
                "header_missing", "1行目が空行です。1行目に見出し行（" + "、".join(CSV_COLUMNS) + "）を置いてください。"
            )
        problem = header_problem(header)
        if problem:
            raise _FileProblem("header_invalid", problem)
        chunk: list[tuple[int, list[str]]] = []
        number = 1
        for cells in records:
            number += 1
            if not any(cells):  # a blank line (or a row of empty cells) is not a record
                continue
            chunk.append((number, cells))
            if len(chunk) == CHUNK_ROWS:
                self._validate(chunk)
                chunk = []
        self._validate(chunk)
        self._match()
        total = self.outcome.rows_total
        if total == 0:
            raise _FileProblem("header_only", "見出し行だけで、接種記録の行がありません。")
        if self.wrong_width == total:
            raise _FileProblem(
                "column_count",
                f"どの行も列数が様式（{COLUMN_COUNT}列）と異なります。区切り文字（カンマ）と列の過不足を確認してください。",
                rows_total=total,
            )
        return self.outcome

    def _validate(self, chunk: list[tuple[int, list[str]]]) -> None:
        """The checks that need no database; the rows that pass wait for the person lookup."""
        validate = self.validator.validate
        pending = self.pending
        for number, cells in chunk:
            row, errors = validate(cells)
            if row is None:
                self._reject(number, errors)
                if len(cells) != COLUMN_COUNT:
                    self.wrong_width += 1
            else:
                pending.append((number, row))
        self.outcome.rows_total += len(chunk)
        if len(pending) >= MATCH_ROWS:
            self._match()
        ClinicImport.objects.filter(pk=self.clinic_import.pk).update(rows_validated=self.outcome.rows_total)

    def _match(self) -> None:
        """Identify the people of the pending rows in bulk, then drop repeats of an event in the file."""
        if not self.pending:
            return
        matched, mismatches = match_residents(self.pending)
        self.pending = []
        for number, error in mismatches:
            self._reject(number, [error])
        outcome = self.outcome
        first_seen = self.first_seen
        for number, resident_id, row in matched:
            values = _values(resident_id, row)
            key = event_key(values)
            first = first_seen.get(key)
            if first is not None:
                outcome.duplicates.append(
                    (number, f"同じ接種記録（接種日・ワクチン・診察区分）がこのファイルの{first}行目にあります。")
                )
                continue
            first_seen[key] = number
            outcome.numbers.append(number)
            outcome.values.append(values)

    def _reject(self, number: int, errors: list[RowError]) -> None:
        self.outcome.error_rows.add(number)
        self.outcome.errors.extend((number, error) for error in errors)


def _start(import_id: int) -> ClinicImport:
    """RECEIVED (or VALIDATING left by a worker that died) -> VALIDATING, committed at once."""
    with transaction.atomic():
        clinic_import = ClinicImport.objects.select_for_update(of=("self",)).select_related(
            "clinic", "uploaded_by", "api_token"
        ).get(pk=import_id)
        if clinic_import.status in (ImportStatus.COMMITTED, ImportStatus.FAILED):
            return clinic_import
        if clinic_import.status == ImportStatus.VALIDATING:
            logger.warning("import %s: found VALIDATING, re-running it from the start", import_id)
        clinic_import.status = ImportStatus.VALIDATING
        clinic_import.started_at = timezone.now()
        clinic_import.rows_validated = 0
        clinic_import.save(update_fields=["status", "started_at", "rows_validated", "updated_at"])
    return clinic_import


def clinic_import_process(*, import_id: int) -> ClinicImport:
    """Process the import (see the module docstring); returns it COMMITTED or FAILED. An import already
    COMMITTED or FAILED is returned unchanged. Runs as the import's uploader.

    FAILED is for the file's own problems (empty, header only, wrong header, no row of the right width,
    broken quoting), with a Japanese ``failure_message``. Anything else — the stored file missing, altered
    (StoredFileCorrupted) or not decryptable with the configured keys, a database error — propagates and
    leaves the import VALIDATING, to be run again once the cause is fixed."""
    clinic_import = _start(import_id)
    if clinic_import.status != ImportStatus.VALIDATING:
        return clinic_import
    actor = clinic_import.uploaded_by
    with acting_as(actor), gc_paused():
        try:
            text = import_file_read(clinic_import=clinic_import).decode(clinic_import.encoding)
            outcome = _Validation(clinic_import, today=timezone.localdate()).run(csv_records(text))
        except MalformedCsv as exc:
            return _fail(clinic_import, actor, _FileProblem("csv_malformed", exc.message))
        except _FileProblem as problem:
            return _fail(clinic_import, actor, problem)
        try:
            return _commit(clinic_import, actor, outcome)
        except IntegrityError:
            # Without ON CONFLICT (SQLite), an event committed elsewhere between the duplicate lookup and
            # the insert trips the unique constraint: the commit rolled back whole; look again, once.
            logger.info("import %s: an event was committed concurrently, checking duplicates again", import_id)
            return _commit(clinic_import, actor, outcome)


def _lock_validating(import_id: int) -> ClinicImport | None:
    locked = ClinicImport.objects.select_for_update(of=("self",)).select_related("clinic").get(pk=import_id)
    return locked if locked.status == ImportStatus.VALIDATING else None


def _fail(clinic_import: ClinicImport, actor: Any, problem: _FileProblem) -> ClinicImport:
    with transaction.atomic():
        locked = _lock_validating(clinic_import.pk)
        if locked is None:
            return ClinicImport.objects.get(pk=clinic_import.pk)
        locked.status = ImportStatus.FAILED
        locked.failure_message = problem.message
        if problem.rows_total:
            locked.rows_total = problem.rows_total  # otherwise the count taken on receipt stays
        locked.rows_validated = problem.rows_total
        locked.rows_committed = locked.rows_duplicate = locked.rows_error = 0
        locked.finished_at = timezone.now()
        locked.full_clean()
        locked.save()
        audit_event_record(
            event=AuditEvent.IMPORT_FAILED, actor=actor, target=locked,
            data={"reason": problem.code, "clinic": locked.clinic.code, "rows_total": problem.rows_total},
        )
    return locked


def _save_row_errors(import_id: int, errors: list[tuple[int, RowError]], duplicates: list[tuple[int, str]]) -> None:
    """In batches, so a file of 200,000 bad rows never holds all its ImportRowError objects at once."""
    rows = [(number, e.column, e.code, e.message[:300]) for number, e in errors]
    rows += [(number, "", DUPLICATE, message) for number, message in duplicates]
    for start in range(0, len(rows), ROW_ERROR_BATCH):
        ImportRowError.objects.bulk_create([
            ImportRowError(clinic_import_id=import_id, row_number=number, column=column, code=code, message=message)
            for number, column, code, message in rows[start:start + ROW_ERROR_BATCH]
        ])


def _commit(clinic_import: ClinicImport, actor: Any, outcome: _Outcome) -> ClinicImport:
    with transaction.atomic():
        locked = _lock_validating(clinic_import.pk)
        if locked is None:  # another worker got there first
            return ClinicImport.objects.get(pk=clinic_import.pk)
        now: datetime = timezone.now()
        inserted = records_insert(rows=outcome.values, import_id=locked.pk, now=now)
        duplicates = outcome.duplicates + [(outcome.numbers[i], _DUPLICATE_HELD) for i in inserted.held]

        _save_row_errors(locked.pk, outcome.errors, duplicates)
        locked.status = ImportStatus.COMMITTED
        locked.rows_total = locked.rows_validated = outcome.rows_total
        locked.rows_committed = len(inserted.ids)
        locked.rows_duplicate = len(duplicates)
        locked.rows_error = len(outcome.error_rows)
        locked.failure_message = ""
        locked.finished_at = now
        locked.full_clean()
        locked.save()
        # Last: the audit chain's head stays locked from here until the commit.
        records_audit(inserted=inserted, actor=actor)
        audit_event_record(
            event=AuditEvent.IMPORT_COMMITTED, actor=actor, target=locked,
            data={
                "clinic": locked.clinic.code, "billing_month": locked.billing_month.isoformat()[:7],
                "rows_total": locked.rows_total, "rows_committed": locked.rows_committed,
                "rows_duplicate": locked.rows_duplicate, "rows_error": locked.rows_error,
            },
        )
    return locked


def clinic_import_error_rows(*, clinic_import: ClinicImport) -> list[tuple[int, list[str]]]:
    """``(row number, cells as sent)`` of every row that had an error (duplicates are not errors: there
    is nothing to correct), re-read from the stored file, in row order. Holds whatever the clinic sent,
    My Numbers included: for the clinic's own correction CSV only."""
    numbers = set(
        clinic_import.row_errors.exclude(code=DUPLICATE).values_list("row_number", flat=True).distinct()
    )
    if not numbers or not clinic_import.stored_file:
        return []
    text = import_file_read(clinic_import=clinic_import).decode(clinic_import.encoding)
    last = max(numbers)
    found: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(csv_records(text), start=1):
            if number in numbers:
                found.append((number, cells))
            if number >= last:
                break
    except MalformedCsv:
        pass  # errors are only ever recorded for rows that were read, i.e. before the break
    return found
