import pytest

from records.rules.kana import kana_key, name_key, normalize_kana


def test_half_width_and_hiragana_become_full_width_katakana():
    assert normalize_kana("ｺｼｶﾞﾔ ﾀﾛｳ") == "コシガヤ　タロウ"
    assert normalize_kana("こしがや　たろう") == "コシガヤ　タロウ"
    assert normalize_kana("  コシガヤ   タロウ ") == "コシガヤ　タロウ"


@pytest.mark.parametrize("variant", ["ｼﾞｮｳ ｲﾁﾛｳ", "ジョウ イチロウ", "じよう　いちろう", "ジヨウイチロウ"])
def test_key_ignores_width_spaces_and_small_kana(variant):
    assert kana_key(variant) == "ジヨウイチロウ"


def test_name_key_ignores_spaces_and_width():
    assert name_key("越谷　太郎") == name_key("越谷 太郎") == "越谷太郎"
    assert name_key("ＡＢＣ") == "ABC"


def test_the_key_of_a_normalised_kana_is_its_kana_key():
    from records.rules.kana import kana_key_of_normalized

    for raw in ("ｺｼｶﾞﾔ ﾀﾛｳ", "こしがや　じょう", "  ガモウ   イチロウ ", "ヴァイオリン　ッ", ""):
        assert kana_key_of_normalized(normalize_kana(raw)) == kana_key(raw)
        assert normalize_kana(normalize_kana(raw)) == normalize_kana(raw)
