"""Browser pages of the clinic CSV imports: the upload form, the list of imports, each import's page (its
history, progress, results and row errors), the progress endpoint the page polls, the row-error CSV, and
the administrators' clinic API token pages. Views parse input, call one selector or service and render;
every view declares its permission (accounts.access) and object scope comes from imports.selectors."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from audit.services import audit_access_record
from imports import permissions, selectors
from imports.error_csv import clinic_import_error_csv
from imports.forms import ClinicApiTokenIssueForm, ClinicImportUploadForm
from imports.models import ClinicImport, ImportSource, ImportStatus
from imports.services import ImportRefused, clinic_import_receive
from imports.tokens import TOKEN_KEYWORD, clinic_api_token_issue, clinic_api_token_revoke

LIST_PAGE_SIZE = 50
ERROR_PAGE_SIZE = 100
IN_PROGRESS = (ImportStatus.RECEIVED, ImportStatus.VALIDATING)
POLL_INTERVAL_MS = 2000


def _import_or_404(request: HttpRequest, pk: int) -> ClinicImport:
    try:
        return selectors.clinic_import_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _page(request: HttpRequest, items: Any, size: int) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def progress_facts(clinic_import: ClinicImport) -> dict[str, Any]:
    """What the progress bar and the result panel show, for the page and its JSON endpoint alike."""
    total = clinic_import.rows_total
    validated = min(clinic_import.rows_validated, total) if total else clinic_import.rows_validated
    return {
        "status": clinic_import.status,
        "status_label": str(clinic_import.get_status_display()),
        "in_progress": clinic_import.status in IN_PROGRESS,
        "rows_total": total,
        "rows_validated": validated,
        "percent": int(validated * 100 / total) if total else 0,
        "rows_committed": clinic_import.rows_committed,
        "rows_duplicate": clinic_import.rows_duplicate,
        "rows_error": clinic_import.rows_error,
    }


# --- Imports -------------------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class ImportListView(View):
    """Imports the user may see, newest first: a clinic its own, staff and auditors all."""

    required_permission = permissions.VIEW_IMPORT
    template_name = "imports/import_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        imports = selectors.clinic_import_list(actor=request.user)
        return render(request, self.template_name, {
            "page": _page(request, imports, LIST_PAGE_SIZE),
            "can_upload": permissions.can_upload_import(request.user),
            "shows_clinic": not permissions.is_clinic_bound(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class ImportUploadView(View):
    """The month's CSV, stored unchanged before anything else; processing then runs on Celery and the
    import's page follows it. A refused file (duplicate, encoding, size ...) is a form error."""

    required_permission = permissions.UPLOAD_IMPORT
    template_name = "imports/import_upload.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ClinicImportUploadForm(user=request.user))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClinicImportUploadForm(request.POST, request.FILES, user=request.user)
        if not form.is_valid():
            return self._render(request, form)
        clinic = form.target_clinic()
        if clinic is None:
            form.add_error(None, _("所属医療機関が設定されていないため、アップロードできません。"
                                   "管理者に連絡してください。"))
            return self._render(request, form)
        upload = form.cleaned_data["file"]
        source = ImportSource.STAFF_UPLOAD if form.chooses_clinic else ImportSource.CLINIC_UPLOAD
        try:
            clinic_import = clinic_import_receive(
                actor=request.user, clinic=clinic, billing_month=form.cleaned_data["billing_month"],
                filename=upload.name, data=upload.read(), source=source,
            )
        except ImportRefused as exc:
            form.add_error("file", exc.messages)
            return self._render(request, form, refusal=exc)
        messages.success(request, _("ファイルを受け付けました。検証と登録の進み具合はこの画面で確認できます。"))
        return redirect("imports:detail", pk=clinic_import.pk)

    def _render(self, request: HttpRequest, form: ClinicImportUploadForm,
                refusal: ImportRefused | None = None) -> HttpResponse:
        earlier = getattr(refusal, "existing_import", None) if refusal is not None else None
        if earlier is not None and not selectors.import_visible_to(actor=request.user, clinic_import=earlier):
            earlier = None
        return render(request, self.template_name, {
            "form": form, "earlier_import": earlier,
            "own_clinic": None if form.chooses_clinic else getattr(request.user, "clinic", None),
        })


@method_decorator(never_cache, name="dispatch")
class ImportDetailView(View):
    """One import: what was received from whom, its history, progress, results and row errors."""

    required_permission = permissions.VIEW_IMPORT
    template_name = "imports/import_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        clinic_import = _import_or_404(request, pk)
        can_view_errors = permissions.can_view_row_errors(request.user, clinic_import)
        errors = None
        if can_view_errors:
            errors = _page(request, selectors.import_row_error_list(actor=request.user, clinic_import=clinic_import),
                           ERROR_PAGE_SIZE)
        audit_access_record(actor=request.user, objects=[clinic_import], view="imports:detail",
                            permission=self.required_permission)
        facts = progress_facts(clinic_import)
        return render(request, self.template_name, {
            "import": clinic_import,
            "progress": facts,
            "errors": errors,
            "can_view_errors": can_view_errors,
            "poll_interval_ms": POLL_INTERVAL_MS,
        })


@method_decorator(never_cache, name="dispatch")
class ImportProgressView(View):
    """The small JSON the import page polls while the import is received or validating."""

    required_permission = permissions.VIEW_IMPORT

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(progress_facts(_import_or_404(request, pk)))


@method_decorator(never_cache, name="dispatch")
class ImportErrorCsvView(View):
    """The rows that had errors, as the clinic sent them plus 行番号・エラー項目・エラー内容, so it can
    correct them and send just those rows again. The file holds the My Numbers the clinic sent: it is an
    export, recorded as such (EXPORT_MADE)."""

    required_permission = permissions.VIEW_ROW_ERRORS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        clinic_import = _import_or_404(request, pk)
        content = clinic_import_error_csv(actor=request.user, clinic_import=clinic_import)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{clinic_import.pk}-errors.csv"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


# --- Clinic API tokens (administrators) -------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class TokenListView(View):
    required_permission = permissions.VIEW_API_TOKEN
    template_name = "imports/token_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {
            "tokens": selectors.clinic_api_token_list(actor=request.user),
            "can_issue": permissions.can_issue_api_token(request.user),
            "can_revoke": permissions.can_revoke_api_token(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class TokenIssueView(View):
    """Issue a token. The clear token is shown in the response to the POST and nowhere else: it is not
    stored, not put in the session, and cannot be shown again."""

    required_permission = permissions.ISSUE_API_TOKEN
    template_name = "imports/token_issue.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ClinicApiTokenIssueForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ClinicApiTokenIssueForm(request.POST)
        if form.is_valid():
            try:
                issued = clinic_api_token_issue(actor=request.user, clinic=form.cleaned_data["clinic"],
                                                name=form.cleaned_data["name"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return render(request, "imports/token_issued.html", {
                    "token": issued.token, "key": issued.key, "token_keyword": TOKEN_KEYWORD,
                })
        return render(request, self.template_name, {"form": form})


@method_decorator(never_cache, name="dispatch")
class TokenRevokeView(View):
    required_permission = permissions.REVOKE_API_TOKEN
    template_name = "imports/token_revoke.html"

    def _token(self, request: HttpRequest, pk: int) -> Any:
        try:
            return selectors.clinic_api_token_list(actor=request.user).get(pk=pk)
        except ObjectDoesNotExist:
            raise Http404 from None

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return render(request, self.template_name, {"token": self._token(request, pk)})

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        token = self._token(request, pk)
        try:
            clinic_api_token_revoke(actor=request.user, token_id=token.pk)
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
        else:
            messages.success(request, _("APIトークン %(prefix)s… を失効させました。") % {"prefix": token.prefix})
        return redirect("imports:token_list")
