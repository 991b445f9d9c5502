"""The pure part of processing: the header and one row at a time (imports.csvformat), without a database.
Each bad cell gets its column, a stable code and a Japanese message that never repeats the value."""

from datetime import date
from decimal import Decimal

import pytest

from imports.csvformat import COLUMN_COUNT, CSV_COLUMNS, RowValidator, header_problem
from records.rules.mynumber import check_digit

CLINIC = "1100000001"
OTHER_CLINIC = "1100000002"
MY_NUMBER = "123456789018"  # SPEC's worked example: check digit 8


def validator(*, billing_month: date = date(2025, 11, 1), today: date = date(2026, 1, 15)) -> RowValidator:
    return RowValidator(
        clinic_code=CLINIC, clinic_ids={CLINIC: 1, OTHER_CLINIC: 2}, vaccine_ids={"FLU01": 7},
        billing_month=billing_month, today=today,
    )


def cells(**overrides: str) -> list[str]:
    values = {
        "宛名番号": "500001", "個人番号": MY_NUMBER, "氏名カナ": "トリコミ　ハナコ", "生年月日": "1960-04-01",
        "性別": "2", "接種日": "2025-11-10", "接種場所": CLINIC, "接種時年齢": "65", "請求年月": "2025-11",
        "診察区分": "1", "LOT-NO": "AB12-345", "ワクチン": "FLU01", "転入前接種": "0", "予診医師名": "予診 一郎",
        "接種医師名": "接種 次郎", "公費自費区分": "1", "委託料": "3520", "接種量": "0.50",
        "備考1": "", "備考2": "", "備考3": "",
    }
    values.update(overrides)
    return [values[name] for name in CSV_COLUMNS]


def errors(**overrides: str) -> list[tuple[str, str]]:
    row, found = validator().validate(cells(**overrides))
    assert row is None and found
    return [(e.column, e.code) for e in found]


def test_a_valid_row_is_parsed_into_typed_values():
    row, found = validator().validate(cells())
    assert found == []
    assert row is not None
    assert row.vaccinated_on == date(2025, 11, 10) and row.billing_month == date(2025, 11, 1)
    assert row.clinic_id == 1 and row.vaccine_id == 7 and row.before_move_in is False
    assert row.dose_ml == Decimal("0.50") and row.fee_yen == 3520 and row.age_at_vaccination == 65
    assert row.kana_key == "トリコミハナコ" and row.my_number == MY_NUMBER


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("接種日", "2025/02/30", "date_invalid_day"),
        ("生年月日", "令和0年5月1日", "date_invalid_era_year"),
        ("接種日", "R7.13.1", "date_invalid_month"),
        ("接種日", "2025年11月10日", "date_format"),
        ("請求年月", "2025-13", "date_invalid_month"),
    ],
)
def test_impossible_dates_are_errors_of_their_column(column, value, code):
    assert (column, code) in errors(**{column: value})


@pytest.mark.parametrize("value", ["2025-11-10", "2025/11/10", "20251110", "令和7年11月10日", "R7.11.10", "R07/11/10",
                                   "２０２５－１１－１０"])
def test_every_accepted_date_form_is_read(value):
    row, found = validator().validate(cells(接種日=value))
    assert found == [] and row is not None and row.vaccinated_on == date(2025, 11, 10)


def test_a_future_vaccination_date_is_an_error():
    row, found = validator(today=date(2025, 11, 9)).validate(cells())
    assert row is None and [(e.column, e.code) for e in found] == [("接種日", "vaccinated_on_future")]


def test_a_vaccination_before_birth_is_an_error():
    assert ("接種日", "vaccinated_on_before_birth") in errors(生年月日="2025-11-11", 接種時年齢="0")


@pytest.mark.parametrize(
    ("birth", "vaccinated_on", "right", "wrong"),
    [
        ("1960-11-10", "2025-11-09", "64", "65"),  # the day before the 65th birthday: still 64
        ("1960-11-10", "2025-11-10", "65", "64"),  # on the birthday: 65
        ("2000-02-29", "2025-02-28", "24", "25"),  # 29 February, common year: still 24 on 28 February
        ("2000-02-29", "2025-03-01", "25", "24"),  # ... and 25 on 1 March
    ],
)
def test_age_must_be_the_legal_age_on_the_day(birth, vaccinated_on, right, wrong):
    month = vaccinated_on[:7]
    check = validator(billing_month=date(int(month[:4]), int(month[5:]), 1))
    row, found = check.validate(cells(生年月日=birth, 接種日=vaccinated_on, 請求年月=month, 接種時年齢=right))
    assert found == [] and row is not None
    row, found = check.validate(cells(生年月日=birth, 接種日=vaccinated_on, 請求年月=month, 接種時年齢=wrong))
    assert row is None and [(e.column, e.code) for e in found] == [("接種時年齢", "age_mismatch")]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (MY_NUMBER[:11], "my_number_length"),
        (MY_NUMBER + "0", "my_number_length"),
        (MY_NUMBER[:11] + "9", "my_number_check_digit"),
        ("12345678901X", "my_number_not_digits"),
    ],
)
def test_bad_my_numbers_are_refused_without_repeating_them(value, code):
    row, found = validator().validate(cells(個人番号=value))
    assert row is None
    assert [(e.column, e.code) for e in found] == [("個人番号", code)]
    assert value[:8] not in found[0].message


def test_full_width_my_number_and_address_number_are_normalised():
    full_width = MY_NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    row, found = validator().validate(cells(個人番号=full_width, 宛名番号="５００００１"))
    assert found == [] and row is not None
    assert row.my_number == MY_NUMBER and row.address_number == "500001"


def test_a_row_needs_the_address_number_or_the_my_number():
    assert errors(宛名番号="", 個人番号="") == [("宛名番号", "identity_missing")]
    row, found = validator().validate(cells(宛名番号=""))
    assert found == [] and row is not None and row.address_number == ""


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        ("性別", "3", "sex_invalid"),
        ("診察区分", "0", "category_invalid"),
        ("公費自費区分", "9", "payment_invalid"),
        ("転入前接種", "2", "before_move_in_invalid"),
        ("ワクチン", "ZZZ99", "vaccine_unknown"),
        ("接種場所", "9999999999", "clinic_unknown"),
        ("接種場所", OTHER_CLINIC, "clinic_other"),
        ("接種場所", "越谷市民病院", "clinic_code_invalid"),
        ("LOT-NO", "AB#12", "lot_invalid"),
        ("委託料", "-1", "fee_negative"),
        ("委託料", "3,520", "fee_invalid"),
        ("接種量", "abc", "dose_invalid"),
        ("接種時年齢", "六十五", "age_invalid"),
        ("予診医師名", "", "screening_doctor_missing"),
        ("接種医師名", "", "doctor_missing"),
        ("請求年月", "2025-12", "billing_month_mismatch"),
        ("請求年月", "2025-10", "billing_before_vaccination"),
        ("備考1", "あ" * 201, "too_long"),
        ("氏名カナ", "鳥込 花子", "kana_invalid"),
    ],
)
def test_each_rule_reports_its_column_and_code(column, value, code):
    assert (column, code) in errors(**{column: value})


def test_screening_only_needs_no_dose_lot_or_doctor_but_refuses_them():
    row, found = validator().validate(cells(診察区分="2", 接種量="0", 接種医師名="", **{"LOT-NO": ""}))
    assert found == [] and row is not None and row.examination_category == 2
    assert ("接種量", "screening_dose") in errors(診察区分="2", 接種量="0.50", 接種医師名="")


def test_full_width_codes_and_lower_case_lots_are_accepted():
    row, found = validator().validate(cells(性別="２", 診察区分="１", ワクチン="ｆｌｕ０１", **{"LOT-NO": "ab12-345"}))
    assert found == [] and row is not None
    assert row.sex == 2 and row.vaccine_id == 7 and row.lot_number == "AB12-345"


def test_a_dose_before_moving_in_may_name_its_place_in_words_or_another_clinic():
    row, found = validator().validate(cells(転入前接種="1", 接種場所="さいたま市 ○○医院"))
    assert found == [] and row is not None and row.clinic_id is None and row.place_text == "さいたま市 ○○医院"
    row, found = validator().validate(cells(転入前接種="1", 接種場所=OTHER_CLINIC))
    assert found == [] and row is not None and row.clinic_id == 2


@pytest.mark.parametrize("value", ['=HYPERLINK("http://example.com","x")', "+81-48-000", "-1", "@SUM(A1)"])
def test_cells_that_look_like_formulas_are_kept_as_data(value):
    row, found = validator().validate(cells(備考1=value, 予診医師名=value))
    assert found == [] and row is not None
    assert row.remarks1 == value and row.screening_doctor == value


@pytest.mark.parametrize("count", [COLUMN_COUNT - 1, COLUMN_COUNT + 1])
def test_missing_and_extra_columns_are_a_row_error(count):
    row_cells = [*cells(), "余分"][:count]
    row, found = validator().validate(row_cells)
    assert row is None and [(e.column, e.code) for e in found] == [("", "column_count")]
    assert f"{count}列" in found[0].message


def test_all_errors_of_a_row_are_reported_together():
    found = errors(性別="3", 委託料="-1", ワクチン="X")
    assert {("性別", "sex_invalid"), ("委託料", "fee_negative"), ("ワクチン", "vaccine_unknown")} <= set(found)


def test_kana_is_compared_after_normalisation():
    for written in ("ﾄﾘｺﾐ ﾊﾅｺ", "とりこみ　はなこ", "トリコミハナコ", " トリコミ  ハナコ "):
        row, found = validator().validate(cells(氏名カナ=written))
        assert found == [] and row is not None and row.kana_key == "トリコミハナコ", written


def test_header_accepts_the_exact_names_and_their_width_and_spacing_variants():
    assert header_problem(list(CSV_COLUMNS)) is None
    variants = list(CSV_COLUMNS)
    variants[0] = " 宛名番号 "
    variants[2] = "氏名（カナ）"
    variants[10] = "ＬＯＴ－ＮＯ"
    variants[18] = "備考１"
    assert header_problem(variants) is None


def test_a_wrong_header_names_the_column_but_never_quotes_the_cell():
    swapped = list(CSV_COLUMNS)
    swapped[5], swapped[6] = swapped[6], swapped[5]
    assert "6列目は「接種日」" in (header_problem(swapped) or "")
    data_row = cells()
    message = header_problem(data_row) or ""
    assert "1列目は「宛名番号」" in message and MY_NUMBER not in message
    assert "20列です" in (header_problem(list(CSV_COLUMNS[:-1])) or "")


def test_check_digit_example_of_the_spec_is_what_the_fixture_uses():
    assert check_digit(MY_NUMBER[:11]) == int(MY_NUMBER[11])
