"""Permission catalog of accounts, and the API permission class that fails closed."""

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from accounts.roles import Role

VIEW_API_DOCS = "accounts.view_api_docs"
VIEW_USERS = "accounts.view_user"
ADD_USER = "accounts.add_user"
MANAGE_USERS = "accounts.change_user"  # deactivate, reactivate, grant and revoke roles, reset the second factor
REVIEW_ACCESS = "accounts.add_accessreview"
# Copying the file (bulk export of residents and records): the administrator's alone (SPEC "Risk controls").
EXPORT_BULK = "accounts.export_bulk"

ROLE_PERMISSIONS = {
    Role.STAFF: {VIEW_API_DOCS},
    Role.ADMINISTRATOR: {VIEW_API_DOCS, MANAGE_USERS, ADD_USER, VIEW_USERS, "accounts.view_backupcodedevice",
                         "accounts.view_rolegrant", "accounts.view_accessreview", REVIEW_ACCESS, EXPORT_BULK},
}


def can_manage_users(user: Any) -> bool:
    return bool(user.has_perm(MANAGE_USERS))


def can_add_user(user: Any) -> bool:
    return bool(user.has_perm(ADD_USER))


def can_review_access(user: Any) -> bool:
    return bool(user.has_perm(REVIEW_ACCESS))


def can_export_bulk(user: Any) -> bool:
    return bool(user.has_perm(EXPORT_BULK))


class DeclaredPermission(BasePermission):
    """Default permission of every API view: the view must declare ``required_permission``; a view that
    declares nothing is refused. Session users must also have passed the second factor (a token is
    issued by an administrator and stands on its own)."""

    message = "この操作を行う権限がありません。"

    def has_permission(self, request: Any, view: Any) -> bool:
        required = getattr(view, "required_permission", None)
        user = request.user
        if required is None or user is None or not user.is_authenticated:
            return False
        if isinstance(request.successful_authenticator, SessionAuthentication) and not user.is_verified():
            return False
        return bool(user.has_perm(required))
