"""The auditor's desk (監査): search the log, open an entry, the history of one resident or one user,
exports of a search (CSV, PDF), the self-inspection report and on-demand chain verification.

Read-only towards the data: the only writes are the log's own records of this desk's use — access
entries for the residents whose data a page or file shows, EXPORT_MADE for every file, REPORT_GENERATED
for every report, and the verification result. Views parse input, call one selector or service, render.
"""

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from audit import permissions, reports, selectors
from audit.forms import MY_NUMBER_REFUSED, AuditSearchForm, InspectionPeriodForm
from audit.models import AuditLogEntry
from audit.services import audit_access_record, audit_chain_verify_request
from records.models import Resident


def _cursor(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _record_residents_shown(request: HttpRequest, entries: list[AuditLogEntry], *, view: str,
                            with_records: bool) -> None:
    residents = selectors.residents_shown(entries=entries, with_records=with_records)
    if residents:
        audit_access_record(actor=request.user, objects=residents, view=view, permission=permissions.VIEW_LOG)


def _rows(entries: list[AuditLogEntry], resident_ct_id: int) -> list[dict[str, Any]]:
    return [
        {
            "entry": entry,
            "action": reports.action_label(entry),
            "object_repr": reports.clean_text(entry.object_repr),
            "resident_id": int(entry.object_pk)
            if entry.content_type_id == resident_ct_id and entry.object_pk.isdigit() else None,
        }
        for entry in entries
    ]


def _resident_ct_id() -> int:
    return ContentType.objects.get_for_model(Resident).pk


def _page_links(base: str, query: dict[str, str], page: selectors.AuditEntryPage) -> dict[str, str]:
    links = {}
    if page.newer_cursor is not None:
        links["newer"] = f"{base}?{urlencode({**query, 'after': page.newer_cursor})}"
        links["newest"] = f"{base}?{urlencode(query)}" if query else base
    if page.older_cursor is not None:
        links["older"] = f"{base}?{urlencode({**query, 'before': page.older_cursor})}"
    return links


def _render_list(request: HttpRequest, *, criteria: selectors.AuditSearchCriteria, base: str,
                 query: dict[str, str], view: str, **context: Any) -> HttpResponse:
    page = selectors.audit_entry_page(
        actor=request.user, criteria=criteria, before=_cursor(request, "before"), after=_cursor(request, "after")
    )
    subject = context.get("subject_resident")
    if subject is not None:
        audit_access_record(actor=request.user, objects=[subject], view=view, permission=permissions.VIEW_LOG)
    else:
        _record_residents_shown(request, page.entries, view=view, with_records=False)
    return render(request, "audit/entry_list.html", {
        "rows": _rows(page.entries, _resident_ct_id()),
        "page": page,
        "links": _page_links(base, query, page),
        "export_fields": criteria.as_query(),
        "can_export": permissions.can_export_log(request.user),
        "csv_limit": reports.CSV_EXPORT_LIMIT,
        "pdf_limit": reports.PDF_EXPORT_LIMIT,
        "page_size": selectors.PAGE_SIZE,
        **context,
    })


@method_decorator(never_cache, name="dispatch")
class AuditEntryListView(View):
    """The log search. Criteria by GET; with none, the newest entries of the whole log."""

    required_permission = permissions.VIEW_LOG

    def get(self, request: HttpRequest) -> HttpResponse:
        searched = any(request.GET.get(name) for name in AuditSearchForm.visible_fields_order)
        form = AuditSearchForm(request.GET if searched else None, actor=request.user)
        if searched and form.my_number_refused:
            # Nothing is searched, and the answer is a redirect to the bare desk: the page must not carry
            # the value on (its links and the language switch repeat the current URL).
            messages.error(request, MY_NUMBER_REFUSED)
            return redirect("audit:entry_list")
        if searched and not form.is_valid():
            return render(request, "audit/entry_list.html", {"form": form, "title": _("監査ログ検索")})
        criteria = form.to_criteria() if searched else selectors.AuditSearchCriteria()
        query = criteria.as_query()
        return _render_list(request, criteria=criteria, base=reverse("audit:entry_list"), query=query,
                            view="audit:entry_list", form=form, searched=searched, title=_("監査ログ検索"))


@method_decorator(never_cache, name="dispatch")
class ResidentHistoryView(View):
    """Everything the log holds about one resident and their vaccination records."""

    required_permission = permissions.VIEW_LOG

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            resident = selectors.audit_resident_get(actor=request.user, pk=pk)
        except ObjectDoesNotExist:
            raise Http404 from None
        criteria = selectors.AuditSearchCriteria(resident_id=resident.pk)
        return _render_list(request, criteria=criteria, base=reverse("audit:resident_history", args=[pk]),
                            query={}, view="audit:resident_history", subject_resident=resident,
                            title=_("宛名の記録履歴"))


@method_decorator(never_cache, name="dispatch")
class UserHistoryView(View):
    """Everything one user did, and what was done to their account."""

    required_permission = permissions.VIEW_LOG

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            subject = selectors.audit_user_get(actor=request.user, pk=pk)
        except ObjectDoesNotExist:
            raise Http404 from None
        about = selectors.audit_entries_about_user(actor=request.user, user=subject)
        criteria = selectors.AuditSearchCriteria(actor_id=subject.pk)
        return _render_list(request, criteria=criteria, base=reverse("audit:user_history", args=[pk]),
                            query={}, view="audit:user_history", subject_user=subject,
                            about_rows=_rows(about, _resident_ct_id()), title=_("利用者の操作履歴"))


@method_decorator(never_cache, name="dispatch")
class AuditEntryDetailView(View):
    """One entry, every field, the field diff as a table, and whether it still matches its hash."""

    required_permission = permissions.VIEW_LOG

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            entry = selectors.audit_entry_get(actor=request.user, pk=pk)
        except ObjectDoesNotExist:
            raise Http404 from None
        _record_residents_shown(request, [entry], view="audit:entry_detail", with_records=True)
        resident_ct = _resident_ct_id()
        # A protected person's (支援措置) address is withheld here as in every list and export.
        address_masked = entry.pk in reports.protected_entry_ids([entry])
        return render(request, "audit/entry_detail.html", {
            "entry": entry,
            "action": reports.action_label(entry),
            "object_repr": reports.clean_text(entry.object_repr),
            "changes": reports.entry_change_rows(entry, mask_address=address_masked),
            "address_masked": address_masked,
            "additional": _pretty(entry.additional_data),
            "serialized": _pretty(entry.serialized_data),
            "hash_ok": reports.entry_hash_matches(entry),
            "resident_id": int(entry.object_pk)
            if entry.content_type_id == resident_ct and entry.object_pk.isdigit() else None,
        })


def _pretty(data: Any) -> str:
    if data in (None, "", {}):
        return ""
    return reports.clean_text(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str))


def _back_to_search(criteria: selectors.AuditSearchCriteria | None) -> HttpResponseRedirect:
    if criteria is None:
        return redirect("audit:entry_list")
    if criteria.resident_id is not None:
        return redirect("audit:resident_history", pk=criteria.resident_id)
    if criteria.actor_id is not None:
        return redirect("audit:user_history", pk=criteria.actor_id)
    query = criteria.as_query()
    return redirect(reverse("audit:entry_list") + (f"?{urlencode(query)}" if query else ""))


def _attachment(export: reports.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@method_decorator(never_cache, name="dispatch")
class AuditEntryExportView(View):
    """POST only (the export is itself recorded): the search's criteria come as hidden fields."""

    required_permission = permissions.EXPORT_LOG
    http_method_names = ["post"]
    export_format = ""

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AuditSearchForm(request.POST, actor=request.user)
        if form.my_number_refused or not form.is_valid():
            messages.error(request, _("出力の条件が正しくありません。検索し直してください。"))
            return _back_to_search(None)
        criteria = form.to_criteria()
        exporter = (reports.audit_entries_export_csv if self.export_format == "csv"
                    else reports.audit_entries_export_pdf)
        try:
            export = exporter(actor=request.user, criteria=criteria)
        except reports.ExportTooLarge as exc:
            messages.error(request, exc.message)
            return _back_to_search(criteria)
        return _attachment(export)


class AuditEntryExportCsvView(AuditEntryExportView):
    export_format = "csv"


class AuditEntryExportPdfView(AuditEntryExportView):
    export_format = "pdf"


@method_decorator(never_cache, name="dispatch")
class SelfInspectionView(View):
    """維持管理点検: the yearly self-inspection report for a fiscal year or a date range."""

    required_permission = permissions.VIEW_REPORT

    def get(self, request: HttpRequest) -> HttpResponse:
        given = any(request.GET.get(name) for name in ("fiscal_year", "date_from", "date_to"))
        form = InspectionPeriodForm(request.GET if given else None)
        if given and form.my_number_refused:
            messages.error(request, MY_NUMBER_REFUSED)
            return redirect("audit:self_inspection")
        if given and not form.is_valid():
            return render(request, "audit/self_inspection.html", {"form": form})
        period = form.to_period(today=timezone.localdate())
        report = reports.self_inspection_generate(actor=request.user, period=period)
        return render(request, "audit/self_inspection.html", {
            "form": form,
            "report": report,
            "period_fields": {"date_from": period.start.isoformat(), "date_to": period.end.isoformat()},
            "can_verify": permissions.can_verify_chain(request.user),
        })


def _period_query(request: HttpRequest) -> str:
    form = InspectionPeriodForm(request.POST)
    if form.my_number_refused or not form.is_valid():
        return ""
    period = form.to_period(today=timezone.localdate())
    return urlencode({"date_from": period.start.isoformat(), "date_to": period.end.isoformat()})


@method_decorator(never_cache, name="dispatch")
class SelfInspectionPdfView(View):
    required_permission = permissions.VIEW_REPORT
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = InspectionPeriodForm(request.POST)
        if form.my_number_refused or not form.is_valid():
            messages.error(request, _("点検期間が正しくありません。"))
            return redirect("audit:self_inspection")
        period = form.to_period(today=timezone.localdate())
        return _attachment(reports.self_inspection_pdf(actor=request.user, period=period))


@method_decorator(never_cache, name="dispatch")
class ChainVerifyView(View):
    """Walk the whole hash chain and record the result, as the nightly job does. Queued as that job's
    task (ids only): over millions of entries it takes minutes, longer than a request may. Without a
    broker (development, tests) it has finished by the time the page is shown again."""

    required_permission = permissions.VERIFY_CHAIN
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        audit_chain_verify_request(actor=request.user)
        messages.info(request, _("監査ログの連鎖の検証を開始しました。結果は「監査ログの完全性」の欄に記録されます"
                                 "（記録が多いと数分かかります）。"))
        query = _period_query(request)
        return redirect(reverse("audit:self_inspection") + (f"?{query}" if query else ""))
