"""URL x role matrix (issue #4 acceptance 3): every URL pattern of the project, found by walking the
URLconf, must be listed in EXPECTED with the roles that may reach it; a new URL without an entry fails
here. Anonymous users and users without the second factor are covered by tests/test_url_policy.py.

"Reachable" means the role passes the access policy: the answer is not 403 and not a bounce to
sign-in (a 404 for a sample id that does not exist, or 405 for a GET on a POST-only action, is fine).
"Refused" means 403 — except on the Django admin, whose own login page answers those without is_staff.
"""

from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from accounts.roles import Role
from tests.factories import ClinicFactory, UserFactory
from tests.urlmap import all_urls

STAFF, CLINIC, AUDITOR, ADMIN = Role.STAFF, Role.CLINIC, Role.AUDITOR, Role.ADMINISTRATOR
EVERYONE = frozenset(Role)

EXPECTED: dict[str, frozenset[Role]] = {
    # Sign-in flow and home: every role (the public ones are also reachable anonymously).
    "accounts:home": EVERYONE,
    "accounts:login": EVERYONE,
    "accounts:logout": EVERYONE,
    "accounts:otp_verify": EVERYONE,
    "accounts:otp_setup": EVERYONE,
    "accounts:backup_codes": EVERYONE,
    "set_language": EVERYONE,
    # The admin site's own sign-in and sign-out pages answer anyone (they grant nothing).
    "otpadmin:login": EVERYONE,
    "otpadmin:logout": EVERYONE,
    # Residents and vaccination records: staff only (AUDITOR_CAN_VIEW_RESIDENTS is off by default).
    "records:resident_search": frozenset({STAFF}),
    "records:resident_detail": frozenset({STAFF}),
    "records:my_number_reveal": frozenset({STAFF}),
    "records:record_create": frozenset({STAFF}),
    "records:record_update": frozenset({STAFF}),
    "records:record_delete": frozenset({STAFF}),
    "api:resident_search": frozenset({STAFF}),
    "api:resident_detail": frozenset({STAFF}),
    "api:resident_my_number": frozenset({STAFF}),
    "api:resident_records": frozenset({STAFF}),
    "api:record_detail": frozenset({STAFF}),
    # Clinic imports: clinics (their own) and staff; auditors read the list and history, not row errors;
    # administrators manage the clinics' API tokens.
    "imports:list": frozenset({STAFF, CLINIC, AUDITOR}),
    "imports:detail": frozenset({STAFF, CLINIC, AUDITOR}),
    "imports:progress": frozenset({STAFF, CLINIC, AUDITOR}),
    "imports:upload": frozenset({STAFF, CLINIC}),
    "imports:error_csv": frozenset({STAFF, CLINIC}),
    "imports:token_list": frozenset({ADMIN}),
    "imports:token_issue": frozenset({ADMIN}),
    "imports:token_revoke": frozenset({ADMIN}),
    "api:import_list": frozenset({STAFF, CLINIC, AUDITOR}),
    "api:import_detail": frozenset({STAFF, CLINIC, AUDITOR}),
    "api:import_errors": frozenset({STAFF, CLINIC}),
    # The auditor's desk.
    "audit:entry_list": frozenset({AUDITOR}),
    "audit:entry_detail": frozenset({AUDITOR}),
    "audit:entry_export_csv": frozenset({AUDITOR}),
    "audit:entry_export_pdf": frozenset({AUDITOR}),
    "audit:resident_history": frozenset({AUDITOR}),
    "audit:user_history": frozenset({AUDITOR}),
    "audit:self_inspection": frozenset({AUDITOR}),
    "audit:self_inspection_pdf": frozenset({AUDITOR}),
    "audit:chain_verify": frozenset({AUDITOR}),
    # The administrator's desk (users, roles, access review, the only bulk export).
    "manage:user_list": frozenset({ADMIN}),
    "manage:user_create": frozenset({ADMIN}),
    "manage:user_detail": frozenset({ADMIN}),
    "manage:user_deactivate": frozenset({ADMIN}),
    "manage:user_reactivate": frozenset({ADMIN}),
    "manage:otp_reset": frozenset({ADMIN}),
    "manage:role_grant": frozenset({ADMIN}),
    "manage:role_revoke": frozenset({ADMIN}),
    "manage:access_review": frozenset({ADMIN}),
    "manage:export": frozenset({ADMIN}),
    # --- Eligibility and notices (#5) ---
    # Staff run the desk; auditors read the stored decisions only.
    "eligibility:campaign_list": frozenset({STAFF}),
    "eligibility:campaign_create": frozenset({STAFF}),
    "eligibility:campaign_detail": frozenset({STAFF}),
    "eligibility:campaign_update": frozenset({STAFF}),
    "eligibility:what_if": frozenset({STAFF}),
    "eligibility:extraction_start": frozenset({STAFF}),
    "eligibility:run_detail": frozenset({STAFF}),
    "eligibility:run_progress": frozenset({STAFF}),
    "eligibility:check_create": frozenset({STAFF}),
    "eligibility:check_detail": frozenset({STAFF}),
    "eligibility:decision_list": frozenset({STAFF, AUDITOR}),
    "eligibility:resident": frozenset({STAFF}),
    "eligibility:resident_decide": frozenset({STAFF}),
    "eligibility:priority_group_grant": frozenset({STAFF}),
    "eligibility:priority_group_revoke": frozenset({STAFF}),
    "eligibility:batch_detail": frozenset({STAFF}),
    "eligibility:batch_issue": frozenset({STAFF}),
    "eligibility:batch_pdf": frozenset({STAFF}),
    "eligibility:batch_csv": frozenset({STAFF}),
    "eligibility:item_release": frozenset({STAFF}),
    "eligibility:ticket_reissue": frozenset({STAFF}),
    "eligibility:ticket_pdf": frozenset({STAFF}),
    "api:eligibility_checks": frozenset({STAFF}),
    "api:eligibility_check_confirm": frozenset({STAFF}),
    "api:extraction_run": frozenset({STAFF}),
    "eligibility:certificate_issue": frozenset({STAFF}),
    # --- Linkage (#6) ---
    # Staff query, review and register results, and work the confirmation queue; auditors read and
    # export the provision records (情報提供等の記録).
    "linkage:exchange_list": frozenset({STAFF}),
    "linkage:query_start": frozenset({STAFF}),
    "linkage:exchange_detail": frozenset({STAFF}),
    "linkage:exchange_retry": frozenset({STAFF}),
    "linkage:result_register": frozenset({STAFF}),
    "linkage:inbound_list": frozenset({STAFF}),
    "linkage:inbound_detail": frozenset({STAFF}),
    "linkage:inbound_approve": frozenset({STAFF}),
    "linkage:inbound_refuse": frozenset({STAFF}),
    "linkage:record_list": frozenset({AUDITOR}),
    "linkage:record_export_csv": frozenset({AUDITOR}),
    # --- Resident change feed, residents' rights, protection flag (#7) ---
    # The change feed: staff bring files in; auditors read the list and each file's history, not row errors.
    "imports:feed_list": frozenset({STAFF, AUDITOR}),
    "imports:feed_detail": frozenset({STAFF, AUDITOR}),
    "imports:feed_progress": frozenset({STAFF, AUDITOR}),
    "imports:feed_upload": frozenset({STAFF}),
    "imports:feed_error_csv": frozenset({STAFF}),
    "records:non_resident_register": frozenset({STAFF}),
    # Residents' rights: staff receive and handle; auditors read tickets; administrators set the protection
    # flag (auditors read its history); a protected person's record asks staff for a reason.
    "rights:ticket_list": frozenset({STAFF, AUDITOR}),
    "rights:ticket_detail": frozenset({STAFF, AUDITOR}),
    "rights:ticket_answer": frozenset({STAFF}),
    "rights:inquiry_create": frozenset({STAFF}),
    "rights:disclosure_create": frozenset({STAFF}),
    "rights:disclosure_document": frozenset({STAFF}),
    "rights:disclosure_handover": frozenset({STAFF}),
    "rights:correction_create": frozenset({STAFF}),
    "rights:correction_decide": frozenset({STAFF}),
    "rights:suspension_create": frozenset({STAFF}),
    "rights:suspension_decide": frozenset({STAFF}),
    "rights:suspension_lift": frozenset({STAFF}),
    "rights:protection": frozenset({AUDITOR, ADMIN}),
    "rights:protection_change": frozenset({ADMIN}),
    "records:protected_reason": frozenset({STAFF}),
    # --- Retention and purges (#8) ---
    # Administrators keep policies and holds and decide on purges; auditors read reports and certificates.
    "retention:report_list": frozenset({ADMIN, AUDITOR}),
    "retention:report_detail": frozenset({ADMIN, AUDITOR}),
    "retention:report_progress": frozenset({ADMIN, AUDITOR}),
    "retention:certificate_csv": frozenset({ADMIN, AUDITOR}),
    "retention:certificate_pdf": frozenset({ADMIN, AUDITOR}),
    "retention:report_create": frozenset({ADMIN}),
    "retention:report_approve": frozenset({ADMIN}),
    "retention:report_reject": frozenset({ADMIN}),
    "retention:report_stop": frozenset({ADMIN}),
    "retention:report_resume": frozenset({ADMIN}),
    "retention:policy_list": frozenset({ADMIN}),
    "retention:policy_edit": frozenset({ADMIN}),
    "retention:hold_list": frozenset({ADMIN}),
    "retention:hold_create": frozenset({ADMIN}),
    "retention:hold_release": frozenset({ADMIN}),
    # API documentation: the roles that use the API.
    "api:schema": frozenset({STAFF, ADMIN}),
    "api:docs": frozenset({STAFF, ADMIN}),
}
# Every other URL of the OTP admin site: administrators (is_staff) only. Within it, Django's admin applies
# the administrator's model permissions itself, so for them a page may still answer 403.
ADMIN_SITE = frozenset({ADMIN})

URLS = all_urls()


def expected_roles(sample) -> frozenset[Role]:
    if sample.name in EXPECTED:
        return EXPECTED[sample.name]
    if sample.name.startswith("otpadmin:") or sample.path.startswith("/admin/"):
        return ADMIN_SITE
    raise AssertionError(f"{sample.name} ({sample.path}) has no declared policy in tests/test_role_matrix.py")


def test_every_url_is_declared():
    undeclared = []
    for sample in URLS:
        try:
            expected_roles(sample)
        except AssertionError as exc:
            undeclared.append(str(exc))
    assert not undeclared, undeclared
    stale = set(EXPECTED) - {u.name for u in URLS}
    assert not stale, f"EXPECTED lists URLs that no longer exist: {stale}"


@pytest.fixture
def user_of(db):
    def make(role: Role):
        return UserFactory(with_role=role, clinic=ClinicFactory() if role == CLINIC else None)

    return make


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
@pytest.mark.parametrize("sample", URLS, ids=[u.name for u in URLS])
def test_role_reaches_exactly_what_is_declared(sample, role, user_of, client_for):
    allowed = role in expected_roles(sample)
    response = client_for(user_of(role)).get(sample.path)
    location = urlsplit(response.get("Location", "")).path
    bounced = response.status_code == 302 and location in {
        reverse("accounts:login"), reverse("accounts:otp_verify"), reverse("accounts:otp_setup"),
    }
    admin_login = response.status_code == 302 and location == reverse("admin:login")
    if allowed and sample.path.startswith("/admin/") and sample.name not in EXPECTED:
        assert response.status_code < 500 and not bounced and not admin_login, f"{role} on {sample.name}"
    elif allowed:
        assert response.status_code != 403 and not bounced and not admin_login, (
            f"{role} should reach {sample.name}: {response.status_code} {location}"
        )
    elif sample.path.startswith("/admin/"):
        assert response.status_code == 403 or admin_login, f"{role} reached {sample.name}"
    else:
        assert response.status_code == 403, f"{role} reached {sample.name}: {response.status_code}"
