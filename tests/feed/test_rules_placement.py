"""Placing a change of the feed in a residency history (records.rules.residency.place_change and friends):
pure, no database."""

import itertools
import random
from datetime import date, timedelta

import pytest

from records.rules.residency import (
    ADDRESS_CHANGE,
    BIRTH,
    CORRECTION,
    DEATH,
    DECEASED,
    MOVE_IN,
    MOVE_OUT,
    MOVED_OUT,
    NAME_CHANGE,
    RESIDENT,
    Change,
    Period,
    change_problem,
    derived_periods,
    is_latest,
    is_resident_on,
    place_change,
    status_on,
    summary_of,
)

D = date
BIRTH_DAY = D(1980, 1, 1)
INITIAL = [Period(RESIDENT, BIRTH_DAY, None, "越谷市A", "343-0001", "initial")]


def apply_all(periods, changes):
    for change in changes:
        periods = place_change(periods, change)
    return periods


def assert_contiguous(periods):
    for before, after in itertools.pairwise(periods):
        assert before.valid_until == after.valid_from, periods
    assert periods[-1].valid_until is None


def test_change_into_empty_history_opens_one_period():
    periods = place_change([], Change(BIRTH, D(2024, 5, 1), "越谷市B"))
    assert periods == [Period(RESIDENT, D(2024, 5, 1), None, "越谷市B")]
    assert periods[0].cause == BIRTH
    assert not is_resident_on(periods, D(2024, 4, 30))
    assert is_resident_on(periods, D(2024, 5, 1))


@pytest.mark.parametrize(("kind", "status"), [
    (MOVE_OUT, MOVED_OUT), (DEATH, DECEASED), (ADDRESS_CHANGE, RESIDENT), (NAME_CHANGE, RESIDENT),
    (MOVE_IN, RESIDENT),
])
def test_change_closes_the_current_period_the_day_before(kind, status):
    periods = place_change(INITIAL, Change(kind, D(2024, 6, 1), "新住所", "343-0002"))
    assert periods == [
        Period(RESIDENT, BIRTH_DAY, D(2024, 6, 1), "越谷市A"),
        Period(status, D(2024, 6, 1), None, "新住所"),
    ]
    assert periods[1].postal_code == "343-0002" and periods[1].cause == kind
    assert status_on(periods, D(2024, 5, 31)) == RESIDENT
    assert status_on(periods, D(2024, 6, 1)) == status


def test_move_out_then_resident_on_boundaries():
    periods = place_change(INITIAL, Change(MOVE_OUT, D(2024, 6, 1), "東京都"))
    assert is_resident_on(periods, D(2024, 5, 31))
    assert not is_resident_on(periods, D(2024, 6, 1))
    periods = place_change(periods, Change(MOVE_IN, D(2025, 1, 10), "越谷市C"))
    assert not is_resident_on(periods, D(2025, 1, 9))
    assert is_resident_on(periods, D(2025, 1, 10))
    assert_contiguous(periods)


def test_out_of_order_address_change_goes_between():
    periods = place_change(INITIAL, Change(ADDRESS_CHANGE, D(2024, 6, 1), "B"))
    periods = place_change(periods, Change(ADDRESS_CHANGE, D(2024, 3, 1), "C"))
    assert [(p.valid_from, p.valid_until, p.address) for p in periods] == [
        (BIRTH_DAY, D(2024, 3, 1), "越谷市A"), (D(2024, 3, 1), D(2024, 6, 1), "C"), (D(2024, 6, 1), None, "B"),
    ]


def test_change_before_everything_known_ends_where_history_starts():
    periods = place_change([Period(RESIDENT, D(2020, 1, 1), None, "A")], Change(MOVE_IN, D(2019, 4, 1), "Z"))
    assert periods == [Period(RESIDENT, D(2019, 4, 1), D(2020, 1, 1), "Z"), Period(RESIDENT, D(2020, 1, 1), None, "A")]


def test_same_day_replaces_and_redelivery_is_idempotent():
    change = Change(MOVE_OUT, D(2024, 6, 1), "東京都")
    once = place_change(INITIAL, change)
    assert place_change(once, change) == once
    replaced = place_change(once, Change(DEATH, D(2024, 6, 1), "越谷市A"))
    assert [p.status for p in replaced] == [RESIDENT, DECEASED]
    assert len(replaced) == 2


def test_address_change_after_move_out_takes_the_moved_out_status_whatever_the_order():
    move_out = Change(MOVE_OUT, D(2024, 6, 1), "東京都")
    address = Change(ADDRESS_CHANGE, D(2024, 9, 1), "東京都2")
    for order in ((move_out, address), (address, move_out)):
        periods = apply_all(INITIAL, order)
        assert [p.status for p in periods] == [RESIDENT, MOVED_OUT, MOVED_OUT], order


def test_correction_changes_the_covering_period_only():
    periods = place_change(INITIAL, Change(ADDRESS_CHANGE, D(2024, 6, 1), "B"))
    corrected = place_change(periods, Change(CORRECTION, D(2024, 2, 1), "A（正）", "343-0009"))
    assert [p.address for p in corrected] == ["A（正）", "B"]
    assert corrected[0].valid_until == D(2024, 6, 1)
    assert corrected[0].postal_code == "343-0009"
    assert corrected[0].cause == "initial"
    assert place_change([], Change(CORRECTION, D(2024, 2, 1), "X")) == []


# Every permutation of changes on distinct days gives the same history (corrections excepted: they fix
# what is there when they arrive).
KINDS = (MOVE_IN, MOVE_OUT, DEATH, ADDRESS_CHANGE, NAME_CHANGE)


@pytest.mark.parametrize("seed", range(40))
def test_order_of_arrival_does_not_matter(seed):
    rng = random.Random(seed)
    days = sorted(rng.sample(range(1, 4000), rng.randint(2, 5)))
    changes = [Change(rng.choice(KINDS), BIRTH_DAY + timedelta(days=d), f"addr{d}") for d in days]
    expected = apply_all(INITIAL, changes)
    assert_contiguous(expected)
    for order in itertools.permutations(changes):
        got = apply_all(INITIAL, order)
        assert got == expected
        assert [p.cause for p in got] == [p.cause for p in expected]
    # "resident on D" around each boundary follows the status of the period that starts there
    for change, period in zip(changes, expected[1:], strict=True):
        assert period.valid_from == change.on
        assert status_on(expected, change.on - timedelta(days=1)) == expected[expected.index(period) - 1].status
        assert status_on(expected, change.on) == period.status


def test_change_after_death_is_a_problem_but_a_correction_is_not():
    periods = place_change(INITIAL, Change(DEATH, D(2024, 6, 1), "A"))
    assert change_problem(periods, Change(ADDRESS_CHANGE, D(2024, 7, 1), "B")) == "after_death"
    assert change_problem(periods, Change(MOVE_OUT, D(2024, 6, 2), "B")) == "after_death"
    assert change_problem(periods, Change(DEATH, D(2024, 6, 1), "A")) is None  # same-day re-delivery
    assert change_problem(periods, Change(ADDRESS_CHANGE, D(2024, 5, 1), "B")) is None  # before death
    assert change_problem(periods, Change(CORRECTION, D(2024, 7, 1), "B")) is None


def test_is_latest():
    periods = place_change(INITIAL, Change(ADDRESS_CHANGE, D(2024, 6, 1), "B"))
    assert is_latest(periods, D(2024, 6, 1))
    assert is_latest(periods, D(2024, 7, 1))
    assert not is_latest(periods, D(2024, 5, 31))
    assert is_latest([], D(2000, 1, 1))


def test_summary_after_move_out():
    periods = place_change(INITIAL, Change(MOVE_OUT, D(2024, 6, 1), "東京都", "100-0001"))
    summary = summary_of(periods, moved_in_on=None, address="越谷市A", postal_code="343-0001")
    assert (summary.status, summary.moved_out_on, summary.died_on) == (MOVED_OUT, D(2024, 6, 1), None)
    assert (summary.address, summary.postal_code) == ("東京都", "100-0001")


def test_summary_after_move_out_and_back_in():
    periods = apply_all(INITIAL, [Change(MOVE_OUT, D(2024, 6, 1), "東京都"), Change(MOVE_IN, D(2025, 2, 1), "C")])
    summary = summary_of(periods, moved_in_on=D(2010, 1, 1), address="x", postal_code="")
    assert (summary.status, summary.moved_in_on, summary.moved_out_on) == (RESIDENT, D(2025, 2, 1), None)


def test_summary_moved_in_after_move_out_is_dropped():
    # held 転入日 later than the move-out that is now the current status: it cannot stand
    periods = place_change(INITIAL, Change(MOVE_OUT, D(2024, 6, 1), "東京都"))
    summary = summary_of(periods, moved_in_on=D(2024, 8, 1), address="x", postal_code="")
    assert summary.moved_in_on is None


def test_summary_death_after_move_out_keeps_move_out_date():
    periods = apply_all(INITIAL, [Change(MOVE_OUT, D(2024, 6, 1), "東京都"), Change(DEATH, D(2024, 9, 1), "東京都")])
    summary = summary_of(periods, moved_in_on=None, address="x", postal_code="")
    assert (summary.status, summary.moved_out_on, summary.died_on) == (DECEASED, D(2024, 6, 1), D(2024, 9, 1))


def test_summary_death_of_resident_and_status_runs():
    periods = apply_all(INITIAL, [Change(ADDRESS_CHANGE, D(2023, 1, 1), "B"), Change(DEATH, D(2024, 9, 1), "B"),
                                  Change(NAME_CHANGE, D(2024, 10, 1), "B")])
    summary = summary_of(periods, moved_in_on=None, address="x", postal_code="")
    # the name change after death inherits "deceased"; the death date is where that run began
    assert (summary.status, summary.died_on, summary.moved_out_on) == (DECEASED, D(2024, 9, 1), None)


def test_summary_keeps_held_address_when_period_has_none():
    summary = summary_of(derived_periods(status=RESIDENT, birth_date=BIRTH_DAY, moved_in_on=None, moved_out_on=None,
                                         died_on=None), moved_in_on=None, address="held", postal_code="343-0001")
    assert (summary.address, summary.postal_code) == ("held", "343-0001")
