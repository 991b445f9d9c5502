"""Notice batches (counts, held protected residents, issue, merged PDFs per chunk, print CSVs) and
tickets (reissue, single PDF)."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from eligibility import permissions, selectors, services
from eligibility.forms import ReasonForm
from eligibility.models import BatchStatus, NoticeItem
from eligibility.services.notices import KINDS, chunk_count
from eligibility.views.base import StaffView, get_or_404

HELD_LIST_LIMIT = 200


def _download(content: bytes, *, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@method_decorator(never_cache, name="dispatch")
class BatchDetailView(StaffView):
    """Counts by age band and priority group, the residents held from mailing (支援措置) and why, the
    issue button, then the downloads: one merged PDF per chunk and the print CSVs."""

    required_permission = permissions.VIEW_BATCH

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = get_or_404(selectors.batch_get, request, pk)
        held = list(selectors.batch_items(actor=request.user, batch=batch, mail_held=True)[:HELD_LIST_LIMIT])
        released = list(batch.items.filter(released_by__isnull=False).select_related("resident", "released_by"))
        self.record_access([i.resident for i in held + released])
        mailable = selectors.mailable_items(batch).count()
        chunks = chunk_count(batch) if batch.status == BatchStatus.ISSUED else 0
        return render(request, "eligibility/batch_detail.html", {
            "batch": batch, "run": batch.run, "held": held, "released": released, "mailable": mailable,
            "held_total": batch.run.held_protected - len(released),
            "chunks": range(1, chunks + 1), "chunk_size": settings.ELIGIBILITY_NOTICE_CHUNK_SIZE,
            "age_bands": list(batch.run.counts_by_age_band.items()),
            "groups": list(batch.run.counts_by_priority_group.items()),
            "can_issue": permissions.can(request.user, permissions.ISSUE_BATCH),
            "reason_form": ReasonForm(),
        })


@method_decorator(never_cache, name="dispatch")
class BatchIssueView(StaffView):
    required_permission = permissions.ISSUE_BATCH
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        batch = get_or_404(selectors.batch_get, request, pk)
        try:
            services.notice_batch_issue(actor=request.user, batch=batch)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("発行しました。接種券番号を採番しました。"))
        return redirect("eligibility:batch_detail", pk=batch.pk)


@method_decorator(never_cache, name="dispatch")
class ItemReleaseView(StaffView):
    """Send a held (支援措置) resident's notice after all; the reason is required and recorded."""

    required_permission = permissions.ISSUE_BATCH
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        try:
            item = NoticeItem.objects.select_related("batch").get(pk=pk)
        except NoticeItem.DoesNotExist:
            raise Http404 from None
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("送付する理由を入力してください。"))
        else:
            try:
                services.notice_item_release(actor=request.user, item=item, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("送付保留を解除しました（理由を記録しました）。"))
        return redirect("eligibility:batch_detail", pk=item.batch_id)


@method_decorator(never_cache, name="dispatch")
class BatchPdfView(StaffView):
    """One merged PDF (``tickets`` or ``letters``) of the chunk-th slice of the batch; recorded."""

    required_permission = permissions.ISSUE_BATCH

    def get(self, request: HttpRequest, pk: int, kind: str, chunk: int) -> HttpResponse:
        if kind not in KINDS:
            raise Http404
        batch = get_or_404(selectors.batch_get, request, pk)
        try:
            content = services.notice_batch_pdf(actor=request.user, batch=batch, kind=kind, chunk=chunk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("eligibility:batch_detail", pk=batch.pk)
        return _download(content, content_type="application/pdf", filename=f"batch-{batch.pk}-{kind}-{chunk:03d}.pdf")


@method_decorator(never_cache, name="dispatch")
class BatchCsvView(StaffView):
    required_permission = permissions.ISSUE_BATCH

    def get(self, request: HttpRequest, pk: int, kind: str) -> HttpResponse:
        if kind not in KINDS:
            raise Http404
        batch = get_or_404(selectors.batch_get, request, pk)
        try:
            content = services.notice_batch_csv(actor=request.user, batch=batch, kind=kind)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("eligibility:batch_detail", pk=batch.pk)
        return _download(content, content_type="text/csv; charset=utf-8", filename=f"batch-{batch.pk}-{kind}.csv")


def _ticket_or_404(request: HttpRequest, pk: int):  # type: ignore[no-untyped-def]
    try:
        return selectors.ticket_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


@method_decorator(never_cache, name="dispatch")
class TicketReissueView(StaffView):
    """再発行 on application: the old number becomes void and a new ticket replaces it."""

    required_permission = permissions.REISSUE_TICKET
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = _ticket_or_404(request, pk)
        form = ReasonForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("再発行の理由を入力してください。"))
        else:
            try:
                new = services.ticket_reissue(actor=request.user, ticket=ticket, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, _("接種券を再発行しました（旧番号 %(old)s は無効、新番号 %(new)s）。")
                                 % {"old": ticket.number, "new": new.number})
        return redirect("eligibility:resident", pk=ticket.resident_id)


@method_decorator(never_cache, name="dispatch")
class TicketPdfView(StaffView):
    required_permission = permissions.REISSUE_TICKET

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = _ticket_or_404(request, pk)
        try:
            content = services.ticket_pdf(actor=request.user, ticket=ticket)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("eligibility:resident", pk=ticket.resident_id)
        return _download(content, content_type="application/pdf", filename=f"ticket-{ticket.number}.pdf")
