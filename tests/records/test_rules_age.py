from datetime import date

import pytest

from records.rules.age import day_reaching_age, legal_age


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(1960, 4, 1), date(2025, 3, 31), 64),  # day before the birthday
        (date(1960, 4, 1), date(2025, 4, 1), 65),  # on the birthday
        (date(1960, 4, 1), date(1960, 4, 1), 0),  # day of birth
        (date(2000, 2, 29), date(2025, 2, 28), 24),  # common year: not yet on 28 Feb
        (date(2000, 2, 29), date(2025, 3, 1), 25),  # common year: reached at end of 28 Feb
        (date(2000, 2, 29), date(2024, 2, 28), 23),  # leap year: birthday is 29 Feb
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        (date(1999, 12, 31), date(2000, 12, 30), 0),
        (date(1999, 12, 31), date(2000, 12, 31), 1),
    ],
)
def test_legal_age(birth, on, age):
    assert legal_age(birth, on) == age


def test_age_before_birth_is_an_error():
    with pytest.raises(ValueError, match="before birth"):
        legal_age(date(2020, 1, 2), date(2020, 1, 1))


def test_day_reaching_age_is_the_day_before_the_birthday():
    assert day_reaching_age(date(1960, 4, 1), 65) == date(2025, 3, 31)
    assert day_reaching_age(date(2000, 2, 29), 25) == date(2025, 2, 28)
    assert day_reaching_age(date(2000, 2, 29), 24) == date(2024, 2, 28)
