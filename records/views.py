"""Staff browser screens of records: resident search, the resident page with the vaccination history, the
forms that register and correct a vaccination record, and the reasoned reveal of a My Number. Views
parse input, call one selector or service, and render; the rules live in records.rules and
records.services.

Every page that shows personal data records what it showed (``PersonalDataView.record_access``, called
right after the selector, each time the page is rendered): one read-access entry per resident shown —
a search one per resident listed, the resident page one (its vaccination history is that resident's
and is covered by the same entry); the pages centred on one record (edit, delete) add one entry for
that record. A redirect after a successful write shows nothing: the write has its own audit entry.

A protected person's (支援措置) pages open only after staff state why (``ProtectedViewReasonView``): the
reason is recorded at once with an access entry, kept in the session for PROTECTED_VIEW_SECONDS, and
carried by the access entry of every page of that person shown meanwhile.
"""

import time
from collections.abc import Sequence
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables

from audit.services import audit_access_record
from records import permissions, selectors, services
from records.forms import (
    MyNumberRevealForm,
    NonResidentRegisterForm,
    ProtectedViewReasonForm,
    RecordDeleteForm,
    ResidentSearchForm,
    VaccinationRecordForm,
    add_service_errors,
)
from records.models import NonResidentSource, Resident, VaccinationRecord
from rights.selectors import resident_rights_status

PROTECTED_VIEW_SESSION_KEY = "records.protected_view"
PROTECTED_VIEW_SECONDS = 15 * 60


class ProtectedReasonRequired(Exception):
    """Raised while loading a protected person's page when no reason has been given recently."""

    def __init__(self, resident_pk: int) -> None:
        super().__init__(resident_pk)
        self.resident_pk = resident_pk


def protected_view_purpose(request: HttpRequest, resident_pk: int) -> str:
    """The reason given in this session for viewing the protected person, while still valid, else ""."""
    granted = request.session.get(PROTECTED_VIEW_SESSION_KEY, {}).get(str(resident_pk))
    if not granted or granted.get("until", 0) < time.time():
        return ""
    return str(granted.get("purpose", ""))


def _grant_protected_view(request: HttpRequest, resident_pk: int, purpose: str) -> None:
    now = time.time()
    grants = {key: value for key, value in request.session.get(PROTECTED_VIEW_SESSION_KEY, {}).items()
              if value.get("until", 0) >= now}
    grants[str(resident_pk)] = {"purpose": purpose, "until": now + PROTECTED_VIEW_SECONDS}
    request.session[PROTECTED_VIEW_SESSION_KEY] = grants


def _gate(request: HttpRequest, resident: Resident) -> Resident:
    if resident.is_protected and not protected_view_purpose(request, resident.pk):
        raise ProtectedReasonRequired(resident.pk)
    return resident


def _resident_or_404(request: HttpRequest, pk: int, *, gate: bool = True) -> Resident:
    try:
        resident = selectors.resident_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None
    return _gate(request, resident) if gate else resident


def _record_or_404(request: HttpRequest, pk: int) -> VaccinationRecord:
    try:
        record = selectors.vaccination_record_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None
    _gate(request, record.resident)
    return record


def url_name(request: HttpRequest) -> str:
    """The URL name the request resolved to (never the path: that may carry a query string)."""
    match = request.resolver_match
    return match.view_name if match is not None else ""


class PersonalDataView(View):
    """Base of the pages that show personal data."""

    required_permission: str

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except ProtectedReasonRequired as exc:
            return redirect("records:protected_reason", pk=exc.resident_pk)

    def record_access(self, objects: Sequence[Model], *, with_reason: bool = True) -> None:
        """Record that ``objects`` are shown to the user: one read-access entry each, in one insert,
        naming this page's URL name and the permission that made it reachable — and, on a page of a
        protected person, the reason given for viewing it."""
        purpose = ""
        if with_reason:
            purpose = next((protected_view_purpose(self.request, obj.pk) for obj in objects
                            if isinstance(obj, Resident) and obj.is_protected), "")
        audit_access_record(actor=self.request.user, objects=objects, view=url_name(self.request),
                            permission=self.required_permission, purpose=purpose)


# Pages with personal data are never cached by the browser or a proxy.
@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("my_number"), name="dispatch")
class ResidentSearchView(PersonalDataView):
    """Search by 宛名番号, カナ, 氏名, 生年月日 or 個人番号. The criteria are personal data (a My Number
    above all), so they travel only in a POST body and the results are rendered in the response to it:
    nothing of the search ends up in a URL, the browser history or a server log."""

    required_permission = permissions.VIEW_RESIDENT
    template_name = "records/resident_search.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, ResidentSearchForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ResidentSearchForm(request.POST)
        if not form.is_valid():
            return self._render(request, form)
        limit = selectors.SEARCH_LIMIT
        found = list(selectors.resident_search(actor=request.user, query=form.to_query())[: limit + 1])
        self.record_access(found[:limit], with_reason=False)
        return self._render(request, form, residents=found[:limit], searched=True,
                            truncated=len(found) > limit)

    def _render(self, request: HttpRequest, form: ResidentSearchForm, **context: Any) -> HttpResponse:
        context.setdefault("residents", [])
        return render(request, self.template_name,
                      {"form": form, "search_limit": selectors.SEARCH_LIMIT, **context})


@method_decorator(never_cache, name="dispatch")
class ResidentDetailView(PersonalDataView):
    """基本5情報, contact, residency status, masked My Number (with the reveal form for those who may)
    and the vaccination history."""

    required_permission = permissions.VIEW_RESIDENT
    template_name = "records/resident_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        records = selectors.vaccination_record_list(actor=request.user, resident=resident)
        self.record_access([resident])
        can_reveal = permissions.can_reveal_my_number(request.user) and resident.has_my_number
        return render(request, self.template_name, {
            "resident": resident,
            "rights": resident_rights_status(resident=resident),
            "protected_purpose": protected_view_purpose(request, resident.pk) if resident.is_protected else "",
            "records": records,
            "can_add_record": permissions.can_add_record(request.user),
            "can_change_record": permissions.can_change_record(request.user),
            "can_delete_record": permissions.can_delete_record(request.user),
            "reveal_form": MyNumberRevealForm() if can_reveal else None,
        })


@method_decorator(never_cache, name="dispatch")
class RecordCreateView(PersonalDataView):
    required_permission = permissions.ADD_RECORD
    template_name = "records/record_form.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        return self._render(request, VaccinationRecordForm(resident=resident), resident)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = VaccinationRecordForm(request.POST, resident=resident)
        if form.is_valid():
            try:
                services.vaccination_record_create(
                    actor=request.user, resident=resident, **form.service_data(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("接種記録を登録しました。"))
                return redirect("records:resident_detail", pk=resident.pk)
        return self._render(request, form, resident)

    def _render(self, request: HttpRequest, form: VaccinationRecordForm, resident: Resident) -> HttpResponse:
        self.record_access([resident])
        return render(request, self.template_name, {"form": form, "resident": resident, "record": None})


@method_decorator(never_cache, name="dispatch")
class RecordUpdateView(PersonalDataView):
    required_permission = permissions.CHANGE_RECORD
    template_name = "records/record_form.html"

    def get(self, request: HttpRequest, record_pk: int) -> HttpResponse:
        record = _record_or_404(request, record_pk)
        return self._render(request, VaccinationRecordForm(resident=record.resident, record=record), record)

    def post(self, request: HttpRequest, record_pk: int) -> HttpResponse:
        record = _record_or_404(request, record_pk)
        form = VaccinationRecordForm(request.POST, resident=record.resident, record=record)
        if form.is_valid():
            if not form.has_changed():
                messages.info(request, _("変更された項目がないため、保存しませんでした。"))
                return self._back(record)
            try:
                services.vaccination_record_update(
                    actor=request.user, record=record, data=form.service_data(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("接種記録を訂正しました。"))
                return self._back(record)
        return self._render(request, form, record)

    @staticmethod
    def _back(record: VaccinationRecord) -> HttpResponseRedirect:
        return redirect("records:resident_detail", pk=record.resident_id)

    def _render(self, request: HttpRequest, form: VaccinationRecordForm,
                record: VaccinationRecord) -> HttpResponse:
        self.record_access([record.resident, record])
        return render(request, self.template_name,
                      {"form": form, "resident": record.resident, "record": record})


@method_decorator(never_cache, name="dispatch")
class RecordDeleteView(PersonalDataView):
    """Deleting a record entered in error: asks for the reason, which the audit entry keeps."""

    required_permission = permissions.DELETE_RECORD
    template_name = "records/record_delete.html"

    def get(self, request: HttpRequest, record_pk: int) -> HttpResponse:
        record = _record_or_404(request, record_pk)
        return self._render(request, RecordDeleteForm(), record)

    def post(self, request: HttpRequest, record_pk: int) -> HttpResponse:
        record = _record_or_404(request, record_pk)
        form = RecordDeleteForm(request.POST)
        if form.is_valid():
            try:
                services.vaccination_record_delete(actor=request.user, record=record,
                                                   reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("接種記録を削除しました。"))
                return redirect("records:resident_detail", pk=record.resident_id)
        return self._render(request, form, record)

    def _render(self, request: HttpRequest, form: RecordDeleteForm, record: VaccinationRecord) -> HttpResponse:
        self.record_access([record.resident, record])
        return render(request, self.template_name, {"form": form, "record": record, "resident": record.resident})


@method_decorator(never_cache, name="dispatch")
class MyNumberRevealView(PersonalDataView):
    """Shows one resident's full My Number, once, in the response to a POST that gives the reason.

    The number travels only in that response body (never a URL or a redirect, never cached); the page
    reached again by GET, like the resident page, shows it masked. The service records the reveal and
    its read access with the reason; the form page itself (GET, or a POST refused for want of a reason)
    shows the resident masked and is recorded like any other page.
    """

    required_permission = permissions.REVEAL_MY_NUMBER
    template_name = "records/my_number_reveal.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        return self._render(request, MyNumberRevealForm(), resident)

    @method_decorator(sensitive_variables("my_number"))
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = MyNumberRevealForm(request.POST)
        if form.is_valid():
            purpose = form.cleaned_data["purpose"]
            try:
                my_number = services.my_number_reveal(actor=request.user, resident=resident, purpose=purpose,
                                                      view=url_name(request))
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return render(request, self.template_name,
                              {"resident": resident, "my_number": my_number, "purpose": purpose})
        return self._render(request, form, resident)

    def _render(self, request: HttpRequest, form: MyNumberRevealForm, resident: Resident) -> HttpResponse:
        self.record_access([resident])
        return render(request, self.template_name, {"resident": resident, "form": form})


@method_decorator(never_cache, name="dispatch")
class ProtectedViewReasonView(PersonalDataView):
    """Asks why a protected person's (支援措置) record is to be viewed. The reason is recorded at once (an
    access entry carrying it, by records.services.protected_view_reason_record) and opens that
    person's pages for PROTECTED_VIEW_SECONDS in this session. The page itself shows only the 宛名番号
    and the name (recorded like any page); for a person who is not protected it leads straight on."""

    required_permission = permissions.VIEW_RESIDENT
    template_name = "records/protected_reason.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk, gate=False)
        return self._render(request, resident, ProtectedViewReasonForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk, gate=False)
        if not resident.is_protected:
            return redirect("records:resident_detail", pk=resident.pk)
        form = ProtectedViewReasonForm(request.POST)
        if form.is_valid():
            try:
                purpose = services.protected_view_reason_record(
                    actor=request.user, resident=resident, purpose=form.cleaned_data["purpose"],
                    view=url_name(request),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                _grant_protected_view(request, resident.pk, purpose)
                return redirect("records:resident_detail", pk=resident.pk)
        return self._render(request, resident, form)

    def _render(self, request: HttpRequest, resident: Resident, form: ProtectedViewReasonForm) -> HttpResponse:
        self.record_access([resident], with_reason=False)
        return render(request, self.template_name, {"resident": resident, "form": form})


@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("my_number"), name="dispatch")
class NonResidentRegisterView(PersonalDataView):
    """Register a non-resident (住登外者) from a paper source document; the new resident's page follows."""

    required_permission = permissions.REGISTER_NON_RESIDENT
    template_name = "records/non_resident_form.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": NonResidentRegisterForm()})

    @method_decorator(sensitive_variables("data"))
    def post(self, request: HttpRequest) -> HttpResponse:
        form = NonResidentRegisterForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                resident = services.non_resident_register(
                    actor=request.user, source=NonResidentSource.PAPER, my_number=data["my_number"] or None,
                    **{k: v for k, v in data.items() if k != "my_number"},
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("住登外者として登録しました。"))
                return redirect("records:resident_detail", pk=resident.pk)
        return render(request, self.template_name, {"form": form})
