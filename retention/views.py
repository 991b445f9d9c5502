"""Pages of retention and purges: policies (administrators), legal holds (administrators), purge reports
with approval, progress and the deletion certificate (administrators; auditors read). Views parse input,
call one selector or service and render; every view declares its permission."""

from abc import ABC, abstractmethod
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from accounts.manage_forms import add_service_errors
from audit.services import audit_access_record
from retention import certificate, permissions, selectors, services
from retention.classes import data_class
from retention.forms import DecisionForm, HoldForm, HoldReleaseForm, PolicyForm, ReportCreateForm
from retention.models import LegalHold, PurgeReport, ReportStatus, ReportTrigger

PAGE_SIZE = 50
POLL_INTERVAL_MS = 2000


def _report_or_404(request: HttpRequest, pk: int) -> PurgeReport:
    try:
        return selectors.report_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _hold_or_404(request: HttpRequest, pk: int) -> LegalHold:
    try:
        return selectors.hold_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


# --- Policies ----------------------------------------------------------------------------------------

@method_decorator(never_cache, name="dispatch")
class PolicyListView(View):
    required_permission = permissions.VIEW_POLICY

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "retention/policy_list.html", {
            "rows": selectors.policy_list(actor=request.user),
            "can_change": permissions.can_change_policy(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class PolicyEditView(View):
    required_permission = permissions.CHANGE_POLICY
    template_name = "retention/policy_edit.html"

    def _class(self, key: str) -> Any:
        try:
            return data_class(key)
        except KeyError:
            raise Http404 from None

    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        cls = self._class(key)
        form = PolicyForm(data_class=cls, initial={"years": selectors.policy_years(key=key)})
        return self._render(request, cls, form)

    def post(self, request: HttpRequest, key: str) -> HttpResponse:
        cls = self._class(key)
        form = PolicyForm(request.POST, data_class=cls)
        if form.is_valid():
            try:
                services.retention_policy_set(actor=request.user, key=key, years=form.cleaned_data["years"],
                                              reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("保存期間を変更しました。"))
                return redirect("retention:policy_list")
        return self._render(request, cls, form)

    def _render(self, request: HttpRequest, cls: Any, form: PolicyForm) -> HttpResponse:
        return render(request, self.template_name, {
            "data_class": cls, "form": form, "years": selectors.policy_years(key=cls.key),
            "history": selectors.policy_history(actor=request.user, key=cls.key),
        })


# --- Legal holds -------------------------------------------------------------------------------------

@method_decorator(never_cache, name="dispatch")
class HoldListView(View):
    required_permission = permissions.VIEW_HOLD

    def get(self, request: HttpRequest) -> HttpResponse:
        open_only = request.GET.get("state") != "all"
        page = Paginator(selectors.hold_list(actor=request.user, open_only=open_only), PAGE_SIZE).get_page(
            request.GET.get("page"))
        holds = list(page.object_list)
        # The list names people (by their address number): a read of personal data, on record.
        audit_access_record(actor=request.user, objects=[hold.resident for hold in holds],
                            view="retention:hold_list", permission=permissions.VIEW_HOLD)
        providers = selectors.other_hold_providers()
        return render(request, "retention/hold_list.html", {
            "page": page, "holds": holds, "open_only": open_only, "providers": providers,
            "can_place": permissions.can_place_hold(request.user),
            "can_release": permissions.can_release_hold(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class HoldCreateView(View):
    required_permission = permissions.ADD_HOLD
    template_name = "retention/hold_create.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": HoldForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = HoldForm(request.POST)
        if form.is_valid():
            resident = selectors.hold_resident_lookup(actor=request.user,
                                                      address_number=form.cleaned_data["address_number"])
            if resident is None:
                form.add_error("address_number", _("この宛名番号の宛名はありません。"))
            else:
                try:
                    services.legal_hold_place(actor=request.user, resident=resident,
                                              reason=form.cleaned_data["reason"],
                                              reference=form.cleaned_data["reference"])
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("消去保留を設定しました。解除するまでこの方のデータは消去されません。"))
                    return redirect("retention:hold_list")
        return render(request, self.template_name, {"form": form})


@method_decorator(never_cache, name="dispatch")
class HoldReleaseView(View):
    required_permission = permissions.RELEASE_HOLD
    template_name = "retention/hold_release.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self._render(request, _hold_or_404(request, pk), HoldReleaseForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        hold = _hold_or_404(request, pk)
        form = HoldReleaseForm(request.POST)
        if form.is_valid():
            try:
                services.legal_hold_release(actor=request.user, hold=hold,
                                            reason=form.cleaned_data["release_reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("消去保留を解除しました。"))
                return redirect("retention:hold_list")
        return self._render(request, hold, form)

    def _render(self, request: HttpRequest, hold: LegalHold, form: HoldReleaseForm) -> HttpResponse:
        audit_access_record(actor=request.user, objects=[hold.resident], view="retention:hold_release",
                            permission=permissions.RELEASE_HOLD)
        return render(request, self.template_name, {"hold": hold, "form": form})


# --- Reports -----------------------------------------------------------------------------------------

@method_decorator(never_cache, name="dispatch")
class ReportListView(View):
    required_permission = permissions.VIEW_REPORT

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(selectors.report_list(actor=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        return render(request, "retention/report_list.html", {
            "page": page, "form": ReportCreateForm(),
            "can_create": permissions.can_create_report(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class ReportCreateView(View):
    """A dry run now: lists what is due and freezes it as a report to approve. Deletes nothing."""

    required_permission = permissions.ADD_REPORT

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ReportCreateForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("基準日を正しく入力してください（例: 2026-11-01）。"))
            return redirect("retention:report_list")
        as_of = form.cleaned_data["as_of"] or timezone.localdate()
        report = services.purge_report_create(actor=request.user, as_of=as_of, trigger=ReportTrigger.ADMINISTRATOR)
        messages.success(request, _("消去対象を抽出しました（まだ何も消去していません）。"
                                    "内容を確認して承認してください。"))
        return redirect("retention:report_detail", pk=report.pk)


def progress_facts(report: PurgeReport) -> dict[str, Any]:
    progress = selectors.report_progress(report=report)
    return {
        "status": report.status, "status_label": str(report.get_status_display()),
        "in_progress": report.status in (ReportStatus.APPROVED, ReportStatus.RUNNING),
        "batches_total": progress.batches_total, "batches_done": progress.batches_done,
        "percent": progress.percent, "deleted": progress.deleted, "skipped": progress.skipped,
    }


@method_decorator(never_cache, name="dispatch")
class ReportDetailView(View):
    required_permission = permissions.VIEW_REPORT

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = _report_or_404(request, pk)
        items = [(item, selectors.class_label(item.data_class)) for item in report.items.order_by("position")]
        return render(request, "retention/report_detail.html", {
            "report": report, "items": items, "progress": progress_facts(report), "form": DecisionForm(),
            "can_decide": permissions.can_approve_report(request.user), "poll_interval_ms": POLL_INTERVAL_MS,
            "statuses": ReportStatus,
        })


@method_decorator(never_cache, name="dispatch")
class ReportProgressView(View):
    required_permission = permissions.VIEW_REPORT

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(progress_facts(_report_or_404(request, pk)))


class _ReportActionView(View, ABC):
    """A POST on the report page; a refused action comes back as a message on that page."""

    required_permission = permissions.APPROVE_REPORT
    success_message = ""

    @abstractmethod
    def perform(self, request: HttpRequest, report: PurgeReport, note: str) -> None:
        """Call the service of this action (each subclass)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = _report_or_404(request, pk)
        form = DecisionForm(request.POST)
        note = form.cleaned_data["note"] if form.is_valid() else ""
        try:
            self.perform(request, report, note)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, self.success_message)
        return redirect("retention:report_detail", pk=report.pk)


@method_decorator(never_cache, name="dispatch")
class ReportApproveView(_ReportActionView):
    success_message = _("承認しました。消去を開始します。")

    def perform(self, request: HttpRequest, report: PurgeReport, note: str) -> None:
        services.purge_report_approve(actor=request.user, report=report, note=note)


@method_decorator(never_cache, name="dispatch")
class ReportRejectView(_ReportActionView):
    success_message = _("却下しました。この報告のデータは消去されません。")

    def perform(self, request: HttpRequest, report: PurgeReport, note: str) -> None:
        services.purge_report_reject(actor=request.user, report=report, note=note)


@method_decorator(never_cache, name="dispatch")
class ReportStopView(_ReportActionView):
    success_message = _("中断を指示しました。処理中のバッチが終わると止まります。")

    def perform(self, request: HttpRequest, report: PurgeReport, note: str) -> None:
        services.purge_report_stop(actor=request.user, report=report)


@method_decorator(never_cache, name="dispatch")
class ReportResumeView(_ReportActionView):
    success_message = _("再開しました。残りのバッチを消去します。")

    def perform(self, request: HttpRequest, report: PurgeReport, note: str) -> None:
        services.purge_report_resume(actor=request.user, report=report)


class _CertificateView(View):
    required_permission = permissions.VIEW_REPORT
    file_format = ""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        report = _report_or_404(request, pk)
        if report.status != ReportStatus.COMPLETED:
            raise Http404
        maker = certificate.certificate_csv if self.file_format == "csv" else certificate.certificate_pdf
        made = maker(actor=request.user, report=report)
        response = HttpResponse(made.content, content_type=made.content_type)
        response["Content-Disposition"] = f'attachment; filename="{made.filename}"'
        return response


@method_decorator(never_cache, name="dispatch")
class CertificateCsvView(_CertificateView):
    file_format = "csv"


@method_decorator(never_cache, name="dispatch")
class CertificatePdfView(_CertificateView):
    file_format = "pdf"
