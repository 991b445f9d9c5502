"""Campaigns for the eligibility tests, built through the service like staff do."""

from datetime import date

from eligibility.models import Campaign, PriorityGroup
from eligibility.services import campaign_create
from records.models import Resident
from tests.factories import VaccineFactory

REFERENCE = date(2026, 10, 1)


def make_campaign(actor, *, vaccines=None, name="令和8年度 新型インフルエンザ予防接種", **rule) -> Campaign:
    vaccines = vaccines or [VaccineFactory(code="FLU01")]
    data = {"reference_date": REFERENCE, "vaccines": vaccines, "dose_number": 1, **rule}
    return campaign_create(actor=actor, name=name, period_start=date(2026, 10, 1), period_end=date(2027, 3, 31),
                           rule=data)


def group(code: str) -> PriorityGroup:
    return PriorityGroup.objects.get(code=code)


def set_flags(resident: Resident, **flags) -> Resident:
    """Protection and suspension are set by issue #7's services; here directly on the row."""
    Resident.objects.filter(pk=resident.pk).update(**flags)
    resident.refresh_from_db()
    return resident
