"""Sign-in, second factor and session services. Each writes its audit event in its own transaction."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.middleware import SIGNED_IN_AT
from accounts.models import BackupCode, BackupCodeDevice
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


# --- Second factor -------------------------------------------------------------------------------
# Tokens are routed by shape: six digits go to the TOTP device, anything else to the backup codes.
# Trying every device with every token would count a mistyped TOTP code as a failure of the backup
# codes too (and the reverse), so one slip would throttle both.
TOTP_TOKEN_LENGTH = 6
SESSION_FRESH_BACKUP_CODES = "kvax_fresh_backup_codes"


@dataclass(frozen=True)
class OtpOutcome:
    """The result of one second-factor attempt. ``throttled_until`` is set when the device refused to
    check the token at all because of earlier failures (django-otp's throttling)."""

    device: Device | None
    throttled_until: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.device is not None


def _normalise_token(token: str) -> str:
    return "".join(str(token).split())


def _is_totp_shaped(token: str) -> bool:
    return len(token) == TOTP_TOKEN_LENGTH and token.isascii() and token.isdigit()


def _device_kind(device: Device) -> str:
    return "backup_code" if isinstance(device, BackupCodeDevice) else "totp"


def _try_devices(devices: Iterable[Device], token: str) -> OtpOutcome:
    throttled_until: datetime | None = None
    for device in devices:
        allowed, details = device.verify_is_allowed()
        if not allowed:
            locked = (details or {}).get("locked_until")
            throttled_until = max(filter(None, [throttled_until, locked]), default=None)
            continue
        if device.verify_token(token):
            return OtpOutcome(device=device)
    return OtpOutcome(device=None, throttled_until=throttled_until)


def user_has_confirmed_device(*, user: Any) -> bool:
    """Whether the user has any second factor at all (if not, the first sign-in enrols one)."""
    return any(True for _ in devices_for_user(user, confirmed=True))


def user_has_totp_device(*, user: Any) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


@transaction.atomic
def otp_token_verify(*, request: HttpRequest, user: Any, token: str) -> OtpOutcome:
    """Check a TOTP code or a backup code against the user's confirmed devices (locked for update, so a
    code cannot be used twice concurrently); on success mark the session verified (django_otp.login).
    Records OTP_VERIFIED or OTP_FAILED; the token itself is never recorded."""
    token = _normalise_token(token)
    wanted = TOTPDevice if _is_totp_shaped(token) else BackupCodeDevice
    devices = [d for d in devices_for_user(user, confirmed=True, for_verify=True) if isinstance(d, wanted)]
    outcome = _try_devices(devices, token)
    if outcome.device is not None:
        django_otp.login(request, outcome.device)
        request.session.cycle_key()  # a new session id for the elevated session (no fixation)
        audit_event_record(event=AuditEvent.OTP_VERIFIED, actor=user,
                           data={"device": _device_kind(outcome.device)})
    else:
        audit_event_record(event=AuditEvent.OTP_FAILED, actor=user,
                           data={"device": "totp" if wanted is TOTPDevice else "backup_code",
                                 "throttled": outcome.throttled_until is not None})
    return outcome


@transaction.atomic
def totp_device_enrolment_start(*, user: Any) -> TOTPDevice:
    """The unconfirmed TOTP device being enrolled: reuse the pending one so that reloading the page does
    not change the secret the user may already have scanned."""
    pending = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if pending is not None:
        return pending
    return TOTPDevice.objects.create(user=user, name="認証アプリ", confirmed=False)


@transaction.atomic
def totp_device_enrolment_confirm(
    *, request: HttpRequest, user: Any, device_id: int, token: str
) -> OtpOutcome:
    """Confirm the pending TOTP device with a current code; on success the session is verified with it,
    other pending devices are removed, fresh backup codes are issued into the session (shown once by
    the backup-codes page) and OTP_DEVICE_ENROLLED and BACKUP_CODES_ISSUED are recorded."""
    if user_has_totp_device(user=user):
        raise PermissionDenied("a TOTP device is already enrolled")
    device = TOTPDevice.objects.select_for_update().get(pk=device_id, user=user, confirmed=False)
    outcome = _try_devices([device], _normalise_token(token))
    if outcome.device is None:
        audit_event_record(event=AuditEvent.OTP_FAILED, actor=user,
                           data={"device": "totp", "stage": "enrolment",
                                 "throttled": outcome.throttled_until is not None})
        return outcome
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    django_otp.login(request, device)
    request.session.cycle_key()
    audit_event_record(event=AuditEvent.OTP_DEVICE_ENROLLED, actor=user, data={"device": "totp"})
    backup_codes_issue_for_display(request=request, actor=user)
    return outcome


@transaction.atomic
def backup_codes_issue(*, actor: Any) -> list[str]:
    """Replace the user's backup codes with BACKUP_CODE_COUNT fresh ones and record BACKUP_CODES_ISSUED.
    Returns the clear codes, which exist nowhere else: only their HMACs are stored."""
    device, _created = BackupCodeDevice.objects.select_for_update().get_or_create(
        user=actor, defaults={"name": "バックアップコード", "confirmed": True}
    )
    codes = device.issue_codes(settings.BACKUP_CODE_COUNT)
    audit_event_record(event=AuditEvent.BACKUP_CODES_ISSUED, actor=actor, data={"count": len(codes)})
    return codes


def backup_codes_issue_for_display(*, request: HttpRequest, actor: Any) -> None:
    """Issue fresh codes and keep them in the session until the backup-codes page shows them once."""
    request.session[SESSION_FRESH_BACKUP_CODES] = backup_codes_issue(actor=actor)


def backup_codes_take_fresh(*, request: HttpRequest) -> list[str]:
    """The codes issued in this session and not yet shown; they leave the session as they are read."""
    codes = request.session.pop(SESSION_FRESH_BACKUP_CODES, None)
    return list(codes) if codes else []


def backup_codes_remaining(*, user: Any) -> int:
    """How many unused backup codes the user has (a read, kept beside the writes it belongs to)."""
    return BackupCode.objects.filter(device__user=user, device__confirmed=True).count()
