"""The vaccination-record endpoints: history, create and correct through the same services as the forms,
with ISO dates out, every accepted date form in, 請求年月 as YYYY-MM, and per-field Japanese errors."""

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from records.models import RecordSource, VaccinationRecord
from tests.factories import (
    ClinicFactory,
    ResidentFactory,
    UserFactory,
    VaccinationRecordFactory,
    VaccineFactory,
)

BIRTH = date(1960, 4, 1)
DATE_FORMAT_MESSAGE = "日付の形式が不正です（例: 2025-04-01、20250401、令和7年4月1日、R7.4.1）。"
YEAR_MONTH_MESSAGE = "年月の形式が不正です（例: 2025-04、202504、令和7年4月、R7.4）。"
UNKNOWN_ITEMS = "受け付けない項目が含まれています。"


def age_message(age: int) -> str:
    return f"接種時年齢が接種日時点の年齢（{age}歳）と一致しません。"


@pytest.fixture
def resident(db) -> Any:
    return ResidentFactory(name_kana="キロク　ハナコ", birth_date=BIRTH)


@pytest.fixture
def clinic(db) -> Any:
    return ClinicFactory(code="1199000001", name="越谷記録クリニック")


@pytest.fixture
def vaccine(db) -> Any:
    return VaccineFactory(code="FLU25", name="新型インフルエンザワクチン", maker="越谷製薬")


def body(clinic: Any, vaccine: Any, /, **overrides: Any) -> dict[str, Any]:
    data = {
        "vaccinated_on": "2025-11-10", "clinic": clinic.code, "age_at_vaccination": 65,
        "billing_month": "2025-11", "examination_category": 1, "lot_number": "AB12-345",
        "vaccine": vaccine.code, "screening_doctor": "予診 一郎", "vaccinating_doctor": "接種 次郎",
        "payment_category": 1, "fee_yen": 3520, "dose_ml": "0.50",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def post(client: Any, resident: Any, data: dict[str, Any]) -> Any:
    return client.post(reverse("api:resident_records", args=[resident.pk]), data=json.dumps(data),
                       content_type="application/json")


def patch(client: Any, record: Any, data: dict[str, Any]) -> Any:
    return client.patch(reverse("api:record_detail", args=[record.pk]), data=json.dumps(data),
                        content_type="application/json")


def fields(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    return error["fields"]


class TestHistory:
    def test_lists_the_residents_records_newest_first_in_api_formats(self, staff_client, resident, clinic,
                                                                     vaccine):
        older = VaccinationRecordFactory(resident=resident, vaccinated_on=date(2024, 11, 5), clinic=clinic,
                                         vaccine=vaccine)
        newer = VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 11, 10), clinic=clinic,
                                         vaccine=vaccine, billing_month=date(2025, 12, 1))
        VaccinationRecordFactory(resident=ResidentFactory())  # someone else's
        response = staff_client.get(reverse("api:resident_records", args=[resident.pk]))
        assert response.status_code == 200
        page = response.json()
        assert page["count"] == 2
        assert [r["id"] for r in page["results"]] == [newer.pk, older.pk]
        first = page["results"][0]
        assert first["vaccinated_on"] == "2025-11-10"
        assert first["billing_month"] == "2025-12"
        assert first["clinic"] == {"code": "1199000001", "name": "越谷記録クリニック"}
        assert first["vaccine"] == {
            "code": "FLU25", "name": "新型インフルエンザワクチン", "maker": "越谷製薬",
        }
        assert first["dose_ml"] == "0.50"
        assert first["resident"] == resident.pk
        assert first["source"] == "manual"

    def test_limit_and_offset_query_parameters(self, staff_client, resident):
        for day in (1, 2, 3):
            VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 10, day))
        url = reverse("api:resident_records", args=[resident.pk])
        page = staff_client.get(url, {"limit": 1, "offset": 1})
        assert page.json()["count"] == 3
        assert [r["vaccinated_on"] for r in page.json()["results"]] == ["2025-10-02"]

    def test_history_of_an_unknown_resident_is_404(self, staff_client, db):
        assert staff_client.get(reverse("api:resident_records", args=[424242])).status_code == 404


class TestRecordDetail:
    def test_one_record(self, staff_client, resident):
        record = VaccinationRecordFactory(resident=resident, remarks1="備考あり")
        response = staff_client.get(reverse("api:record_detail", args=[record.pk]))
        assert response.status_code == 200
        assert response.json()["id"] == record.pk
        assert response.json()["remarks1"] == "備考あり"
        assert response.json()["created_by"] == record.created_by.username

    def test_unknown_record_is_404(self, staff_client, db):
        assert staff_client.get(reverse("api:record_detail", args=[31337])).status_code == 404


class TestCreate:
    def test_creates_through_the_service(self, staff_client, staff_user, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, remarks2="API"))
        assert response.status_code == 201, response.content
        record = VaccinationRecord.objects.get(pk=response.json()["id"])
        assert record.resident == resident
        assert (record.vaccinated_on, record.billing_month) == (date(2025, 11, 10), date(2025, 11, 1))
        assert (record.clinic, record.vaccine) == (clinic, vaccine)
        assert record.dose_ml == Decimal("0.50")
        assert record.source == RecordSource.MANUAL
        assert record.created_by == staff_user == record.updated_by
        assert response.json()["vaccinated_on"] == "2025-11-10"
        assert response.json()["billing_month"] == "2025-11"
        assert response.json()["remarks2"] == "API"

    @pytest.mark.parametrize(
        "written",
        [
            "2025-11-10", "2025/11/10", "20251110", "令和7年11月10日", "R7.11.10", "R07/11/10",
            "２０２５－１１－１０",
        ],
    )
    def test_every_accepted_date_form(self, staff_client, resident, clinic, vaccine, written):
        response = post(staff_client, resident, body(clinic, vaccine, vaccinated_on=written))
        assert response.status_code == 201, response.content
        assert response.json()["vaccinated_on"] == "2025-11-10"

    def test_lot_number_is_stored_upper_case(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, lot_number="ab12-345"))
        assert response.json()["lot_number"] == "AB12-345"

    def test_screening_only_without_dose_or_doctor(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, examination_category=2, dose_ml="0",
                                                     vaccinating_doctor="", lot_number=""))
        assert response.status_code == 201, response.content
        assert response.json()["examination_category"] == 2

    def test_a_dose_before_moving_in_has_a_place_instead_of_a_clinic(self, staff_client, resident, vaccine):
        place = "東京都千代田区 ○○医院"
        data = body(ClinicFactory(), vaccine, clinic=None, before_move_in=True, place_text=place)
        response = post(staff_client, resident, data)
        assert response.status_code == 201, response.content
        assert response.json()["clinic"] is None
        assert response.json()["place_text"] == place

    def test_age_mismatch(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, age_at_vaccination=64))
        assert fields(response) == {"age_at_vaccination": [age_message(65)]}
        assert not VaccinationRecord.objects.exists()

    def test_screening_only_with_a_dose(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, examination_category=2,
                                                     vaccinating_doctor=""))
        assert fields(response) == {"dose_ml": ["予診のみの場合、接種量は0です。"]}

    def test_screening_only_with_a_vaccinating_doctor(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, examination_category=2, dose_ml="0"))
        assert fields(response) == {"vaccinating_doctor": ["予診のみの場合、接種医師名は空欄です。"]}

    def test_a_future_date(self, staff_client, resident, clinic, vaccine):
        tomorrow = timezone.localdate() + timedelta(days=1)
        age = tomorrow.year - BIRTH.year - (1 if (tomorrow.month, tomorrow.day) < (4, 1) else 0)
        response = post(staff_client, resident, body(
            clinic, vaccine, vaccinated_on=tomorrow.isoformat(), age_at_vaccination=age,
            billing_month=f"{tomorrow:%Y-%m}",
        ))
        assert fields(response) == {"vaccinated_on": ["接種日が未来の日付です。"]}

    def test_billing_before_the_vaccination_month(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, billing_month="2025-10"))
        assert fields(response) == {"billing_month": ["請求年月が接種月より前です。"]}

    def test_a_duplicate_is_a_non_field_error(self, staff_client, resident, clinic, vaccine):
        assert post(staff_client, resident, body(clinic, vaccine)).status_code == 201
        response = post(staff_client, resident, body(clinic, vaccine, lot_number="ZZ-1"))
        errors = fields(response)
        assert list(errors) == ["non_field_errors"]
        assert errors["non_field_errors"]
        assert VaccinationRecord.objects.count() == 1

    @pytest.mark.parametrize(
        ("override", "field", "message"),
        [
            ({"vaccinated_on": "2025-13-01"}, "vaccinated_on", "月が不正です（13月）。"),
            ({"vaccinated_on": "10 Nov 2025"}, "vaccinated_on", DATE_FORMAT_MESSAGE),
            ({"vaccinated_on": "平成31年5月1日"}, "vaccinated_on", "平成31年5月1日は平成の期間外です。"),
            ({"billing_month": "令和7年"}, "billing_month", YEAR_MONTH_MESSAGE),
            ({"billing_month": "2025-13"}, "billing_month", "月が不正です（13月）。"),
            ({"clinic": "9999999999"}, "clinic", "この医療機関コードは登録されていません。"),
            ({"vaccine": "NOPE"}, "vaccine", "このワクチンコードは登録されていません。"),
            ({"examination_category": 3}, "examination_category", "診察区分は1（接種）か2（予診のみ）です。"),
            ({"payment_category": 0}, "payment_category", "公費自費区分は1（公費）か2（自費）です。"),
            ({"lot_number": "ab 12"}, "lot_number", "LOT-NOは英大文字・数字・ハイフンで入力してください。"),
            ({"fee_yen": -1}, "fee_yen", None),
            ({"screening_doctor": ...}, "screening_doctor", "この項目は必須です。"),
        ],
    )
    def test_field_errors_in_japanese(self, staff_client, resident, clinic, vaccine, override, field,
                                      message):
        response = post(staff_client, resident, body(clinic, vaccine, **override))
        errors = fields(response)
        assert list(errors) == [field]
        if message is not None:
            assert errors[field] == [message]
        else:
            assert errors[field][0].isascii() is False  # a Japanese message, not DRF's English default

    def test_unknown_items_are_refused(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, body(clinic, vaccine, source="linkage", created_by=1))
        assert fields(response) == {"non_field_errors": [UNKNOWN_ITEMS + "（created_by, source）"]}
        assert not VaccinationRecord.objects.exists()

    def test_a_json_array_is_refused(self, staff_client, resident, clinic, vaccine):
        response = post(staff_client, resident, [body(clinic, vaccine)])  # type: ignore[arg-type]
        assert response.status_code == 400

    def test_for_an_unknown_resident_is_404(self, staff_client, clinic, vaccine, db):
        response = staff_client.post(reverse("api:resident_records", args=[777777]),
                                     data=json.dumps(body(clinic, vaccine)), content_type="application/json")
        assert response.status_code == 404


class TestCorrect:
    @pytest.fixture
    def record(self, resident, clinic, vaccine) -> VaccinationRecord:
        return VaccinationRecordFactory(resident=resident, clinic=clinic, vaccine=vaccine,
                                        vaccinated_on=date(2025, 11, 10))

    def test_changes_only_the_items_sent(self, staff_client, staff_user, record):
        creator = record.created_by
        response = patch(staff_client, record, {"lot_number": "cd-99", "billing_month": "2025-12",
                                                "remarks3": "訂正: LOT誤記"})
        assert response.status_code == 200, response.content
        record.refresh_from_db()
        assert (record.lot_number, record.billing_month, record.remarks3) == (
            "CD-99", date(2025, 12, 1), "訂正: LOT誤記")
        assert record.vaccinated_on == date(2025, 11, 10)
        assert record.created_by == creator
        assert record.updated_by == staff_user
        assert response.json()["billing_month"] == "2025-12"
        assert response.json()["updated_by"] == staff_user.username

    def test_date_in_era_form(self, staff_client, record):
        response = patch(staff_client, record, {"vaccinated_on": "R7.11.9"})
        assert response.status_code == 200, response.content
        assert response.json()["vaccinated_on"] == "2025-11-09"

    def test_age_mismatch_after_moving_the_date_across_a_birthday(self, staff_client, record):
        response = patch(staff_client, record, {"vaccinated_on": "2025-03-31"})
        assert fields(response) == {"age_at_vaccination": [age_message(64)]}
        record.refresh_from_db()
        assert record.vaccinated_on == date(2025, 11, 10)

    def test_screening_only_with_the_dose_left_in(self, staff_client, record):
        response = patch(staff_client, record, {"examination_category": 2, "vaccinating_doctor": ""})
        assert fields(response) == {"dose_ml": ["予診のみの場合、接種量は0です。"]}

    def test_a_future_date(self, staff_client, record):
        far = timezone.localdate() + timedelta(days=400)
        response = patch(staff_client, record, {"vaccinated_on": far.isoformat()})
        assert "接種日が未来の日付です。" in fields(response)["vaccinated_on"]

    def test_correcting_into_a_duplicate_is_a_non_field_error(self, staff_client, record, resident, clinic,
                                                              vaccine):
        other = VaccinationRecordFactory(resident=resident, clinic=clinic, vaccine=vaccine,
                                         vaccinated_on=date(2025, 11, 3))
        response = patch(staff_client, other, {"vaccinated_on": "2025-11-10"})
        assert list(fields(response)) == ["non_field_errors"]
        other.refresh_from_db()
        assert other.vaccinated_on == date(2025, 11, 3)

    def test_the_resident_and_source_cannot_be_changed(self, staff_client, record, resident):
        response = patch(staff_client, record, {"resident": ResidentFactory().pk, "source": "linkage"})
        assert fields(response) == {"non_field_errors": [UNKNOWN_ITEMS + "（resident, source）"]}
        record.refresh_from_db()
        assert (record.resident, record.source) == (resident, RecordSource.MANUAL)

    def test_an_empty_correction_is_refused(self, staff_client, record):
        before = record.updated_at
        response = patch(staff_client, record, {})
        assert fields(response) == {"non_field_errors": ["変更する項目を指定してください。"]}
        record.refresh_from_db()
        assert record.updated_at == before

    def test_an_unknown_record_is_404(self, staff_client, db):
        response = staff_client.patch(reverse("api:record_detail", args=[55555]), data="{}",
                                      content_type="application/json")
        assert response.status_code == 404

    def test_the_correction_is_audited_with_the_actor(self, staff_client, staff_user, record):
        from audit.models import AuditLogEntry

        assert patch(staff_client, record, {"remarks1": "監査確認"}).status_code == 200
        entries = AuditLogEntry.objects.get_for_object(record)
        entry = entries.filter(action=AuditLogEntry.Action.UPDATE).first()
        assert entry is not None
        assert entry.actor == staff_user
        assert "remarks1" in entry.changes_dict


def test_another_staff_member_may_correct_a_record(client_for, resident):
    from accounts.roles import Role

    record = VaccinationRecordFactory(resident=resident)
    colleague = UserFactory(with_role=Role.STAFF)
    response = patch(client_for(colleague), record, {"remarks1": "同僚が訂正"})
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.updated_by == colleague
