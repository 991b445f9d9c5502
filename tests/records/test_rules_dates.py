from datetime import date

import pytest

from records.rules.dates import DateParseError, format_era, parse_date


@pytest.mark.parametrize(
    "raw",
    ["2025-04-01", "2025/04/01", "2025/4/1", "20250401", "令和7年4月1日", "R7.4.1", "R07/04/01", "r7.4.1",
     "２０２５－０４－０１", "Ｒ７．４．１", " 令和7年4月1日 "],
)
def test_accepted_forms(raw):
    assert parse_date(raw) == date(2025, 4, 1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("平成31年4月30日", date(2019, 4, 30)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("R1.5.1", date(2019, 5, 1)),
        ("H31.4.30", date(2019, 4, 30)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("S35.4.1", date(1960, 4, 1)),
    ],
)
def test_era_boundaries(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("2025/02/30", "date_invalid_day"),
        ("令和0年4月1日", "date_invalid_era_year"),
        ("R7.13.1", "date_invalid_month"),
        ("令和1年4月30日", "date_outside_era"),  # 2019-04-30 is still Heisei
        ("平成31年5月1日", "date_outside_era"),  # 2019-05-01 is already Reiwa
        ("2025-4", "date_format"),
        ("", "date_empty"),
        ("X7.4.1", "date_format"),
    ],
)
def test_rejected_with_a_reason(raw, code):
    with pytest.raises(DateParseError) as excinfo:
        parse_date(raw)
    assert excinfo.value.code == code
    assert excinfo.value.message


def test_format_era():
    assert format_era(date(2026, 4, 1)) == "令和8年4月1日"
    assert format_era(date(2019, 5, 1)) == "令和元年5月1日"
    assert format_era(date(2019, 4, 30)) == "平成31年4月30日"


@pytest.mark.parametrize("raw", ["2025-04", "2025/4", "202504", "令和7年4月", "R7.4", "R07/04", "2025-04-18"])
def test_year_month_forms(raw):
    from records.rules.dates import parse_year_month

    assert parse_year_month(raw) == date(2025, 4, 1)


@pytest.mark.parametrize(("raw", "code"), [("2025-13", "date_invalid_month"), ("令和7年", "year_month_format"),
                                           ("", "date_empty"), ("R0.4", "date_invalid_era_year")])
def test_year_month_errors(raw, code):
    from records.rules.dates import parse_year_month

    with pytest.raises(DateParseError) as excinfo:
        parse_year_month(raw)
    assert excinfo.value.code == code
