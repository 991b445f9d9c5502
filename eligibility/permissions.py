"""Permission catalog of eligibility (merged by accounts.roles) and the named predicates views use.

Staff run the whole desk: campaigns and rules, single checks, decisions, extraction, notice batches,
ticket reissue. Auditors read stored decisions (what was decided about whom, by whom, on which rule
version) and nothing else here."""

from typing import Any

from accounts.roles import Role

VIEW_CAMPAIGN = "eligibility.view_campaign"
ADD_CAMPAIGN = "eligibility.add_campaign"
CHANGE_CAMPAIGN = "eligibility.change_campaign"
CHECK = "eligibility.add_eligibilitycheck"
VIEW_DECISION = "eligibility.view_eligibilitydecision"
DECIDE = "eligibility.add_eligibilitydecision"
GRANT_PRIORITY_GROUP = "eligibility.add_prioritygroupmembership"
RUN_EXTRACTION = "eligibility.add_extractionrun"
VIEW_EXTRACTION = "eligibility.view_extractionrun"
VIEW_BATCH = "eligibility.view_noticebatch"
ISSUE_BATCH = "eligibility.issue_noticebatch"
REISSUE_TICKET = "eligibility.reissue_ticket"

ROLE_PERMISSIONS: dict[Role, set[str]] = {
    Role.STAFF: {
        VIEW_CAMPAIGN, ADD_CAMPAIGN, CHANGE_CAMPAIGN, CHECK, VIEW_DECISION, DECIDE, GRANT_PRIORITY_GROUP,
        RUN_EXTRACTION, VIEW_EXTRACTION, VIEW_BATCH, ISSUE_BATCH, REISSUE_TICKET,
    },
    Role.AUDITOR: {VIEW_DECISION},
    Role.CLINIC: set(),
    Role.ADMINISTRATOR: set(),
}


def can(user: Any, permission: str) -> bool:
    return bool(user.has_perm(permission))
