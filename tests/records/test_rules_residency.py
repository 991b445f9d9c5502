"""Residency periods: a change takes effect on its 異動日 (start inclusive, end exclusive)."""

from datetime import date

import pytest

from records.rules.residency import (
    DECEASED,
    MOVED_OUT,
    NON_RESIDENT,
    RESIDENT,
    Period,
    derived_periods,
    is_resident_on,
    period_on,
    status_on,
)

BIRTH = date(1960, 5, 10)


def test_resident_since_birth_without_move_in_date():
    periods = derived_periods(status=RESIDENT, birth_date=BIRTH, moved_in_on=None, moved_out_on=None, died_on=None)
    assert periods == [Period(RESIDENT, BIRTH, None)]
    assert not is_resident_on(periods, date(1960, 5, 9))
    assert is_resident_on(periods, BIRTH)
    assert is_resident_on(periods, date(2030, 1, 1))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2010, 3, 31), None),
        (date(2010, 4, 1), RESIDENT),
        (date(2024, 8, 31), RESIDENT),
        (date(2024, 9, 1), MOVED_OUT),
    ],
)
def test_moved_in_then_out(on, expected):
    periods = derived_periods(
        status=MOVED_OUT, birth_date=BIRTH, moved_in_on=date(2010, 4, 1), moved_out_on=date(2024, 9, 1), died_on=None
    )
    assert status_on(periods, on) == expected


def test_death_after_move_out_gives_three_periods():
    periods = derived_periods(
        status=DECEASED, birth_date=BIRTH, moved_in_on=None, moved_out_on=date(2020, 1, 1), died_on=date(2022, 2, 2)
    )
    assert [p.status for p in periods] == [RESIDENT, MOVED_OUT, DECEASED]
    assert status_on(periods, date(2022, 2, 1)) == MOVED_OUT
    assert status_on(periods, date(2022, 2, 2)) == DECEASED


def test_died_on_move_in_day_never_resident():
    periods = derived_periods(
        status=DECEASED, birth_date=BIRTH, moved_in_on=date(2020, 1, 1), moved_out_on=None, died_on=date(2020, 1, 1)
    )
    assert periods == [Period(DECEASED, date(2020, 1, 1), None)]


def test_registered_non_resident_is_never_a_resident():
    periods = derived_periods(status=NON_RESIDENT, birth_date=BIRTH, moved_in_on=None, moved_out_on=None, died_on=None)
    assert status_on(periods, date(2000, 1, 1)) == NON_RESIDENT
    assert not is_resident_on(periods, date(2000, 1, 1))


def test_period_on_empty_history():
    assert period_on([], date(2000, 1, 1)) is None


@pytest.mark.django_db
def test_selector_prefers_stored_history_and_falls_back_to_summary_columns():
    from records.models import ResidencyCause, ResidencyPeriod
    from records.selectors import residency_periods_for
    from tests.factories import ResidentFactory

    with_history = ResidentFactory(birth_date=BIRTH)
    without = ResidentFactory(birth_date=BIRTH, moved_in_on=date(2001, 1, 1))
    ResidencyPeriod.objects.create(
        resident=with_history,
        status=RESIDENT,
        valid_from=date(1990, 1, 1),
        valid_until=date(1995, 1, 1),
        cause=ResidencyCause.MOVE_IN,
    )
    ResidencyPeriod.objects.create(
        resident=with_history, status=MOVED_OUT, valid_from=date(1995, 1, 1), cause=ResidencyCause.MOVE_OUT
    )
    periods = residency_periods_for([with_history.id, without.id])
    assert [p.status for p in periods[with_history.id]] == [RESIDENT, MOVED_OUT]
    assert periods[without.id] == [Period(RESIDENT, date(2001, 1, 1), None, without.address)]
