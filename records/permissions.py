"""Permission catalog of records and the named predicates views and APIs use."""

from typing import Any

from accounts.roles import Role

VIEW_RESIDENT = "records.view_resident"
VIEW_RECORD = "records.view_vaccinationrecord"
ADD_RECORD = "records.add_vaccinationrecord"
CHANGE_RECORD = "records.change_vaccinationrecord"
DELETE_RECORD = "records.delete_vaccinationrecord"
VIEW_CLINIC = "records.view_clinic"
VIEW_VACCINE = "records.view_vaccine"
# Showing a My Number in full (an explicit, reasoned and audited action; everywhere else it is masked).
REVEAL_MY_NUMBER = "records.reveal_my_number"
# Registering a non-resident (住登外者) from a source document (issue #7).
REGISTER_NON_RESIDENT = "records.add_nonresidentregistration"

ROLE_PERMISSIONS = {
    Role.STAFF: {
        VIEW_RESIDENT, VIEW_RECORD, ADD_RECORD, CHANGE_RECORD, DELETE_RECORD, VIEW_CLINIC, VIEW_VACCINE,
        REVEAL_MY_NUMBER, REGISTER_NON_RESIDENT,
    },
    Role.ADMINISTRATOR: {
        VIEW_CLINIC, VIEW_VACCINE,
        "records.add_clinic", "records.change_clinic", "records.add_vaccine", "records.change_vaccine",
    },
    Role.CLINIC: set(),
    Role.AUDITOR: set(),
}


def can_view_resident(user: Any) -> bool:
    return bool(user.has_perm(VIEW_RESIDENT))


def can_change_record(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_RECORD))


def can_add_record(user: Any) -> bool:
    return bool(user.has_perm(ADD_RECORD))


def can_delete_record(user: Any) -> bool:
    return bool(user.has_perm(DELETE_RECORD))


def can_reveal_my_number(user: Any) -> bool:
    return bool(user.has_perm(REVEAL_MY_NUMBER))


def can_register_non_resident(user: Any) -> bool:
    return bool(user.has_perm(REGISTER_NON_RESIDENT))
