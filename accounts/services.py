"""Sign-in, second factor and session services, and the administrator's desk (users, roles, second-factor
resets, access reviews). Each writes its audit event in its own transaction."""

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

import django_otp
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import devices_for_user
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts.middleware import SIGNED_IN_AT
from accounts.models import (
    AccessReview,
    BackupCode,
    BackupCodeDevice,
    RoleGrant,
    RoleGrantAction,
    User,
    UserSession,
)
from accounts.permissions import ADD_USER, MANAGE_USERS, REVIEW_ACCESS
from accounts.roles import Role
from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from koshigaya_vax.logging import redact


def session_start(*, request: HttpRequest, user: Any) -> None:
    """Stamp the session with its sign-in time (for the absolute lifetime), remember its key for the user
    (so a deactivation can end it) and record the sign-in."""
    request.session[SIGNED_IN_AT] = timezone.now().isoformat()
    session_track(request=request, user=user)
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
        session_cycle_key(request=request, user=user)  # a new session id for the elevated session (no fixation)
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
    session_cycle_key(request=request, user=user)
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


# --- Sessions held by each user -------------------------------------------------------------------
# A deactivation must end the user's sessions at once. Session data is opaque (and, for the database
# store, encoded), so instead of decoding every session the keys are recorded per user when they are
# created or cycled, and forgotten at sign-out.


def _session_store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


def session_track(*, request: HttpRequest, user: Any) -> None:
    """Remember the request's session key as one of ``user``'s; drop remembered keys whose session is
    gone (expired and cleared, or ended elsewhere)."""
    session = request.session
    if session.session_key is None:
        session.save()  # a flushed session gets its new key only when saved
    key = session.session_key
    UserSession.objects.update_or_create(session_key=key, defaults={"user": user})
    stale = [
        other for other in UserSession.objects.filter(user=user).exclude(session_key=key).values_list(
            "session_key", flat=True)
        if not _session_store().exists(other)
    ]
    if stale:
        UserSession.objects.filter(session_key__in=stale).delete()


def session_cycle_key(*, request: HttpRequest, user: Any) -> None:
    """A new session key for the same session data (after the second factor: no fixation), keeping the
    record of the user's sessions in step."""
    old_key = request.session.session_key
    request.session.cycle_key()
    if old_key:
        UserSession.objects.filter(session_key=old_key).delete()
    session_track(request=request, user=user)


def session_forget(*, request: HttpRequest) -> None:
    """At sign-out: the session is about to be flushed, so its key no longer needs ending."""
    session = getattr(request, "session", None)
    key = session.session_key if session is not None else None
    if key:
        UserSession.objects.filter(session_key=key).delete()


def _sessions_end(*, user: User) -> int:
    """Delete every session ``user`` holds from the session store; their next request is anonymous.
    Returns how many sessions were ended."""
    keys = list(UserSession.objects.filter(user=user).values_list("session_key", flat=True))
    ended = 0
    for key in keys:
        store = _session_store(key)
        if store.exists(key):
            store.delete(key)
            ended += 1
    UserSession.objects.filter(user=user).delete()
    return ended


# --- Administrator's desk ------------------------------------------------------------------------
# Rights are granted only on request from the owning division and revoked on retirement (SPEC "Risk
# controls"): every action names the request (依頼元所属, 依頼番号), which the audit event keeps in its
# data and RoleGrant keeps queryable. The lock-out guards keep at least one active administrator and
# stop an administrator from locking themselves out.

# No 0/O, 1/l/I: read out over the phone.
INITIAL_PASSWORD_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"  # noqa: S105 (an alphabet)
INITIAL_PASSWORD_GROUPS = 4
INITIAL_PASSWORD_GROUP_LENGTH = 5


@dataclass(frozen=True)
class RequestReference:
    """The written request behind an administrative action: the requesting division (依頼元所属) and its
    reference number (依頼番号), both required; ``note`` is optional. Kept in audit data, so none of it
    may hold a My Number."""

    division: str
    reference: str
    note: str = ""

    def audit_data(self) -> dict[str, str]:
        data = {"division": self.division, "reference": self.reference}
        if self.note:
            data["note"] = self.note
        return data


def _refuse_number_runs(errors: dict[str, str], field: str, value: str) -> None:
    if redact(value) != value:
        errors[field] = _("12桁の数字（個人番号のおそれがあるもの）は入力できません。")


def _reference_clean(ref: RequestReference) -> RequestReference:
    cleaned = RequestReference(division=ref.division.strip(), reference=ref.reference.strip(), note=ref.note.strip())
    errors: dict[str, str] = {}
    if not cleaned.division:
        errors["requesting_division"] = _("依頼元所属を入力してください。")
    elif len(cleaned.division) > RoleGrant._meta.get_field("requesting_division").max_length:  # type: ignore[operator]
        errors["requesting_division"] = _("依頼元所属が長すぎます。")
    if not cleaned.reference:
        errors["reference_number"] = _("依頼番号を入力してください。")
    elif len(cleaned.reference) > RoleGrant._meta.get_field("reference_number").max_length:  # type: ignore[operator]
        errors["reference_number"] = _("依頼番号が長すぎます。")
    if len(cleaned.note) > RoleGrant._meta.get_field("note").max_length:  # type: ignore[operator]
        errors["note"] = _("備考が長すぎます。")
    for field, value in (("requesting_division", cleaned.division), ("reference_number", cleaned.reference),
                         ("note", cleaned.note)):
        if field not in errors:
            _refuse_number_runs(errors, field, value)
    if errors:
        raise ValidationError(errors, code="request_reference")
    return cleaned


def _require(actor: Any, permission: str) -> None:
    if not actor.has_perm(permission):
        raise PermissionDenied


def initial_password_generate() -> str:
    """A random initial password (about 115 bits), grouped for reading it out: ``ab3De-...``."""
    groups = (
        "".join(secrets.choice(INITIAL_PASSWORD_ALPHABET) for _ in range(INITIAL_PASSWORD_GROUP_LENGTH))
        for _ in range(INITIAL_PASSWORD_GROUPS)
    )
    return "-".join(groups)


def _role_group(role: Role) -> Group:
    return Group.objects.get(name=role.value)


def _clinic_check(role: Role, clinic: Any) -> None:
    if role == Role.CLINIC and clinic is None:
        raise ValidationError({"clinic": _("医療機関の利用者には所属医療機関が必要です。")}, code="clinic_required")
    if role != Role.CLINIC and clinic is not None:
        raise ValidationError({"clinic": _("所属医療機関は医療機関の利用者にだけ設定できます。")},
                              code="clinic_not_allowed")


def _lock_administrators() -> list[int]:
    """Lock every active administrator (in primary-key order, so concurrent desk actions queue instead of
    deadlocking) and return their ids. Taken before any check of "another administrator remains", so
    two administrators removing each other at the same moment cannot both succeed."""
    return list(
        User.objects.select_for_update(of=("self",))
        .filter(groups__name=Role.ADMINISTRATOR.value, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _lock_user(user: User) -> User:
    """The user's row, locked, freshly read (with their current role, not a cached one)."""
    return User.objects.select_for_update(of=("self",)).get(pk=user.pk)


def _keep_an_administrator(*, target: User, active_admins: Sequence[int]) -> None:
    if target.is_active and target.role == Role.ADMINISTRATOR and not [pk for pk in active_admins if pk != target.pk]:
        raise ValidationError(_("有効な管理者が1人もいなくなるため、この操作はできません。"), code="last_administrator")


def _save_user(actor: Any, user: User, *, fields: list[str] | None = None) -> None:
    user.full_clean()
    with acting_as(actor):
        user.save(update_fields=fields)


def _clinic_code(clinic: Any) -> str | None:
    return clinic.code if clinic is not None else None


def _grant(*, actor: Any, user: User, role: Role, clinic: Any, ref: RequestReference) -> None:
    """Give ``user`` (locked, with no role) ``role``: the group, the clinic for clinic users, access to the
    Django admin for administrators; RoleGrant and ROLE_GRANTED record the request."""
    user.clinic = clinic if role == Role.CLINIC else None
    user.is_staff = role == Role.ADMINISTRATOR
    _save_user(actor, user, fields=["clinic", "is_staff"])
    with acting_as(actor):
        user.groups.add(_role_group(role))
    user.__dict__.pop("role", None)  # User.role is cached
    grant = RoleGrant(
        user=user, role=role.value, action=RoleGrantAction.GRANTED, clinic=user.clinic,
        requesting_division=ref.division, reference_number=ref.reference, note=ref.note, performed_by=actor,
    )
    grant.full_clean()
    grant.save()
    audit_event_record(event=AuditEvent.ROLE_GRANTED, actor=actor, target=user,
                       data={"role": role.value, "clinic": _clinic_code(user.clinic), **ref.audit_data()})


def _revoke(*, actor: Any, user: User, role: Role, ref: RequestReference, active_admins: Sequence[int]) -> None:
    """Take ``role`` from ``user`` (locked), after the lock-out guards; RoleGrant and ROLE_REVOKED record
    the request."""
    if role == Role.ADMINISTRATOR:
        if user.pk == actor.pk:
            raise ValidationError(_("自分自身の管理者権限は取り消せません。"), code="self_lockout")
        _keep_an_administrator(target=user, active_admins=active_admins)
    clinic = user.clinic
    with acting_as(actor):
        user.groups.remove(_role_group(role))
    user.__dict__.pop("role", None)  # User.role is cached
    user.clinic = None
    user.is_staff = False
    _save_user(actor, user, fields=["clinic", "is_staff"])
    revocation = RoleGrant(
        user=user, role=role.value, action=RoleGrantAction.REVOKED, clinic=clinic,
        requesting_division=ref.division, reference_number=ref.reference, note=ref.note, performed_by=actor,
    )
    revocation.full_clean()
    revocation.save()
    audit_event_record(event=AuditEvent.ROLE_REVOKED, actor=actor, target=user,
                       data={"role": role.value, "clinic": _clinic_code(clinic), **ref.audit_data()})


@dataclass(frozen=True)
class CreatedUser:
    user: User
    initial_password: str  # shown once to the administrator; only its hash is stored


@transaction.atomic
def user_create(
    *,
    actor: Any,
    username: str,
    role: Role | str,
    request_ref: RequestReference,
    last_name: str = "",
    first_name: str = "",
    email: str = "",
    clinic: Any = None,
) -> CreatedUser:
    """Create an active user with one role (and the clinic of a clinic user) on a written request.
    The user gets a random initial password, returned once, and no second factor: the first sign-in
    sends them to enrol their authenticator. Records USER_CREATED, then ROLE_GRANTED."""
    _require(actor, ADD_USER)
    ref = _reference_clean(request_ref)
    role = Role(role)
    _clinic_check(role, clinic)
    password = initial_password_generate()
    user = User(username=username.strip(), last_name=last_name.strip(), first_name=first_name.strip(),
                email=email.strip(), is_active=True)
    user.set_password(password)
    user.full_clean()
    with acting_as(actor):
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            raise ValidationError({"username": _("このユーザー名は既に使われています。")}, code="duplicate") from None
    audit_event_record(event=AuditEvent.USER_CREATED, actor=actor, target=user,
                       data={"role": role.value, "clinic": _clinic_code(clinic), **ref.audit_data()})
    _grant(actor=actor, user=user, role=role, clinic=clinic, ref=ref)
    return CreatedUser(user=user, initial_password=password)


@transaction.atomic
def user_deactivate(*, actor: Any, user: User, request_ref: RequestReference) -> User:
    """Retirement (退職等): the user can no longer sign in, every session they hold ends at once (their
    next request is anonymous) and their API tokens are deleted. The role stays, so a reactivation on
    request restores it. Records USER_DEACTIVATED."""
    _require(actor, MANAGE_USERS)
    ref = _reference_clean(request_ref)
    if user.pk == actor.pk:
        raise ValidationError(_("自分自身を停止することはできません。"), code="self_lockout")
    active_admins = _lock_administrators()
    target = _lock_user(user)
    if not target.is_active:
        raise ValidationError(_("この利用者は既に停止されています。"), code="already_inactive")
    _keep_an_administrator(target=target, active_admins=active_admins)
    target.is_active = False
    _save_user(actor, target, fields=["is_active"])
    sessions = _sessions_end(user=target)
    tokens, _detail = Token.objects.filter(user=target).delete()
    audit_event_record(event=AuditEvent.USER_DEACTIVATED, actor=actor, target=target,
                       data={**ref.audit_data(), "sessions_ended": sessions, "api_tokens_deleted": tokens})
    return target


@transaction.atomic
def user_reactivate(*, actor: Any, user: User, request_ref: RequestReference) -> User:
    """Let a deactivated user sign in again (with the role they had). Records USER_REACTIVATED."""
    _require(actor, MANAGE_USERS)
    ref = _reference_clean(request_ref)
    target = _lock_user(user)
    if target.is_active:
        raise ValidationError(_("この利用者は停止されていません。"), code="already_active")
    target.is_active = True
    _save_user(actor, target, fields=["is_active"])
    audit_event_record(event=AuditEvent.USER_REACTIVATED, actor=actor, target=target,
                       data={"role": target.role.value if target.role else None, **ref.audit_data()})
    return target


@transaction.atomic
def role_grant(
    *, actor: Any, user: User, role: Role | str, request_ref: RequestReference, clinic: Any = None
) -> User:
    """Grant ``role`` on request. A user holds one role: a different current role is revoked first under
    the same request (ROLE_REVOKED, then ROLE_GRANTED), with the same lock-out guards as a revocation."""
    _require(actor, MANAGE_USERS)
    ref = _reference_clean(request_ref)
    role = Role(role)
    _clinic_check(role, clinic)
    active_admins = _lock_administrators()
    target = _lock_user(user)
    current = target.role
    if current == role and (role != Role.CLINIC or target.clinic_id == clinic.pk):
        raise ValidationError({"role": _("この役割は既に付与されています。")}, code="already_granted")
    if current is not None:
        _revoke(actor=actor, user=target, role=current, ref=ref, active_admins=active_admins)
    _grant(actor=actor, user=target, role=role, clinic=clinic, ref=ref)
    return target


@transaction.atomic
def role_revoke(*, actor: Any, user: User, request_ref: RequestReference) -> User:
    """Revoke the user's role on request; they keep their account but can reach nothing. An
    administrator cannot revoke their own administrator role, nor the last active administrator's."""
    _require(actor, MANAGE_USERS)
    ref = _reference_clean(request_ref)
    active_admins = _lock_administrators()
    target = _lock_user(user)
    current = target.role
    if current is None:
        raise ValidationError(_("この利用者には役割が付与されていません。"), code="no_role")
    _revoke(actor=actor, user=target, role=current, ref=ref, active_admins=active_admins)
    return target


@transaction.atomic
def otp_devices_reset(*, actor: Any, user: User, request_ref: RequestReference) -> User:
    """A lost or replaced phone: delete every second-factor device of the user (authenticator app and
    backup codes) and end their sessions, so the next sign-in (password) leads straight to enrolling a
    new authenticator. Not for oneself: another administrator does it. Records OTP_DEVICE_RESET."""
    _require(actor, MANAGE_USERS)
    ref = _reference_clean(request_ref)
    if user.pk == actor.pk:
        raise ValidationError(_("自分自身の二要素認証は初期化できません。別の管理者に依頼してください。"),
                              code="self_reset")
    target = _lock_user(user)
    removed: dict[str, int] = {"totp": 0, "backup_code": 0}
    with acting_as(actor):
        for device in devices_for_user(target, confirmed=None):
            removed[_device_kind(device)] += 1
            device.delete()
    sessions = _sessions_end(user=target)
    audit_event_record(event=AuditEvent.OTP_DEVICE_RESET, actor=actor, target=target,
                       data={**ref.audit_data(), "devices_removed": removed, "sessions_ended": sessions})
    return target


@transaction.atomic
def access_review_record(*, actor: Any, users: Sequence[User], note: str = "") -> AccessReview:
    """Periodic access review (定期確認): ``actor`` has checked the rights of ``users``. Records
    ACCESS_REVIEWED naming the users reviewed."""
    _require(actor, REVIEW_ACCESS)
    note = note.strip()
    if not users:
        raise ValidationError(_("確認した利用者を選んでください。"), code="no_users")
    errors: dict[str, str] = {}
    _refuse_number_runs(errors, "note", note)
    if errors:
        raise ValidationError(errors)
    review = AccessReview(reviewer=actor, note=note)
    review.full_clean()
    with acting_as(actor):
        review.save()
        review.users.set(users)
    user_ids = sorted({u.pk for u in users})
    data: dict[str, Any] = {"users": user_ids, "count": len(user_ids)}
    if note:
        data["note"] = note
    audit_event_record(event=AuditEvent.ACCESS_REVIEWED, actor=actor, target=review, data=data)
    return review


def administrator_bootstrap(*, username: str, request_ref: RequestReference) -> CreatedUser:
    """The first administrator of an empty installation (manage.py create_administrator). Refused once any
    active administrator exists: from then on users are created on the administrator's desk. There is no
    one else to act, so the new administrator is recorded as the actor of its own creation and grant,
    with the request that asked for it. Never a superuser: the role's permissions are all it holds."""
    ref = _reference_clean(request_ref)
    with transaction.atomic():
        if User.objects.filter(groups__name=Role.ADMINISTRATOR.value, is_active=True).exists():
            raise ValidationError(
                _("有効な管理者が既にいます。利用者は管理者の画面で登録してください。"), code="administrator_exists"
            )
        password = initial_password_generate()
        user = User(username=username.strip(), is_active=True)
        user.set_password(password)
        user.full_clean()
        with acting_as(user):
            user.save()
        audit_event_record(event=AuditEvent.USER_CREATED, actor=user, target=user,
                           data={"role": Role.ADMINISTRATOR.value, "bootstrap": True, **ref.audit_data()})
        _grant(actor=user, user=user, role=Role.ADMINISTRATOR, clinic=None, ref=ref)
    return CreatedUser(user=user, initial_password=password)
