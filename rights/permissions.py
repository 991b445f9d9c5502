"""Permission catalog of this app (merged by accounts.roles) and the named predicates of its screens.

Staff receive and handle tickets and requests; administrators set and clear the protection flag;
auditors read tickets, requests and the flag's history (never the disclosure document itself, which is
everything held about a person).
"""

from typing import Any

from accounts.roles import Role

VIEW_TICKET = "rights.view_receptionticket"
ADD_TICKET = "rights.add_receptionticket"
CHANGE_TICKET = "rights.change_receptionticket"
VIEW_DISCLOSURE = "rights.view_disclosurerequest"
ADD_DISCLOSURE = "rights.add_disclosurerequest"
CHANGE_DISCLOSURE = "rights.change_disclosurerequest"  # generate the document, record its handover
VIEW_CORRECTION = "rights.view_correctionrequest"
ADD_CORRECTION = "rights.add_correctionrequest"
CHANGE_CORRECTION = "rights.change_correctionrequest"  # decide, and apply the correction
VIEW_SUSPENSION = "rights.view_suspensionrequest"
ADD_SUSPENSION = "rights.add_suspensionrequest"
CHANGE_SUSPENSION = "rights.change_suspensionrequest"  # decide, lift
VIEW_PROTECTION = "rights.view_protectionchange"
CHANGE_PROTECTION = "rights.add_protectionchange"  # set or clear the flag

_READ = {VIEW_TICKET, VIEW_DISCLOSURE, VIEW_CORRECTION, VIEW_SUSPENSION}

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.STAFF: _READ | {
        ADD_TICKET, CHANGE_TICKET, ADD_DISCLOSURE, CHANGE_DISCLOSURE, ADD_CORRECTION, CHANGE_CORRECTION,
        ADD_SUSPENSION, CHANGE_SUSPENSION,
    },
    Role.AUDITOR: _READ | {VIEW_PROTECTION},
    Role.ADMINISTRATOR: {VIEW_PROTECTION, CHANGE_PROTECTION},
    Role.CLINIC: set(),
}


def can_change_ticket(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_TICKET))


def can_change_disclosure(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_DISCLOSURE))


def can_change_correction(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_CORRECTION))


def can_change_suspension(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_SUSPENSION))


def can_view_tickets(user: Any) -> bool:
    return bool(user.has_perm(VIEW_TICKET))


def can_view_protection(user: Any) -> bool:
    return bool(user.has_perm(VIEW_PROTECTION))


def can_change_protection(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_PROTECTION))
