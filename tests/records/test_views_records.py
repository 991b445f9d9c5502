"""Registering and correcting vaccination records through the browser forms: every accepted input form,
every record rule shown under the field it concerns, and who may reach the forms."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from records.models import RecordSource, Resident, VaccinationRecord
from tests.factories import (
    ClinicFactory,
    ResidentFactory,
    UserFactory,
    VaccinationRecordFactory,
    VaccineFactory,
)


@pytest.fixture
def actor(db):
    return UserFactory(username="registrar", with_role=Role.STAFF)


@pytest.fixture
def resident(actor) -> Resident:
    return ResidentFactory(actor=actor, birth_date=date(1960, 4, 1))


@pytest.fixture
def clinic(db):
    return ClinicFactory(code="1112345678", name="越谷駅前内科クリニック")


@pytest.fixture
def vaccine(db):
    return VaccineFactory(code="PFLU1", name="沈降新型インフルエンザワクチン", maker="越谷製薬")


def create_url(resident: Resident) -> str:
    return reverse("records:record_create", args=[resident.pk])


def update_url(record: VaccinationRecord) -> str:
    return reverse("records:record_update", args=[record.pk])


def form_data(clinic, vaccine, **overrides) -> dict[str, str]:
    """A valid submission for the 1960-04-01 resident: vaccinated 2025-11-10 at age 65."""
    data = {
        "vaccinated_on": "2025-11-10",
        "clinic": str(clinic.pk) if clinic else "",
        "place_text": "",
        "age_at_vaccination": "65",
        "billing_month": "2025-11",
        "examination_category": "1",
        "vaccine": str(vaccine.pk),
        "lot_number": "AB12-345",
        "dose_ml": "0.50",
        "screening_doctor": "予診 一郎",
        "vaccinating_doctor": "接種 次郎",
        "payment_category": "1",
        "fee_yen": "3520",
        "remarks1": "",
        "remarks2": "",
        "remarks3": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def error_under(response, field: str, message: str) -> None:
    """``message`` is on the form field ``field`` and is rendered between that field's label and the next
    field's label (so the user sees it under the right item)."""
    errors = response.context["form"].errors
    assert any(message in error for error in errors.get(field, [])), errors
    html = response.content.decode()
    block = html.split(f'for="id_{field}"', 1)[1].split("<label ", 1)[0]
    assert message in block


def non_field_error(response, message: str) -> None:
    assert any(message in error for error in response.context["form"].non_field_errors())
    assert message in response.content.decode()


# --- create ------------------------------------------------------------------------------------


def test_create_form_offers_active_clinics_by_code_and_name_and_the_age_help(
    staff_client, resident, clinic, vaccine
):
    ClinicFactory(code="1199999999", name="閉院した医院", is_active=False)
    html = staff_client.get(create_url(resident)).content.decode()
    assert "1112345678 越谷駅前内科クリニック" in html
    assert "閉院した医院" not in html
    assert "PFLU1 沈降新型インフルエンザワクチン" in html
    assert "接種日時点の年齢は自動計算されます" in html
    assert 'name="before_move_in"' in html and 'type="checkbox"' in html
    assert resident.name in html


def test_create_registers_the_record_and_returns_to_the_resident(
    staff_client, staff_user, resident, clinic, vaccine
):
    data = form_data(clinic, vaccine, lot_number="kx-01", remarks1="左上腕", dose_ml="0.5")
    response = staff_client.post(create_url(resident), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("records:resident_detail", args=[resident.pk])
    record = VaccinationRecord.objects.get(resident=resident)
    assert record.vaccinated_on == date(2025, 11, 10)
    assert record.clinic == clinic
    assert record.vaccine == vaccine
    assert record.age_at_vaccination == 65
    assert record.billing_month == date(2025, 11, 1)
    assert record.lot_number == "KX-01"
    assert record.dose_ml == Decimal("0.50")
    assert record.fee_yen == 3520
    assert record.remarks1 == "左上腕"
    assert record.source == RecordSource.MANUAL
    assert record.created_by == staff_user and record.updated_by == staff_user
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["接種記録を登録しました。"]
    page = staff_client.get(response["Location"]).content.decode()
    assert "接種記録を登録しました。" in page
    assert "KX-01" in page


@pytest.mark.parametrize(
    ("vaccinated_on", "billing_month"),
    [
        ("2025-11-10", "2025-11"),
        ("2025/11/10", "2025/11"),
        ("20251110", "202511"),
        ("令和7年11月10日", "令和7年11月"),
        ("R7.11.10", "R7.11"),
        ("R07/11/10", "R07/11"),
        ("2025-11-10", "2025-11-25"),
        ("２０２５－１１－１０", "令和７年１１月"),
    ],
)
def test_dates_are_accepted_in_every_form(
    staff_client, resident, clinic, vaccine, vaccinated_on, billing_month
):
    data = form_data(clinic, vaccine, vaccinated_on=vaccinated_on, billing_month=billing_month)
    response = staff_client.post(create_url(resident), data)
    assert response.status_code == 302, response.context["form"].errors
    record = VaccinationRecord.objects.get(resident=resident)
    assert (record.vaccinated_on, record.billing_month) == (date(2025, 11, 10), date(2025, 11, 1))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vaccinated_on", "2025-02-30", "存在しない日付"),
        ("vaccinated_on", "11月10日", "日付の形式が不正です"),
        ("billing_month", "2025-13", "月が不正です"),
        ("billing_month", "令和元年4月", "令和の期間外"),
    ],
)
def test_unreadable_dates_are_reported_under_their_field(
    staff_client, resident, clinic, vaccine, field, value, message
):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, **{field: value}))
    assert response.status_code == 200
    error_under(response, field, message)
    assert not VaccinationRecord.objects.exists()


def test_an_empty_age_is_filled_with_the_legal_age(staff_client, resident, clinic, vaccine):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, age_at_vaccination=""))
    assert response.status_code == 302
    assert VaccinationRecord.objects.get(resident=resident).age_at_vaccination == 65


# --- every rule, under the right field ----------------------------------------------------------


def test_future_date_is_refused_under_vaccination_date(staff_client, resident, clinic, vaccine):
    tomorrow = timezone.localdate() + timedelta(days=1)
    data = form_data(
        clinic,
        vaccine,
        vaccinated_on=tomorrow.isoformat(),
        age_at_vaccination="",
        billing_month=tomorrow.strftime("%Y-%m"),
    )
    response = staff_client.post(create_url(resident), data)
    error_under(response, "vaccinated_on", "接種日が未来の日付です。")
    assert not VaccinationRecord.objects.exists()


def test_today_is_accepted(staff_client, resident, clinic, vaccine):
    today = timezone.localdate()
    data = form_data(
        clinic,
        vaccine,
        vaccinated_on=today.isoformat(),
        age_at_vaccination="",
        billing_month=today.strftime("%Y-%m"),
    )
    assert staff_client.post(create_url(resident), data).status_code == 302


@pytest.mark.parametrize("age", ["0", ""])
def test_date_before_birth_is_refused_under_vaccination_date(staff_client, resident, clinic, vaccine, age):
    data = form_data(
        clinic, vaccine, vaccinated_on="1960-03-31", billing_month="1960-03", age_at_vaccination=age
    )
    response = staff_client.post(create_url(resident), data)
    error_under(response, "vaccinated_on", "接種日が生年月日")
    assert not VaccinationRecord.objects.exists()


@pytest.mark.parametrize("age", ["64", "66"])
def test_age_off_by_one_is_refused_under_age(staff_client, resident, clinic, vaccine, age):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, age_at_vaccination=age))
    error_under(response, "age_at_vaccination", "接種時年齢が接種日時点の年齢（65歳）と一致しません。")
    assert not VaccinationRecord.objects.exists()


@pytest.mark.parametrize(
    ("vaccinated_on", "right", "wrong"),
    [
        ("2025-02-28", 16, 17),  # common year: the 17th birthday falls on 1 March
        ("2025-03-01", 17, 16),
        ("2024-02-28", 15, 16),  # leap year: the birthday itself
        ("2024-02-29", 16, 15),
    ],
)
def test_age_for_a_29_february_birth(staff_client, actor, clinic, vaccine, vaccinated_on, right, wrong):
    leapling = ResidentFactory(actor=actor, birth_date=date(2008, 2, 29))
    month = vaccinated_on[:7]
    wrong_response = staff_client.post(
        create_url(leapling),
        form_data(
            clinic, vaccine, vaccinated_on=vaccinated_on, billing_month=month, age_at_vaccination=str(wrong)
        ),
    )
    error_under(wrong_response, "age_at_vaccination", f"接種日時点の年齢（{right}歳）と一致しません")
    right_response = staff_client.post(
        create_url(leapling),
        form_data(
            clinic, vaccine, vaccinated_on=vaccinated_on, billing_month=month, age_at_vaccination=str(right)
        ),
    )
    assert right_response.status_code == 302
    assert VaccinationRecord.objects.get(resident=leapling).age_at_vaccination == right


def test_billing_month_before_the_vaccination_month_is_refused(staff_client, resident, clinic, vaccine):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, billing_month="2025-10"))
    error_under(response, "billing_month", "請求年月が接種月より前です。")
    assert not VaccinationRecord.objects.exists()


def test_billing_in_a_later_month_is_accepted(staff_client, resident, clinic, vaccine):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, billing_month="令和8年1月"))
    assert response.status_code == 302
    assert VaccinationRecord.objects.get().billing_month == date(2026, 1, 1)


def test_screening_only_with_a_dose_is_refused_under_dose(staff_client, resident, clinic, vaccine):
    data = form_data(
        clinic, vaccine, examination_category="2", vaccinating_doctor="", lot_number="", dose_ml="0.50"
    )
    response = staff_client.post(create_url(resident), data)
    error_under(response, "dose_ml", "予診のみの場合、接種量は0です。")
    assert "vaccinating_doctor" not in response.context["form"].errors
    assert not VaccinationRecord.objects.exists()


def test_screening_only_with_a_vaccinating_doctor_is_refused_under_that_doctor(
    staff_client, resident, clinic, vaccine
):
    data = form_data(clinic, vaccine, examination_category="2", lot_number="", dose_ml="0")
    response = staff_client.post(create_url(resident), data)
    error_under(response, "vaccinating_doctor", "予診のみの場合、接種医師名は空欄です。")
    assert "dose_ml" not in response.context["form"].errors
    assert not VaccinationRecord.objects.exists()


def test_screening_only_without_dose_and_doctor_is_registered(staff_client, resident, clinic, vaccine):
    data = form_data(
        clinic, vaccine, examination_category="2", vaccinating_doctor="", lot_number="", dose_ml="0"
    )
    assert staff_client.post(create_url(resident), data).status_code == 302
    assert VaccinationRecord.objects.get().examination_category == 2


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vaccinating_doctor", "", "接種の場合、接種医師名は必須です。"),
        ("lot_number", "", "接種の場合、LOT-NOは必須です。"),
        ("dose_ml", "0", "接種の場合、接種量を入力してください。"),
        ("lot_number", "AB 12", "LOT-NOは英大文字・数字・ハイフンで入力してください。"),
    ],
)
def test_vaccinated_needs_doctor_lot_and_dose(staff_client, resident, clinic, vaccine, field, value, message):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, **{field: value}))
    error_under(response, field, message)
    assert not VaccinationRecord.objects.exists()


def test_no_clinic_without_before_move_in_is_refused_under_clinic(staff_client, resident, vaccine):
    response = staff_client.post(create_url(resident), form_data(None, vaccine, place_text="どこかの診療所"))
    error_under(response, "clinic", "接種場所（医療機関）を選択してください。")
    assert not VaccinationRecord.objects.exists()


def test_before_move_in_without_clinic_needs_the_place(staff_client, resident, vaccine):
    response = staff_client.post(create_url(resident), form_data(None, vaccine, before_move_in="on"))
    error_under(response, "place_text", "転入前接種の場合、接種場所を入力してください。")
    assert not VaccinationRecord.objects.exists()


def test_before_move_in_with_a_place_is_registered(staff_client, resident, vaccine):
    data = form_data(None, vaccine, before_move_in="on", place_text="大阪府大阪市 北区診療所")
    assert staff_client.post(create_url(resident), data).status_code == 302
    record = VaccinationRecord.objects.get()
    assert (record.before_move_in, record.clinic, record.place_text) == (
        True,
        None,
        "大阪府大阪市 北区診療所",
    )


def test_a_duplicate_event_is_a_non_field_error(staff_client, actor, resident, clinic, vaccine):
    VaccinationRecordFactory(
        resident=resident, actor=actor, clinic=clinic, vaccine=vaccine, vaccinated_on=date(2025, 11, 10)
    )
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, lot_number="OTHER-1"))
    assert response.status_code == 200
    non_field_error(response, "同じ接種記録（接種日・ワクチン・診察区分）が既に登録されています。")
    assert VaccinationRecord.objects.count() == 1


def test_required_items_are_reported(staff_client, resident, clinic, vaccine):
    data = form_data(clinic, vaccine, vaccinated_on="", screening_doctor="", fee_yen="") | {"vaccine": ""}
    response = staff_client.post(create_url(resident), data)
    for field in ("vaccinated_on", "screening_doctor", "fee_yen", "vaccine"):
        assert "この項目は必須です。" in response.context["form"].errors[field]
    assert not VaccinationRecord.objects.exists()


def test_a_negative_fee_is_refused(staff_client, resident, clinic, vaccine):
    response = staff_client.post(create_url(resident), form_data(clinic, vaccine, fee_yen="-1"))
    assert "fee_yen" in response.context["form"].errors
    assert not VaccinationRecord.objects.exists()


def test_an_inactive_clinic_cannot_be_chosen_for_a_new_record(staff_client, resident, vaccine):
    closed = ClinicFactory(code="1199999999", name="閉院した医院", is_active=False)
    response = staff_client.post(create_url(resident), form_data(closed, vaccine))
    assert "clinic" in response.context["form"].errors
    assert not VaccinationRecord.objects.exists()


# --- correct -----------------------------------------------------------------------------------


@pytest.fixture
def record(actor, resident, clinic, vaccine) -> VaccinationRecord:
    return VaccinationRecordFactory(
        resident=resident,
        actor=actor,
        clinic=clinic,
        vaccine=vaccine,
        vaccinated_on=date(2025, 11, 10),
        billing_month=date(2025, 12, 1),
    )


def test_update_form_is_prefilled(staff_client, record):
    html = staff_client.get(update_url(record)).content.decode()
    assert 'value="2025-11-10"' in html
    assert 'value="2025-12"' in html
    assert 'value="65"' in html
    assert 'value="AB12-345"' in html
    assert f'<option value="{record.clinic_id}" selected>' in html
    assert "接種記録の訂正" in html


def test_correcting_a_record_saves_the_change_and_names_the_corrector(
    staff_client, staff_user, actor, record, clinic, vaccine
):
    data = form_data(
        clinic, vaccine, billing_month="2025-12", lot_number="NEW-LOT-9", remarks2="訂正: LOT誤記"
    )
    response = staff_client.post(update_url(record), data)
    assert response.status_code == 302
    assert response["Location"] == reverse("records:resident_detail", args=[record.resident_id])
    record.refresh_from_db()
    assert record.lot_number == "NEW-LOT-9"
    assert record.remarks2 == "訂正: LOT誤記"
    assert record.created_by == actor
    assert record.updated_by == staff_user
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["接種記録を訂正しました。"]


def test_a_moved_date_with_the_old_age_is_refused_and_an_emptied_age_is_recomputed(
    staff_client, record, clinic, vaccine
):
    moved = form_data(clinic, vaccine, vaccinated_on="2025-03-31", billing_month="2025-12")
    error_under(staff_client.post(update_url(record), moved), "age_at_vaccination", "（64歳）と一致しません")
    record.refresh_from_db()
    assert record.vaccinated_on == date(2025, 11, 10)
    moved["age_at_vaccination"] = ""
    assert staff_client.post(update_url(record), moved).status_code == 302
    record.refresh_from_db()
    assert (record.vaccinated_on, record.age_at_vaccination) == (date(2025, 3, 31), 64)


def test_a_correction_breaking_a_rule_is_shown_under_the_field(staff_client, record, clinic, vaccine):
    response = staff_client.post(update_url(record), form_data(clinic, vaccine, billing_month="2025-10"))
    error_under(response, "billing_month", "請求年月が接種月より前です。")
    record.refresh_from_db()
    assert record.billing_month == date(2025, 12, 1)


def test_a_correction_into_a_duplicate_is_a_non_field_error(
    staff_client, actor, record, resident, clinic, vaccine
):
    VaccinationRecordFactory(
        resident=resident, actor=actor, clinic=clinic, vaccine=vaccine, vaccinated_on=date(2025, 11, 20)
    )
    response = staff_client.post(
        update_url(record), form_data(clinic, vaccine, vaccinated_on="2025-11-20", billing_month="2025-12")
    )
    non_field_error(response, "同じ接種記録（接種日・ワクチン・診察区分）が既に登録されています。")
    record.refresh_from_db()
    assert record.vaccinated_on == date(2025, 11, 10)


def test_an_unchanged_form_saves_nothing(staff_client, actor, record, clinic, vaccine):
    response = staff_client.post(update_url(record), form_data(clinic, vaccine, billing_month="2025-12"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.updated_by == actor
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "変更された項目がないため、保存しませんでした。"
    ]


def test_a_record_at_a_clinic_closed_since_can_still_be_corrected(staff_client, record, clinic, vaccine):
    type(clinic).objects.filter(pk=clinic.pk).update(is_active=False)
    html = staff_client.get(update_url(record)).content.decode()
    assert "1112345678 越谷駅前内科クリニック" in html
    response = staff_client.post(
        update_url(record), form_data(clinic, vaccine, billing_month="2025-12", remarks1="確認済")
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.clinic, record.remarks1) == (clinic, "確認済")


def test_unknown_record_is_404(staff_client):
    assert staff_client.get(reverse("records:record_update", args=[999999])).status_code == 404


def test_create_for_unknown_resident_is_404(staff_client):
    assert staff_client.get(reverse("records:record_create", args=[999999])).status_code == 404


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role_user", ["clinic_user", "auditor_user", "admin_user"])
def test_other_roles_cannot_register_or_correct(
    request, client_for, record, resident, clinic, vaccine, role_user
):
    client = client_for(request.getfixturevalue(role_user))
    assert client.get(create_url(resident)).status_code == 403
    assert (
        client.post(create_url(resident), form_data(clinic, vaccine, vaccinated_on="2025-11-11")).status_code
        == 403
    )
    assert client.get(update_url(record)).status_code == 403
    assert client.post(update_url(record), form_data(clinic, vaccine, lot_number="X-1")).status_code == 403
    assert VaccinationRecord.objects.count() == 1
    record.refresh_from_db()
    assert record.lot_number == "AB12-345"


def test_unverified_staff_cannot_register_or_correct(
    client_for, staff_user, record, resident, clinic, vaccine
):
    client = client_for(staff_user, verified=False)
    otp = reverse("accounts:otp_verify")
    assert (
        client.post(create_url(resident), form_data(clinic, vaccine, vaccinated_on="2025-11-11"))["Location"]
        == otp
    )
    assert client.post(update_url(record), form_data(clinic, vaccine, lot_number="X-1"))["Location"] == otp
    assert VaccinationRecord.objects.count() == 1


def test_staff_with_only_the_add_right_cannot_correct(client_for, record, resident, clinic, vaccine):
    from django.contrib.auth.models import Permission

    clerk = UserFactory(username="clerk")
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="records",
            codename__in=["view_resident", "add_vaccinationrecord"],
        )
    )
    client = client_for(clerk)
    assert client.get(create_url(resident)).status_code == 200
    assert client.get(update_url(record)).status_code == 403
    html = client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
    assert create_url(resident) in html
    assert update_url(record) not in html
