"""When kept data becomes due for deletion. Pure functions: no ORM, no clock.

A period of N years that starts on S ends on the same day N years later (``add_years``; a 29 February
start ends on 28 February in a common year, 民法143条: the last day of the month when the month has no
such day). Data is kept through that last day and becomes due the day after: on the boundary day it
stays, one day past it goes. ``cutoff`` turns that into one date for queries: due exactly when the start
is before the cutoff (tests pin the two against each other for every day around 29 February).
"""

from datetime import date

RESIDENT_STATUSES_THAT_LEFT = ("moved_out", "deceased")


def add_years(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February into a common year
        return date(start.year + years, 2, 28)


def is_due(start: date, *, years: int, as_of: date) -> bool:
    """Whether data whose period started on ``start`` is past its period of ``years`` on ``as_of``."""
    return add_years(start, years) < as_of


def cutoff(as_of: date, *, years: int) -> date:
    """The first start date that is NOT yet due on ``as_of``: due ⇔ start < cutoff."""
    try:
        return as_of.replace(year=as_of.year - years)
    except ValueError:  # as_of is 29 February and the year N back is common: 28 Feb + N years < 29 Feb
        return date(as_of.year - years, 3, 1)


def person_retention_start(*, status: str, moved_out_on: date | None, died_on: date | None,
                           last_vaccination_on: date | None) -> date | None:
    """The day a person's period starts: the later of the last vaccination and the day the person left the
    city or died. None while the person lives here (or is a registered non-resident who has neither left
    nor died): such a person's records are never due."""
    if status not in RESIDENT_STATUSES_THAT_LEFT:
        return None
    left = max((d for d in (moved_out_on, died_on) if d is not None), default=None)
    if left is None:
        return None
    return max(left, last_vaccination_on) if last_vaccination_on is not None else left
