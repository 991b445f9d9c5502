"""The pure eligibility rule (issue #5 acceptance 1-3): built without the database."""

from datetime import date, timedelta

import pytest

from eligibility.rules import Dose, PersonFacts, Rule, age_band, is_eligible
from records.rules.residency import DECEASED, MOVED_OUT, NON_RESIDENT, RESIDENT, Period, derived_periods

REF = date(2026, 4, 1)
FLU = frozenset({"FLU01"})


def person(birth=date(1950, 6, 1), periods=None, doses=(), groups=()):
    if periods is None:
        periods = (Period(RESIDENT, birth, None),)
    return PersonFacts(birth_date=birth, periods=tuple(periods), doses=tuple(doses), priority_groups=frozenset(groups))


def criterion(decision, code):
    return next(c for c in decision.criteria if c.code == code)


# --- Age on the reference date -------------------------------------------------------------------


@pytest.mark.parametrize(("birth", "eligible", "reason"), [
    (date(1961, 4, 1), True, "基準日時点で65歳（対象年齢）"),  # 65th birthday on the reference date
    (date(1961, 4, 2), False, "基準日時点で65歳未満（64歳）"),  # birthday the day after: still 64
    (date(1961, 3, 31), True, "基準日時点で65歳（対象年齢）"),
])
def test_age_on_and_around_the_birthday(birth, eligible, reason):
    decision = is_eligible(person(birth), Rule(vaccine_codes=FLU, min_age=65), as_of=REF)
    assert decision.eligible is eligible
    assert criterion(decision, "age").reason == reason


def test_born_29_february_reaches_age_at_end_of_28_february_in_a_common_year():
    born = date(1960, 2, 29)
    rule = Rule(vaccine_codes=FLU, min_age=66)
    # 2026 is a common year: 66 is reached at the end of 28 February, so on 1 March the person is 66.
    assert not is_eligible(person(born), rule, as_of=date(2026, 2, 28)).eligible
    assert criterion(is_eligible(person(born), rule, as_of=date(2026, 2, 28)), "age").reason == \
        "基準日時点で66歳未満（65歳）"
    assert is_eligible(person(born), rule, as_of=date(2026, 3, 1)).eligible


def test_born_29_february_in_a_leap_year_turns_on_29_february():
    born = date(1960, 2, 29)
    rule = Rule(vaccine_codes=FLU, min_age=68)
    assert not is_eligible(person(born), rule, as_of=date(2028, 2, 28)).eligible
    assert is_eligible(person(born), rule, as_of=date(2028, 2, 29)).eligible


def test_maximum_age_is_inclusive():
    rule = Rule(vaccine_codes=FLU, min_age=0, max_age=12)
    assert is_eligible(person(date(2013, 4, 2)), rule, as_of=REF).eligible  # 12 until 1 April 2026 ends
    decision = is_eligible(person(date(2013, 4, 1)), rule, as_of=REF)  # 13 on the reference date
    assert not decision.eligible
    assert criterion(decision, "age").reason == "基準日時点で12歳を超えている（13歳）"


def test_reference_date_before_birth_fails_without_error():
    decision = is_eligible(person(date(2026, 5, 1)), Rule(vaccine_codes=FLU), as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "age").reason == "判定日が生年月日より前です"


# --- Residency on the reference date -------------------------------------------------------------


def periods(**kwargs):
    return derived_periods(birth_date=date(1950, 6, 1), **kwargs)


def test_moved_out_before_reference_date_is_not_a_target():
    p = periods(status=MOVED_OUT, moved_in_on=None, moved_out_on=date(2026, 3, 31), died_on=None)
    decision = is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "residency").reason == "基準日時点で転出"


def test_moved_out_on_the_reference_date_is_not_a_resident_that_day():
    p = periods(status=MOVED_OUT, moved_in_on=None, moved_out_on=REF, died_on=None)
    assert not is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF).eligible
    p = periods(status=MOVED_OUT, moved_in_on=None, moved_out_on=date(2026, 4, 2), died_on=None)
    assert is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF).eligible


def test_died_before_reference_date_is_not_a_target():
    p = periods(status=DECEASED, moved_in_on=None, moved_out_on=None, died_on=date(2026, 1, 10))
    decision = is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "residency").reason == "基準日時点で死亡"


def test_moved_in_after_reference_date_only_when_the_rule_says_so():
    p = periods(status=RESIDENT, moved_in_on=date(2026, 4, 2), moved_out_on=None, died_on=None)
    decision = is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "residency").reason == "基準日後に転入（2026-04-02）"
    allowed = is_eligible(person(periods=p), Rule(vaccine_codes=FLU, allow_later_move_in=True), as_of=REF)
    assert allowed.eligible
    assert "規則により対象" in criterion(allowed, "residency").reason


def test_moved_in_on_the_reference_date_is_a_resident():
    p = periods(status=RESIDENT, moved_in_on=REF, moved_out_on=None, died_on=None)
    assert is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF).eligible


def test_registered_non_residents_by_setting():
    p = periods(status=NON_RESIDENT, moved_in_on=None, moved_out_on=None, died_on=None)
    assert not is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF).eligible
    assert is_eligible(person(periods=p), Rule(vaccine_codes=FLU, allow_non_residents=True), as_of=REF).eligible


def test_not_yet_known_to_the_city():
    p = (Period(RESIDENT, date(2027, 1, 1), None),)
    decision = is_eligible(person(periods=p), Rule(vaccine_codes=FLU), as_of=REF)
    assert not decision.eligible


# --- Doses and intervals -------------------------------------------------------------------------


def test_interval_exactly_the_minimum_passes_and_one_day_less_fails():
    rule = Rule(vaccine_codes=FLU, dose_number=2, min_interval_days=28)
    on_time = person(doses=[Dose(date(2026, 3, 4), "FLU01")])  # 28 days before 1 April
    assert is_eligible(on_time, rule, as_of=REF).eligible
    assert criterion(is_eligible(on_time, rule, as_of=REF), "interval").reason == \
        "前回接種（2026-03-04）から28日（28日以上）"
    early = person(doses=[Dose(date(2026, 3, 5), "FLU01")])  # 27 days
    decision = is_eligible(early, rule, as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "interval").reason == "前回接種（2026-03-05）から27日（28日未満）"


def test_doses_before_moving_in_count_for_dose_number_and_interval():
    p = periods(status=RESIDENT, moved_in_on=date(2026, 3, 20), moved_out_on=None, died_on=None)
    before = Dose(date(2026, 3, 10), "FLU01", before_move_in=True)
    facts = person(periods=p, doses=[before])
    first_dose = is_eligible(facts, Rule(vaccine_codes=FLU, dose_number=1), as_of=REF)
    assert not first_dose.eligible
    assert criterion(first_dose, "dose_number").reason == "1回目を接種済み（接種済み1回（うち転入前1回））"
    second = is_eligible(facts, Rule(vaccine_codes=FLU, dose_number=2, min_interval_days=28), as_of=REF)
    assert not second.eligible  # 22 days since the dose given elsewhere
    assert criterion(second, "dose_number").passed
    assert not criterion(second, "interval").passed


def test_other_vaccines_and_later_doses_do_not_count():
    facts = person(doses=[Dose(date(2026, 1, 5), "OTHER"), Dose(date(2026, 4, 1), "FLU01")])
    assert is_eligible(facts, Rule(vaccine_codes=FLU, dose_number=1, min_interval_days=28), as_of=REF).eligible


def test_maximum_doses():
    facts = person(doses=[Dose(date(2025, 1, 5), "FLU01"), Dose(date(2025, 3, 5), "FLU01")])
    rule = Rule(vaccine_codes=FLU, dose_number=None, max_doses=2)
    decision = is_eligible(facts, rule, as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "max_doses").reason == "接種回数の上限2回に達している（2回）"
    assert is_eligible(facts, Rule(vaccine_codes=FLU, dose_number=None, max_doses=3), as_of=REF).eligible


def test_dose_number_needs_the_previous_doses():
    decision = is_eligible(person(), Rule(vaccine_codes=FLU, dose_number=2), as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "dose_number").reason == "2回目の対象は接種済み1回の方（接種済み0回）"


# --- Priority groups -----------------------------------------------------------------------------


def test_priority_groups_any_of():
    rule = Rule(vaccine_codes=FLU, priority_groups=frozenset({"healthcare", "pregnant"}),
                priority_group_names={"healthcare": "医療従事者等", "pregnant": "妊婦"})
    assert is_eligible(person(groups={"healthcare"}), rule, as_of=REF).eligible
    decision = is_eligible(person(groups={"care_facility"}), rule, as_of=REF)
    assert not decision.eligible
    assert criterion(decision, "priority_group").reason == "優先接種対象（医療従事者等、妊婦）に該当しない"


# --- Explanation and reproducibility --------------------------------------------------------------


def test_every_criterion_is_listed_with_a_reason_even_when_several_fail():
    p = periods(status=MOVED_OUT, moved_in_on=None, moved_out_on=date(2026, 1, 1), died_on=None)
    rule = Rule(vaccine_codes=FLU, min_age=80, dose_number=1, max_doses=1, min_interval_days=10)
    decision = is_eligible(person(periods=p), rule, as_of=REF)
    assert [c.code for c in decision.criteria] == ["age", "residency", "dose_number", "max_doses", "interval"]
    assert [c.code for c in decision.failed] == ["age", "residency"]


def test_facts_snapshot_round_trip_gives_the_same_decision():
    p = periods(status=MOVED_OUT, moved_in_on=date(2020, 1, 1), moved_out_on=date(2026, 9, 1), died_on=None)
    facts = person(periods=p, doses=[Dose(date(2026, 2, 1), "FLU01", True)], groups={"healthcare"})
    rule = Rule(vaccine_codes=FLU, min_age=60, dose_number=2, min_interval_days=30)
    again = PersonFacts.from_snapshot(facts.to_snapshot())
    assert is_eligible(again, rule, as_of=REF) == is_eligible(facts, rule, as_of=REF)


def test_age_bands():
    assert age_band(0) == "0〜14歳"
    assert age_band(64) == "60〜64歳"
    assert age_band(65) == "65〜74歳"
    assert age_band(101) == "85歳以上"


def test_the_fast_boolean_agrees_with_the_explained_decision_on_many_cases():
    import random

    from eligibility.rules import is_target

    rng = random.Random(5)
    statuses = ("resident", "moved_out", "deceased", "non_resident")
    for _ in range(3000):
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(36000))
        kwargs = {"status": rng.choice(statuses), "birth_date": birth, "moved_in_on": None, "moved_out_on": None,
                  "died_on": None}
        if rng.random() < 0.3:
            kwargs["moved_in_on"] = max(birth, REF + timedelta(days=rng.randrange(-400, 60)))
        if kwargs["status"] == "moved_out":
            kwargs["moved_out_on"] = max(birth, REF + timedelta(days=rng.randrange(-400, 60)))
        if kwargs["status"] == "deceased":
            kwargs["died_on"] = max(birth, REF + timedelta(days=rng.randrange(-400, 60)))
        doses = tuple(Dose(REF - timedelta(days=rng.randrange(-30, 400)),
                           rng.choice(("FLU01", "OTHER"))) for _ in range(rng.randrange(4)))
        facts = PersonFacts(birth, tuple(derived_periods(**kwargs)), doses,
                            frozenset(rng.sample(["healthcare", "pregnant"], rng.randrange(3))))
        rule = Rule(vaccine_codes=FLU, min_age=rng.choice((None, 12, 65)), max_age=rng.choice((None, 64, 90)),
                    allow_non_residents=rng.random() < 0.5, allow_later_move_in=rng.random() < 0.5,
                    priority_groups=frozenset(rng.sample(["healthcare", "pregnant"], rng.randrange(3))),
                    dose_number=rng.choice((None, 1, 2)), max_doses=rng.choice((None, 2, 3)),
                    min_interval_days=rng.choice((None, 28, 90)))
        as_of = REF + timedelta(days=rng.randrange(-30, 30))
        assert is_target(facts, rule, as_of=as_of) == is_eligible(facts, rule, as_of=as_of).eligible, (facts, rule)
