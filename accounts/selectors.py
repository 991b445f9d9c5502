"""Reads of the administrator's desk: users with their role, grants, reviews and open sessions. Every
selector takes the actor and refuses one without the permission to see users."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import AccessReview, RoleGrant, RoleGrantAction, User, UserSession
from accounts.permissions import VIEW_USERS
from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry

# An account not used for this long is flagged on the access review (the self-inspection looks for it).
DORMANT_AFTER = timedelta(days=90)
NO_ROLE = "none"


def _require_view(actor: Any) -> None:
    if not actor.has_perm(VIEW_USERS):
        raise PermissionDenied


@dataclass(frozen=True)
class UserQuery:
    """Filters of the user list; all given ones must match. ``text`` matches the user name or the name;
    ``role`` is a Role value or NO_ROLE; ``active`` None means both."""

    text: str = ""
    role: str = ""
    active: bool | None = None


def user_list(*, actor: Any, query: UserQuery | None = None) -> QuerySet[User]:
    """Users with their clinic and groups, and ``last_reviewed_at`` / ``last_reviewed_by`` from the
    latest access review that covered them."""
    _require_view(actor)
    query = query or UserQuery()
    latest_review = AccessReview.objects.filter(users=OuterRef("pk")).order_by("-created_at", "-pk")
    qs = (
        User.objects.select_related("clinic")
        .prefetch_related("groups")
        .annotate(
            last_reviewed_at=Max("access_reviews__created_at"),
            last_reviewed_by=Subquery(latest_review.values("reviewer__username")[:1]),
        )
        .order_by("username")
    )
    text = query.text.strip()
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(last_name__icontains=text) | Q(first_name__icontains=text))
    if query.role == NO_ROLE:
        qs = qs.exclude(groups__name__in=Role.values)
    elif query.role:
        qs = qs.filter(groups__name=query.role)
    if query.active is not None:
        qs = qs.filter(is_active=query.active)
    return qs


def user_get(*, actor: Any, pk: int) -> User:
    _require_view(actor)
    return User.objects.select_related("clinic").get(pk=pk)


def role_grant_history(*, actor: Any, user: User) -> QuerySet[RoleGrant]:
    _require_view(actor)
    return RoleGrant.objects.filter(user=user).select_related("performed_by", "clinic").order_by("-created_at", "-pk")


def current_grants(*, users: list[User]) -> dict[int, RoleGrant]:
    """For each user id, the grant of the role they hold now (the latest GRANTED row for that role): the
    request that is the reason they have it."""
    roles = {user.pk: user.role for user in users}
    grants: dict[int, RoleGrant] = {}
    rows = (
        RoleGrant.objects.filter(user__in=[pk for pk, role in roles.items() if role is not None],
                                 action=RoleGrantAction.GRANTED)
        .select_related("performed_by")
        .order_by("user_id", "-created_at", "-pk")
    )
    for grant in rows:
        role = roles.get(grant.user_id)
        if role is not None and grant.role == role.value and grant.user_id not in grants:
            grants[grant.user_id] = grant
    return grants


@dataclass(frozen=True)
class AccessReviewRow:
    user: User
    role: Role | None
    grant: RoleGrant | None
    last_login: datetime | None
    last_reviewed_at: datetime | None
    last_reviewed_by: str | None
    dormant: bool  # active, and no sign-in for DORMANT_AFTER (or never since creation that long ago)


def access_review_rows(*, actor: Any, query: UserQuery | None = None, now: datetime | None = None) -> list[
    AccessReviewRow
]:
    """The periodic access review (定期確認): every user matching ``query`` with role, clinic, state, last
    sign-in, the request behind their current role and when their rights were last reviewed."""
    users = list(user_list(actor=actor, query=query))
    grants = current_grants(users=users)
    cutoff = (now or timezone.now()) - DORMANT_AFTER
    rows = []
    for user in users:
        last_used = user.last_login or user.date_joined
        rows.append(AccessReviewRow(
            user=user,
            role=user.role,
            grant=grants.get(user.pk),
            last_login=user.last_login,
            last_reviewed_at=user.last_reviewed_at,  # type: ignore[attr-defined]
            last_reviewed_by=user.last_reviewed_by,  # type: ignore[attr-defined]
            dormant=user.is_active and last_used < cutoff,
        ))
    return rows


def user_open_session_count(*, actor: Any, user: User) -> int:
    """Sessions recorded for the user (some may have expired since; a deactivation ends them all)."""
    _require_view(actor)
    return UserSession.objects.filter(user=user).count()


def user_desk_events(*, actor: Any, user: User, limit: int = 50) -> QuerySet[AuditLogEntry]:
    """The administrative business events about this user (creation, roles, deactivation, resets),
    newest first, read from the audit log."""
    _require_view(actor)
    return (
        AuditLogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(User),
            object_pk=str(user.pk),
            action=AuditLogEntry.Action.EVENT,
            event__in=[event.value for event in AuditEvent if event.value.startswith("admin.")],
        )
        .select_related("actor")
        .order_by("-seq")[:limit]
    )


def active_administrator_count(*, actor: Any) -> int:
    _require_view(actor)
    return User.objects.filter(groups__name=Role.ADMINISTRATOR.value, is_active=True).count()
