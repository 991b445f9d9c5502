"""The administrator's desk (管理者): users, their roles and second factor, the periodic access review and
the bulk export. Every action is a POST naming the request behind it; views parse the form, call one
service or selector and render. Nothing here is cached by the browser or a proxy."""

from abc import ABC, abstractmethod
from typing import Any

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.cache import never_cache

from accounts import selectors, services
from accounts.manage_forms import (
    AccessReviewForm,
    BulkExportForm,
    RequestReferenceForm,
    RoleGrantForm,
    UserCreateForm,
    UserFilterForm,
    add_service_errors,
)
from accounts.models import User
from accounts.permissions import ADD_USER, EXPORT_BULK, MANAGE_USERS, REVIEW_ACCESS, VIEW_USERS
from accounts.roles import Role
from records.exports import bulk_export_csv


def _user_or_404(request: HttpRequest, pk: int) -> User:
    try:
        return selectors.user_get(actor=request.user, pk=pk)
    except ObjectDoesNotExist:
        raise Http404 from None


def _detail_forms(**bound: RequestReferenceForm) -> dict[str, RequestReferenceForm]:
    forms: dict[str, RequestReferenceForm] = {
        "grant_form": RoleGrantForm(prefix="grant"),
        "revoke_form": RequestReferenceForm(prefix="revoke"),
        "reactivate_form": RequestReferenceForm(prefix="reactivate"),
        "otp_form": RequestReferenceForm(prefix="otp"),
    }
    forms.update(bound)
    return forms


def _render_detail(request: HttpRequest, target: User, **bound: RequestReferenceForm) -> HttpResponse:
    actor = request.user
    return render(request, "manage/user_detail.html", {
        "target": target,
        "is_self": target.pk == actor.pk,
        "grants": selectors.role_grant_history(actor=actor, user=target),
        "current_grant": selectors.current_grants(users=[target]).get(target.pk),
        "events": selectors.user_desk_events(actor=actor, user=target),
        "session_count": selectors.user_open_session_count(actor=actor, user=target),
        **_detail_forms(**bound),
    })


@method_decorator(never_cache, name="dispatch")
class UserListView(View):
    required_permission = VIEW_USERS

    def get(self, request: HttpRequest) -> HttpResponse:
        form = UserFilterForm(request.GET)
        users = list(selectors.user_list(actor=request.user, query=form.to_query()))
        grants = selectors.current_grants(users=users)
        return render(request, "manage/user_list.html", {
            "form": form, "rows": [(user, grants.get(user.pk)) for user in users],
        })


@method_decorator(never_cache, name="dispatch")
class UserCreateView(View):
    """Register a user on a written request. The initial password is shown once, in the response to the
    POST itself: it is never stored in clear, not even in the session."""

    required_permission = ADD_USER
    template_name = "manage/user_create.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": UserCreateForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        form = UserCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.user_create(
                    actor=request.user, username=data["username"], role=data["role"], clinic=data["clinic"],
                    last_name=data["last_name"], first_name=data["first_name"], email=data["email"],
                    request_ref=form.request_reference(),
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return render(request, "manage/user_created.html", {
                    "target": created.user, "initial_password": created.initial_password,
                })
        return render(request, self.template_name, {"form": form})


@method_decorator(never_cache, name="dispatch")
class UserDetailView(View):
    required_permission = VIEW_USERS

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        return _render_detail(request, _user_or_404(request, pk))


@method_decorator(never_cache, name="dispatch")
class UserDeactivateView(View):
    """Retirement (退職等), with a confirmation step: the GET shows what will happen, the POST does it."""

    required_permission = MANAGE_USERS
    template_name = "manage/user_deactivate.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = _user_or_404(request, pk)
        return self._render(request, target, RequestReferenceForm())

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        target = _user_or_404(request, pk)
        form = RequestReferenceForm(request.POST)
        if form.is_valid():
            try:
                services.user_deactivate(actor=request.user, user=target, request_ref=form.request_reference())
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("利用者を停止しました。開いていたセッションはすべて終了しました。"))
                return redirect("manage:user_detail", pk=target.pk)
        return self._render(request, target, form)

    def _render(self, request: HttpRequest, target: User, form: RequestReferenceForm) -> HttpResponse:
        return render(request, self.template_name, {
            "target": target, "form": form, "is_self": target.pk == request.user.pk,
            "session_count": selectors.user_open_session_count(actor=request.user, user=target),
        })


class _UserActionView(View, ABC):
    """A POST-only action on the user page; an invalid form is shown again on that page."""

    required_permission = MANAGE_USERS
    prefix = ""
    form_class: type[RequestReferenceForm] = RequestReferenceForm
    success_message: Any = ""

    @abstractmethod
    def perform(self, request: HttpRequest, target: User, form: Any) -> None:
        """Call the action's service (ValidationErrors go back onto the form)."""

    def post(self, request: HttpRequest, pk: int) -> HttpResponseBase:
        target = _user_or_404(request, pk)
        form = self.form_class(request.POST, prefix=self.prefix)
        if form.is_valid():
            try:
                self.perform(request, target, form)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, self.success_message)
                return redirect("manage:user_detail", pk=target.pk)
        return _render_detail(request, target, **{f"{self.prefix}_form": form})


@method_decorator(never_cache, name="dispatch")
class UserReactivateView(_UserActionView):
    prefix = "reactivate"
    success_message = gettext_lazy("利用者の停止を解除しました。")

    def perform(self, request: HttpRequest, target: User, form: Any) -> None:
        services.user_reactivate(actor=request.user, user=target, request_ref=form.request_reference())


@method_decorator(never_cache, name="dispatch")
class OtpResetView(_UserActionView):
    prefix = "otp"
    success_message = gettext_lazy("二要素認証を初期化しました。次回のサインイン時に認証アプリを登録し直します。")

    def perform(self, request: HttpRequest, target: User, form: Any) -> None:
        services.otp_devices_reset(actor=request.user, user=target, request_ref=form.request_reference())


@method_decorator(never_cache, name="dispatch")
class RoleGrantView(_UserActionView):
    prefix = "grant"
    form_class = RoleGrantForm
    success_message = gettext_lazy("役割を付与しました。")

    def perform(self, request: HttpRequest, target: User, form: Any) -> None:
        services.role_grant(actor=request.user, user=target, role=Role(form.cleaned_data["role"]),
                            clinic=form.cleaned_data["clinic"], request_ref=form.request_reference())


@method_decorator(never_cache, name="dispatch")
class RoleRevokeView(_UserActionView):
    prefix = "revoke"
    success_message = gettext_lazy("役割を取り消しました。")

    def perform(self, request: HttpRequest, target: User, form: Any) -> None:
        services.role_revoke(actor=request.user, user=target, request_ref=form.request_reference())


@method_decorator(never_cache, name="dispatch")
class AccessReviewView(View):
    """Periodic access review (定期確認): users with role, last sign-in, the request behind their role and
    their last review; mark one user, or everyone shown, as reviewed."""

    required_permission = REVIEW_ACCESS
    template_name = "manage/access_review.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(request, AccessReviewForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = AccessReviewForm(request.POST)
        if form.is_valid():
            users = form.cleaned_data["users"]
            try:
                services.access_review_record(actor=request.user, users=users, note=form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("%(count)d人の利用者を確認済みにしました。") % {"count": len(users)})
                return redirect(request.get_full_path())
        return self._render(request, form)

    def _render(self, request: HttpRequest, review_form: AccessReviewForm) -> HttpResponse:
        filter_form = UserFilterForm(request.GET)
        rows = selectors.access_review_rows(actor=request.user, query=filter_form.to_query())
        return render(request, self.template_name, {
            "filter_form": filter_form, "form": review_form, "rows": rows,
            "dormant_days": selectors.DORMANT_AFTER.days,
        })


@method_decorator(never_cache, name="dispatch")
class BulkExportView(View):
    """Bulk export (持ち出し) as CSV, asking for the reason. The CSV is streamed as an attachment; the
    export is recorded before the first row is sent."""

    required_permission = EXPORT_BULK
    template_name = "manage/export.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, self.template_name, {"form": BulkExportForm()})

    def post(self, request: HttpRequest) -> HttpResponseBase:
        form = BulkExportForm(request.POST)
        if form.is_valid():
            try:
                export = bulk_export_csv(actor=request.user, kind=form.cleaned_data["kind"],
                                         reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                response = StreamingHttpResponse(export.chunks, content_type="text/csv; charset=utf-8")
                response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
                return response
        return render(request, self.template_name, {"form": form})
