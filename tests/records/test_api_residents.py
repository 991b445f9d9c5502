"""The resident endpoints: detail and search (criteria in a POST body, My Number exact and never echoed)."""

import json
from datetime import date
from typing import Any

import pytest
from django.urls import reverse

from records.models import ResidencyStatus, Sex
from tests.factories import ResidentFactory, new_my_number

SEARCH_URL = "api:resident_search"


def search(client: Any, **criteria: Any) -> Any:
    return client.post(reverse(SEARCH_URL), data=json.dumps(criteria), content_type="application/json")


class TestResidentDetail:
    def test_basic_items_residency_and_the_masked_number(self, staff_client):
        my_number = new_my_number()
        resident = ResidentFactory(
            address_number="200001", name="越谷 太郎", name_kana="コシガヤ　タロウ", sex=Sex.MALE,
            birth_date=date(1958, 2, 28), address="埼玉県越谷市越ヶ谷四丁目2番1号", postal_code="343-8501",
            my_number=my_number, residency_status=ResidencyStatus.MOVED_OUT,
            moved_in_on=date(1990, 4, 1), moved_out_on=date(2024, 3, 31),
        )
        response = staff_client.get(reverse("api:resident_detail", args=[resident.pk]))
        assert response.status_code == 200
        body = response.json()
        assert body == {
            "id": resident.pk, "address_number": "200001", "my_number_masked": "********" + my_number[-4:],
            "name": "越谷 太郎", "name_kana": "コシガヤ　タロウ", "sex": 1, "birth_date": "1958-02-28",
            "postal_code": "343-8501", "address": "埼玉県越谷市越ヶ谷四丁目2番1号", "address_detail": "",
            "phone": "", "residency_status": "moved_out", "is_protected": False, "use_suspended": False,
            "moved_in_on": "1990-04-01",
            "moved_out_on": "2024-03-31", "died_on": None,
        }
        assert my_number not in response.content.decode()

    def test_a_resident_without_my_number_has_an_empty_mask(self, staff_client):
        resident = ResidentFactory(my_number=None)
        response = staff_client.get(reverse("api:resident_detail", args=[resident.pk]))
        assert response.json()["my_number_masked"] == ""

    def test_an_unknown_resident_is_404_in_the_error_shape(self, staff_client, db):
        response = staff_client.get(reverse("api:resident_detail", args=[987654]))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


class TestResidentSearch:
    @pytest.fixture
    def people(self, db) -> dict[str, Any]:
        return {
            "yamada": ResidentFactory(
                address_number="300001", name="山田 太郎", name_kana="ヤマダ　タロウ",
                birth_date=date(1970, 5, 1),
            ),
            "yamaguchi": ResidentFactory(
                address_number="300002", name="山口 花子", name_kana="ヤマグチ　ハナコ",
                birth_date=date(1985, 1, 15),
            ),
            "tanaka": ResidentFactory(
                address_number="300003", name="田中 一郎", name_kana="タナカ　イチロウ",
                birth_date=date(1970, 5, 1),
            ),
        }

    @staticmethod
    def ids(response: Any) -> set[int]:
        return {row["id"] for row in response.json()["results"]}

    @pytest.mark.parametrize("kana", ["ヤマ", "ﾔﾏ", "やま", "ヤマ "])
    def test_by_kana_prefix_whatever_the_width_or_script(self, staff_client, people, kana):
        response = search(staff_client, kana=kana)
        assert response.status_code == 200
        assert self.ids(response) == {people["yamada"].pk, people["yamaguchi"].pk}
        assert response.json()["count"] == 2

    def test_kana_matches_only_as_a_prefix(self, staff_client, people):
        assert search(staff_client, kana="タロウ").json()["count"] == 0

    def test_kana_across_the_space_between_family_and_given_name(self, staff_client, people):
        assert self.ids(search(staff_client, kana="ヤマダタ")) == {people["yamada"].pk}

    def test_by_my_number_exactly(self, staff_client, people, db):
        my_number = new_my_number()
        target = ResidentFactory(name_kana="バンゴウ　ケンサク", my_number=my_number)
        response = search(staff_client, my_number=my_number)
        assert response.status_code == 200
        assert self.ids(response) == {target.pk}
        assert response.json()["results"][0]["my_number_masked"] == "********" + my_number[-4:]
        assert my_number not in response.content.decode()

    def test_my_number_as_written_on_forms_full_width_and_spaced(self, staff_client, db):
        my_number = new_my_number()
        target = ResidentFactory(my_number=my_number)
        written = " ".join([my_number[:4], my_number[4:8], my_number[8:]]).translate(
            str.maketrans("0123456789", "０１２３４５６７８９")
        )
        assert self.ids(search(staff_client, my_number=written)) == {target.pk}

    def test_a_valid_number_nobody_holds_finds_nothing(self, staff_client, people):
        assert search(staff_client, my_number=new_my_number()).json()["count"] == 0

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("123456789019", "個人番号の検査用数字が一致しません。"),
            ("12345678901", "個人番号は12桁です（入力は11桁）。"),
            ("1234567890180", "個人番号は12桁です（入力は13桁）。"),
            ("12345678901A", "個人番号は数字12桁で入力してください。"),
        ],
    )
    def test_an_invalid_my_number_is_400_without_echoing_the_value(self, staff_client, people, value,
                                                                   message):
        response = search(staff_client, my_number=value)
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert error["fields"] == {"my_number": [message]}
        assert value not in response.content.decode()

    def test_full_width_digits_with_a_wrong_check_digit_are_refused(self, staff_client, people):
        response = search(staff_client, my_number="１２３４５６７８９０１９")
        assert response.status_code == 400
        assert response.json()["error"]["fields"]["my_number"] == ["個人番号の検査用数字が一致しません。"]

    def test_by_birth_date_in_era_form(self, staff_client, people):
        response = search(staff_client, birth_date="昭和45年5月1日")
        assert self.ids(response) == {people["yamada"].pk, people["tanaka"].pk}

    def test_criteria_combine(self, staff_client, people):
        assert self.ids(search(staff_client, birth_date="1970-05-01", kana="タナカ")) == {people["tanaka"].pk}

    def test_by_address_number_and_by_name(self, staff_client, people):
        assert self.ids(search(staff_client, address_number="300002")) == {people["yamaguchi"].pk}
        assert self.ids(search(staff_client, name="田中")) == {people["tanaka"].pk}

    def test_an_invalid_date_is_a_field_error(self, staff_client, people):
        response = search(staff_client, birth_date="令和7年2月30日")
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"birth_date": ["2025年2月30日は存在しない日付です。"]}

    def test_no_criteria_is_400(self, staff_client, people):
        response = search(staff_client, kana="  ", limit=10)
        assert response.status_code == 400
        expected = {"non_field_errors": ["検索条件を1つ以上入力してください。"]}
        assert response.json()["error"]["fields"] == expected

    def test_limit_and_offset_page_through_the_matches(self, staff_client, db):
        made = [ResidentFactory(name_kana=f"ページ　{'アイウエオ'[i]}") for i in range(5)]
        first = search(staff_client, kana="ページ", limit=2, offset=0).json()
        second = search(staff_client, kana="ページ", limit=2, offset=2).json()
        assert (first["count"], first["limit"], first["offset"]) == (5, 2, 0)
        assert [r["id"] for r in first["results"]] == [made[0].pk, made[1].pk]
        assert [r["id"] for r in second["results"]] == [made[2].pk, made[3].pk]

    def test_limit_is_capped(self, staff_client, people):
        response = search(staff_client, kana="ヤマ", limit=101)
        assert response.status_code == 400
        assert "limit" in response.json()["error"]["fields"]

    def test_unknown_items_are_refused_without_echoing_values(self, staff_client, people):
        my_number = new_my_number()
        response = search(staff_client, kana="ヤマ", phone="048-000-0000", **{my_number: "x"})
        assert response.status_code == 400
        messages = response.json()["error"]["fields"]["non_field_errors"]
        assert messages == ["受け付けない項目が含まれています。（phone）"]
        assert my_number not in response.content.decode()

    def test_results_carry_the_summary_items(self, staff_client, people):
        row = search(staff_client, address_number="300001").json()["results"][0]
        assert row == {
            "id": people["yamada"].pk, "address_number": "300001",
            "my_number_masked": people["yamada"].my_number_masked, "name": "山田 太郎",
            "name_kana": "ヤマダ　タロウ", "sex": 2, "birth_date": "1970-05-01",
            "address": "埼玉県越谷市東越谷十丁目31番地", "residency_status": "resident", "is_protected": False,
        }
