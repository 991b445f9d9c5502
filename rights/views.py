"""Staff screens of residents' rights (seed V): the reception-ticket list and desk, the forms that
receive inquiries and the three requests, the decisions, the disclosure document and its handover;
and the administrators' page of the protection flag. Views parse input, call one selector or service
and render. Pages that show a person record a read-access entry for that person (and for the tickets
they list), as records' pages do; no page of this app shows an address.
"""

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from audit.services import audit_access_record
from records.forms import VaccinationRecordForm, add_service_errors
from records.models import Resident
from records.selectors import ResidentQuery, resident_get, resident_search, vaccination_record_list
from records.views import url_name
from rights import permissions, selectors, services
from rights.forms import (
    CorrectionDecisionForm,
    CorrectionForm,
    DecisionForm,
    DisclosureForm,
    HandoverForm,
    InquiryForm,
    LiftForm,
    ProtectionForm,
    SuspensionForm,
    TicketAnswerForm,
    TicketSearchForm,
)
from rights.models import (
    CorrectionRequest,
    CorrectionStatus,
    DisclosureRequest,
    DisclosureStatus,
    ReceptionTicket,
    SuspensionRequest,
    SuspensionStatus,
    TicketStatus,
)


def _or_404(getter: Any, request: HttpRequest, pk: int) -> Any:
    try:
        return getter(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


@method_decorator(never_cache, name="dispatch")
class RightsView(View):
    required_permission: str

    def record_access(self, objects: Sequence[Model | None]) -> None:
        shown = [obj for obj in dict.fromkeys(objects) if obj is not None]
        if shown:
            audit_access_record(actor=self.request.user, objects=shown, view=url_name(self.request),
                                permission=self.required_permission)


# --- Tickets -------------------------------------------------------------------------------------------


class TicketListView(RightsView):
    """受付票の一覧: filters by number, kind, status, channel, 宛名番号 and receiving dates (GET, no names)."""

    required_permission = permissions.VIEW_TICKET

    def get(self, request: HttpRequest) -> HttpResponse:
        form = TicketSearchForm(request.GET or None)
        criteria = form.criteria() if form.is_valid() else selectors.TicketCriteria()
        if form.is_bound and not form.is_valid():
            tickets = ReceptionTicket.objects.none()
        else:
            tickets = selectors.ticket_search(actor=request.user, criteria=criteria)
        page = Paginator(tickets, selectors.PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        self.record_access([*rows, *(t.resident for t in rows)])
        query = urlencode({k: v for k, v in request.GET.items() if k != "page" and v})
        return render(request, "rights/ticket_list.html", {
            "form": form if form.is_bound else TicketSearchForm(), "page": page, "tickets": rows, "query": query,
        })


def _resident_for(request: HttpRequest, form: Any, *, required: bool = True) -> Resident | None:
    """The resident the form's 宛名番号 names (searched as the staff's own search would), or a form error."""
    number = form.cleaned_data.get("address_number", "")
    if not number:
        if required:
            form.add_error("address_number", _("宛名番号を入力してください。"))
        return None
    found = resident_search(actor=request.user, query=ResidentQuery(address_number=number)).first()
    if found is None:
        form.add_error("address_number", _("この宛名番号の宛名はありません。"))
    return found


def _initial_resident(request: HttpRequest) -> Resident | None:
    """The resident of ``?resident=<id>`` (links from the resident page), through records' selector."""
    pk = request.GET.get("resident", "")
    if not pk.isdigit() or len(pk) > 18:
        return None
    try:
        return resident_get(actor=request.user, pk=int(pk))
    except ObjectDoesNotExist:
        return None


class _ReceiveView(RightsView, ABC):
    """GET shows the form (prefilled with ``?resident=<id>`` from the resident page), POST receives."""

    form_class: Any
    template_name = "rights/receive.html"
    title: Any
    resident_required = True

    def form_kwargs(self, resident: Resident | None) -> dict[str, Any]:
        return {}

    def get(self, request: HttpRequest) -> HttpResponse:
        resident = _initial_resident(request)
        initial = {"address_number": resident.address_number} if resident else {}
        return self._render(request, self.form_class(initial=initial, **self.form_kwargs(resident)), resident)

    def post(self, request: HttpRequest) -> HttpResponse:
        form = self.form_class(request.POST, **self.form_kwargs(_initial_resident(request)))
        resident = None
        if form.is_valid():
            resident = _resident_for(request, form, required=self.resident_required)
            if not form.errors:
                try:
                    ticket = self.receive(request, form, resident)
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("受付票 %(number)s を作成しました。") % {"number": ticket.number})
                    return redirect("rights:ticket_detail", pk=ticket.pk)
        return self._render(request, form, resident)

    @abstractmethod
    def receive(self, request: HttpRequest, form: Any, resident: Any) -> ReceptionTicket:
        """Call the receiving service of this kind of ticket (each subclass)."""

    def _render(self, request: HttpRequest, form: Any, resident: Resident | None) -> HttpResponse:
        self.record_access([resident])
        return render(request, self.template_name, {"form": form, "title": self.title, "resident": resident})


def _reception(form: Any) -> dict[str, Any]:
    data = form.cleaned_data
    return {"channel": data["channel"], "received_on": data["received_on"], "requester_name": data["requester_name"],
            "requester_relation": data["requester_relation"]}


class InquiryCreateView(_ReceiveView):
    required_permission = permissions.ADD_TICKET
    form_class = InquiryForm
    title = gettext_lazy("問合せの受付")
    resident_required = False

    def receive(self, request: HttpRequest, form: Any, resident: Any) -> ReceptionTicket:
        return services.ticket_create(actor=request.user, resident=resident, subject=form.cleaned_data["subject"],
                                      requester_contact=form.cleaned_data["requester_contact"], **_reception(form))


def _identity(form: Any) -> dict[str, Any]:
    return {"identity_document": form.cleaned_data["identity_document"],
            "identity_note": form.cleaned_data["identity_note"]}


class DisclosureCreateView(_ReceiveView):
    required_permission = permissions.ADD_DISCLOSURE
    form_class = DisclosureForm
    title = gettext_lazy("開示請求の受付")

    def receive(self, request: HttpRequest, form: Any, resident: Any) -> ReceptionTicket:
        return services.disclosure_request_register(
            actor=request.user, resident=resident, subject=form.cleaned_data["subject"], **_reception(form),
            **_identity(form),
        ).ticket


class CorrectionCreateView(_ReceiveView):
    required_permission = permissions.ADD_CORRECTION
    form_class = CorrectionForm
    title = gettext_lazy("訂正請求の受付")

    def form_kwargs(self, resident: Resident | None) -> dict[str, Any]:
        if resident is None:
            return {}
        records = vaccination_record_list(actor=self.request.user, resident=resident)
        return {"record_choices": [
            (r.pk, f"#{r.pk} {r.vaccinated_on:%Y-%m-%d} {r.vaccine.name} {r.get_examination_category_display()}")
            for r in records
        ]}

    def receive(self, request: HttpRequest, form: Any, resident: Any) -> ReceptionTicket:
        record_pk = form.cleaned_data.get("record")
        record = resident.vaccinations.filter(pk=record_pk).first() if record_pk else None
        if record_pk and record is None:
            raise ValidationError({"record": _("この接種記録は対象者のものではありません。")})
        return services.correction_request_register(
            actor=request.user, resident=resident, record=record,
            requested_change=form.cleaned_data["requested_change"], **_reception(form), **_identity(form),
        ).ticket


class SuspensionCreateView(_ReceiveView):
    required_permission = permissions.ADD_SUSPENSION
    form_class = SuspensionForm
    title = gettext_lazy("利用停止請求の受付")

    def receive(self, request: HttpRequest, form: Any, resident: Any) -> ReceptionTicket:
        return services.suspension_request_register(
            actor=request.user, resident=resident, grounds=form.cleaned_data["grounds"], **_reception(form),
            **_identity(form),
        ).ticket


class TicketDetailView(RightsView):
    """One ticket, its request and what may be done next (forms for those who may)."""

    required_permission = permissions.VIEW_TICKET

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = _or_404(selectors.ticket_get, request, pk)
        return self.render_ticket(request, ticket)

    def render_ticket(self, request: HttpRequest, ticket: ReceptionTicket, **forms: Any) -> HttpResponse:
        rights_request = selectors.ticket_request(ticket)
        user = request.user
        context: dict[str, Any] = {"ticket": ticket, "rights_request": rights_request, **forms}
        if ticket.status == TicketStatus.OPEN and permissions.can_change_ticket(user):
            context.setdefault("answer_form", TicketAnswerForm())
        if isinstance(rights_request, DisclosureRequest):
            documents = list(rights_request.documents.select_related("generated_by"))
            context["documents"] = documents
            may_act = permissions.can_change_disclosure(user) and rights_request.status != DisclosureStatus.HANDED_OVER
            if may_act and documents:
                context.setdefault("handover_form", HandoverForm(documents=self._document_choices(documents)))
            context["can_generate"] = may_act
        if isinstance(rights_request, SuspensionRequest) and permissions.can_change_suspension(user):
            if rights_request.status == SuspensionStatus.RECEIVED:
                context.setdefault("decision_form", DecisionForm())
            elif rights_request.status == SuspensionStatus.GRANTED:
                context.setdefault("lift_form", LiftForm())
        if isinstance(rights_request, CorrectionRequest):
            context["can_decide"] = (permissions.can_change_correction(user)
                                     and rights_request.status == CorrectionStatus.RECEIVED)
        self.record_access([ticket, ticket.resident])
        return render(request, "rights/ticket_detail.html", context)

    @staticmethod
    def _document_choices(documents: list[Any]) -> list[tuple[int, str]]:
        return [(d.pk, f"#{d.pk} {timezone.localtime(d.created_at):%Y-%m-%d %H:%M} SHA-256 {d.sha256[:12]}…")
                for d in documents]


class TicketAnswerView(TicketDetailView):
    required_permission = permissions.CHANGE_TICKET
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        ticket = _or_404(selectors.ticket_get, request, pk)
        form = TicketAnswerForm(request.POST)
        if form.is_valid():
            try:
                services.ticket_answer(actor=request.user, ticket=ticket, answer=form.cleaned_data["answer"],
                                       close=form.cleaned_data["close"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("回答・対応を記録しました。"))
                return redirect("rights:ticket_detail", pk=ticket.pk)
        return self.render_ticket(request, ticket, answer_form=form)


# --- Disclosure ----------------------------------------------------------------------------------------


class DisclosureDocumentView(RightsView):
    """Generates the disclosure document and answers with the PDF (POST only: generating is recorded)."""

    required_permission = permissions.CHANGE_DISCLOSURE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        disclosure = _or_404(selectors.disclosure_get, request, pk)
        try:
            document, pdf = services.disclosure_document_generate(actor=request.user, request=disclosure)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return redirect("rights:ticket_detail", pk=disclosure.ticket_id)
        response = HttpResponse(pdf, content_type="application/pdf")
        filename = f"disclosure-{disclosure.ticket.number}-{document.pk}.pdf"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


class DisclosureHandoverView(TicketDetailView):
    required_permission = permissions.CHANGE_DISCLOSURE
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        disclosure = _or_404(selectors.disclosure_get, request, pk)
        documents = list(disclosure.documents.all())
        form = HandoverForm(request.POST, documents=self._document_choices(documents))
        if form.is_valid():
            document = next(d for d in documents if d.pk == form.cleaned_data["document"])
            try:
                services.disclosure_handover_record(
                    actor=request.user, request=disclosure, document=document, method=form.cleaned_data["method"],
                    handed_over_on=form.cleaned_data["handed_over_on"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("開示文書の交付を記録しました。"))
                return redirect("rights:ticket_detail", pk=disclosure.ticket_id)
        return self.render_ticket(request, disclosure.ticket, handover_form=form)


# --- Correction ----------------------------------------------------------------------------------------


class CorrectionDecideView(RightsView):
    """The decision on a correction request; accepting corrects (or deletes) the record through records'
    services, in the same transaction."""

    required_permission = permissions.CHANGE_CORRECTION
    template_name = "rights/correction_decide.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        correction = _or_404(selectors.correction_get, request, pk)
        return self._render(request, correction, CorrectionDecisionForm(), self._record_form(correction))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        correction = _or_404(selectors.correction_get, request, pk)
        form = CorrectionDecisionForm(request.POST)
        record_form = self._record_form(correction, request.POST)
        if form.is_valid():
            decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
            try:
                if decision == "reject":
                    services.correction_request_reject(actor=request.user, request=correction, reason=reason)
                elif decision == "delete":
                    services.correction_request_apply_delete(actor=request.user, request=correction, reason=reason)
                elif record_form is None:
                    raise ValidationError({"decision": _("訂正する接種記録がありません。")})
                elif record_form.is_valid():
                    services.correction_request_apply(actor=request.user, request=correction, reason=reason,
                                                      data=record_form.service_data())
                else:
                    raise ValidationError({"__all__": _("接種記録の入力に誤りがあります。")})
            except ValidationError as exc:
                on_record = hasattr(exc, "error_dict") and set(exc.error_dict) & set(record_form.fields or {}) \
                    if record_form is not None else False
                if record_form is not None and on_record:
                    add_service_errors(record_form, exc)
                else:
                    add_service_errors(form, exc)
            else:
                messages.success(request, _("訂正請求の決定を記録しました。"))
                return redirect("rights:ticket_detail", pk=correction.ticket_id)
        return self._render(request, correction, form, record_form)

    @staticmethod
    def _record_form(correction: CorrectionRequest, data: Any = None) -> VaccinationRecordForm | None:
        if correction.record is None or correction.resident is None:
            return None
        return VaccinationRecordForm(data, resident=correction.resident, record=correction.record)

    def _render(self, request: HttpRequest, correction: CorrectionRequest, form: CorrectionDecisionForm,
                record_form: VaccinationRecordForm | None) -> HttpResponse:
        self.record_access([correction.ticket, correction.resident, correction.record])
        return render(request, self.template_name, {
            "correction": correction, "ticket": correction.ticket, "form": form, "record_form": record_form,
        })


# --- Suspension ----------------------------------------------------------------------------------------


class SuspensionDecideView(TicketDetailView):
    required_permission = permissions.CHANGE_SUSPENSION
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        suspension = _or_404(selectors.suspension_get, request, pk)
        form = DecisionForm(request.POST)
        if form.is_valid():
            try:
                services.suspension_request_decide(actor=request.user, request=suspension,
                                                   grant=form.cleaned_data["decision"] == "grant",
                                                   reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("利用停止請求の決定を記録しました。"))
                return redirect("rights:ticket_detail", pk=suspension.ticket_id)
        return self.render_ticket(request, suspension.ticket, decision_form=form)


class SuspensionLiftView(TicketDetailView):
    required_permission = permissions.CHANGE_SUSPENSION
    http_method_names = ["post"]

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        suspension = _or_404(selectors.suspension_get, request, pk)
        form = LiftForm(request.POST)
        if form.is_valid():
            try:
                services.suspension_request_lift(actor=request.user, request=suspension,
                                                 reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("利用停止を解除しました。"))
                return redirect("rights:ticket_detail", pk=suspension.ticket_id)
        return self.render_ticket(request, suspension.ticket, lift_form=form)


# --- Protection flag -----------------------------------------------------------------------------------


class ProtectionListView(RightsView):
    """Who is protected now and the history of the flag; administrators also get the form to set or
    clear it (posted to ProtectionChangeView)."""

    required_permission = permissions.VIEW_PROTECTION

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render_page(request, ProtectionForm() if permissions.can_change_protection(request.user) else None)

    def render_page(self, request: HttpRequest, form: ProtectionForm | None) -> HttpResponse:
        protected = list(selectors.protected_residents(actor=request.user))
        history = selectors.protection_changes(actor=request.user)
        self.record_access([*protected, *(change.resident for change in history)])
        return render(request, "rights/protection.html", {"form": form, "protected": protected, "history": history})


class ProtectionChangeView(ProtectionListView):
    required_permission = permissions.CHANGE_PROTECTION
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ProtectionForm(request.POST)
        if form.is_valid():
            resident = selectors.resident_by_address_number(actor=request.user,
                                                            address_number=form.cleaned_data["address_number"])
            if resident is None:
                form.add_error("address_number", _("この宛名番号の宛名はありません。"))
            else:
                try:
                    services.protection_flag_change(
                        actor=request.user, resident=resident, protect=form.cleaned_data["action"] == "set",
                        reason=form.cleaned_data["reason"], reference=form.cleaned_data["reference"],
                    )
                except ValidationError as exc:
                    add_service_errors(form, exc)
                else:
                    messages.success(request, _("支援措置フラグを変更しました。"))
                    return redirect("rights:protection")
        return self.render_page(request, form)

