"""Bulk export (持ち出し/複製) of residents and vaccination records as CSV: the administrator's alone
(SPEC "Risk controls": only administrators can copy the file; every export is recorded).

The export names its reason and is recorded (EXPORT_MADE: what, how many rows, why) before a single row
leaves; the rows are then produced in chunks from a database iterator, so a million residents never sit
in memory at once. My Number (and the information-provision code) is never exported; names and
addresses are. Cells are made inert for spreadsheets (koshigaya_vax.csvexport).
"""

import csv
import io
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.permissions import EXPORT_BULK
from audit.events import AuditEvent
from audit.services import audit_event_record
from koshigaya_vax.csvexport import BOM, safe_cell
from koshigaya_vax.logging import redact
from records.models import RecordSource, ResidencyStatus, Resident, VaccinationRecord

CHUNK_ROWS = 2000  # rows fetched per database round trip and written per response chunk
REASON_MAX_LENGTH = 500


class ExportKind(models.TextChoices):
    RESIDENTS = "residents", gettext_lazy("宛名（住民）")
    VACCINATION_RECORDS = "vaccination_records", gettext_lazy("接種記録")


def _iso(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _month(value: date | None) -> str:
    return value.strftime("%Y-%m") if value is not None else ""


def _label(choices: type[models.Choices]) -> Callable[[Any], str]:
    labels = {value: str(label) for value, label in choices.choices}
    return lambda value: labels.get(value, str(value))


def _flag(value: bool) -> str:
    return "1" if value else "0"


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Column:
    header: str
    lookup: str  # a values_list() lookup: never my_number_* or information_provision_code
    show: Callable[[Any], Any] = _same
    protected: bool = False  # left empty for a protected person (支援措置): their address never leaves



def resident_columns() -> tuple[Column, ...]:
    return (
        Column(_("団体内宛名番号"), "address_number"),
        Column(_("氏名"), "name"),
        Column(_("氏名の振り仮名"), "name_kana"),
        Column(_("性別"), "sex"),  # JIS X 0303 code, as in the clinic CSV
        Column(_("生年月日"), "birth_date", _iso),
        Column(_("郵便番号"), "postal_code", protected=True),
        Column(_("住所"), "address", protected=True),
        Column(_("方書"), "address_detail", protected=True),
        Column(_("連絡先"), "phone"),
        Column(_("住民状態"), "residency_status", _label(ResidencyStatus)),
        Column(_("転入日"), "moved_in_on", _iso),
        Column(_("転出日"), "moved_out_on", _iso),
        Column(_("死亡日"), "died_on", _iso),
    )


def record_columns() -> tuple[Column, ...]:
    """The 16 items in the seed's order (codes as in the clinic CSV), after the record and its resident."""
    return (
        Column(_("接種記録番号"), "pk"),
        Column(_("団体内宛名番号"), "resident__address_number"),
        Column(_("氏名"), "resident__name"),
        Column(_("接種日"), "vaccinated_on", _iso),
        Column(_("接種場所"), "clinic__code"),
        Column(_("接種場所（医療機関名）"), "clinic__name"),
        Column(_("接種場所（転入前）"), "place_text"),
        Column(_("接種時年齢"), "age_at_vaccination"),
        Column(_("請求年月"), "billing_month", _month),
        Column(_("診察区分"), "examination_category"),
        Column(_("LOT-NO"), "lot_number"),
        Column(_("ワクチン"), "vaccine__code"),
        Column(_("転入前接種"), "before_move_in", _flag),
        Column(_("予診医師名"), "screening_doctor"),
        Column(_("接種医師名"), "vaccinating_doctor"),
        Column(_("公費自費区分"), "payment_category"),
        Column(_("委託料"), "fee_yen"),
        Column(_("接種量"), "dose_ml"),
        Column(_("備考1"), "remarks1"),
        Column(_("備考2"), "remarks2"),
        Column(_("備考3"), "remarks3"),
        Column(_("登録元"), "source", _label(RecordSource)),
    )


def _source(kind: ExportKind) -> tuple[QuerySet[Any], tuple[Column, ...]]:
    if kind == ExportKind.RESIDENTS:
        return Resident.objects.all(), resident_columns()
    return VaccinationRecord.objects.all(), record_columns()


def csv_chunks(columns: Sequence[Column], rows: Iterator[Sequence[Any]], *, chunk_rows: int = CHUNK_ROWS) -> Iterator[
    bytes
]:
    """UTF-8 with BOM, CRLF, formula-safe cells; yields about ``chunk_rows`` rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow([safe_cell(column.header) for column in columns])
    pending = 0
    for row in rows:
        writer.writerow([safe_cell(column.show(value)) for column, value in zip(columns, row, strict=True)])
        pending += 1
        if pending >= chunk_rows:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate(0)
            pending = 0
    tail = buffer.getvalue()
    if tail:
        yield tail.encode("utf-8")


def _masked(rows: Iterator[Sequence[Any]], columns: Sequence[Column]) -> Iterator[Sequence[Any]]:
    """Rows whose last value is ``is_protected``, without it, the protected columns masked when set."""
    protected = [column.protected for column in columns]
    mask = _("（支援措置）")
    for row in rows:
        *values, is_protected = row
        if is_protected:
            values = [mask if hide else value for value, hide in zip(values, protected, strict=True)]
        yield values


@dataclass(frozen=True)
class BulkExport:
    kind: ExportKind
    filename: str
    row_count: int
    chunks: Iterator[bytes]  # lazy: rows are read from the database as the chunks are consumed


def _reason_clean(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("持ち出しの理由を入力してください。")}, code="reason_required")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError({"reason": _("理由が長すぎます。")}, code="reason_too_long")
    if redact(reason) != reason:
        raise ValidationError({"reason": _("12桁の数字（個人番号のおそれがあるもの）は入力できません。")},
                              code="reason_number")
    return reason


@transaction.atomic
def bulk_export_csv(*, actor: Any, kind: ExportKind | str, reason: str, chunk_rows: int = CHUNK_ROWS) -> BulkExport:
    """Start a bulk export of every resident or every vaccination record as CSV.

    The export covers the rows that exist when it starts (bounded by the highest id then), and that row
    count is recorded with the reason as EXPORT_MADE before any row is produced: an export whose download
    is interrupted has still been recorded. The event names the bound (``up_to_id``), which says exactly
    which rows the copy holds; it writes no access entry per row (a million entries for one copy of the
    whole file). Raises PermissionDenied for anyone without EXPORT_BULK.
    """
    if not actor.has_perm(EXPORT_BULK):
        raise PermissionDenied
    kind = ExportKind(kind)
    reason = _reason_clean(reason)
    queryset, columns = _source(kind)
    last_pk = queryset.aggregate(last=Max("pk"))["last"] or 0
    bounded = queryset.filter(pk__lte=last_pk).order_by("pk")
    row_count = bounded.count()
    filename = f"{kind.value}-{timezone.localtime():%Y%m%d-%H%M%S}.csv"
    audit_event_record(event=AuditEvent.EXPORT_MADE, actor=actor, data={
        "what": kind.value, "format": "csv", "rows": row_count, "up_to_id": last_pk, "reason": reason,
        "filename": filename, "my_number_included": False,
    })
    if kind == ExportKind.RESIDENTS:
        rows = _masked(bounded.values_list(*(column.lookup for column in columns), "is_protected")
                       .iterator(chunk_size=chunk_rows), columns)
    else:
        rows = bounded.values_list(*(column.lookup for column in columns)).iterator(chunk_size=chunk_rows)
    return BulkExport(kind=kind, filename=filename, row_count=row_count,
                      chunks=csv_chunks(columns, rows, chunk_rows=chunk_rows))
