"""Permission catalog of this app (merged by accounts.roles)."""

from accounts.roles import Role

ROLE_PERMISSIONS: dict[Role, set[str]] = {role: set() for role in Role}
