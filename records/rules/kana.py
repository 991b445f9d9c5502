"""Normalisation of names for comparison and search: width, spaces, hiragana/katakana, small kana."""

import re
import unicodedata

_SMALL_TO_LARGE = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_SPACES = re.compile(r"\s+")
_KATAKANA = re.compile(r"^[\u30A0-\u30FF]+$")


_HIRAGANA_TO_KATAKANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def to_katakana(text: str) -> str:
    """Hiragana to katakana (ぁ..ゖ -> ァ..ヶ); everything else unchanged."""
    return text.translate(_HIRAGANA_TO_KATAKANA)


def normalize_kana(raw: str) -> str:
    """Canonical form to *store* a furigana: NFKC (half-width kana become full-width), hiragana to
    katakana, runs of spaces become one full-width space between family and given names."""
    text = to_katakana(unicodedata.normalize("NFKC", raw or "")).strip()
    return "\u3000".join(part for part in _SPACES.split(text) if part)


def kana_key(raw: str) -> str:
    """Comparison/search key: the stored form without spaces and with small kana made large, so
    ｼﾞｮｳ, ジョウ and じよう compare equal."""
    return kana_key_of_normalized(normalize_kana(raw))


def kana_key_of_normalized(normalized: str) -> str:
    """kana_key of a furigana already in normalize_kana's form (which is idempotent), without normalising
    it again."""
    return normalized.replace("\u3000", "").translate(_SMALL_TO_LARGE)


def is_katakana_name(normalized: str) -> bool:
    return bool(_KATAKANA.match(normalized.replace("\u3000", "")))


def name_key(raw: str) -> str:
    """Comparison key for a kanji name: NFKC and no spaces."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", raw or ""))
