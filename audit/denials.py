"""Denied attempts: every 403 (and 401) answered to a signed-in user is recorded as ACCESS_DENIED.

One place decides, from the response, after everything else has run (accounts.middleware
.AccessPolicyMiddleware calls ``access_denial_record_if_denied``): PermissionDenied raised by the access
policy or by a view or selector (Django turns it into a 403 below the middleware), DRF's 403/401 (its
exception handler answers without raising), and a refused CSRF token alike. Anonymous users and users
redirected to the second factor are being asked to sign in, not denied, and are not recorded; a
signed-in user without the second factor who calls the API gets a 403, which is.

The entry names the user, the URL name (never the path: a query string may carry personal data), the
method, the permission the view declares and the remote address. URL arguments are kept only when they
are integers (object ids), so an entry says which resident or record was tried without holding data.
"""

from typing import Any

from auditlog.middleware import AuditlogMiddleware
from django.http import HttpRequest, HttpResponseBase

from accounts.access import view_policy
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.services import audit_event_record

DENIED_STATUSES = frozenset({401, 403})


def access_denial_record(
    *,
    actor: Any,
    view: str,
    method: str,
    status: int,
    permission: str | None,
    object_ids: dict[str, int] | None = None,
    remote_addr: str | None = None,
) -> AuditLogEntry:
    """Record one denied attempt by ``actor`` (the entry's subject is the user who was refused)."""
    data: dict[str, Any] = {"view": view, "method": method, "status": status, "permission": permission or ""}
    if object_ids:
        data["object_ids"] = object_ids
    return audit_event_record(event=AuditEvent.ACCESS_DENIED, actor=actor, target=actor, data=data,
                              remote_addr=remote_addr)


def _declared_permission(request: HttpRequest) -> str | None:
    match = request.resolver_match
    if match is None:
        return None
    # koshigaya_vax.api.method_route: the operation of this method declares its own permission.
    operations = getattr(match.func, "operations", None) or {}
    func = operations.get(request.method or "", match.func)
    return view_policy(func)[1]


def access_denial_record_if_denied(request: HttpRequest, response: HttpResponseBase) -> AuditLogEntry | None:
    """Record ``response`` as a denied attempt when it refuses a signed-in user; otherwise do nothing.
    ``request.user`` is the user the request ended with (DRF puts a token's user there)."""
    user = getattr(request, "user", None)
    if response.status_code not in DENIED_STATUSES or user is None or not user.is_authenticated:
        return None
    if not hasattr(user, "_meta"):
        # A stand-in user (imports.tokens.ClinicTokenUser): the refusal is recorded against its token.
        user = getattr(user, "token", None)
        if user is None:
            return None
    match = request.resolver_match
    kwargs = match.kwargs if match is not None else {}
    return access_denial_record(
        actor=user,
        view=match.view_name if match is not None else "",
        method=request.method or "",
        status=response.status_code,
        permission=_declared_permission(request),
        object_ids={k: v for k, v in kwargs.items() if isinstance(v, int) and not isinstance(v, bool)},
        # The address django-auditlog records for every other entry of this request.
        remote_addr=AuditlogMiddleware._get_remote_addr(request),
    )
