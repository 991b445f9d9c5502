"""Checking one applicant: matching (突合) against resident data, staff confirmation, then the decision.

Exact matches come from the My Number (blind index) or the 宛名番号; otherwise residents sharing the birth
date, the kana or the name are ranked by agreement of the basic items. Nothing is decided until staff
confirm one candidate (``eligibility_check_confirm``); the only shortcut is the API's explicit
``confirm_exact``, which decides at once only for an exact number match whose kana, birth date and sex
all agree — the same identification the clinic import uses.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.events import AuditEvent
from audit.services import AuditBatch, audit_event_record
from eligibility.matching import Applicant, ItemAgreement, ResidentItems, basic_items_agree, compare, score
from eligibility.models import (
    Campaign,
    CampaignRule,
    CheckStatus,
    DecisionSource,
    EligibilityCheck,
    EligibilityDecision,
)
from eligibility.rules import PersonFacts, is_eligible
from eligibility.selectors import doses_for, groups_for, periods_for_chunk, person_facts_for, rule_from_version
from records.crypto import my_number_blind_index
from records.models import Resident
from records.rules.kana import kana_key, name_key
from records.rules.mynumber import MyNumberError, normalize_my_number

CANDIDATE_LIMIT = 20
EXACT_MY_NUMBER = "my_number"
EXACT_ADDRESS_NUMBER = "address_number"
BASIC_ITEMS = "basic_items"
METHOD_LABELS = {EXACT_MY_NUMBER: "個人番号で一致", EXACT_ADDRESS_NUMBER: "宛名番号で一致",
                 BASIC_ITEMS: "基本情報の一致度"}


@dataclass(frozen=True)
class MatchCandidate:
    resident: Resident
    method: str
    agreements: list[ItemAgreement]
    score: int

    @property
    def exact(self) -> bool:
        return self.method in (EXACT_MY_NUMBER, EXACT_ADDRESS_NUMBER)

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method]

    @property
    def basic_items_agree(self) -> bool:
        return basic_items_agree(self.agreements)


@dataclass(frozen=True)
class MatchResult:
    candidates: list[MatchCandidate]
    warnings: list[str] = field(default_factory=list)

    @property
    def exact(self) -> list[MatchCandidate]:
        return [c for c in self.candidates if c.exact]


def exact_confirmable(result: MatchResult) -> MatchCandidate | None:
    """The one candidate that may be confirmed without a person choosing: the only exact number match,
    with no conflicting number, whose kana, birth date and sex all agree. None otherwise."""
    exact = result.exact
    if len(exact) == 1 and not result.warnings and exact[0].basic_items_agree:
        return exact[0]
    return None


def _items(resident: Resident) -> ResidentItems:
    return ResidentItems(resident.name, resident.name_kana, resident.birth_date, resident.sex, resident.address)


def eligibility_check_match(*, check: EligibilityCheck) -> MatchResult:
    """Candidates for a stored check, exact ones first, then by score. Reads only."""
    applicant = Applicant(name=check.name, name_kana=check.name_kana, birth_date=check.birth_date, sex=check.sex,
                          address=check.address)
    warnings: list[str] = []
    exact: dict[int, tuple[Resident, str]] = {}
    if check.my_number_index:
        found = Resident.objects.filter(my_number_index=check.my_number_index).first()
        if found is None:
            warnings.append("入力された個人番号に一致する宛名はありません。")
        else:
            exact[found.pk] = (found, EXACT_MY_NUMBER)
    if check.address_number:
        found = Resident.objects.filter(address_number=check.address_number).first()
        if found is None:
            warnings.append("入力された宛名番号に一致する宛名はありません。")
        elif found.pk not in exact:
            if exact:
                warnings.append("個人番号と宛名番号が別の宛名を指しています。申請書を確認してください。")
            exact[found.pk] = (found, EXACT_ADDRESS_NUMBER)
    candidates = [MatchCandidate(r, method, agreements := compare(applicant, _items(r)), score(agreements))
                  for r, method in exact.values()]
    if not exact:
        conditions = Q(birth_date=check.birth_date)
        if check.name_kana and kana_key(check.name_kana):
            conditions |= Q(kana_key=kana_key(check.name_kana))
        if check.name and name_key(check.name):
            conditions |= Q(name_key=name_key(check.name))
        pool = Resident.objects.filter(conditions).order_by("id")[:500]
        scored = []
        for r in pool:
            agreements = compare(applicant, _items(r))
            value = score(agreements)
            if sum(1 for a in agreements if a.agrees) >= 2:
                scored.append(MatchCandidate(r, BASIC_ITEMS, agreements, value))
        scored.sort(key=lambda c: (-c.score, c.resident.pk))
        candidates += scored[:CANDIDATE_LIMIT]
    return MatchResult(candidates=candidates, warnings=warnings)


def _new_check(*, actor: Any, campaign: Campaign, rule_version: CampaignRule, birth_date: date,
               as_of: date | None, name: str, name_kana: str, sex: int | None, address: str, address_number: str,
               my_number: str) -> EligibilityCheck:
    """The applicant's details as an unsaved check (the My Number only as its blind index), validated."""
    index = ""
    if my_number:
        try:
            index = my_number_blind_index(normalize_my_number(my_number))
        except MyNumberError as exc:
            raise ValidationError({"my_number": exc.message}, code=exc.code) from None
    check = EligibilityCheck(
        campaign=campaign, as_of=as_of or rule_version.reference_date, name=name.strip(),
        name_kana=name_kana.strip(), birth_date=birth_date, sex=sex, address=address.strip(),
        address_number=address_number.strip(), my_number_index=index, checked_by=actor,
    )
    if not (check.name or check.name_kana or check.address_number or check.my_number_index):
        raise ValidationError("氏名、カナ、宛名番号、個人番号のいずれかを入力してください。")
    # Foreign keys come from loaded objects: not re-checked by a query each (the database enforces them).
    check.full_clean(exclude=["campaign", "checked_by", "resident"])
    return check


def _matched_data(check: EligibilityCheck, result: MatchResult) -> dict[str, Any]:
    return {"check_id": check.pk, "campaign_id": check.campaign_id, "candidates": len(result.candidates),
            "exact": [c.method for c in result.exact], "by_my_number": bool(check.my_number_index)}


@transaction.atomic
def eligibility_check_create(
    *,
    actor: Any,
    campaign: Campaign,
    birth_date: date,
    as_of: date | None = None,
    name: str = "",
    name_kana: str = "",
    sex: int | None = None,
    address: str = "",
    address_number: str = "",
    my_number: str = "",
) -> tuple[EligibilityCheck, MatchResult]:
    """Store the applicant's details (the My Number only as its blind index) and match them."""
    check = _new_check(actor=actor, campaign=campaign, rule_version=campaign.current_rule, birth_date=birth_date,
                       as_of=as_of, name=name, name_kana=name_kana, sex=sex, address=address,
                       address_number=address_number, my_number=my_number)
    result = eligibility_check_match(check=check)
    if not result.candidates:
        check.status = CheckStatus.NO_MATCH
    check.save()
    audit_event_record(event=AuditEvent.ELIGIBILITY_MATCHED, actor=actor, target=check,
                       data=_matched_data(check, result))
    return check, result


@transaction.atomic
def eligibility_check_create_exact(
    *,
    actor: Any,
    campaign: Campaign,
    access_view: str,
    access_permission: str,
    birth_date: date,
    as_of: date | None = None,
    name: str = "",
    name_kana: str = "",
    sex: int | None = None,
    address: str = "",
    address_number: str = "",
    my_number: str = "",
) -> tuple[EligibilityCheck, MatchResult, EligibilityDecision | None]:
    """The API's ``confirm_exact``: store and match the applicant's details, and when the match is
    ``exact_confirmable`` (one exact number match whose kana, birth date and sex agree) confirm it and
    decide at once — the same check, decision and entries as ``eligibility_check_create`` followed by
    ``eligibility_check_confirm``, in one pass: the check is stored once in its final state, and the
    events (matched, decided) and the read-access entries of the candidates shown are chained in one
    write at the end."""
    rule_version = campaign.current_rule
    check = _new_check(actor=actor, campaign=campaign, rule_version=rule_version, birth_date=birth_date,
                       as_of=as_of, name=name, name_kana=name_kana, sex=sex, address=address,
                       address_number=address_number, my_number=my_number)
    result = eligibility_check_match(check=check)
    chosen = exact_confirmable(result)
    if chosen is not None:
        check.status, check.resident, check.match_method = CheckStatus.CONFIRMED, chosen.resident, chosen.method
        check.confirmed_at = timezone.now()
    elif not result.candidates:
        check.status = CheckStatus.NO_MATCH
    check.save()
    pending = AuditBatch()
    pending.event(event=AuditEvent.ELIGIBILITY_MATCHED, actor=actor, target=check, data=_matched_data(check, result))
    decision = None
    if chosen is not None:
        decision = _decide(actor=actor, resident=chosen.resident, campaign=campaign, rule_version=rule_version,
                           as_of=check.as_of, check=check, source=DecisionSource.CHECK,
                           facts=_facts_of_loaded(chosen.resident), pending=pending)
    pending.access(actor=actor, objects=[c.resident for c in result.candidates], view=access_view,
                   permission=access_permission)
    pending.write()
    return check, result, decision


def _facts_of_loaded(resident: Resident) -> PersonFacts:
    """``person_facts_for([resident.pk])`` for a resident already loaded: its summary columns are at hand,
    so the stored history, doses and groups take one query each."""
    rid = resident.pk
    periods = periods_for_chunk([(rid, resident.residency_status, resident.birth_date, resident.moved_in_on,
                                  resident.moved_out_on, resident.died_on, resident.address)])
    doses = doses_for([rid])
    groups = groups_for([rid])
    return PersonFacts(birth_date=resident.birth_date, periods=tuple(periods[rid]), doses=tuple(doses.get(rid, ())),
                       priority_groups=frozenset(groups.get(rid, ())))


def _decide(*, actor: Any, resident: Resident, campaign: Campaign, rule_version: CampaignRule, as_of: date,
            check: EligibilityCheck | None, source: str, facts: PersonFacts,
            pending: AuditBatch | None) -> EligibilityDecision:
    decision = is_eligible(facts, rule_from_version(rule_version), as_of=as_of)
    stored = EligibilityDecision(
        resident=resident, campaign=campaign, rule=rule_version, as_of=as_of, eligible=decision.eligible,
        criteria=decision.criteria_data(), facts=facts.to_snapshot(), source=source, applicant_check=check,
        decided_by=actor,
    )
    stored.full_clean(exclude=["resident", "campaign", "rule", "applicant_check", "decided_by"])
    stored.save()
    data = {"decision_id": stored.pk, "campaign_id": campaign.pk, "rule_version": rule_version.version,
            "as_of": as_of.isoformat(), "eligible": decision.eligible, "source": source}
    if pending is None:
        audit_event_record(event=AuditEvent.ELIGIBILITY_DECIDED, actor=actor, target=resident, data=data)
    else:
        pending.event(event=AuditEvent.ELIGIBILITY_DECIDED, actor=actor, target=resident, data=data)
    return stored


@transaction.atomic
def eligibility_decide(*, actor: Any, resident: Resident, campaign: Campaign, as_of: date | None = None,
                       check: EligibilityCheck | None = None,
                       source: str = DecisionSource.REEVALUATION) -> EligibilityDecision:
    """Decide with the campaign's current rule version on the facts held now; always a new row."""
    rule_version = campaign.current_rule
    return _decide(actor=actor, resident=resident, campaign=campaign, rule_version=rule_version,
                   as_of=as_of or rule_version.reference_date, check=check, source=source,
                   facts=person_facts_for([resident.pk])[resident.pk], pending=None)


@transaction.atomic
def eligibility_check_confirm(*, actor: Any, check: EligibilityCheck, resident_id: int) -> EligibilityDecision:
    """Staff confirm that the applicant is ``resident`` (one of the check's candidates); then decide."""
    check = EligibilityCheck.objects.select_for_update().select_related("campaign").get(pk=check.pk)
    if check.status != CheckStatus.PENDING:
        raise ValidationError("この確認は既に完了しています。新しく確認を始めてください。")
    chosen = next((c for c in eligibility_check_match(check=check).candidates if c.resident.pk == resident_id), None)
    if chosen is None:
        raise ValidationError({"resident": "候補の中から本人を選んでください。"})
    check.status, check.resident, check.match_method = CheckStatus.CONFIRMED, chosen.resident, chosen.method
    check.confirmed_at = timezone.now()
    check.save()
    return eligibility_decide(actor=actor, resident=chosen.resident, campaign=check.campaign, as_of=check.as_of,
                              check=check, source=DecisionSource.CHECK)
