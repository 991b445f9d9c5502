"""Residency over time: periods with a start (inclusive) and an end (exclusive, ``None`` while open).

A change takes effect on its 異動日: a person who moves out on D is no longer a resident on D, one who
moves in on D is a resident from D, one who dies on D is deceased from D. "Was this person a resident on
D" (eligibility on 接種日 or on a campaign's 基準日) is answered from the periods alone.

Residents written before the change feed existed (or in bulk, by the demo seeder and benchmarks) have
no stored periods; ``derived_periods`` reconstructs them from the summary columns on the resident.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

RESIDENT = "resident"
MOVED_OUT = "moved_out"
DECEASED = "deceased"
NON_RESIDENT = "non_resident"


@dataclass(frozen=True, slots=True)
class Period:
    status: str  # one of the constants above (records.models.ResidencyStatus values)
    valid_from: date
    valid_until: date | None  # exclusive; None = still current
    address: str = ""

    def covers(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_until is None or on < self.valid_until)


def derived_periods(
    *,
    status: str,
    birth_date: date,
    moved_in_on: date | None,
    moved_out_on: date | None,
    died_on: date | None,
    address: str = "",
) -> list[Period]:
    """Periods implied by a resident's summary columns (a person without 転入日 has lived here since
    birth; a registered non-resident is one from 転入日 or birth)."""
    start = moved_in_on or birth_date
    first = NON_RESIDENT if status == NON_RESIDENT else RESIDENT
    ends = sorted((day, kind) for day, kind in ((moved_out_on, MOVED_OUT), (died_on, DECEASED)) if day is not None)
    periods: list[Period] = []
    current_status, current_from = first, start
    for day, kind in ends:
        if day < current_from:
            day = current_from
        if day > current_from:
            periods.append(Period(current_status, current_from, day, address))
        current_status, current_from = kind, day
    periods.append(Period(current_status, current_from, None, address))
    return periods


def period_on(periods: Sequence[Period], on: date) -> Period | None:
    """The period covering ``on``, or None before the first one (not known to the city then)."""
    for period in periods:
        if period.covers(on):
            return period
    return None


def status_on(periods: Sequence[Period], on: date) -> str | None:
    period = period_on(periods, on)
    return period.status if period else None


def is_resident_on(periods: Sequence[Period], on: date) -> bool:
    return status_on(periods, on) == RESIDENT
