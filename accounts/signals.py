"""Sign-in, sign-out and failed sign-in go to the audit log whichever view caused them."""

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.events import AuditEvent
from audit.services import audit_event_record


@receiver(user_logged_in, dispatch_uid="accounts.audit_sign_in")
def _on_sign_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.services import session_start

    session_start(request=request, user=user)


@receiver(user_logged_out, dispatch_uid="accounts.audit_sign_out")
def _on_sign_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    from accounts.services import session_forget

    session_forget(request=request)
    if user is not None:
        audit_event_record(event=AuditEvent.SIGN_OUT, actor=user)


@receiver(user_login_failed, dispatch_uid="accounts.audit_sign_in_failed")
def _on_sign_in_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    from accounts.services import sign_in_failed_record

    remote_addr = request.META.get("REMOTE_ADDR") if request is not None else None
    sign_in_failed_record(username=str(credentials.get("username", "")), remote_addr=remote_addr)
