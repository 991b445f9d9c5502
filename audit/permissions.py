"""Permission catalog of the audit app (see accounts.roles)."""

ROLE_PERMISSIONS: dict = {}
