"""The deletion certificate (消去証明) of a finished purge: per class, what was deleted, how many, which id
range and cut-off, approved by whom and when — as CSV and PDF. It names no person: ids and counts only
(tests/retention scan both files for names, kana, My Numbers and addresses)."""

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from koshigaya_vax.csvexport import csv_bytes
from koshigaya_vax.pdf import pdf_render
from retention import permissions
from retention.models import PurgeReport, ReportStatus
from retention.selectors import class_label
from retention.services import certificate_record

CSV_HEADER = ("消去報告番号", "データ区分", "区分コード", "保存年数", "起算日がこの日より前", "抽出件数", "消去件数",
              "除外件数", "関連して消去した件数", "最初のID", "最後のID", "基準日", "承認者", "承認日時", "消去開始",
              "消去完了")


@dataclass(frozen=True)
class CertificateFile:
    filename: str
    content_type: str
    content: bytes


def _approver(report: PurgeReport) -> str:
    if report.approved_by is None:
        return _("自動（RETENTION_AUTO_CLASSES）")
    return report.approved_by.get_username()


def _when(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def _related(related: dict[str, int]) -> str:
    return " / ".join(f"{label}: {n}" for label, n in sorted(related.items()))


def certificate_rows(report: PurgeReport) -> list[list[Any]]:
    return [
        [report.pk, class_label(item.data_class), item.data_class, item.years, item.cutoff.isoformat(), item.count,
         item.deleted, item.skipped, _related(item.deleted_related), item.first_id, item.last_id,
         report.as_of.isoformat(), _approver(report), _when(report.approved_at), _when(report.started_at),
         _when(report.finished_at)]
        for item in report.items.order_by("position")
    ]


def _check(actor: Any, report: PurgeReport) -> None:
    if not permissions.can_view_report(actor):
        raise PermissionDenied
    if report.status != ReportStatus.COMPLETED:
        raise PermissionDenied("the certificate exists once the purge has completed")


@transaction.atomic
def certificate_csv(*, actor: Any, report: PurgeReport) -> CertificateFile:
    _check(actor, report)
    content = csv_bytes(CSV_HEADER, certificate_rows(report))
    certificate_record(actor=actor, report=report, file_format="csv")
    return CertificateFile(f"deletion-certificate-{report.pk}.csv", "text/csv; charset=utf-8", content)


@transaction.atomic
def certificate_pdf(*, actor: Any, report: PurgeReport) -> CertificateFile:
    _check(actor, report)
    items = [
        {"label": class_label(item.data_class), "key": item.data_class, "years": item.years, "cutoff": item.cutoff,
         "count": item.count, "deleted": item.deleted, "skipped": item.skipped,
         "related": sorted(item.deleted_related.items()), "first_id": item.first_id, "last_id": item.last_id}
        for item in report.items.order_by("position")
    ]
    content = pdf_render(template_name="pdf/retention_certificate.html", context={
        "report": report, "items": items, "approver": _approver(report), "issued_at": timezone.localtime(),
        "approved_at": _when(report.approved_at), "started_at": _when(report.started_at),
        "finished_at": _when(report.finished_at),
    })
    certificate_record(actor=actor, report=report, file_format="pdf")
    return CertificateFile(f"deletion-certificate-{report.pk}.pdf", "application/pdf", content)
