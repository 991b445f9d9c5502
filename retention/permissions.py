"""Permission catalog of this app (merged by accounts.roles) and the named predicates of its pages.

Administrators keep the retention policies and the legal holds, start dry runs, approve (or reject) a
report, stop and resume its run, and keep the monthly job's schedule in the admin. Auditors read the
reports, their progress and the deletion certificates: they check that deletions happened as approved,
and never change anything.
"""

from typing import Any

from accounts.roles import Role

VIEW_POLICY = "retention.view_retentionpolicy"
CHANGE_POLICY = "retention.change_retentionpolicy"
VIEW_HOLD = "retention.view_legalhold"
ADD_HOLD = "retention.add_legalhold"
RELEASE_HOLD = "retention.change_legalhold"
VIEW_REPORT = "retention.view_purgereport"
ADD_REPORT = "retention.add_purgereport"
APPROVE_REPORT = "retention.approve_purgereport"

# The monthly job is a django-celery-beat PeriodicTask (imports.permissions grants administrators the
# same schedule permissions for the inbox job).
EDIT_SCHEDULES = {
    "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
    "django_celery_beat.view_crontabschedule", "django_celery_beat.add_crontabschedule",
    "django_celery_beat.change_crontabschedule",
}

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.STAFF: set(),
    Role.CLINIC: set(),
    Role.AUDITOR: {VIEW_REPORT},
    Role.ADMINISTRATOR: {VIEW_POLICY, CHANGE_POLICY, VIEW_HOLD, ADD_HOLD, RELEASE_HOLD, VIEW_REPORT, ADD_REPORT,
                         APPROVE_REPORT, *EDIT_SCHEDULES},
}


def can_change_policy(user: Any) -> bool:
    return bool(user.has_perm(CHANGE_POLICY))


def can_place_hold(user: Any) -> bool:
    return bool(user.has_perm(ADD_HOLD))


def can_release_hold(user: Any) -> bool:
    return bool(user.has_perm(RELEASE_HOLD))


def can_view_report(user: Any) -> bool:
    return bool(user.has_perm(VIEW_REPORT))


def can_create_report(user: Any) -> bool:
    return bool(user.has_perm(ADD_REPORT))


def can_approve_report(user: Any) -> bool:
    return bool(user.has_perm(APPROVE_REPORT))
