"""Matching (突合) an applicant's details against a resident: normalisation and per-item agreement, pure.

Normalisation: NFKC (full/half width), no spaces, hiragana to katakana and small kana made large
(records.rules.kana), kana variants (ヂ/ジ, ヅ/ズ, ヲ/オ, ヴ/ブ, ー dropped), and the old/variant kanji
forms common in names (髙/高, 﨑/崎, 邊/邉/辺, 澤/沢 ...). A candidate is only ever *proposed*: staff
confirm one before any decision is made.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from records.rules.kana import kana_key, name_key

# Old and variant forms seen in registered names, folded to the common form for comparison only.
_KANJI_VARIANTS = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "濱": "浜", "澤": "沢", "廣": "広", "國": "国",
    "櫻": "桜", "德": "徳", "眞": "真", "惠": "恵", "榮": "栄", "實": "実", "藏": "蔵", "龍": "竜", "壽": "寿",
    "與": "与", "傳": "伝", "黑": "黒", "淺": "浅", "條": "条", "關": "関", "嶋": "島", "嶌": "島", "冨": "富",
    "齋": "斎", "齊": "斉", "籠": "篭", "瀨": "瀬", "曾": "曽", "柗": "松", "舩": "船", "槇": "槙",
    "﨔": "欅", "戶": "戸", "靑": "青", "淸": "清", "增": "増", "團": "団", "圓": "円", "縣": "県",
})
_KANA_VARIANTS = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヴ": "ブ", "ヰ": "イ", "ヱ": "エ", "ー": None})
_ADDRESS_NOISE = re.compile(r"[\s\-‐－−ー―の]")
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百]+")
_KANJI_DIGIT_VALUES = {c: i for i, c in enumerate("〇一二三四五六七八九")}


def _kanji_number(text: str) -> str:
    """``十`` 10, ``二十一`` 21, ``百五`` 105, ``一〇五`` 105 (as written in addresses)."""
    if "十" not in text and "百" not in text:
        return "".join(str(_KANJI_DIGIT_VALUES[c]) for c in text)
    total, digit = 0, 0
    for char in text:
        if char == "百":
            total += (digit or 1) * 100
            digit = 0
        elif char == "十":
            total += (digit or 1) * 10
            digit = 0
        else:
            digit = _KANJI_DIGIT_VALUES[char]
    return str(total + digit)


def name_match_key(raw: str) -> str:
    return name_key(raw).translate(_KANJI_VARIANTS)


def kana_match_key(raw: str) -> str:
    return kana_key(raw).translate(_KANA_VARIANTS)


def address_match_key(raw: str) -> str:
    """Width, spaces, hyphen and の variants, kanji digits, 丁目/番地/番/号 written as separators."""
    text = unicodedata.normalize("NFKC", raw or "").translate(_KANJI_VARIANTS)
    for word in ("丁目", "番地", "番", "号"):
        text = text.replace(word, "-")
    text = _KANJI_NUMBER.sub(lambda m: _kanji_number(m[0]), text)
    return _ADDRESS_NOISE.sub("", text).removeprefix("埼玉県").rstrip("-")


@dataclass(frozen=True)
class Applicant:
    name: str = ""
    name_kana: str = ""
    birth_date: date | None = None
    sex: int | None = None
    address: str = ""


@dataclass(frozen=True)
class ResidentItems:
    name: str
    name_kana: str
    birth_date: date
    sex: int
    address: str


@dataclass(frozen=True)
class ItemAgreement:
    item: str  # 氏名, カナ, 生年月日, 性別, 住所
    agrees: bool | None  # None: not given on the application
    note: str


# Weights of the basic items in the ranking; birth date and kana carry the most.
WEIGHTS = {"氏名": 3, "カナ": 4, "生年月日": 5, "性別": 1, "住所": 2}


def compare(applicant: Applicant, resident: ResidentItems) -> list[ItemAgreement]:
    out: list[ItemAgreement] = []

    def add(item: str, given: bool, agrees: bool, exact: bool) -> None:
        if not given:
            out.append(ItemAgreement(item, None, "申請書に記載なし"))
        elif agrees:
            out.append(ItemAgreement(item, True, "一致" if exact else "一致（表記ゆれを正規化）"))
        else:
            out.append(ItemAgreement(item, False, "不一致"))

    add("氏名", bool(applicant.name), name_match_key(applicant.name) == name_match_key(resident.name),
        name_key(applicant.name) == name_key(resident.name))
    add("カナ", bool(applicant.name_kana),
        kana_match_key(applicant.name_kana) == kana_match_key(resident.name_kana),
        kana_key(applicant.name_kana) == kana_key(resident.name_kana))
    add("生年月日", applicant.birth_date is not None, applicant.birth_date == resident.birth_date, True)
    add("性別", applicant.sex is not None, applicant.sex == resident.sex, True)
    a_addr, r_addr = address_match_key(applicant.address), address_match_key(resident.address)
    add("住所", bool(applicant.address), bool(a_addr) and (a_addr == r_addr or r_addr.startswith(a_addr)),
        applicant.address.strip() == resident.address.strip())
    return out


def score(agreements: list[ItemAgreement]) -> int:
    """Points for agreeing items minus points for disagreeing ones (items not given count nothing)."""
    total = 0
    for a in agreements:
        if a.agrees is True:
            total += WEIGHTS[a.item]
        elif a.agrees is False:
            total -= WEIGHTS[a.item]
    return total


def basic_items_agree(agreements: list[ItemAgreement]) -> bool:
    """The three items the clinic import also requires to agree with a number match: kana, birth date, sex
    (each given and agreeing)."""
    required = {"カナ", "生年月日", "性別"}
    return all(a.agrees is True for a in agreements if a.item in required) and \
        required <= {a.item for a in agreements if a.agrees is not None}
