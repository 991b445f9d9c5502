"""Staff browser screens of records: resident search, the resident page with the vaccination history, and
the forms that register and correct a vaccination record. Views parse input, call one selector or
service, and render; the rules live in records.rules and records.services."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from records import permissions, selectors, services
from records.forms import RecordDeleteForm, ResidentSearchForm, VaccinationRecordForm, add_service_errors
from records.models import Resident, VaccinationRecord


def _resident_or_404(request: HttpRequest, pk: int) -> Resident:
    try:
        return selectors.resident_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _record_or_404(request: HttpRequest, pk: int) -> VaccinationRecord:
    try:
        return selectors.vaccination_record_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


# Pages with personal data are never cached by the browser or a proxy.
@method_decorator(never_cache, name="dispatch")
@method_decorator(sensitive_post_parameters("my_number"), name="dispatch")
class ResidentSearchView(View):
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
        return self._render(request, form, residents=found[:limit], searched=True,
                            truncated=len(found) > limit)

    def _render(self, request: HttpRequest, form: ResidentSearchForm, **context: Any) -> HttpResponse:
        context.setdefault("residents", [])
        return render(request, self.template_name,
                      {"form": form, "search_limit": selectors.SEARCH_LIMIT, **context})


@method_decorator(never_cache, name="dispatch")
class ResidentDetailView(View):
    """基本5情報, contact, residency status, masked My Number and the vaccination history."""

    required_permission = permissions.VIEW_RESIDENT
    template_name = "records/resident_detail.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        records = selectors.vaccination_record_list(actor=request.user, resident=resident)
        return render(request, self.template_name, {
            "resident": resident,
            "records": records,
            "can_add_record": permissions.can_add_record(request.user),
            "can_change_record": permissions.can_change_record(request.user),
            "can_delete_record": permissions.can_delete_record(request.user),
        })


@method_decorator(never_cache, name="dispatch")
class RecordCreateView(View):
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
        return render(request, self.template_name, {"form": form, "resident": resident, "record": None})


@method_decorator(never_cache, name="dispatch")
class RecordUpdateView(View):
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
        return render(request, self.template_name,
                      {"form": form, "resident": record.resident, "record": record})


@method_decorator(never_cache, name="dispatch")
class RecordDeleteView(View):
    """Deleting a record entered in error: asks for the reason, which the audit entry keeps."""

    required_permission = permissions.DELETE_RECORD
    template_name = "records/record_delete.html"

    def get(self, request: HttpRequest, record_pk: int) -> HttpResponse:
        record = _record_or_404(request, record_pk)
        return render(request, self.template_name, {"form": RecordDeleteForm(), "record": record,
                                                    "resident": record.resident})

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
        return render(request, self.template_name, {"form": form, "record": record, "resident": record.resident})
