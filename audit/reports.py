"""Report services of the auditor's desk: exports of a log search (CSV, PDF) and the yearly
self-inspection report (維持管理点検), on screen and as PDF.

Every file that leaves the system is recorded as an EXPORT_MADE event (what, format, filters, row count:
the 持ち出し履歴), and the residents whose data it carries get access entries like any screen showing
them. Compiling the self-inspection report is a REPORT_GENERATED event. Files are built before the
events are written, so the audit chain's head is locked only for the short insert at the end, never
while a PDF renders.
"""

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit import selectors
from audit.chain import entry_hash
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.permissions import EXPORT_LOG, can_export_log, can_view_report
from audit.services import audit_access_record, audit_event_record
from koshigaya_vax.csvexport import csv_bytes
from koshigaya_vax.logging import redact
from koshigaya_vax.pdf import pdf_render

CSV_EXPORT_LIMIT = 10_000
PDF_EXPORT_LIMIT = 2_000
# Long lists in the self-inspection report (its totals always count everything).
REPORT_LIST_LIMIT = 1_000

Action = AuditLogEntry.Action
ACTION_LABELS = {
    Action.CREATE: gettext_lazy("作成"),
    Action.UPDATE: gettext_lazy("変更"),
    Action.DELETE: gettext_lazy("削除"),
    Action.ACCESS: gettext_lazy("閲覧"),
    Action.EVENT: gettext_lazy("業務イベント"),
}


class ExportTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit
        self.message = _(
            "該当する記録が%(limit)s件を超えるため出力できません。条件を絞り込んでください。"
        ) % {"limit": f"{limit:,}"}


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    filename: str
    content_type: str
    rows: int


# --- Presenting entries (screen, CSV and PDF alike) --------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    field: str
    label: str
    before: str
    after: str


def clean_text(value: Any) -> str:
    """Free text of an entry as shown or exported: a run of 12 digits is blanked (entries never hold a My
    Number by construction; this keeps a number typed into a reason out of screens and files)."""
    if value is None:
        return ""
    return redact(value if isinstance(value, str) else str(value))


def action_label(entry: AuditLogEntry) -> str:
    base = str(ACTION_LABELS.get(entry.action, entry.action))
    if entry.action == Action.EVENT and entry.event:
        return f"{base}: {event_label(entry.event)}"
    return base


def event_label(code: str) -> str:
    try:
        return str(AuditEvent(code).label)
    except ValueError:
        return code


# A protected person's (支援措置) address never leaves in an export, not even inside a field diff; nor does
# their residency history, which a change file's entry holds as text with the addresses in it.
PROTECTED_ADDRESS_FIELDS = frozenset({"postal_code", "address", "address_detail", "residency_periods"})


def protected_entry_ids(entries: list[AuditLogEntry]) -> set[int]:
    """The entries whose diffs would print the address of a person protected now: the person's own
    entries and those of their residency periods (issue #7)."""
    from records.models import ResidencyPeriod, Resident

    resident_ct = ContentType.objects.get_for_model(Resident).pk
    period_ct = ContentType.objects.get_for_model(ResidencyPeriod).pk
    resident_of: dict[int, int] = {}
    periods: dict[int, list[int]] = {}
    for entry in entries:
        if not entry.object_pk.isdigit():
            continue
        if entry.content_type_id == resident_ct:
            resident_of[entry.pk] = int(entry.object_pk)
        elif entry.content_type_id == period_ct:
            named = [v for v in (entry.changes_dict.get("resident") or []) if str(v).isdigit()]
            if named:
                resident_of[entry.pk] = int(named[-1])
            else:
                periods.setdefault(int(entry.object_pk), []).append(entry.pk)
    for period_pk, resident_pk in ResidencyPeriod.objects.filter(pk__in=periods).values_list("pk", "resident_id"):
        for entry_pk in periods[period_pk]:
            resident_of[entry_pk] = resident_pk
    if not resident_of:
        return set()
    protected = set(Resident.objects.filter(pk__in=set(resident_of.values()), is_protected=True)
                    .values_list("pk", flat=True))
    return {entry_pk for entry_pk, resident_pk in resident_of.items() if resident_pk in protected}


def entry_change_rows(entry: AuditLogEntry, *, mask_address: bool = False) -> list[ChangeRow]:
    """The field diff, one row per field, labelled with the model's field names; with ``mask_address``
    the address fields' values are withheld (a protected person's, in an export)."""
    changes = entry.changes_dict or {}
    model = entry.content_type.model_class() if entry.content_type_id else None
    rows = []
    for name, value in changes.items():
        label = name
        if model is not None:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                pass
            else:
                # A reverse relation (a change file's entry holds the person's residency periods under
                # residency_periods) has no verbose_name of its own: the related model's name is its label.
                label = str(field.related_model._meta.verbose_name_plural if field.auto_created and not field.concrete
                            else getattr(field, "verbose_name", name))
        if isinstance(value, dict) and value.get("type") == "m2m":
            objects = ", ".join(str(o) for o in value.get("objects", []))
            before, after = "", f"{value.get('operation', '')}: {objects}"
        elif isinstance(value, list | tuple) and len(value) == 2:
            before, after = ("" if v is None else str(v) for v in value)
        else:
            before, after = "", json.dumps(value, ensure_ascii=False, default=str)
        if mask_address and name in PROTECTED_ADDRESS_FIELDS:
            before, after = (str(_("（支援措置のため非表示）")) if v else "" for v in (before, after))
        rows.append(ChangeRow(name, clean_text(label), clean_text(before), clean_text(after)))
    return rows


def changes_text(entry: AuditLogEntry, *, mask_address: bool = False) -> str:
    return "; ".join(f"{row.label}: {row.before} → {row.after}"
                     for row in entry_change_rows(entry, mask_address=mask_address))


def additional_text(entry: AuditLogEntry) -> str:
    if not entry.additional_data:
        return ""
    return clean_text(json.dumps(entry.additional_data, ensure_ascii=False, sort_keys=True, default=str))


def entry_hash_matches(entry: AuditLogEntry) -> bool:
    """Whether the entry still hashes to its stored hash (its own content; the chain's links are checked
    by audit_verify)."""
    return entry_hash(entry.prev_hash, entry) == entry.entry_hash


def local_time_text(value: datetime) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def entry_row(entry: AuditLogEntry, *, mask_address: bool = False) -> dict[str, Any]:
    """One entry as the flat row exports show."""
    return {
        "seq": entry.seq,
        "timestamp": local_time_text(entry.timestamp),
        "actor": entry.actor.get_username() if entry.actor else "",
        "action": action_label(entry),
        "event": entry.event or "",
        "content_type": str(entry.content_type.name) if entry.content_type_id else "",
        "object_pk": entry.object_pk,
        "object_repr": clean_text(entry.object_repr),
        "changes": changes_text(entry, mask_address=mask_address),
        "additional": additional_text(entry),
        "remote_addr": entry.remote_addr or "",
        "entry_hash": entry.entry_hash,
    }


def csv_header() -> list[str]:
    return [
        _("連番"), _("日時（日本時間）"), _("操作者"), _("操作"), _("業務イベントコード"), _("対象の種類"),
        _("対象ID"), _("対象"), _("変更内容"), _("追加情報"), _("接続元"), _("ハッシュ"),
    ]


def criteria_description(criteria: selectors.AuditSearchCriteria) -> list[tuple[str, str]]:
    """The criteria in words, for the PDF's header and the export event."""
    described: list[tuple[str, str]] = []
    if criteria.username:
        described.append((_("利用者ID"), criteria.username))
    if criteria.actor_id is not None:
        described.append((_("利用者（内部ID）"), str(criteria.actor_id)))
    if criteria.address_number:
        described.append((_("宛名番号"), criteria.address_number))
    if criteria.resident_id is not None:
        described.append((_("宛名（内部ID）"), str(criteria.resident_id)))
    if criteria.action:
        if criteria.action in selectors.OPERATION_FILTERS:
            label = str(ACTION_LABELS[selectors.OPERATION_FILTERS[criteria.action]])
        else:
            label = event_label(criteria.action)
        described.append((_("操作"), label))
    if criteria.date_from or criteria.date_to:
        start = criteria.date_from.isoformat() if criteria.date_from else ""
        end = criteria.date_to.isoformat() if criteria.date_to else ""
        described.append((_("期間"), f"{start} 〜 {end}"))
    if criteria.remote_addr:
        described.append((_("接続元アドレス"), criteria.remote_addr))
    return described


# --- Exports of a log search ----------------------------------------------------------------------


def _export_entries(*, actor: Any, criteria: selectors.AuditSearchCriteria, limit: int) -> list[AuditLogEntry]:
    if not can_export_log(actor):
        raise PermissionDenied
    entries = list(selectors.audit_entry_search(actor=actor, criteria=criteria)[: limit + 1])
    if len(entries) > limit:
        raise ExportTooLarge(limit)
    return entries


@transaction.atomic
def _export_record(*, actor: Any, what: str, fmt: str, filters: dict[str, Any], rows: int,
                   entries: list[AuditLogEntry], view: str) -> None:
    audit_event_record(
        event=AuditEvent.EXPORT_MADE, actor=actor,
        data={"what": what, "format": fmt, "filters": filters, "rows": rows},
    )
    residents = selectors.residents_shown(entries=entries, with_records=True)
    audit_access_record(actor=actor, objects=residents, view=view, permission=EXPORT_LOG)


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M%S")


def audit_entries_export_csv(*, actor: Any, criteria: selectors.AuditSearchCriteria) -> ExportFile:
    """The search as CSV for Excel (UTF-8 with BOM, formula-safe cells), at most CSV_EXPORT_LIMIT rows."""
    entries = _export_entries(actor=actor, criteria=criteria, limit=CSV_EXPORT_LIMIT)
    keys = ("seq", "timestamp", "actor", "action", "event", "content_type", "object_pk", "object_repr",
            "changes", "additional", "remote_addr", "entry_hash")
    masked = protected_entry_ids(entries)
    rows = (entry_row(e, mask_address=e.pk in masked) for e in entries)
    content = csv_bytes(csv_header(), ([row[k] for k in keys] for row in rows))
    _export_record(actor=actor, what="audit_entries", fmt="csv", filters=criteria.as_query(), rows=len(entries),
                   entries=entries, view="audit:entry_export_csv")
    return ExportFile(content, f"audit-log-{_stamp()}.csv", "text/csv; charset=utf-8", len(entries))


def audit_entries_export_pdf(*, actor: Any, criteria: selectors.AuditSearchCriteria) -> ExportFile:
    """The search as an A4 PDF report (監査ログ報告), at most PDF_EXPORT_LIMIT rows."""
    entries = _export_entries(actor=actor, criteria=criteria, limit=PDF_EXPORT_LIMIT)
    masked = protected_entry_ids(entries)
    content = pdf_render(template_name="pdf/audit_entries.html", context={
        "rows": [entry_row(e, mask_address=e.pk in masked) for e in entries],
        "criteria": criteria_description(criteria),
        "generated_at": timezone.localtime(),
        "generated_by": actor.get_username(),
    })
    _export_record(actor=actor, what="audit_entries", fmt="pdf", filters=criteria.as_query(), rows=len(entries),
                   entries=entries, view="audit:entry_export_pdf")
    return ExportFile(content, f"audit-log-{_stamp()}.pdf", "application/pdf", len(entries))


# --- Self-inspection (維持管理点検) -------------------------------------------------------------------


@dataclass(frozen=True)
class InspectionPeriod:
    start: date
    end: date  # inclusive

    @staticmethod
    def fiscal_year_of(day: date) -> int:
        """The fiscal year (年度) a day belongs to: April to March, named by the April's year."""
        return day.year if day.month >= 4 else day.year - 1

    @classmethod
    def fiscal_year(cls, year: int, *, until: date | None = None) -> "InspectionPeriod":
        end = date(year + 1, 3, 31)
        return cls(date(year, 4, 1), min(end, until) if until else end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(frozen=True)
class OfficeHours:
    start: time
    end: time

    @classmethod
    def from_settings(cls) -> "OfficeHours":
        text = str(settings.AUDIT_OFFICE_HOURS)
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", text)
        try:
            if match is None:
                raise ValueError(text)
            start = time(int(match[1]), int(match[2]))
            end = time(int(match[3]), int(match[4]))
        except ValueError:
            raise ImproperlyConfigured("AUDIT_OFFICE_HOURS must look like 08:30-17:15") from None
        if start >= end:
            raise ImproperlyConfigured("AUDIT_OFFICE_HOURS must start before it ends")
        return cls(start, end)


@dataclass(frozen=True)
class SelfInspectionReport:
    period: InspectionPeriod
    generated_at: datetime
    generated_by: str
    office_hours: OfficeHours
    unusual_threshold: int
    unused_days: int
    entries_total: int
    activity: list[selectors.UserActivity]
    activity_totals: dict[str, int]
    exports: list[AuditLogEntry]
    exports_total: int
    off_hours: list[selectors.OffHoursActivity]
    unusual: list[selectors.DailyVolume]
    denied: list[selectors.DeniedAttempts]
    unused_accounts: list[Any]
    chain_latest: AuditLogEntry | None

    @property
    def action_columns(self) -> list[tuple[str, str]]:
        return [(key, str(ACTION_LABELS[value])) for key, value in selectors.OPERATION_FILTERS.items()]

    @property
    def column_totals(self) -> list[int]:
        return [self.activity_totals.get(key, 0) for key in selectors.ACTION_COLUMNS]

    def export_rows(self) -> list[dict[str, Any]]:
        rows = []
        for entry in self.exports:
            data = entry.additional_data or {}
            rows.append({
                "seq": entry.seq,
                "timestamp": local_time_text(entry.timestamp),
                "actor": entry.actor.get_username() if entry.actor else "",
                "what": clean_text(data.get("what", "")),
                "format": clean_text(data.get("format", "")),
                "rows": data.get("rows", ""),
                "filters": clean_text(json.dumps(data.get("filters") or {}, ensure_ascii=False, sort_keys=True)),
            })
        return rows


def self_inspection_build(*, actor: Any, period: InspectionPeriod, now: datetime | None = None) -> SelfInspectionReport:
    """Compile the report (reads only): every figure is one grouped query over the period's entries."""
    if not can_view_report(actor):
        raise PermissionDenied
    now = now or timezone.now()
    hours = OfficeHours.from_settings()
    threshold = int(settings.AUDIT_UNUSUAL_RESIDENTS_PER_DAY)
    unused_days = int(settings.AUDIT_UNUSED_ACCOUNT_DAYS)
    start, end = period.start, period.end
    activity = selectors.audit_activity_by_user(actor=actor, start=start, end=end)
    totals = {key: sum(a.counts.get(key, 0) for a in activity) for key in selectors.ACTION_COLUMNS}
    exports, exports_total = selectors.audit_exports_made(actor=actor, start=start, end=end, limit=REPORT_LIST_LIMIT)
    return SelfInspectionReport(
        period=period,
        generated_at=timezone.localtime(now),
        generated_by=actor.get_username(),
        office_hours=hours,
        unusual_threshold=threshold,
        unused_days=unused_days,
        entries_total=selectors.audit_period_entry_count(actor=actor, start=start, end=end),
        activity=activity,
        activity_totals=totals,
        exports=exports,
        exports_total=exports_total,
        off_hours=selectors.audit_off_hours_by_user(
            actor=actor, start=start, end=end, office_start=hours.start, office_end=hours.end
        ),
        unusual=selectors.audit_unusual_daily_volume(actor=actor, start=start, end=end,
                                                     threshold=threshold)[:REPORT_LIST_LIMIT],
        denied=selectors.audit_denied_attempts(actor=actor, start=start, end=end),
        unused_accounts=selectors.audit_unused_accounts(actor=actor, now=now, days=unused_days),
        chain_latest=selectors.audit_chain_latest_result(actor=actor),
    )


def _report_data(report: SelfInspectionReport, fmt: str) -> dict[str, Any]:
    return {"report": "self_inspection", "from": report.period.start.isoformat(),
            "to": report.period.end.isoformat(), "format": fmt}


@transaction.atomic
def self_inspection_generate(*, actor: Any, period: InspectionPeriod) -> SelfInspectionReport:
    """The report for the screen, recorded as REPORT_GENERATED."""
    report = self_inspection_build(actor=actor, period=period)
    audit_event_record(event=AuditEvent.REPORT_GENERATED, actor=actor, data=_report_data(report, "html"))
    return report


def self_inspection_pdf(*, actor: Any, period: InspectionPeriod) -> ExportFile:
    """The report as an A4 PDF: REPORT_GENERATED, and EXPORT_MADE since the file leaves the system."""
    report = self_inspection_build(actor=actor, period=period)
    content = pdf_render(template_name="pdf/self_inspection.html", context={"report": report})
    with transaction.atomic():
        data = _report_data(report, "pdf")
        audit_event_record(event=AuditEvent.REPORT_GENERATED, actor=actor, data=data)
        audit_event_record(event=AuditEvent.EXPORT_MADE, actor=actor, data={
            "what": "self_inspection", "format": "pdf",
            # rows: the log entries the report summarises
            "filters": {"from": data["from"], "to": data["to"]}, "rows": report.entries_total,
        })
    return ExportFile(content, f"self-inspection-{period.start:%Y%m%d}-{period.end:%Y%m%d}.pdf",
                      "application/pdf", report.entries_total)

