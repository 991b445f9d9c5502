"""Browser pages of linkage.

Staff: query a moved-in resident's vaccination history from the former municipality, follow the query,
review the result and register its doses as 転入前接種 records with one action; the confirmation queue of
inbound queries (what would be sent; approve or refuse). Auditors: search the provision records
(情報提供等の記録) and export them as CSV. Views parse input, call one selector or service and render;
pages showing a resident record a read-access entry (records.views.PersonalDataView).
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from audit.services import audit_access_record
from linkage import permissions, selectors
from linkage.client import LinkageError
from linkage.exports import provision_record_export_csv
from linkage.forms import ProvisionRecordSearchForm, QueryForm, RefuseForm
from linkage.models import EXCHANGE_FINAL, Exchange, ExchangeStatus, InboundQuery, InboundStatus
from linkage.rules import BUSINESS_LABELS, ITEM_LABELS
from linkage.services.codes import provision_code_acquire
from linkage.services.common import linkage_client, our_body
from linkage.services.provision import inbound_approve, inbound_refuse, provision_payload
from linkage.services.queries import (
    linkage_query_request,
    linkage_query_retry,
    linkage_result_doses,
    linkage_result_register,
)
from records.models import Resident
from records.selectors import resident_get
from records.views import PersonalDataView

PAGE_SIZE = 50


def failure_message(code: str) -> str:
    """A clear Japanese reason for an exchange's failure code (codes carry no personal data)."""
    known = {
        "timeout": _("中間サーバーが制限時間内に応答しませんでした（再送できます）。"),
        "connection_failed": _("中間サーバーに接続できませんでした（再送できます）。"),
        "not_permitted": _("照会許可用照会リストで許可されていない照会のため、提供許可証が発行されませんでした。"
                           "照会は送信していません。"),
        "undecryptable": _("照会結果を当市の鍵で復号できませんでした。鍵の設定を確認してください。"),
    }
    if code in known:
        return known[code]
    if code.startswith("http_"):
        return _("中間サーバーがエラーを返しました（%(status)s）。再送できます。") % {"status": code[5:]}
    if code.startswith("malformed_"):
        return _("照会結果の形式が正しくありません（%(field)s）。") % {"field": code[10:]}
    return _("中間サーバーが要求を受け付けませんでした（%(code)s）。") % {"code": code}


def _hold_labels(inbound: InboundQuery) -> list[str]:
    labels = {
        "auto_response_disabled": _("自動応答不可フラグ（本人）"),
        "is_protected": _("支援措置対象者"),
        "use_suspended": _("利用停止中"),
        "item_flagged": _("自動応答不可の項目"),
    }
    return [labels.get(reason, reason) for reason in inbound.hold_reason_list]


def _resident_or_404(request: HttpRequest, pk: int) -> Resident:
    try:
        return resident_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _exchange_or_404(request: HttpRequest, pk: int) -> Exchange:
    try:
        return selectors.exchange_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _inbound_or_404(request: HttpRequest, pk: int) -> InboundQuery:
    try:
        return selectors.inbound_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


# --- Outbound queries ------------------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class ExchangeListView(PersonalDataView):
    """The queries made, newest first, and the count of inbound queries awaiting confirmation."""

    required_permission = permissions.VIEW_EXCHANGE
    template_name = "linkage/exchange_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(selectors.exchange_list(actor=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        self.record_access([e.resident for e in page.object_list])
        awaiting = selectors.inbound_list(actor=request.user).filter(status=InboundStatus.AWAITING_CONFIRMATION).count()
        return render(request, self.template_name, {"page": page, "awaiting": awaiting})


@method_decorator(never_cache, name="dispatch")
class QueryStartView(PersonalDataView):
    """Choose the former municipality and send the query (the information-provision code is obtained
    first when the resident has none)."""

    required_permission = permissions.QUERY
    template_name = "linkage/query_start.html"

    def _bodies(self) -> list[tuple[str, str]]:
        with linkage_client() as client:
            return [(b.code, b.name) for b in client.bodies() if b.code != our_body()[0]]

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        try:
            form: QueryForm | None = QueryForm(bodies=self._bodies())
        except LinkageError:
            form = None
            messages.error(request, _("中間サーバーに接続できないため、照会先の一覧を取得できません。"
                                      "時間をおいて再度お試しください。"))
        return self._render(request, resident, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        try:
            form = QueryForm(request.POST, bodies=self._bodies())
            if form.is_valid():
                if resident.moved_in_on is not None:
                    provision_code_acquire(actor=request.user, resident=resident)
                code, name = form.provider()
                exchange = linkage_query_request(actor=request.user, resident=resident, provider_code=code,
                                                 provider_name=name)
                messages.success(request, _("照会を受け付けました。結果はこの画面に表示されます。"))
                return redirect("linkage:exchange_detail", pk=exchange.pk)
        except LinkageError as exc:
            messages.error(request, failure_message(getattr(exc, "code", "connection_failed")))
            return redirect("linkage:query_start", pk=resident.pk)
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        return self._render(request, resident, form)

    def _render(self, request: HttpRequest, resident: Resident, form: QueryForm | None) -> HttpResponse:
        self.record_access([resident])
        earlier = selectors.exchange_list(actor=request.user, resident_id=resident.pk)[:20]
        return render(request, self.template_name, {"resident": resident, "form": form, "earlier": earlier})


@method_decorator(never_cache, name="dispatch")
class ExchangeDetailView(PersonalDataView):
    """One query: its state, a clear reason when it failed or was refused, and the result's doses."""

    required_permission = permissions.VIEW_RESULT
    template_name = "linkage/exchange_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        exchange = _exchange_or_404(request, pk)
        result = getattr(exchange, "result", None)
        doses = linkage_result_doses(result=result) if result is not None else []
        self.record_access([exchange.resident])
        return render(request, self.template_name, {
            "exchange": exchange, "resident": exchange.resident, "result": result, "doses": doses,
            "failure": failure_message(exchange.failure_code) if exchange.failure_code else "",
            "in_progress": exchange.status in (ExchangeStatus.PENDING, ExchangeStatus.SENT),
            "can_retry": exchange.status not in EXCHANGE_FINAL and permissions.can_query(request.user),
            "can_register": result is not None and result.registered_at is None and bool(doses)
            and permissions.can_register_doses(request.user),
            "business_label": BUSINESS_LABELS.get(exchange.business, exchange.business),
            "item_label": ITEM_LABELS.get(exchange.item, exchange.item),
        })


class ExchangeRetryView(View):
    required_permission = permissions.QUERY
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        exchange = _exchange_or_404(request, pk)
        try:
            linkage_query_retry(actor=request.user, exchange_id=exchange.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("同じ照会を再送しました（二重に照会・登録されることはありません）。"))
        return redirect("linkage:exchange_detail", pk=exchange.pk)


class ResultRegisterView(View):
    """Register every dose of the result as 転入前接種 records, in one action."""

    required_permission = permissions.REGISTER_DOSES
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        exchange = _exchange_or_404(request, pk)
        result = getattr(exchange, "result", None)
        if result is None:
            messages.error(request, _("照会結果がありません（削除済みか、まだ届いていません）。"))
            return redirect("linkage:exchange_detail", pk=exchange.pk)
        try:
            created, skipped = linkage_result_register(actor=request.user, result_id=result.pk)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("linkage:exchange_detail", pk=exchange.pk)
        done = _("転入前接種として %(created)d 件登録しました（登録済みのため省いたもの %(skipped)d 件）。")
        messages.success(request, done % {"created": len(created), "skipped": skipped})
        return redirect("records:resident_detail", pk=exchange.resident_id)


# --- Inbound queries: the confirmation queue ---------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class InboundListView(PersonalDataView):
    required_permission = permissions.VIEW_INBOUND
    template_name = "linkage/inbound_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        page = Paginator(selectors.inbound_list(actor=request.user), PAGE_SIZE).get_page(request.GET.get("page"))
        self.record_access([i.resident for i in page.object_list if i.resident is not None])
        return render(request, self.template_name, {"page": page})


@method_decorator(never_cache, name="dispatch")
class InboundDetailView(PersonalDataView):
    """One inbound query with exactly what would be sent, and the approve / refuse forms."""

    required_permission = permissions.VIEW_INBOUND
    template_name = "linkage/inbound_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.render_page(request, _inbound_or_404(request, pk), RefuseForm())

    def render_page(self, request: HttpRequest, inbound: InboundQuery, refuse_form: RefuseForm) -> HttpResponse:
        awaiting = inbound.status == InboundStatus.AWAITING_CONFIRMATION
        if inbound.resident is not None:
            self.record_access([inbound.resident])
        return render(request, self.template_name, {
            "inbound": inbound, "resident": inbound.resident, "hold_labels": _hold_labels(inbound),
            "preview": provision_payload(inbound=inbound)["doses"] if awaiting else None,
            "can_decide": awaiting and permissions.can_decide_inbound(request.user), "refuse_form": refuse_form,
            "failure": failure_message(inbound.failure_code) if inbound.failure_code else "",
            "business_label": BUSINESS_LABELS.get(inbound.business, inbound.business),
            "item_label": ITEM_LABELS.get(inbound.item, inbound.item),
        })


class InboundApproveView(View):
    required_permission = permissions.DECIDE_INBOUND
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        inbound = _inbound_or_404(request, pk)
        try:
            inbound = inbound_approve(actor=request.user, inbound_id=inbound.pk)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _sent_message(request, inbound, _("承認し、照会元の鍵で暗号化して提供しました。"))
        return redirect("linkage:inbound_detail", pk=pk)


class InboundRefuseView(View):
    required_permission = permissions.DECIDE_INBOUND
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        inbound = _inbound_or_404(request, pk)
        form = RefuseForm(request.POST)
        if not form.is_valid():
            page = InboundDetailView()
            page.setup(request, pk=pk)
            return page.render_page(request, inbound, form)
        try:
            inbound = inbound_refuse(actor=request.user, inbound_id=inbound.pk, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            _sent_message(request, inbound, _("拒否しました。照会元には拒否の応答のみを送り、データは送っていません。"))
        return redirect("linkage:inbound_detail", pk=pk)


def _sent_message(request: HttpRequest, inbound: InboundQuery, done: str) -> None:
    if inbound.status == InboundStatus.SENDING:
        messages.warning(request, _("判断を記録しましたが、中間サーバーに送信できませんでした。"
                                    "次回の自動受信時に再送します。"))
    else:
        messages.success(request, done)


# --- Auditors: provision records ---------------------------------------------------------------------


@method_decorator(never_cache, name="dispatch")
class ProvisionRecordListView(View):
    required_permission = permissions.VIEW_PROVISION_RECORDS
    template_name = "linkage/record_list.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        form = ProvisionRecordSearchForm(request.GET or None)
        context: dict[str, Any] = {"form": form, "can_export": permissions.can_export_provision_records(request.user)}
        if request.GET and not form.is_valid():
            return render(request, self.template_name, context)
        criteria = form.to_criteria() if request.GET else selectors.ProvisionRecordCriteria()
        records = selectors.provision_record_search(actor=request.user, criteria=criteria)
        page = Paginator(records, PAGE_SIZE).get_page(request.GET.get("page"))
        # The records name residents by 宛名番号: those shown are on record like any list of residents.
        shown = {r.resident_id for r in page.object_list if r.resident_id is not None}
        audit_access_record(actor=request.user, objects=list(Resident.objects.filter(pk__in=shown).order_by("pk")),
                            view="linkage:record_list", permission=self.required_permission)
        context.update(page=page, criteria=criteria.as_query())
        return render(request, self.template_name, context)


class ProvisionRecordExportView(View):
    """POST only (the export is itself recorded): the search's criteria come as hidden fields."""

    required_permission = permissions.EXPORT_PROVISION_RECORDS
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProvisionRecordSearchForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("出力の条件が正しくありません。検索し直してください。"))
            return redirect("linkage:record_list")
        export = provision_record_export_csv(actor=request.user, criteria=form.to_criteria())
        response = HttpResponse(export.content, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
