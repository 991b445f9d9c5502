"""Legal age, 年齢計算ニ関スル法律 and 民法143条.

A person reaches age N at the end of the day before the N-th birthday. Counting in whole days that
means: on the birthday itself the age is N. For a 29 February birth, in a common year the age is
reached at the end of 28 February, so on 1 March the person has the new age.
"""

from datetime import date, timedelta


def _birthday_in(year: int, birth_date: date) -> date:
    """The anniversary of ``birth_date`` in ``year``; 29 February maps to 1 March in a common year,
    because the age is reached at the end of 28 February (the day before the missing birthday)."""
    try:
        return birth_date.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 3, 1)


def legal_age(birth_date: date, on: date) -> int:
    """Age in whole years on ``on``. Raises ValueError when ``on`` is before birth."""
    if on < birth_date:
        raise ValueError("date is before birth")
    years = on.year - birth_date.year
    if on < _birthday_in(on.year, birth_date):
        years -= 1
    return years


def day_reaching_age(birth_date: date, age: int) -> date:
    """「N歳に達する日」: the day before the N-th birthday (28 February for a 29 February birth in a
    common year)."""
    return _birthday_in(birth_date.year + age, birth_date) - timedelta(days=1)
