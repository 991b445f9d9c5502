"""Campaigns and their rule versions; priority groups given to residents from an application."""

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.events import AuditEvent
from audit.services import audit_event_record
from eligibility.models import Campaign, CampaignRule, PriorityGroup, PriorityGroupMembership
from records.models import Resident

# The rule's own columns; vaccines and priority groups are many-to-many and compared as sets.
RULE_FIELDS = ("reference_date", "min_age", "max_age", "allow_non_residents", "allow_later_move_in",
               "dose_number", "max_doses", "min_interval_days")


def _rule_create(*, actor: Any, campaign: Campaign, version: int, rule: dict[str, Any]) -> CampaignRule:
    vaccines = list(rule["vaccines"])
    if not vaccines:
        raise ValidationError({"vaccines": "ワクチンを1つ以上選択してください。"})
    obj = CampaignRule(campaign=campaign, version=version, created_by=actor,
                       **{f: rule.get(f) for f in RULE_FIELDS if f in rule})
    obj.full_clean()
    obj.save()
    obj.vaccines.set(vaccines)
    obj.priority_groups.set(list(rule.get("priority_groups", [])))
    return obj


def _rule_differs(current: CampaignRule, rule: dict[str, Any]) -> bool:
    if any(getattr(current, f) != rule.get(f, getattr(current, f)) for f in RULE_FIELDS):
        return True
    if {v.pk for v in current.vaccines.all()} != {v.pk for v in rule["vaccines"]}:
        return True
    return {g.pk for g in current.priority_groups.all()} != {g.pk for g in rule.get("priority_groups", [])}


def rule_in_use(rule: CampaignRule) -> bool:
    """A version that decided anything, or ran an extraction, is history and never changes."""
    return rule.decisions.exists() or rule.runs.exists()


@transaction.atomic
def campaign_create(*, actor: Any, name: str, period_start: date, period_end: date, rule: dict[str, Any],
                    ticket_type: int = 1) -> Campaign:
    campaign = Campaign(name=name, period_start=period_start, period_end=period_end, ticket_type=ticket_type,
                        created_by=actor)
    campaign.full_clean()
    campaign.save()
    _rule_create(actor=actor, campaign=campaign, version=1, rule=rule)
    audit_event_record(event=AuditEvent.CAMPAIGN_CREATED, actor=actor, target=campaign,
                       data={"campaign_id": campaign.pk, "rule_version": 1})
    return campaign


@transaction.atomic
def campaign_update(*, actor: Any, campaign: Campaign, name: str, period_start: date, period_end: date,
                    rule: dict[str, Any], ticket_type: int | None = None) -> CampaignRule:
    """Update the campaign; a changed rule becomes a new version when the current one is in use, and is
    changed in place otherwise. Returns the campaign's current rule version."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    campaign.name, campaign.period_start, campaign.period_end = name, period_start, period_end
    if ticket_type is not None:
        campaign.ticket_type = ticket_type
    campaign.full_clean()
    campaign.save()
    current = campaign.current_rule
    if not _rule_differs(current, rule):
        return current
    if rule_in_use(current):
        new = _rule_create(actor=actor, campaign=campaign, version=current.version + 1, rule=rule)
        audit_event_record(event=AuditEvent.CAMPAIGN_RULE_VERSIONED, actor=actor, target=campaign,
                           data={"campaign_id": campaign.pk, "rule_version": new.version,
                                 "previous_version": current.version})
        return new
    for f in RULE_FIELDS:
        if f in rule:
            setattr(current, f, rule[f])
    current.full_clean()
    current.save()
    current.vaccines.set(list(rule["vaccines"]))
    current.priority_groups.set(list(rule.get("priority_groups", [])))
    return current


@transaction.atomic
def priority_group_grant(*, actor: Any, resident: Resident, group: PriorityGroup,
                         application_reference: str) -> PriorityGroupMembership:
    reference = application_reference.strip()
    if not reference:
        raise ValidationError({"application_reference": "申請受付番号を入力してください。"})
    if PriorityGroupMembership.objects.filter(resident=resident, group=group, revoked_at__isnull=True).exists():
        raise ValidationError({"group": "このグループには既に登録されています。"})
    membership = PriorityGroupMembership(resident=resident, group=group, application_reference=reference,
                                         granted_by=actor)
    membership.full_clean()
    membership.save()
    audit_event_record(event=AuditEvent.PRIORITY_GROUP_GRANTED, actor=actor, target=resident,
                       data={"group": group.code, "application_reference": reference})
    return membership


@transaction.atomic
def priority_group_revoke(*, actor: Any, membership: PriorityGroupMembership) -> PriorityGroupMembership:
    membership = PriorityGroupMembership.objects.select_for_update().get(pk=membership.pk)
    if membership.revoked_at is not None:
        raise ValidationError("この登録は既に取り消されています。")
    membership.revoked_at, membership.revoked_by = timezone.now(), actor
    membership.save()
    audit_event_record(event=AuditEvent.PRIORITY_GROUP_REVOKED, actor=actor, target=membership.resident,
                       data={"group": membership.group.code})
    return membership
