"""The pure rules: when a period ends, the cut-off the queries use, and where a person's period starts."""

from datetime import date, timedelta

import pytest

from retention.rules import add_years, cutoff, is_due, person_retention_start


def test_the_boundary_day_stays_and_the_day_after_goes():
    start = date(2006, 11, 26)
    assert not is_due(start, years=20, as_of=date(2026, 11, 26))
    assert is_due(start, years=20, as_of=date(2026, 11, 27))


def test_a_29_february_start_ends_on_28_february_in_a_common_year():
    assert add_years(date(2004, 2, 29), 21) == date(2025, 2, 28)
    assert not is_due(date(2004, 2, 29), years=21, as_of=date(2025, 2, 28))
    assert is_due(date(2004, 2, 29), years=21, as_of=date(2025, 3, 1))


@pytest.mark.parametrize("years", [1, 4, 5, 20, 30])
def test_the_cutoff_agrees_with_the_rule_on_every_day_around_leap_days(years):
    """due ⇔ start < cutoff, for every as-of day in two years around 29 February and every start near it."""
    for as_of in (date(2023, 12, 1) + timedelta(days=n) for n in range(500)):
        day = cutoff(as_of, years=years)
        for offset in range(-3, 4):
            start = day + timedelta(days=offset)
            assert is_due(start, years=years, as_of=as_of) == (start < day), (as_of, start)
        # and the leap day itself as a start
        for start in (date(as_of.year - years, 2, 28), date(as_of.year - years, 3, 1)):
            assert is_due(start, years=years, as_of=as_of) == (start < day), (as_of, start)


def test_a_person_who_lives_here_never_starts_a_period():
    assert person_retention_start(status="resident", moved_out_on=date(2000, 1, 1), died_on=None,
                                  last_vaccination_on=date(1999, 1, 1)) is None
    assert person_retention_start(status="non_resident", moved_out_on=None, died_on=None,
                                  last_vaccination_on=date(1999, 1, 1)) is None


def test_the_later_of_the_last_vaccination_and_leaving_or_death():
    assert person_retention_start(status="moved_out", moved_out_on=date(2000, 1, 1), died_on=None,
                                  last_vaccination_on=date(1999, 5, 1)) == date(2000, 1, 1)
    # a dose given elsewhere after the move (linkage) moves the start
    assert person_retention_start(status="moved_out", moved_out_on=date(2000, 1, 1), died_on=None,
                                  last_vaccination_on=date(2003, 5, 1)) == date(2003, 5, 1)
    assert person_retention_start(status="deceased", moved_out_on=date(2000, 1, 1), died_on=date(2010, 6, 1),
                                  last_vaccination_on=None) == date(2010, 6, 1)
