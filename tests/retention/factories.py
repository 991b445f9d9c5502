"""Building blocks for the retention tests: people who left (or died) on a given day, with vaccinations on
given days, and a moved clock."""

from datetime import date, datetime, time

from django.utils import timezone

from records.models import ResidencyStatus, Resident
from tests.factories import ResidentFactory, VaccinationRecordFactory


def person_who_left(*, left_on: date, vaccinated_on: list[date] | None = None, died: bool = False,
                    **kwargs) -> Resident:
    status = ResidencyStatus.DECEASED if died else ResidencyStatus.MOVED_OUT
    dates = {"died_on": left_on} if died else {"moved_out_on": left_on}
    resident = ResidentFactory(residency_status=status, birth_date=kwargs.pop("birth_date", date(1950, 4, 1)),
                               **dates, **kwargs)
    for day in vaccinated_on or []:
        VaccinationRecordFactory(resident=resident, vaccinated_on=day)
    return resident


def resident_living_here(**kwargs) -> Resident:
    return ResidentFactory(birth_date=kwargs.pop("birth_date", date(1950, 4, 1)), **kwargs)


def move_clock(monkeypatch, day: date) -> None:
    """Make ``timezone.now()`` (and so ``localdate()``) answer noon of ``day`` in Asia/Tokyo."""
    moved = timezone.make_aware(datetime.combine(day, time(12, 0)))
    monkeypatch.setattr(timezone, "now", lambda: moved)
