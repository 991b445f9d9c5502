"""Resident search and the resident page: every criterion, My Number handling (POST only, never echoed,
only masked), the result limit, and who may reach the pages."""

import re
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.roles import Role
from records.models import ResidencyStatus, Resident
from records.selectors import SEARCH_LIMIT
from tests.factories import (
    ClinicFactory,
    ResidentFactory,
    UserFactory,
    VaccinationRecordFactory,
    VaccineFactory,
    new_my_number,
)

SEARCH_URL = reverse("records:resident_search")


def detail_url(resident: Resident) -> str:
    return reverse("records:resident_detail", args=[resident.pk])


def search(client, **criteria):
    data = {"address_number": "", "kana": "", "name": "", "birth_date": "", "my_number": ""} | criteria
    return client.post(SEARCH_URL, data)


def found(response) -> list[Resident]:
    return list(response.context["residents"])


def my_number_input(html: str) -> str:
    match = re.search(r'<input[^>]*name="my_number"[^>]*>', html)
    assert match is not None
    return match.group(0)


@pytest.fixture
def actor(db):
    return UserFactory(username="registrar", with_role=Role.STAFF)


# --- search page: GET and POST -----------------------------------------------------------------


def test_get_shows_the_empty_form_and_no_results(staff_client, actor):
    ResidentFactory(actor=actor, address_number="100001")
    response = staff_client.get(SEARCH_URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'method="post"' in html
    assert 'name="kana"' in html
    assert "検索結果" not in html
    assert found(response) == []


def test_criteria_in_the_query_string_are_ignored(staff_client, actor):
    resident = ResidentFactory(actor=actor, address_number="100001")
    response = staff_client.get(SEARCH_URL, {"address_number": "100001", "kana": "コシガヤ"})
    assert response.status_code == 200
    assert found(response) == []
    assert detail_url(resident) not in response.content.decode()


def test_post_answers_in_place_and_never_redirects(staff_client, actor):
    ResidentFactory(actor=actor, address_number="100001")
    for criteria in ({"address_number": "100001"}, {}, {"my_number": "123"}):
        response = search(staff_client, **criteria)
        assert response.status_code == 200
        assert "Location" not in response


def test_empty_search_asks_for_a_criterion(staff_client, actor):
    ResidentFactory(actor=actor)
    response = search(staff_client, kana="   ")
    assert "検索条件を1つ以上入力してください" in response.content.decode()
    assert found(response) == []


# --- each criterion ----------------------------------------------------------------------------


def test_search_by_address_number_is_exact(staff_client, actor):
    target = ResidentFactory(actor=actor, address_number="100123")
    ResidentFactory(actor=actor, address_number="1001234")
    assert found(search(staff_client, address_number="100123")) == [target]
    assert found(search(staff_client, address_number="10012")) == []


def test_address_number_must_be_digits(staff_client, actor):
    response = search(staff_client, address_number="12a45")
    assert response.context["form"].errors["address_number"] == ["宛名番号は数字で入力してください。"]


@pytest.mark.parametrize(
    "typed", ["ヤマダ", "ﾔﾏﾀﾞ", "やまだ", "ヤマダ タ", "ﾔﾏﾀﾞ ﾀﾛｳ", "やまだ　たろう", " ヤマダタロウ "]
)
def test_search_by_kana_prefix_ignores_width_spaces_and_hiragana(staff_client, actor, typed):
    target = ResidentFactory(actor=actor, name="山田 太郎", name_kana="ヤマダ　タロウ")
    ResidentFactory(actor=actor, name="山本 花子", name_kana="ヤマモト　ハナコ")
    ResidentFactory(actor=actor, name="田中 山田", name_kana="タナカ　ヤマダ")
    assert found(search(staff_client, kana=typed)) == [target]


def test_kana_is_a_prefix_not_a_substring(staff_client, actor):
    ResidentFactory(actor=actor, name="山田 太郎", name_kana="ヤマダ　タロウ")
    yamamoto = ResidentFactory(actor=actor, name="山本 花子", name_kana="ヤマモト　ハナコ")
    assert found(search(staff_client, kana="タロウ")) == []
    assert yamamoto in found(search(staff_client, kana="ﾔﾏ"))
    assert len(found(search(staff_client, kana="やま"))) == 2


@pytest.mark.parametrize("typed", ["田太", "山田 太郎", "山田　太郎", "山田太郎", "太郎"])
def test_search_by_name_is_a_substring_ignoring_spaces(staff_client, actor, typed):
    target = ResidentFactory(actor=actor, name="山田 太郎", name_kana="ヤマダ　タロウ")
    ResidentFactory(actor=actor, name="山本 花子", name_kana="ヤマモト　ハナコ")
    assert found(search(staff_client, name=typed)) == [target]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2019-05-01", "reiwa"),
        ("2019/05/01", "reiwa"),
        ("20190501", "reiwa"),
        ("2019/5/1", "reiwa"),
        ("令和元年5月1日", "reiwa"),
        ("R1.5.1", "reiwa"),
        ("R01/05/01", "reiwa"),
        ("Ｒ１．５．１", "reiwa"),
        ("平成31年4月30日", "heisei"),
        ("H31.4.30", "heisei"),
        ("2019-04-30", "heisei"),
    ],
)
def test_search_by_birth_date_accepts_every_date_form(staff_client, actor, typed, expected):
    people = {
        "reiwa": ResidentFactory(actor=actor, birth_date=date(2019, 5, 1)),
        "heisei": ResidentFactory(actor=actor, birth_date=date(2019, 4, 30)),
    }
    ResidentFactory(actor=actor, birth_date=date(1985, 1, 15))
    assert found(search(staff_client, birth_date=typed)) == [people[expected]]


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("2019-02-30", "存在しない日付"),
        ("令和元年4月1日", "令和の期間外"),
        ("5月1日", "日付の形式が不正です"),
    ],
)
def test_an_invalid_birth_date_is_reported_under_the_field(staff_client, actor, typed, message):
    response = search(staff_client, birth_date=typed)
    errors = response.context["form"].errors["birth_date"]
    assert any(message in error for error in errors)
    assert found(response) == []


def test_criteria_are_combined(staff_client, actor):
    target = ResidentFactory(actor=actor, name_kana="サトウ　イチロウ", birth_date=date(1950, 1, 1))
    ResidentFactory(actor=actor, name_kana="サトウ　ジロウ", birth_date=date(1952, 2, 2))
    assert found(search(staff_client, kana="サトウ", birth_date="昭和25年1月1日")) == [target]


# --- My Number ---------------------------------------------------------------------------------


def test_search_by_my_number_is_exact_through_the_blind_index(staff_client, actor):
    number = new_my_number()
    target = ResidentFactory(actor=actor, my_number=number)
    ResidentFactory(actor=actor)
    assert found(search(staff_client, my_number=number)) == [target]
    spaced = f"{number[:4]} {number[4:8]} {number[8:]}"
    assert found(search(staff_client, my_number=spaced)) == [target]
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert found(search(staff_client, my_number=full_width)) == [target]


def test_a_valid_but_unknown_my_number_finds_nobody(staff_client, actor):
    ResidentFactory(actor=actor)
    response = search(staff_client, my_number=new_my_number())
    assert response.context["form"].errors == {}
    assert found(response) == []
    assert "該当する宛名はありません" in response.content.decode()


def test_the_searched_my_number_is_not_echoed_back(staff_client, actor):
    number = new_my_number()
    target = ResidentFactory(actor=actor, my_number=number)
    response = search(staff_client, my_number=number)
    html = response.content.decode()
    assert found(response) == [target]
    assert number not in html
    assert "value=" not in my_number_input(html)
    assert target.my_number_masked in html


def _bad_check_digit() -> str:
    number = new_my_number()
    return number[:11] + str((int(number[11]) + 1) % 10)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("12345678901", "個人番号は12桁です（入力は11桁）。"),
        ("1234567890185", "個人番号は12桁です（入力は13桁）。"),
        (_bad_check_digit(), "個人番号の検査用数字が一致しません。"),
        ("12345678901A", "個人番号は数字12桁で入力してください。"),
        ("ABCDEFGHIJKL", "個人番号は数字12桁で入力してください。"),
    ],
)
def test_an_invalid_my_number_gives_the_message_and_is_not_echoed(staff_client, actor, raw, message):
    ResidentFactory(actor=actor)
    response = search(staff_client, my_number=raw, kana="コシガヤ")
    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors["my_number"] == [message]
    assert message in html
    assert raw not in html
    assert "value=" not in my_number_input(html)
    assert found(response) == []
    # The other criteria are kept for correction; only the My Number is dropped.
    assert 'value="コシガヤ"' in html


def test_results_show_the_my_number_only_masked(staff_client, actor):
    number = new_my_number()
    resident = ResidentFactory(actor=actor, name_kana="マスク　テスト", my_number=number)
    html = search(staff_client, kana="マスク").content.decode()
    assert resident.my_number_masked == "********" + number[-4:]
    assert resident.my_number_masked in html
    assert number not in html
    assert number[:8] not in html


# --- results table -----------------------------------------------------------------------------


def test_result_row_shows_the_identifying_items(staff_client, actor):
    resident = ResidentFactory(
        actor=actor,
        address_number="204060",
        name="越谷 次郎",
        name_kana="コシガヤ　ジロウ",
        sex=1,
        birth_date=date(2019, 5, 1),
        residency_status=ResidencyStatus.MOVED_OUT,
        moved_out_on=date(2024, 3, 31),
    )
    html = search(staff_client, address_number="204060").content.decode()
    for text in (
        "204060",
        "越谷 次郎",
        "コシガヤ　ジロウ",
        "男",
        "2019-05-01",
        "令和元年5月1日",
        "status--moved_out",
        "転出",
        resident.my_number_masked,
        detail_url(resident),
    ):
        assert text in html


def test_more_than_the_limit_shows_the_first_rows_and_asks_to_narrow(staff_client, actor):
    for n in range(SEARCH_LIMIT + 1):
        ResidentFactory(actor=actor, name_kana=f"サトウ　{'ア' * (n % 7 + 1)}")
    response = search(staff_client, kana="サトウ")
    assert len(found(response)) == SEARCH_LIMIT
    assert f"{SEARCH_LIMIT}件以上該当しました。条件を絞り込んでください" in response.content.decode()


def test_exactly_the_limit_shows_every_row_without_the_warning(staff_client, actor):
    for _n in range(SEARCH_LIMIT):
        ResidentFactory(actor=actor, name_kana="サトウ　ハナコ")
    response = search(staff_client, kana="サトウ")
    assert len(found(response)) == SEARCH_LIMIT
    assert "条件を絞り込んでください" not in response.content.decode()


# --- resident page -----------------------------------------------------------------------------


def test_resident_page_shows_the_basic_items_contact_and_status(staff_client, actor):
    number = new_my_number()
    resident = ResidentFactory(
        actor=actor,
        address_number="300001",
        name="越谷 花子",
        name_kana="コシガヤ　ハナコ",
        sex=2,
        birth_date=date(1989, 1, 8),
        postal_code="343-0023",
        address="埼玉県越谷市東越谷一丁目1番地",
        address_detail="越谷ハイツ101",
        phone="048-964-2111",
        my_number=number,
        residency_status=ResidencyStatus.DECEASED,
        died_on=date(2025, 6, 1),
        moved_in_on=date(2010, 4, 1),
    )
    Resident.objects.filter(pk=resident.pk).update(information_provision_code="IPC-SECRET-0001")
    html = staff_client.get(detail_url(resident)).content.decode()
    for text in (
        "300001",
        "越谷 花子",
        "コシガヤ　ハナコ",
        "女",
        "1989-01-08",
        "平成元年1月8日",
        "343-0023",
        "埼玉県越谷市東越谷一丁目1番地",
        "越谷ハイツ101",
        "048-964-2111",
        "status--deceased",
        "死亡",
        "2025-06-01",
        "令和7年6月1日",
        "2010-04-01",
        "取得済み",
        "********" + number[-4:],
    ):
        assert text in html
    assert number not in html
    assert "IPC-SECRET-0001" not in html


def test_resident_page_without_my_number_or_provision_code_says_so(staff_client, actor):
    resident = ResidentFactory(actor=actor, my_number=None)
    html = staff_client.get(detail_url(resident)).content.decode()
    assert "未登録" in html
    assert "未取得" in html
    assert "********" not in html


def test_resident_page_lists_the_history_with_all_items_readable(staff_client, actor):
    resident = ResidentFactory(actor=actor, birth_date=date(1960, 4, 1))
    clinic = ClinicFactory(code="1112345678", name="越谷駅前内科クリニック")
    vaccine = VaccineFactory(code="PFLU1", name="沈降新型インフルエンザワクチン", maker="越谷製薬")
    VaccinationRecordFactory(
        resident=resident,
        actor=actor,
        clinic=clinic,
        vaccine=vaccine,
        vaccinated_on=date(2025, 11, 10),
        billing_month=date(2025, 12, 1),
        lot_number="KX-2025-01",
        screening_doctor="予診 一郎",
        vaccinating_doctor="接種 次郎",
        payment_category=2,
        fee_yen=3520,
        dose_ml="0.50",
        remarks1="備考その一",
        remarks2="備考その二",
        remarks3="備考その三",
    )
    VaccinationRecordFactory(
        resident=resident,
        actor=actor,
        clinic=None,
        before_move_in=True,
        place_text="大阪府大阪市 北区診療所",
        vaccine=vaccine,
        vaccinated_on=date(2019, 4, 30),
        examination_category=2,
        dose_ml="0",
        vaccinating_doctor="",
        lot_number="",
        billing_month=date(2019, 5, 1),
    )
    html = staff_client.get(detail_url(resident)).content.decode()
    for text in (
        "2025-11-10",
        "令和7年11月10日",
        "越谷駅前内科クリニック",
        "1112345678",
        "65歳",
        "2025-12",
        "令和7年12月",
        "接種",
        "KX-2025-01",
        "沈降新型インフルエンザワクチン",
        "予診 一郎",
        "接種 次郎",
        "自費",
        "3,520",
        "0.50 mL",
        "備考その一",
        "備考その二",
        "備考その三",
        "窓口入力",
        "2019-04-30",
        "平成31年4月30日",
        "予診のみ",
        "大阪府大阪市 北区診療所",
        "転入前",
        "令和元年5月",
    ):
        assert text in html, text
    assert html.index("2025-11-10") < html.index("2019-04-30")  # newest first


def test_staff_see_links_to_add_and_correct_records(staff_client, actor):
    record = VaccinationRecordFactory(actor=actor)
    html = staff_client.get(detail_url(record.resident)).content.decode()
    assert reverse("records:record_create", args=[record.resident.pk]) in html
    assert reverse("records:record_update", args=[record.pk]) in html


def test_a_reader_without_edit_rights_sees_no_edit_links(client_for, actor):
    reader = UserFactory(username="reader")
    reader.user_permissions.add(
        Permission.objects.get(codename="view_resident", content_type__app_label="records")
    )
    record = VaccinationRecordFactory(actor=actor)
    response = client_for(reader).get(detail_url(record.resident))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("records:record_create", args=[record.resident.pk]) not in html
    assert reverse("records:record_update", args=[record.pk]) not in html


def test_unknown_resident_is_404(staff_client):
    assert staff_client.get(reverse("records:resident_detail", args=[999999])).status_code == 404


# --- access ------------------------------------------------------------------------------------


@pytest.fixture
def resident_urls(actor) -> list[str]:
    record = VaccinationRecordFactory(actor=actor)
    return [
        SEARCH_URL,
        detail_url(record.resident),
        reverse("records:record_create", args=[record.resident.pk]),
        reverse("records:record_update", args=[record.pk]),
    ]


@pytest.mark.parametrize("role_user", ["clinic_user", "auditor_user", "admin_user"])
def test_other_roles_are_refused_everywhere(request, client_for, resident_urls, role_user):
    client = client_for(request.getfixturevalue(role_user))
    for url in resident_urls:
        assert client.get(url).status_code == 403, url
        assert client.post(url, {"kana": "コシガヤ"}).status_code == 403, url


def test_staff_without_a_verified_device_are_redirected(client_for, staff_user, resident_urls):
    client = client_for(staff_user, verified=False)
    for url in resident_urls:
        for response in (client.get(url), client.post(url, {"kana": "コシガヤ"})):
            assert response.status_code == 302, url
            assert response["Location"] == reverse("accounts:otp_verify")


def test_anonymous_users_are_sent_to_sign_in(client, resident_urls):
    for url in resident_urls:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_staff_reach_every_page(staff_client, resident_urls):
    for url in resident_urls:
        assert staff_client.get(url).status_code == 200, url
