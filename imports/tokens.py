"""Clinic API tokens: issued by an administrator (the clear token is returned once and never stored: only
its SHA-256 is kept), revoked by an administrator, and checked on every API request that presents
``Authorization: ClinicToken <token>``. Every use is recorded (``last_used_at`` and an audit event).

A token stands for its clinic, not for a person: the request's user is a ``ClinicTokenUser`` that holds
exactly the clinic role's import permissions, bound to the token's clinic.
"""

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts.roles import Role
from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.models import ClinicApiToken
from imports.permissions import CLINIC_TOKEN_PERMISSIONS, can_issue_api_token, can_revoke_api_token
from records.models import Clinic

TOKEN_KEYWORD = "ClinicToken"  # noqa: S105  (the Authorization keyword, not a secret)
# "kvx_" marks our tokens (secret scanners can look for it); 32 random bytes follow.
TOKEN_MARK = "kvx_"  # noqa: S105
TOKEN_PREFIX_LENGTH = 12  # the mark and 8 characters: enough to tell tokens apart, far too few to guess one


def token_hash(key: str) -> str:
    """SHA-256 of the clear token. A plain hash suffices: the token is 256 random bits, not a password."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A freshly issued token. ``key`` exists only here: show it once, then let it go."""

    token: ClinicApiToken
    key: str


@transaction.atomic
def clinic_api_token_issue(*, actor: Any, clinic: Clinic, name: str) -> IssuedToken:
    """Issue a token for ``clinic``; records API_TOKEN_ISSUED (clinic code and the token's prefix)."""
    if not can_issue_api_token(actor):
        raise PermissionDenied
    if not clinic.is_active:
        raise ValidationError({"clinic": _("無効になっている医療機関にはトークンを発行できません。")},
                              code="clinic_inactive")
    key = TOKEN_MARK + secrets.token_urlsafe(32)
    token = ClinicApiToken(clinic=clinic, name=name.strip(), prefix=key[:TOKEN_PREFIX_LENGTH],
                           key_hash=token_hash(key), created_by=actor)
    token.full_clean()
    with acting_as(actor):
        token.save()
    audit_event_record(event=AuditEvent.API_TOKEN_ISSUED, actor=actor, target=token,
                       data={"clinic": clinic.code, "prefix": token.prefix, "name": token.name})
    return IssuedToken(token=token, key=key)


@transaction.atomic
def clinic_api_token_revoke(*, actor: Any, token_id: int) -> ClinicApiToken:
    """Revoke a token at once (the next request with it gets 401); records API_TOKEN_REVOKED. A token
    already revoked stays as it was (its first revocation is the one on record)."""
    if not can_revoke_api_token(actor):
        raise PermissionDenied
    token = ClinicApiToken.objects.select_for_update().get(pk=token_id)
    if token.revoked_at is not None:
        raise ValidationError(_("このトークンは既に失効しています。"), code="already_revoked")
    token.revoked_at = timezone.now()
    token.revoked_by = actor
    token.full_clean()
    with acting_as(actor):
        token.save(update_fields=["revoked_at", "revoked_by", "updated_at"])
    audit_event_record(event=AuditEvent.API_TOKEN_REVOKED, actor=actor, target=token,
                       data={"clinic": token.clinic.code, "prefix": token.prefix})
    return token


class TokenRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def clinic_api_token_authenticate(*, key: str, method: str = "", path: str = "") -> ClinicApiToken:
    """The active token whose hash matches ``key``, its use recorded (``last_used_at`` and
    API_TOKEN_USED with the method and path). A revoked token, or one of a clinic no longer active, is
    refused and the attempt recorded as ACCESS_DENIED; an unknown key raises without a record (there is
    nothing to attach it to). Raises TokenRejected."""
    token = ClinicApiToken.objects.select_related("clinic").filter(key_hash=token_hash(key)).first()
    if token is None:
        raise TokenRejected("token_invalid", _("APIトークンが正しくありません。"))
    refusal: TokenRejected | None = None
    if token.revoked_at is not None:
        refusal = TokenRejected("token_revoked", _("このAPIトークンは失効しています。"))
    elif not token.clinic.is_active:
        refusal = TokenRejected("clinic_inactive", _("このAPIトークンの医療機関は無効になっています。"))
    data = {"clinic": token.clinic.code, "prefix": token.prefix, "method": method, "path": path[:200]}
    with transaction.atomic():
        if refusal is not None:
            audit_event_record(event=AuditEvent.ACCESS_DENIED, actor=None, target=token,
                               data={**data, "reason": refusal.code})
        else:
            now = timezone.now()
            ClinicApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
            audit_event_record(event=AuditEvent.API_TOKEN_USED, actor=None, target=token, data=data)
    if refusal is not None:
        raise refusal
    return token


class ClinicTokenUser:
    """``request.user`` of a request authenticated by a clinic API token: bound to the token's clinic,
    holding only the clinic role's import permissions, never a person (so nothing can be attributed to
    one; imports it sends name the token instead)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None
    role = Role.CLINIC

    def __init__(self, token: ClinicApiToken) -> None:
        self.token = token
        self.clinic = token.clinic
        self.clinic_id = token.clinic_id

    def __str__(self) -> str:
        return self.username

    @property
    def username(self) -> str:
        return f"{TOKEN_KEYWORD}:{self.token.prefix}"

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return perm in CLINIC_TOKEN_PERMISSIONS

    def has_perms(self, perms: Any, obj: Any = None) -> bool:
        return all(self.has_perm(p) for p in perms)

    def is_verified(self) -> bool:
        # A token is a credential on its own (like DRF's Token); only sessions need the second factor.
        return False


class ClinicTokenAuthentication(BaseAuthentication):
    """``Authorization: ClinicToken <token>``. Requests without that keyword are left to the other
    authenticators (session, staff token)."""

    keyword = TOKEN_KEYWORD

    def authenticate(self, request: Request) -> tuple[ClinicTokenUser, ClinicApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode("ascii"):
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Authorization ヘッダーは「ClinicToken <トークン>」の形式で送ってください。"))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("APIトークンが正しくありません。")) from None
        try:
            token = clinic_api_token_authenticate(key=key, method=request.method or "", path=request.path)
        except TokenRejected as exc:
            raise AuthenticationFailed(exc.message, code=exc.code) from None
        return ClinicTokenUser(token), token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
