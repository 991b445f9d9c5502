"""Dates as they come in files and forms: ISO ``2025-04-01``, ``2025/04/01``, ``20250401`` and the
Japanese era forms (``令和7年4月1日``, ``R7.4.1``, ``R07/04/01``, 平成/H, 昭和/S, 大正/T, ``令和元年``)."""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date


class DateParseError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Era:
    name: str
    letter: str
    start: date
    end: date | None  # last day, inclusive


ERAS: tuple[Era, ...] = (
    Era("令和", "R", date(2019, 5, 1), None),
    Era("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("昭和", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("大正", "T", date(1912, 7, 30), date(1926, 12, 24)),
)
_ERA_BY_KEY = {e.name: e for e in ERAS} | {e.letter: e for e in ERAS}

_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ERA_KANJI = re.compile(r"^(令和|平成|昭和|大正)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日$")
_ERA_LETTER = re.compile(r"^([RHST])(\d{1,2})[./-](\d{1,2})[./-](\d{1,2})$")


def _make_date(year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise DateParseError("date_invalid_month", f"月が不正です（{month}月）。")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateParseError("date_invalid_day", f"{year}年{month}月{day}日は存在しない日付です。") from None


def _from_era(era: Era, era_year: int, month: int, day: int) -> date:
    if era_year < 1:
        raise DateParseError("date_invalid_era_year", f"{era.name}{era_year}年は存在しません。")
    value = _make_date(era.start.year + era_year - 1, month, day)
    if value < era.start or (era.end is not None and value > era.end):
        raise DateParseError(
            "date_outside_era", f"{era.name}{era_year}年{month}月{day}日は{era.name}の期間外です。"
        )
    return value


def parse_date(raw: str) -> date:
    """Parse any accepted form; raise DateParseError with a Japanese message otherwise."""
    text = unicodedata.normalize("NFKC", raw or "").strip().upper().replace(" ", "")
    if not text:
        raise DateParseError("date_empty", "日付が入力されていません。")
    if m := _ISO.match(text) or _COMPACT.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _ERA_KANJI.match(text):
        era_year = 1 if m[2] == "元" else int(m[2])
        return _from_era(_ERA_BY_KEY[m[1]], era_year, int(m[3]), int(m[4]))
    if m := _ERA_LETTER.match(text):
        return _from_era(_ERA_BY_KEY[m[1]], int(m[2]), int(m[3]), int(m[4]))
    raise DateParseError(
        "date_format", "日付の形式が不正です（例: 2025-04-01、20250401、令和7年4月1日、R7.4.1）。"
    )


# Year-month forms, each completed to a full date on the 1st so records.rules.dates.parse_date does the
# real work (era boundaries, invalid months) and its messages stay the only ones.
_MONTH_FORMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^\d{4}([-/])\d{1,2}$"), "{sep}1"),
    (re.compile(r"^\d{6}$"), "01"),
    (re.compile(r"^(?:令和|平成|昭和|大正)(?:元|\d{1,2})年\d{1,2}月$"), "1日"),
    (re.compile(r"^[RHST]\d{1,2}([./-])\d{1,2}$"), "{sep}1"),
)


def parse_year_month(raw: str) -> date:
    """The first day of the month written in ``raw``: ``2025-04``, ``2025/04``, ``202504``,
    ``令和7年4月``, ``R7.4``, or any full date form (the day is then dropped). Raises DateParseError."""
    text = unicodedata.normalize("NFKC", raw or "").strip().upper().replace(" ", "")
    if not text:
        raise DateParseError("date_empty", "年月が入力されていません。")
    for pattern, suffix in _MONTH_FORMS:
        match = pattern.match(text)
        if match:
            separator = match.group(1) if match.groups() else ""
            return parse_date(text + suffix.format(sep=separator))
    try:
        return parse_date(text).replace(day=1)
    except DateParseError as exc:
        if exc.code != "date_format":
            raise
        raise DateParseError(
            "year_month_format", "年月の形式が不正です（例: 2025-04、202504、令和7年4月、R7.4）。"
        ) from None


def era_of(value: date) -> Era:
    for era in ERAS:
        if value >= era.start and (era.end is None or value <= era.end):
            return era
    raise ValueError("date before the Taisho era is not supported")


def format_era(value: date) -> str:
    """``令和8年4月1日``; the first year of an era is written 元年."""
    era = era_of(value)
    year = value.year - era.start.year + 1
    year_text = "元" if year == 1 else str(year)
    return f"{era.name}{year_text}年{value.month}月{value.day}日"
