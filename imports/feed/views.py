"""Browser pages of the resident change feed (staff; auditors read the list and each file's history): the
list, the upload, each file's page with progress and row errors, the progress JSON it polls, and the
row-error CSV. Each view declares its permission and calls one selector or service."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from audit.services import audit_access_record
from imports import permissions
from imports.feed import resident_feed_receive, selectors
from imports.feed.error_csv import resident_feed_error_csv
from imports.feed.forms import ResidentFeedUploadForm
from imports.models import FeedStatus, ImportSource, ResidentFeedFile
from imports.services.errors import ImportRefused

LIST_PAGE_SIZE = 50
ERROR_PAGE_SIZE = 100
POLL_INTERVAL_MS = 2000
IN_PROGRESS = (FeedStatus.RECEIVED, FeedStatus.VALIDATING)


def _feed_or_404(request: HttpRequest, pk: int) -> ResidentFeedFile:
    try:
        return selectors.resident_feed_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _page(request: HttpRequest, items: Any, size: int) -> Page:
    return Paginator(items, size).get_page(request.GET.get("page"))


def feed_progress_facts(feed_file: ResidentFeedFile) -> dict[str, Any]:
    total = feed_file.rows_total
    validated = min(feed_file.rows_validated, total) if total else feed_file.rows_validated
    return {
        "status": feed_file.status,
        "status_label": str(feed_file.get_status_display()),
        "in_progress": feed_file.status in IN_PROGRESS,
        "rows_total": total,
        "rows_validated": validated,
        "percent": int(validated * 100 / total) if total else 0,
        "rows_applied": feed_file.rows_applied,
        "rows_error": feed_file.rows_error,
        "residents_created": feed_file.residents_created,
    }


@method_decorator(never_cache, name="dispatch")
class FeedListView(View):
    required_permission = permissions.VIEW_FEED
    template_name = "imports/feed_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {
            "page": _page(request, selectors.resident_feed_list(actor=request.user), LIST_PAGE_SIZE),
            "can_upload": permissions.can_upload_feed(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class FeedUploadView(View):
    """The change file, stored unchanged before anything else; applying runs on Celery."""

    required_permission = permissions.UPLOAD_FEED
    template_name = "imports/feed_upload.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": ResidentFeedUploadForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ResidentFeedUploadForm(request.POST, request.FILES)
        earlier = None
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                feed_file = resident_feed_receive(actor=request.user, filename=upload.name, data=upload.read(),
                                                  source=ImportSource.STAFF_UPLOAD)
            except ImportRefused as exc:
                form.add_error("file", exc.messages)
                earlier = exc.existing_import
            else:
                messages.success(request,
                                 _("異動データを受け付けました。検証と反映の進み具合はこの画面で確認できます。"))
                return redirect("imports:feed_detail", pk=feed_file.pk)
        return render(request, self.template_name, {"form": form, "earlier": earlier})


@method_decorator(never_cache, name="dispatch")
class FeedDetailView(View):
    required_permission = permissions.VIEW_FEED
    template_name = "imports/feed_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        feed_file = _feed_or_404(request, pk)
        can_view_errors = permissions.can_view_feed_row_errors(request.user)
        errors = None
        if can_view_errors:
            errors = _page(request, selectors.resident_feed_row_error_list(actor=request.user, feed_file=feed_file),
                           ERROR_PAGE_SIZE)
        audit_access_record(actor=request.user, objects=[feed_file], view="imports:feed_detail",
                            permission=self.required_permission)
        return render(request, self.template_name, {
            "feed": feed_file, "progress": feed_progress_facts(feed_file), "errors": errors,
            "can_view_errors": can_view_errors, "poll_interval_ms": POLL_INTERVAL_MS,
        })


@method_decorator(never_cache, name="dispatch")
class FeedProgressView(View):
    required_permission = permissions.VIEW_FEED

    def get(self, request: HttpRequest, pk: int) -> JsonResponse:
        return JsonResponse(feed_progress_facts(_feed_or_404(request, pk)))


@method_decorator(never_cache, name="dispatch")
class FeedErrorCsvView(View):
    """The rows not applied, as sent (names and My Numbers included): an export, recorded as such."""

    required_permission = permissions.VIEW_FEED_ROW_ERRORS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        feed_file = _feed_or_404(request, pk)
        content = resident_feed_error_csv(actor=request.user, feed_file=feed_file)
        response = HttpResponse(content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="feed-{feed_file.pk}-errors.csv"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
