"""State changes of eligibility, by entity: campaigns and rule versions, priority groups, single checks and
decisions, extraction runs, notice batches and tickets."""

from eligibility.services.campaigns import (
    campaign_create,
    campaign_update,
    priority_group_grant,
    priority_group_revoke,
)
from eligibility.services.checks import (
    MatchCandidate,
    MatchResult,
    eligibility_check_confirm,
    eligibility_check_create,
    eligibility_check_match,
    eligibility_decide,
)
from eligibility.services.extraction import (
    WhatIfResult,
    extraction_run_execute,
    extraction_run_start,
    what_if_preview,
)
from eligibility.services.notices import (
    notice_batch_csv,
    notice_batch_issue,
    notice_batch_pdf,
    notice_item_release,
    ticket_pdf,
    ticket_reissue,
)

__all__ = [
    "MatchCandidate",
    "MatchResult",
    "WhatIfResult",
    "campaign_create",
    "campaign_update",
    "eligibility_check_confirm",
    "eligibility_check_create",
    "eligibility_check_match",
    "eligibility_decide",
    "extraction_run_execute",
    "extraction_run_start",
    "notice_batch_csv",
    "notice_batch_issue",
    "notice_batch_pdf",
    "notice_item_release",
    "priority_group_grant",
    "priority_group_revoke",
    "ticket_pdf",
    "ticket_reissue",
    "what_if_preview",
]
