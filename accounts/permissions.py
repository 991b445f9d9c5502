"""Permission catalog of accounts, and the API permission class that fails closed."""

from typing import Any

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from accounts.roles import Role

VIEW_API_DOCS = "accounts.view_api_docs"
MANAGE_USERS = "accounts.change_user"

ROLE_PERMISSIONS = {
    Role.STAFF: {VIEW_API_DOCS},
    Role.ADMINISTRATOR: {VIEW_API_DOCS, MANAGE_USERS, "accounts.add_user", "accounts.view_user",
                         "accounts.view_backupcodedevice"},
}


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
