"""Permission catalog of the imports app (see accounts.roles) and the named predicates that views, APIs,
selectors and services use.

Who may do what:

- clinic users upload their own clinic's monthly CSV and see their own imports and row errors only;
- staff upload on behalf of any clinic (paper forms keyed by the contractor) and see every import;
- auditors see the import list and each import's history (who sent which file when, through which way in,
  with what outcome): that is the operation record they review. They do not see the row errors or the
  error CSV: those exist so that a clinic can correct its data, the CSV repeats the rows as sent (My
  Numbers included), and an auditor's task needs none of it (only the needed items, SPEC risk controls);
- administrators issue and revoke the clinic API tokens, and edit the inbox schedule in the admin.
"""

from typing import Any

from accounts.roles import Role

UPLOAD_IMPORT = "imports.add_clinicimport"
VIEW_IMPORT = "imports.view_clinicimport"
VIEW_ROW_ERRORS = "imports.view_importrowerror"
VIEW_API_TOKEN = "imports.view_clinicapitoken"  # noqa: S105  (permission names, not secrets)
ISSUE_API_TOKEN = "imports.add_clinicapitoken"  # noqa: S105
REVOKE_API_TOKEN = "imports.change_clinicapitoken"  # noqa: S105
# The resident change feed (issue #7): staff bring files in and read their row errors; auditors read the
# list and each file's history (not the row errors, nor the error CSV with names and My Numbers).
UPLOAD_FEED = "imports.add_residentfeedfile"
VIEW_FEED = "imports.view_residentfeedfile"
VIEW_FEED_ROW_ERRORS = "imports.view_residentfeedrowerror"

# The inbox job is a django-celery-beat PeriodicTask; administrators keep its schedule in the admin.
EDIT_SCHEDULES = {
    "django_celery_beat.view_periodictask", "django_celery_beat.change_periodictask",
    "django_celery_beat.view_crontabschedule", "django_celery_beat.add_crontabschedule",
    "django_celery_beat.change_crontabschedule",
}

ROLE_PERMISSIONS = {
    Role.CLINIC: {UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS},
    Role.STAFF: {UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS, UPLOAD_FEED, VIEW_FEED, VIEW_FEED_ROW_ERRORS},
    Role.AUDITOR: {VIEW_IMPORT, VIEW_FEED},
    Role.ADMINISTRATOR: {VIEW_API_TOKEN, ISSUE_API_TOKEN, REVOKE_API_TOKEN, *EDIT_SCHEDULES},
}

# What a clinic API token stands for: exactly the clinic role's import permissions, never more.
CLINIC_TOKEN_PERMISSIONS = frozenset(ROLE_PERMISSIONS[Role.CLINIC])


def is_clinic_bound(user: Any) -> bool:
    """Whether the user acts for one clinic only (a clinic user, or a clinic API token). Such a user
    without a clinic is bound to nothing and sees nothing (fail closed)."""
    return getattr(user, "role", None) == Role.CLINIC


def can_upload_import(user: Any) -> bool:
    return bool(user.has_perm(UPLOAD_IMPORT))


def can_upload_for_clinic(user: Any, clinic: Any) -> bool:
    """Clinic users (and tokens) for their own clinic; staff for any clinic."""
    if not can_upload_import(user):
        return False
    if is_clinic_bound(user):
        clinic_id = getattr(user, "clinic_id", None)
        return clinic is not None and clinic_id is not None and clinic_id == clinic.pk
    return True


def can_choose_clinic(user: Any) -> bool:
    """Staff pick the clinic they upload for; a clinic user's clinic is fixed."""
    return can_upload_import(user) and not is_clinic_bound(user)


def can_view_import(user: Any, clinic_import: Any) -> bool:
    if not user.has_perm(VIEW_IMPORT):
        return False
    if is_clinic_bound(user):
        clinic_id = getattr(user, "clinic_id", None)
        return clinic_id is not None and clinic_id == clinic_import.clinic_id
    return True


def can_view_row_errors(user: Any, clinic_import: Any) -> bool:
    return bool(user.has_perm(VIEW_ROW_ERRORS)) and can_view_import(user, clinic_import)


def can_issue_api_token(user: Any) -> bool:
    return bool(user.has_perm(ISSUE_API_TOKEN))


def can_revoke_api_token(user: Any) -> bool:
    return bool(user.has_perm(REVOKE_API_TOKEN))


def can_view_api_tokens(user: Any) -> bool:
    return bool(user.has_perm(VIEW_API_TOKEN))


def can_upload_feed(user: Any) -> bool:
    return bool(user.has_perm(UPLOAD_FEED))


def can_view_feed(user: Any) -> bool:
    return bool(user.has_perm(VIEW_FEED))


def can_view_feed_row_errors(user: Any) -> bool:
    return bool(user.has_perm(VIEW_FEED_ROW_ERRORS)) and can_view_feed(user)
