"""Permission catalog of the linkage app (merged by accounts.roles) and the named predicates.

- staff (職員) query a moved-in resident's history, review the result and register its doses as 転入前接種
  records, and work the confirmation queue of inbound queries (see what would be sent; approve or refuse);
- auditors (監査) search the provision records (情報提供等の記録) and export them as CSV; they see no result
  data and no resident page;
- administrators keep the beat schedules in the admin (imports.permissions.EDIT_SCHEDULES).
"""

from typing import Any

from accounts.roles import Role

QUERY = "linkage.add_exchange"
VIEW_EXCHANGE = "linkage.view_exchange"
VIEW_RESULT = "linkage.view_linkageresult"
REGISTER_DOSES = "linkage.register_doses"
VIEW_INBOUND = "linkage.view_inboundquery"
DECIDE_INBOUND = "linkage.change_inboundquery"
VIEW_PROVISION_RECORDS = "linkage.view_provisionrecord"
EXPORT_PROVISION_RECORDS = "linkage.export_provisionrecord"

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.STAFF: {QUERY, VIEW_EXCHANGE, VIEW_RESULT, REGISTER_DOSES, VIEW_INBOUND, DECIDE_INBOUND},
    Role.AUDITOR: {VIEW_PROVISION_RECORDS, EXPORT_PROVISION_RECORDS},
    Role.CLINIC: set(),
    Role.ADMINISTRATOR: set(),
}


def can_query(user: Any) -> bool:
    return bool(user.has_perm(QUERY))


def can_register_doses(user: Any) -> bool:
    return bool(user.has_perm(REGISTER_DOSES))


def can_decide_inbound(user: Any) -> bool:
    return bool(user.has_perm(DECIDE_INBOUND))


def can_view_provision_records(user: Any) -> bool:
    return bool(user.has_perm(VIEW_PROVISION_RECORDS))


def can_export_provision_records(user: Any) -> bool:
    return bool(user.has_perm(EXPORT_PROVISION_RECORDS))
