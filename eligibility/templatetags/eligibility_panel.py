"""The eligibility panel on the resident page (records' template includes it with one tag, so records'
view needs no change): the latest decision per campaign and the valid tickets, with a link to the full
history. The resident page already records the read access to this resident."""

from typing import Any

from django import template

from eligibility import permissions
from eligibility.models import EligibilityDecision, Ticket

register = template.Library()


@register.inclusion_tag("eligibility/_resident_panel.html", takes_context=True)
def eligibility_panel(context: dict[str, Any], resident: Any) -> dict[str, Any]:
    user = context["request"].user
    if not permissions.can(user, permissions.DECIDE):
        return {"visible": False}
    latest: dict[int, EligibilityDecision] = {}
    for decision in EligibilityDecision.objects.filter(resident=resident).select_related("campaign", "rule") \
            .order_by("-created_at", "-id")[:50]:
        latest.setdefault(decision.campaign_id, decision)
    tickets = Ticket.objects.filter(resident=resident, voided_at__isnull=True).select_related("campaign")
    return {"visible": True, "resident": resident, "decisions": list(latest.values()), "tickets": list(tickets)}
