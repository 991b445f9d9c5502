"""Access policy declarations. Every view either declares the permission it needs
(``required_permission`` on the class, or ``@requires(...)`` on a function) or is explicitly marked as
reachable before sign-in (``public``) or before the second factor (``otp_not_required``). The
AccessPolicyMiddleware refuses anything else, so a URL nobody thought about is unreachable."""

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required

F = TypeVar("F", bound=Callable[..., Any])

PUBLIC = "public"
OTP_NOT_REQUIRED = "otp_not_required"
SIGNED_IN = "signed_in"


def public(view: F) -> F:
    """Reachable without signing in (the sign-in page itself)."""
    view = login_not_required(view)
    view.access_policy = PUBLIC  # type: ignore[attr-defined]
    return view


def otp_not_required(view: F) -> F:
    """Reachable after the password but before the second factor (OTP entry, enrolment, sign-out)."""
    view.access_policy = OTP_NOT_REQUIRED  # type: ignore[attr-defined]
    return view


def signed_in(view: F) -> F:
    """Reachable by any user who has passed both factors, whatever the role (home, own settings)."""
    view.access_policy = SIGNED_IN  # type: ignore[attr-defined]
    return view


def requires(permission: str) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        view.required_permission = permission  # type: ignore[attr-defined]
        return view

    return decorate


def view_policy(view_func: Any) -> tuple[str | None, str | None]:
    """(access_policy, required_permission) declared by a resolved view function or its class."""
    target = getattr(view_func, "view_class", None) or getattr(view_func, "cls", None) or view_func
    policy = getattr(view_func, "access_policy", None) or getattr(target, "access_policy", None)
    permission = getattr(view_func, "required_permission", None) or getattr(target, "required_permission", None)
    return policy, permission
