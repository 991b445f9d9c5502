"""The resident change file (異動データ) as docs/resident-feed.md defines it: the column layout, the header
names a file may use, and the validation of one row. Pure: no ORM and no clock (today comes in as a
value). Messages are Japanese and never repeat a cell's value (a shifted column can put a My Number
anywhere)."""

import re
import unicodedata
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from imports.csvformat import RowError, header_key
from records.rules.dates import DateParseError, parse_date
from records.rules.kana import is_katakana_name, kana_key_of_normalized, name_key, normalize_kana
from records.rules.mynumber import MyNumberError, normalize_my_number
from records.rules.residency import (
    ADDRESS_CHANGE,
    BIRTH,
    CORRECTION,
    DEATH,
    MOVE_IN,
    MOVE_OUT,
    NAME_CHANGE,
)

FEED_COLUMNS: tuple[str, ...] = (
    "異動区分", "異動日", "宛名番号", "氏名", "氏名カナ", "生年月日", "性別", "郵便番号", "住所", "個人番号",
)
FEED_COLUMN_COUNT = len(FEED_COLUMNS)
KIND, ON, ADDRESS_NUMBER, NAME, KANA, BIRTH_DATE, SEX, POSTAL_CODE, ADDRESS, MY_NUMBER = range(FEED_COLUMN_COUNT)

# 異動区分: the code (with or without a leading zero) or the label.
KIND_LABELS: dict[str, str] = {
    BIRTH: "出生", MOVE_IN: "転入", MOVE_OUT: "転出", DEATH: "死亡", ADDRESS_CHANGE: "転居",
    NAME_CHANGE: "氏名変更", CORRECTION: "職権修正",
}
KIND_CODES: dict[str, str] = {
    BIRTH: "01", MOVE_IN: "02", MOVE_OUT: "03", DEATH: "04", ADDRESS_CHANGE: "05", NAME_CHANGE: "06",
    CORRECTION: "07",
}
_KIND_BY_TEXT: dict[str, str] = {}
for _kind, _code in KIND_CODES.items():
    _KIND_BY_TEXT[_code] = _KIND_BY_TEXT[_code.lstrip("0")] = _KIND_BY_TEXT[KIND_LABELS[_kind]] = _kind
_KIND_BY_TEXT.update({"住所変更": ADDRESS_CHANGE, "修正": CORRECTION, "訂正": CORRECTION})

# Kinds that may name a 宛名番号 the city does not know yet (the row creates the person).
CREATING_KINDS = frozenset({BIRTH, MOVE_IN})

_ALIASES = {"団体内宛名番号": "宛名番号", "異動年月日": "異動日", "氏名の振り仮名": "氏名カナ", "フリガナ": "氏名カナ",
            "カナ氏名": "氏名カナ", "マイナンバー": "個人番号", "〒": "郵便番号"}
_CANONICAL = {header_key(n): n for n in FEED_COLUMNS} | {header_key(a): n for a, n in _ALIASES.items()}

_ADDRESS_NUMBER = re.compile(r"[0-9]{1,15}")
_POSTAL = re.compile(r"([0-9]{3})-?([0-9]{4})")
_SEXES = {"0": 0, "1": 1, "2": 2, "9": 9}
MAX_NAME = 100
MAX_ADDRESS = 200


def feed_header_problem(cells: list[str]) -> str | None:
    """Why ``cells`` is not the layout's header row, in Japanese; None when it is."""
    expected = "、".join(FEED_COLUMNS)
    if len(cells) != FEED_COLUMN_COUNT:
        return (f"1行目の見出しが{len(cells)}列です。様式は{FEED_COLUMN_COUNT}列です（{expected}）。"
                "区切り文字（カンマ）と列の過不足を確認してください。")
    for position, (cell, name) in enumerate(zip(cells, FEED_COLUMNS, strict=True), start=1):
        if _CANONICAL.get(header_key(cell)) != name:
            return (f"1行目の見出しが様式と一致しません（{position}列目は「{name}」のはずです）。"
                    f"様式の見出し: {expected}")
    return None


class FeedRow(NamedTuple):
    """A row that passed every check that needs no database. ``my_number`` is normalised ("" if none)."""

    kind: str
    on: date
    address_number: str
    name: str
    name_kana: str
    birth_date: date
    sex: int
    postal_code: str
    address: str
    my_number: str


def _nfkc(text: str) -> str:
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFKC", text).strip()


# Pure functions called per row, memoised: a file repeats its 異動日, many 生年月日, kana and names (families,
# re-deliveries). A failure raises again each time (not cached). The caches hold personal data (names,
# birth dates): the feed empties them when a file is done (feed_caches_clear), so a worker keeps none.
_parse_date = lru_cache(maxsize=65536)(parse_date)
_normalize_kana = lru_cache(maxsize=65536)(normalize_kana)


def _date(raw: str, column: str, errors: list[RowError]) -> date | None:
    try:
        return _parse_date(raw)
    except DateParseError as exc:
        errors.append(RowError(column, exc.code, f"{column}: {exc.message}"))
        return None


def validate_feed_row(cells: list[str], *, today: date) -> tuple[FeedRow | None, list[RowError]]:
    """The parsed row, or None and every error found in it."""
    if len(cells) != FEED_COLUMN_COUNT:
        return None, [RowError("", "column_count",
                               f"列数が{len(cells)}列です。様式は{FEED_COLUMN_COUNT}列です（列の過不足）。")]
    errors: list[RowError] = []
    add = errors.append
    kind = _KIND_BY_TEXT.get(_nfkc(cells[KIND]))
    if kind is None:
        add(RowError("異動区分", "kind_invalid",
                     "異動区分は01（出生）・02（転入）・03（転出）・04（死亡）・05（転居）・06（氏名変更）・07（職権修正）のいずれかです。"))
    on = _date(cells[ON], "異動日", errors)
    if on is not None and on > today:
        add(RowError("異動日", "date_future", "異動日が未来の日付です。"))
    address_number = _nfkc(cells[ADDRESS_NUMBER])
    if not address_number:
        add(RowError("宛名番号", "address_number_missing", "宛名番号を入力してください。"))
    elif not _ADDRESS_NUMBER.fullmatch(address_number):
        add(RowError("宛名番号", "address_number_invalid", "宛名番号は数字15桁以内です。"))
    name = cells[NAME].strip()
    if not name:
        add(RowError("氏名", "name_missing", "氏名を入力してください。"))
    elif len(name) > MAX_NAME:
        add(RowError("氏名", "too_long", f"氏名は{MAX_NAME}文字以内です。"))
    name_kana = _normalize_kana(cells[KANA])
    if not name_kana:
        add(RowError("氏名カナ", "kana_empty", "氏名カナを入力してください。"))
    elif not is_katakana_name(name_kana):
        add(RowError("氏名カナ", "kana_invalid", "氏名カナはカタカナで入力してください。"))
    elif len(name_kana) > MAX_NAME:
        add(RowError("氏名カナ", "too_long", f"氏名カナは{MAX_NAME}文字以内です。"))
    birth_date = _date(cells[BIRTH_DATE], "生年月日", errors)
    if birth_date is not None and on is not None:
        if on < birth_date:
            add(RowError("異動日", "before_birth", "異動日が生年月日より前です。"))
        elif kind == BIRTH and on != birth_date:
            add(RowError("異動日", "birth_date_mismatch", "出生の異動日は生年月日と同じ日です。"))
    sex = _SEXES.get(_nfkc(cells[SEX]))
    if sex is None:
        add(RowError("性別", "sex_invalid", "性別は1（男）・2（女）・0（不明）・9（適用不能）のいずれかです。"))
    postal_raw = _nfkc(cells[POSTAL_CODE]).replace("〒", "").strip()
    postal_code = ""
    if postal_raw:
        match = _POSTAL.fullmatch(postal_raw)
        if match is None:
            add(RowError("郵便番号", "postal_code_invalid", "郵便番号は数字7桁（123-4567）です。"))
        else:
            postal_code = f"{match[1]}-{match[2]}"
    address = " ".join(cells[ADDRESS].split())
    if not address:
        add(RowError("住所", "address_missing", "住所を入力してください。"))
    elif len(address) > MAX_ADDRESS:
        add(RowError("住所", "too_long", f"住所は{MAX_ADDRESS}文字以内です。"))
    my_number = ""
    if cells[MY_NUMBER].strip():
        try:
            my_number = normalize_my_number(cells[MY_NUMBER])
        except MyNumberError as exc:
            add(RowError("個人番号", exc.code, exc.message))
    if errors or kind is None or on is None or birth_date is None or sex is None:
        return None, errors
    return FeedRow(kind, on, address_number, name, name_kana, birth_date, sex, postal_code, address, my_number), []


@lru_cache(maxsize=65536)
def _keys(name_kana: str, name: str) -> tuple[str, str]:
    return kana_key_of_normalized(name_kana), name_key(name)  # FeedRow.name_kana is normalize_kana's


def keys_of(row: FeedRow) -> tuple[str, str]:
    """(kana_key, name_key) of the row's names, as records.services stores them."""
    return _keys(row.name_kana, row.name)


def feed_caches_clear() -> None:
    """Empty the per-row memos (they hold names and birth dates): called when a file has been processed."""
    _parse_date.cache_clear()
    _normalize_kana.cache_clear()
    _keys.cache_clear()
