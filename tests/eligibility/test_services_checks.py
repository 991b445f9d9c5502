"""Single checks: matching, confirmation, stored decisions with history, rule versions (issue #5)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from eligibility.models import CheckStatus, EligibilityDecision
from eligibility.rules import PersonFacts, is_eligible
from eligibility.selectors import person_facts_for, rule_from_version
from eligibility.services import (
    campaign_update,
    eligibility_check_confirm,
    eligibility_check_create,
    eligibility_decide,
    priority_group_grant,
)
from records.models import ResidencyStatus, Sex
from tests.eligibility.factories import REFERENCE, group, make_campaign
from tests.factories import ResidentFactory, VaccinationRecordFactory, VaccineFactory, new_my_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(staff_user):
    return make_campaign(staff_user, min_age=65)


def test_exact_match_by_my_number_then_confirm_decides(staff_user, campaign):
    number = new_my_number()
    resident = ResidentFactory(my_number=number, birth_date=date(1950, 1, 1), name_kana="コシガヤ　タロウ",
                               sex=Sex.MALE)
    ResidentFactory(birth_date=date(1950, 1, 1))  # same birth date, but the number decides
    check, result = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=date(1950, 1, 1),
                                             name_kana="ｺｼｶﾞﾔ ﾀﾛｳ", sex=Sex.MALE, my_number=number)
    assert [c.resident for c in result.candidates] == [resident]
    assert result.candidates[0].method == "my_number"
    assert result.candidates[0].basic_items_agree
    assert check.status == CheckStatus.PENDING
    assert not EligibilityDecision.objects.exists()  # nothing decided before staff confirm
    assert number not in str(check.my_number_index)

    decision = eligibility_check_confirm(actor=staff_user, check=check, resident_id=resident.pk)
    assert decision.eligible
    assert decision.rule == campaign.current_rule
    assert decision.applicant_check == check
    check.refresh_from_db()
    assert (check.status, check.resident, check.match_method) == (CheckStatus.CONFIRMED, resident, "my_number")
    events = list(AuditLogEntry.objects.filter(action=AuditLogEntry.Action.EVENT).values_list("event", flat=True))
    assert AuditEvent.ELIGIBILITY_MATCHED in events and AuditEvent.ELIGIBILITY_DECIDED in events
    assert not any(number in str(e.changes) + str(e.additional_data) for e in AuditLogEntry.objects.all())


def test_invalid_my_number_is_a_field_error_without_the_value(staff_user, campaign):
    with pytest.raises(ValidationError) as exc:
        eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=date(1950, 1, 1),
                                 my_number="123456789012")
    assert "my_number" in exc.value.message_dict
    assert "123456789012" not in str(exc.value)


def test_no_number_gives_ranked_candidates_with_per_item_agreement_and_no_decision(staff_user, campaign):
    best = ResidentFactory(name="髙橋 花子", name_kana="タカハシ　ハナコ", birth_date=date(1955, 5, 5),
                           address="埼玉県越谷市東越谷十丁目31番地")
    other = ResidentFactory(name="高橋 花江", name_kana="タカハシ　ハナエ", birth_date=date(1955, 5, 5))
    ResidentFactory(name="無関係 一郎", name_kana="ムカンケイ　イチロウ", birth_date=date(1990, 1, 1))
    _check, result = eligibility_check_create(
        actor=staff_user, campaign=campaign, name="高橋　花子", name_kana="たかはし はなこ",
        birth_date=date(1955, 5, 5), sex=Sex.FEMALE, address="越谷市東越谷10-31",
    )
    assert [c.resident for c in result.candidates] == [best, other]
    agreements = {a.item: a for a in result.candidates[0].agreements}
    assert agreements["氏名"].agrees and agreements["氏名"].note == "一致（表記ゆれを正規化）"
    assert agreements["カナ"].agrees and agreements["住所"].agrees
    assert {a.item: a.agrees for a in result.candidates[1].agreements}["カナ"] is False
    assert not any(c.exact for c in result.candidates)
    assert not EligibilityDecision.objects.exists()


def test_confirming_someone_who_is_not_a_candidate_is_refused(staff_user, campaign):
    ResidentFactory(birth_date=date(1950, 2, 2), name_kana="ア　イ")
    stranger = ResidentFactory(birth_date=date(1970, 3, 3), name_kana="ウ　エ")
    check, _result = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=date(1950, 2, 2),
                                              name_kana="ア イ")
    with pytest.raises(ValidationError):
        eligibility_check_confirm(actor=staff_user, check=check, resident_id=stranger.pk)
    assert not EligibilityDecision.objects.exists()


def test_a_confirmed_check_cannot_be_confirmed_again(staff_user, campaign):
    resident = ResidentFactory(birth_date=date(1950, 2, 2))
    check, _ = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=date(1950, 2, 2),
                                        address_number=resident.address_number)
    eligibility_check_confirm(actor=staff_user, check=check, resident_id=resident.pk)
    with pytest.raises(ValidationError):
        eligibility_check_confirm(actor=staff_user, check=check, resident_id=resident.pk)
    assert EligibilityDecision.objects.count() == 1


def test_conflicting_numbers_are_both_shown_with_a_warning(staff_user, campaign):
    number = new_my_number()
    a = ResidentFactory(my_number=number)
    b = ResidentFactory()
    _check, result = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=a.birth_date,
                                              my_number=number, address_number=b.address_number)
    assert {c.resident for c in result.exact} == {a, b}
    assert result.warnings == ["個人番号と宛名番号が別の宛名を指しています。申請書を確認してください。"]


def test_no_candidate_marks_the_check_no_match(staff_user, campaign):
    check, result = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=date(1901, 1, 1),
                                             name_kana="ダレモイナイ")
    assert result.candidates == []
    assert check.status == CheckStatus.NO_MATCH


def test_reevaluation_adds_a_decision_and_keeps_the_earlier_one(staff_user, campaign):
    resident = ResidentFactory(birth_date=date(1961, 10, 2))  # 64 on the reference date
    first = eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)
    assert not first.eligible
    assert "基準日時点で65歳未満（64歳）" in first.failed_reasons
    second = eligibility_decide(actor=staff_user, resident=resident, campaign=campaign, as_of=date(2026, 10, 2))
    assert second.eligible
    assert EligibilityDecision.objects.filter(resident=resident).count() == 2
    first.refresh_from_db()
    assert not first.eligible  # untouched


def test_stored_decision_is_reproducible_from_its_rule_version_and_facts(staff_user, campaign):
    resident = ResidentFactory(birth_date=date(1950, 1, 1), moved_in_on=date(2026, 8, 1))
    VaccinationRecordFactory(resident=resident, vaccinated_on=date(2026, 7, 1), before_move_in=True, clinic=None,
                             place_text="札幌市 テスト医院", actor=staff_user)
    campaign_update(actor=staff_user, campaign=campaign, name=campaign.name, period_start=campaign.period_start,
                    period_end=campaign.period_end,
                    rule={"reference_date": REFERENCE, "vaccines": [VaccineFactory(code="FLU01")], "min_age": 65,
                          "dose_number": 2, "min_interval_days": 60})
    stored = eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)
    assert stored.eligible  # the dose given before moving in makes this the second dose, 92 days later
    # The campaign changes afterwards: a new version; the stored one still reproduces the decision.
    campaign_update(actor=staff_user, campaign=campaign, name=campaign.name, period_start=campaign.period_start,
                    period_end=campaign.period_end,
                    rule={"reference_date": REFERENCE, "vaccines": [VaccineFactory(code="FLU01")], "min_age": 75,
                          "dose_number": 2, "min_interval_days": 60})
    stored = EligibilityDecision.objects.get(pk=stored.pk)
    again = is_eligible(PersonFacts.from_snapshot(stored.facts), rule_from_version(stored.rule), as_of=stored.as_of)
    assert again.eligible == stored.eligible
    assert again.criteria_data() == stored.criteria
    live = is_eligible(person_facts_for([resident.pk])[resident.pk], rule_from_version(stored.rule),
                       as_of=stored.as_of)
    assert live.criteria_data() == stored.criteria


def test_editing_a_rule_in_use_creates_a_new_version_else_changes_in_place(staff_user, campaign):
    rule = {"reference_date": REFERENCE, "vaccines": [VaccineFactory(code="FLU01")], "min_age": 60}
    same = campaign_update(actor=staff_user, campaign=campaign, name="改名", period_start=campaign.period_start,
                           period_end=campaign.period_end, rule=rule)
    assert same.version == 1 and same.min_age == 60
    eligibility_decide(actor=staff_user, resident=ResidentFactory(), campaign=campaign)
    new = campaign_update(actor=staff_user, campaign=campaign, name="改名", period_start=campaign.period_start,
                          period_end=campaign.period_end, rule={**rule, "min_age": 70})
    assert new.version == 2 and new.min_age == 70
    assert campaign.rules.get(version=1).min_age == 60
    unchanged = campaign_update(actor=staff_user, campaign=campaign, name="改名", period_start=campaign.period_start,
                                period_end=campaign.period_end, rule={**rule, "min_age": 70})
    assert unchanged.version == 2
    assert AuditLogEntry.objects.filter(event=AuditEvent.CAMPAIGN_RULE_VERSIONED).count() == 1


def test_moved_out_and_died_before_reference_date_are_decided_not_targets(staff_user, campaign):
    moved = ResidentFactory(birth_date=date(1950, 1, 1), residency_status=ResidencyStatus.MOVED_OUT,
                            moved_out_on=date(2026, 9, 30))
    died = ResidentFactory(birth_date=date(1950, 1, 1), residency_status=ResidencyStatus.DECEASED,
                           died_on=date(2026, 9, 1))
    assert not eligibility_decide(actor=staff_user, resident=moved, campaign=campaign).eligible
    assert "基準日時点で転出" in eligibility_decide(actor=staff_user, resident=moved, campaign=campaign).failed_reasons
    assert "基準日時点で死亡" in eligibility_decide(actor=staff_user, resident=died, campaign=campaign).failed_reasons
    # "Was this person a target on 接種日?" -- before moving out, yes.
    assert eligibility_decide(actor=staff_user, resident=moved, campaign=campaign, as_of=date(2026, 9, 29)).eligible


def test_priority_group_from_an_application(staff_user):
    healthcare = group("healthcare")
    campaign = make_campaign(staff_user, priority_groups=[healthcare])
    resident = ResidentFactory(birth_date=date(1990, 1, 1))
    assert not eligibility_decide(actor=staff_user, resident=resident, campaign=campaign).eligible
    priority_group_grant(actor=staff_user, resident=resident, group=healthcare, application_reference="R8-0001")
    decision = eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)
    assert decision.eligible
    assert {"code": "priority_group", "passed": True, "reason": "優先接種対象（医療従事者等）"} in decision.criteria
    with pytest.raises(ValidationError):
        priority_group_grant(actor=staff_user, resident=resident, group=healthcare, application_reference="R8-0002")
