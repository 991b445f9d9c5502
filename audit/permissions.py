"""Permission catalog of the audit app (see accounts.roles) and the named predicates of the auditor's desk.

SPEC: auditors read access logs, provision records and reports, verify that the log is intact and never
edit data. Only the auditor role reads the log: administrators manage users and roles, and the people
whose grants the log records do not also curate the record of them (separation of duties).

Whether auditors may also read residents and their records is the city's decision
(``settings.AUDITOR_CAN_VIEW_RESIDENTS``, default off). ``ROLE_PERMISSIONS`` is therefore computed each
time accounts.roles reads it, so the group sync after migrate follows the setting.
"""

from typing import Any

from django.conf import settings

from accounts.roles import Role
from records.permissions import VIEW_RECORD, VIEW_RESIDENT

VIEW_LOG = "audit.view_auditlogentry"
EXPORT_LOG = "audit.export_auditlogentry"
VIEW_REPORT = "audit.view_audit_report"
VERIFY_CHAIN = "audit.verify_audit_chain"

AUDITOR_PERMISSIONS = frozenset({VIEW_LOG, EXPORT_LOG, VIEW_REPORT, VERIFY_CHAIN})
# Read-only access to residents and their vaccination records, for auditors when the city allows it.
RESIDENT_READ_PERMISSIONS = frozenset({VIEW_RESIDENT, VIEW_RECORD})


def audit_role_permissions() -> dict[Role, set[str]]:
    auditor = set(AUDITOR_PERMISSIONS)
    if settings.AUDITOR_CAN_VIEW_RESIDENTS:
        auditor |= RESIDENT_READ_PERMISSIONS
    return {Role.AUDITOR: auditor}


def __getattr__(name: str) -> Any:
    # Module attribute computed on access (PEP 562): accounts.roles reads ``ROLE_PERMISSIONS`` from every
    # catalog module, and this one depends on a setting.
    if name == "ROLE_PERMISSIONS":
        return audit_role_permissions()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def can_view_log(user: Any) -> bool:
    return bool(user.has_perm(VIEW_LOG))


def can_export_log(user: Any) -> bool:
    return bool(user.has_perm(EXPORT_LOG))


def can_view_report(user: Any) -> bool:
    return bool(user.has_perm(VIEW_REPORT))


def can_verify_chain(user: Any) -> bool:
    return bool(user.has_perm(VERIFY_CHAIN))
