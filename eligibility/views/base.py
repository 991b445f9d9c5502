"""Shared helpers of the eligibility screens."""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Model
from django.http import Http404, HttpRequest
from django.views import View

from audit.services import audit_access_record

T = TypeVar("T")


def get_or_404(getter: Callable[..., T], request: HttpRequest, pk: int) -> T:
    try:
        return getter(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def url_name(request: HttpRequest) -> str:
    match = request.resolver_match
    return match.view_name if match is not None else ""


class StaffView(View):
    required_permission: str

    def record_access(self, objects: Sequence[Model]) -> None:
        """One read-access entry per resident (or record) shown on this page."""
        audit_access_record(actor=self.request.user, objects=list(objects), view=url_name(self.request),
                            permission=self.required_permission)


def form_errors(form: Any, exc: Any) -> None:
    """Put a service's ValidationError on the form (field errors where the field exists)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, [m for e in errors for m in e.messages])
    else:
        form.add_error(None, exc.messages)
