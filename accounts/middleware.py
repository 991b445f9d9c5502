"""Deny-by-default access policy and the absolute session lifetime."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from rest_framework.views import APIView

from accounts.access import OTP_NOT_REQUIRED, PUBLIC, SIGNED_IN, view_policy

SIGNED_IN_AT = "kvax_signed_in_at"


class SessionLifetimeMiddleware:
    """Ends a session SESSION_ABSOLUTE_LIFETIME after sign-in, however active it has been (the idle
    timeout is the session cookie age, renewed on every request)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            started = request.session.get(SIGNED_IN_AT)
            expired = started is None or (
                timezone.now() - datetime.fromisoformat(started) > settings.SESSION_ABSOLUTE_LIFETIME
            )
            if expired:
                from accounts.services import session_expire

                session_expire(request=request)
        return self.get_response(request)


class AccessPolicyMiddleware:
    """Anonymous users are sent to sign-in; signed-in users without a verified second factor reach only
    views marked ``otp_not_required``; everyone else needs the view's declared permission. API views
    are left to DRF, whose default permission (accounts.permissions.DeclaredPermission) applies the same
    rule and answers 401/403 instead of redirecting. Every refusal of a signed-in user, from here, a
    view or DRF, is recorded on the way out (audit.denials)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        from audit.denials import access_denial_record_if_denied

        access_denial_record_if_denied(request, response)
        return response

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        policy, permission = view_policy(view_func)
        api_class = getattr(view_func, "cls", None)
        if policy == PUBLIC or (isinstance(api_class, type) and issubclass(api_class, APIView)):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if policy == OTP_NOT_REQUIRED:
            return None
        if not user.is_verified():  # type: ignore[attr-defined,union-attr]
            return redirect("accounts:otp_verify")
        match = request.resolver_match
        if policy == SIGNED_IN or (match is not None and "admin" in match.app_names):
            return None  # the OTP admin site checks is_staff and the verified device itself
        if permission is None or not user.has_perm(permission):
            raise PermissionDenied
        return None
