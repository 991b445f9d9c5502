"""The certificate issue page: GET shows the person and the doses the certificate will list (recorded as a
read access), POST issues the PDF (the service records the issue and the access) as a download."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from audit.services import audit_access_record
from eligibility.documents.certificates import (
    ISSUE_CERTIFICATE,
    MIN_SLOTS,
    certificate_issue,
    certificate_record_list,
    certificate_vaccines,
    dose_lines,
)
from eligibility.documents.forms import CertificateIssueForm
from records import selectors as record_selectors
from records.models import Resident


def _resident_or_404(request: HttpRequest, pk: int) -> Resident:
    try:
        return record_selectors.resident_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _url_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None else ""


@method_decorator(never_cache, name="dispatch")
class CertificateIssueView(View):
    required_permission = ISSUE_CERTIFICATE
    template_name = "eligibility/certificate/issue.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = CertificateIssueForm(vaccines=certificate_vaccines(actor=request.user, resident=resident),
                                    protected=resident.is_protected)
        return self._render(request, resident, form)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        resident = _resident_or_404(request, pk)
        form = CertificateIssueForm(request.POST, vaccines=certificate_vaccines(actor=request.user, resident=resident),
                                    protected=resident.is_protected)
        if form.is_valid():
            try:
                issued = certificate_issue(actor=request.user, resident=resident, view=_url_name(request),
                                           vaccine=form.cleaned_data["vaccine"],
                                           purpose=form.cleaned_data.get("purpose", ""))
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and set(exc.error_dict) <= set(form.fields):
                    form.add_error(None, exc)  # onto the fields it names
                else:
                    for message in exc.messages:
                        form.add_error(None, message)
            else:
                response = HttpResponse(issued.pdf, content_type="application/pdf")
                response["Content-Disposition"] = f'attachment; filename="{issued.filename}"'
                return response
        return self._render(request, resident, form)

    def _render(self, request: HttpRequest, resident: Resident, form: CertificateIssueForm) -> HttpResponse:
        records = certificate_record_list(actor=request.user, resident=resident)
        audit_access_record(actor=request.user, objects=[resident, *records], view=_url_name(request),
                            permission=ISSUE_CERTIFICATE)
        context: dict[str, Any] = {
            "resident": resident, "form": form, "lines": dose_lines(records), "min_slots": MIN_SLOTS,
        }
        return render(request, self.template_name, context)
