"""Permission catalog of the imports app (see accounts.roles)."""

ROLE_PERMISSIONS: dict = {}
