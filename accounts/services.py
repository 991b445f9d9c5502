"""Sign-in, second factor and session services. Each writes its audit event in its own transaction."""

from typing import Any

from django.contrib.auth import logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.middleware import SIGNED_IN_AT
from audit.events import AuditEvent
from audit.services import audit_event_record


def session_start(*, request: HttpRequest, user: Any) -> None:
    """Stamp the session with its sign-in time (for the absolute lifetime) and record the sign-in."""
    request.session[SIGNED_IN_AT] = timezone.now().isoformat()
    audit_event_record(event=AuditEvent.SIGN_IN, actor=user)


@transaction.atomic
def session_expire(*, request: HttpRequest) -> None:
    user = request.user
    audit_event_record(event=AuditEvent.SESSION_EXPIRED, actor=user)
    logout(request)


def sign_in_failed_record(*, username: str, remote_addr: str | None) -> None:
    """A failed password sign-in. The attempted username is kept (auditors need it) unless it looks
    like a number someone typed in the wrong box, which could be a My Number."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    shown = username if not any(ch.isdigit() for ch in username) or len(username) < 12 else "(数字の入力)"
    audit_event_record(
        event=AuditEvent.SIGN_IN_FAILED,
        actor=None,
        target=user if user is not None else user_model(pk=0, username="(unknown)"),
        data={"username": shown[:150]},
        remote_addr=remote_addr,
    )
