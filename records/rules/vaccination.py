"""Cross-field rules of a vaccination record (SPEC "Vaccination record"), as one pure function so the
browser form, the API and the monthly clinic import enforce exactly the same rules."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from records.rules.age import legal_age

SCREENING_ONLY = 2
VACCINATED = 1


@dataclass(frozen=True)
class VaccinationFacts:
    birth_date: date
    vaccinated_on: date
    age_at_vaccination: int
    billing_month: date
    examination_category: int
    lot_number: str
    before_move_in: bool
    has_clinic: bool
    place_text: str
    vaccinating_doctor: str
    dose_ml: Decimal
    fee_yen: int


@dataclass(frozen=True)
class RuleViolation:
    field: str
    code: str
    message: str


def check_vaccination(facts: VaccinationFacts, *, today: date) -> list[RuleViolation]:
    """Every violated rule, each naming the field it belongs to; an empty list means valid."""
    out: list[RuleViolation] = []
    if facts.vaccinated_on > today:
        out.append(RuleViolation("vaccinated_on", "vaccinated_on_future", "接種日が未来の日付です。"))
    if facts.vaccinated_on < facts.birth_date:
        out.append(RuleViolation("vaccinated_on", "vaccinated_on_before_birth", "接種日が生年月日より前です。"))
    else:
        expected = legal_age(facts.birth_date, facts.vaccinated_on)
        if facts.age_at_vaccination != expected:
            out.append(RuleViolation(
                "age_at_vaccination", "age_mismatch",
                f"接種時年齢が接種日時点の年齢（{expected}歳）と一致しません。",
            ))
    if facts.billing_month.day != 1:
        out.append(
            RuleViolation("billing_month", "billing_month_not_first", "請求年月は月の1日で指定してください。")
        )
    if (facts.billing_month.year, facts.billing_month.month) < (facts.vaccinated_on.year, facts.vaccinated_on.month):
        out.append(RuleViolation("billing_month", "billing_before_vaccination", "請求年月が接種月より前です。"))
    if facts.examination_category == SCREENING_ONLY:
        if facts.dose_ml != 0:
            out.append(RuleViolation("dose_ml", "screening_dose", "予診のみの場合、接種量は0です。"))
        if facts.vaccinating_doctor.strip():
            out.append(RuleViolation("vaccinating_doctor", "screening_doctor",
                                     "予診のみの場合、接種医師名は空欄です。"))
    elif facts.examination_category == VACCINATED:
        if facts.dose_ml <= 0:
            out.append(RuleViolation("dose_ml", "dose_missing", "接種の場合、接種量を入力してください。"))
        if not facts.vaccinating_doctor.strip():
            out.append(RuleViolation("vaccinating_doctor", "doctor_missing", "接種の場合、接種医師名は必須です。"))
        if not facts.lot_number.strip():
            out.append(RuleViolation("lot_number", "lot_missing", "接種の場合、LOT-NOは必須です。"))
    else:
        out.append(
            RuleViolation("examination_category", "category_invalid", "診察区分は1（接種）か2（予診のみ）です。")
        )
    if not facts.before_move_in and not facts.has_clinic:
        out.append(RuleViolation("clinic", "clinic_missing", "接種場所（医療機関）を選択してください。"))
    if facts.before_move_in and not facts.has_clinic and not facts.place_text.strip():
        out.append(RuleViolation("place_text", "place_missing", "転入前接種の場合、接種場所を入力してください。"))
    if facts.fee_yen < 0:
        out.append(RuleViolation("fee_yen", "fee_negative", "委託料は0以上の整数です。"))
    return out
