"""The eligibility rule of a campaign as one pure function: ``is_eligible(person, rule, as_of=D)``.

No ORM and no clock: a selector loads the person's facts, the caller names the date. The decision lists
every criterion with pass/fail and a Japanese reason, so a decision that affects a person's rights can
be explained and, from the stored rule version and facts, reproduced exactly.

Criteria (all must pass):
- age: the legal age on ``as_of`` (年齢計算ニ関スル法律; records.rules.age) within [min_age, max_age];
- residency on ``as_of`` (records.rules.residency): resident; a registered non-resident when the rule
  allows it; someone who moved in after ``as_of`` only when the rule allows later move-ins;
- priority groups: when the rule lists any, the person holds at least one;
- dose number: the doses of the campaign's vaccines before ``as_of`` equal ``dose_number - 1``; doses
  given before the person moved in count like any other;
- maximum doses: fewer than ``max_doses`` doses of the campaign's vaccines before ``as_of``;
- minimum interval: at least ``min_interval_days`` days from the previous such dose to ``as_of``.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from records.rules.age import legal_age
from records.rules.residency import NON_RESIDENT, RESIDENT, Period, period_on

STATUS_LABELS = {RESIDENT: "住民", "moved_out": "転出", "deceased": "死亡", NON_RESIDENT: "住登外者"}


@dataclass(frozen=True, slots=True)
class Dose:
    vaccinated_on: date
    vaccine_code: str
    before_move_in: bool = False


@dataclass(frozen=True)
class PersonFacts:
    birth_date: date
    periods: tuple[Period, ...]
    doses: tuple[Dose, ...] = ()  # vaccinations given (診察区分 = 接種), any vaccine
    priority_groups: frozenset[str] = frozenset()

    def to_snapshot(self) -> dict[str, Any]:
        """JSON-ready facts as they were decided on (no address, no My Number)."""
        return {
            "birth_date": self.birth_date.isoformat(),
            "periods": [[p.status, p.valid_from.isoformat(), p.valid_until.isoformat() if p.valid_until else None]
                        for p in self.periods],
            "doses": [[d.vaccinated_on.isoformat(), d.vaccine_code, d.before_move_in] for d in self.doses],
            "priority_groups": sorted(self.priority_groups),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> "PersonFacts":
        return cls(
            birth_date=date.fromisoformat(data["birth_date"]),
            periods=tuple(Period(s, date.fromisoformat(f), date.fromisoformat(u) if u else None)
                          for s, f, u in data["periods"]),
            doses=tuple(Dose(date.fromisoformat(d), code, bool(before)) for d, code, before in data["doses"]),
            priority_groups=frozenset(data["priority_groups"]),
        )


@dataclass(frozen=True)
class Rule:
    vaccine_codes: frozenset[str]
    min_age: int | None = None
    max_age: int | None = None
    allow_non_residents: bool = False
    allow_later_move_in: bool = False
    priority_groups: frozenset[str] = frozenset()
    dose_number: int | None = 1
    max_doses: int | None = None
    min_interval_days: int | None = None
    priority_group_names: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Criterion:
    code: str
    passed: bool
    reason: str


@dataclass(frozen=True)
class Decision:
    eligible: bool
    as_of: date
    criteria: tuple[Criterion, ...]

    @property
    def failed(self) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if not c.passed)

    def criteria_data(self) -> list[dict[str, Any]]:
        return [{"code": c.code, "passed": c.passed, "reason": c.reason} for c in self.criteria]


def _age(person: PersonFacts, rule: Rule, as_of: date) -> Criterion:
    if as_of < person.birth_date:
        return Criterion("age", False, "判定日が生年月日より前です")
    age = legal_age(person.birth_date, as_of)
    if rule.min_age is not None and age < rule.min_age:
        return Criterion("age", False, f"基準日時点で{rule.min_age}歳未満（{age}歳）")
    if rule.max_age is not None and age > rule.max_age:
        return Criterion("age", False, f"基準日時点で{rule.max_age}歳を超えている（{age}歳）")
    return Criterion("age", True, f"基準日時点で{age}歳（対象年齢）")


def _residency(person: PersonFacts, rule: Rule, as_of: date) -> Criterion:
    period = period_on(person.periods, as_of)
    status = period.status if period else None
    if status == RESIDENT:
        return Criterion("residency", True, "基準日時点で住民")
    if status == NON_RESIDENT:
        if rule.allow_non_residents:
            return Criterion("residency", True, "基準日時点で住登外者（規則により対象）")
        return Criterion("residency", False, "基準日時点で住登外者")
    later = [p for p in person.periods if p.status == RESIDENT and p.valid_from > as_of]
    if later:
        moved_in = later[0].valid_from
        if rule.allow_later_move_in:
            return Criterion("residency", True, f"基準日後に転入（{moved_in.isoformat()}、規則により対象）")
        return Criterion("residency", False, f"基準日後に転入（{moved_in.isoformat()}）")
    if status is None:
        return Criterion("residency", False, "基準日時点で住民登録がない")
    return Criterion("residency", False, f"基準日時点で{STATUS_LABELS.get(status, status)}")


def _priority(person: PersonFacts, rule: Rule) -> Criterion | None:
    if not rule.priority_groups:
        return None
    held = sorted(rule.priority_groups & person.priority_groups)
    names = rule.priority_group_names
    if held:
        return Criterion("priority_group", True, f"優先接種対象（{'、'.join(names.get(c, c) for c in held)}）")
    wanted = "、".join(names.get(c, c) for c in sorted(rule.priority_groups))
    return Criterion("priority_group", False, f"優先接種対象（{wanted}）に該当しない")


def _prior_doses(person: PersonFacts, rule: Rule, as_of: date) -> list[Dose]:
    return sorted((d for d in person.doses if d.vaccine_code in rule.vaccine_codes and d.vaccinated_on < as_of),
                  key=lambda d: d.vaccinated_on)


def prior_doses(person: PersonFacts, rule: Rule, as_of: date) -> int:
    """Doses of the rule's vaccines before ``as_of`` (those before moving in included)."""
    return len(_prior_doses(person, rule, as_of))


def _dose_criteria(prior: Sequence[Dose], rule: Rule, as_of: date) -> list[Criterion]:
    out: list[Criterion] = []
    count = len(prior)
    moved = sum(1 for d in prior if d.before_move_in)
    note = f"（うち転入前{moved}回）" if moved else ""
    if rule.dose_number is not None:
        if count == rule.dose_number - 1:
            out.append(Criterion("dose_number", True, f"接種済み{count}回{note}、{rule.dose_number}回目の対象"))
        elif count >= rule.dose_number:
            out.append(Criterion("dose_number", False, f"{rule.dose_number}回目を接種済み（接種済み{count}回{note}）"))
        else:
            out.append(Criterion(
                "dose_number", False,
                f"{rule.dose_number}回目の対象は接種済み{rule.dose_number - 1}回の方（接種済み{count}回{note}）",
            ))
    if rule.max_doses is not None:
        if count < rule.max_doses:
            out.append(Criterion("max_doses", True, f"接種回数の上限{rule.max_doses}回未満（{count}回{note}）"))
        else:
            out.append(Criterion("max_doses", False,
                                 f"接種回数の上限{rule.max_doses}回に達している（{count}回{note}）"))
    if rule.min_interval_days is not None:
        if not prior:
            out.append(Criterion("interval", True, "前回接種なし"))
        else:
            last = prior[-1].vaccinated_on
            days = (as_of - last).days
            if days >= rule.min_interval_days:
                out.append(Criterion("interval", True,
                                     f"前回接種（{last.isoformat()}）から{days}日（{rule.min_interval_days}日以上）"))
            else:
                out.append(Criterion("interval", False,
                                     f"前回接種（{last.isoformat()}）から{days}日（{rule.min_interval_days}日未満）"))
    return out


def is_eligible(person: PersonFacts, rule: Rule, *, as_of: date) -> Decision:
    """Whether ``person`` is a target of ``rule`` on ``as_of`` (a campaign's 基準日, or a 接種日 when a
    clinic's claim is checked later), with every criterion explained."""
    criteria = [_age(person, rule, as_of), _residency(person, rule, as_of)]
    priority = _priority(person, rule)
    if priority is not None:
        criteria.append(priority)
    criteria += _dose_criteria(_prior_doses(person, rule, as_of), rule, as_of)
    return Decision(eligible=all(c.passed for c in criteria), as_of=as_of, criteria=tuple(criteria))


def age_passes(birth_date: date, rule: Rule, as_of: date) -> bool:
    """The age criterion alone (cheap: extraction applies it before loading anything else matters)."""
    if as_of < birth_date:
        return False
    age = legal_age(birth_date, as_of)
    return (rule.min_age is None or age >= rule.min_age) and (rule.max_age is None or age <= rule.max_age)


def is_target(person: PersonFacts, rule: Rule, *, as_of: date) -> bool:
    """``is_eligible(person, rule, as_of=as_of).eligible`` without building the reasons: the extraction
    asks this of every resident. Same criteria, same order; tests check the two agree."""
    if not age_passes(person.birth_date, rule, as_of):
        return False
    period = period_on(person.periods, as_of)
    status = period.status if period else None
    if status != RESIDENT:
        if status == NON_RESIDENT:
            if not rule.allow_non_residents:
                return False
        elif not (rule.allow_later_move_in
                  and any(p.status == RESIDENT and p.valid_from > as_of for p in person.periods)):
            return False
    if rule.priority_groups and not rule.priority_groups & person.priority_groups:
        return False
    last = None
    count = 0
    for dose in person.doses:
        if dose.vaccine_code in rule.vaccine_codes and dose.vaccinated_on < as_of:
            count += 1
            if last is None or dose.vaccinated_on > last:
                last = dose.vaccinated_on
    if rule.dose_number is not None and count != rule.dose_number - 1:
        return False
    if rule.max_doses is not None and count >= rule.max_doses:
        return False
    return rule.min_interval_days is None or last is None or (as_of - last).days >= rule.min_interval_days


AGE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 14), (15, 39), (40, 59), (60, 64), (65, 74), (75, 84), (85, None),
)


def age_band(age: int) -> str:
    """Label of the band counted before issuing notices (e.g. ``65〜74歳``)."""
    for low, high in AGE_BANDS:
        if high is None:
            if age >= low:
                return f"{low}歳以上"
        elif low <= age <= high:
            return f"{low}〜{high}歳"
    return "不明"


AGE_BAND_LABELS = tuple(age_band(low) for low, _high in AGE_BANDS)
