"""Each rule of a vaccination record, through the service (the path forms, API and imports use), and
the database constraints that hold even when the service is bypassed."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Role
from records.models import ExaminationCategory, RecordSource, VaccinationRecord
from records.services import (
    vaccination_record_create,
    vaccination_record_delete,
    vaccination_record_update,
)
from tests.factories import ResidentFactory, UserFactory, record_kwargs

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return UserFactory(with_role=Role.STAFF)


@pytest.fixture
def resident():
    return ResidentFactory(birth_date=date(1960, 4, 1))


def errors_of(excinfo) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def create(actor, resident, **overrides):
    return vaccination_record_create(actor=actor, **record_kwargs(resident, **overrides))


def test_valid_record_is_created_with_actor_and_source(actor, resident):
    record = create(actor, resident)
    assert record.created_by == actor and record.updated_by == actor
    assert record.source == RecordSource.MANUAL
    assert record.lot_number == "AB12-345"


def test_future_vaccination_date_is_rejected(actor, resident):
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, vaccinated_on=tomorrow, billing_month=tomorrow.replace(day=1))
    assert "vaccinated_on" in errors_of(excinfo)


def test_today_is_accepted(actor, resident):
    today = timezone.localdate()
    assert create(actor, resident, vaccinated_on=today).pk


def test_vaccination_before_birth_is_rejected(actor):
    resident = ResidentFactory(birth_date=date(2025, 11, 20))
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, vaccinated_on=date(2025, 11, 19), age_at_vaccination=0)
    assert "vaccinated_on" in errors_of(excinfo)


@pytest.mark.parametrize(
    ("birth", "vaccinated_on", "wrong_age"),
    [
        (date(1960, 4, 1), date(2025, 3, 31), 65),  # one day before the 65th birthday: still 64
        (date(1960, 4, 1), date(2025, 4, 1), 64),  # on the birthday: already 65
        (date(2000, 2, 29), date(2025, 2, 28), 25),  # 29 Feb birth, common year: 24 on 28 Feb
        (date(2000, 2, 29), date(2025, 3, 1), 24),  # ... and 25 on 1 March
    ],
)
def test_age_must_equal_the_legal_age(actor, birth, vaccinated_on, wrong_age):
    resident = ResidentFactory(birth_date=birth)
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, vaccinated_on=vaccinated_on, age_at_vaccination=wrong_age)
    assert "age_at_vaccination" in errors_of(excinfo)
    # The right age is accepted.
    assert create(actor, resident, vaccinated_on=vaccinated_on).pk


def test_billing_month_before_vaccination_month_is_rejected(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, vaccinated_on=date(2025, 11, 10), billing_month=date(2025, 10, 1))
    assert "billing_month" in errors_of(excinfo)


def test_billing_month_later_than_vaccination_is_fine(actor, resident):
    assert create(actor, resident, vaccinated_on=date(2025, 11, 30), billing_month=date(2026, 1, 1)).pk


def test_billing_month_must_be_a_first_of_month(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, billing_month=date(2025, 11, 15))
    assert "billing_month" in errors_of(excinfo)


def test_screening_only_requires_zero_dose(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, examination_category=ExaminationCategory.SCREENING_ONLY,
               vaccinating_doctor="", lot_number="", dose_ml=Decimal("0.50"))
    assert "dose_ml" in errors_of(excinfo)


def test_screening_only_forbids_a_vaccinating_doctor(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, examination_category=ExaminationCategory.SCREENING_ONLY,
               dose_ml=Decimal("0"), lot_number="")
    assert "vaccinating_doctor" in errors_of(excinfo)


def test_screening_only_valid(actor, resident):
    record = create(actor, resident, examination_category=ExaminationCategory.SCREENING_ONLY,
                    dose_ml=Decimal("0"), vaccinating_doctor="", lot_number="")
    assert record.dose_ml == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("vaccinating_doctor", ""), ("dose_ml", Decimal("0")), ("lot_number", "")],
)
def test_vaccinated_needs_doctor_dose_and_lot(actor, resident, field, value):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, **{field: value})
    assert field in errors_of(excinfo)


@pytest.mark.parametrize("lot", ["ab-1", "AB 12", "AB_12", "-AB", "ＡＢ１"])
def test_lot_number_format(actor, resident, lot):
    # lower case is upper-cased by the service; everything else outside [A-Z0-9-] is refused
    if lot == "ab-1":
        assert create(actor, resident, lot_number=lot).lot_number == "AB-1"
        return
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, lot_number=lot)
    assert "lot_number" in errors_of(excinfo)


def test_negative_fee_is_rejected(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, fee_yen=-1)
    assert "fee_yen" in errors_of(excinfo)


def test_clinic_required_unless_before_move_in(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, clinic=None)
    assert "clinic" in errors_of(excinfo)


def test_before_move_in_needs_a_place_text(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        vaccination_record_create(actor=actor, **{**record_kwargs(resident), "clinic": None, "before_move_in": True})
    assert "place_text" in errors_of(excinfo)
    record = vaccination_record_create(
        actor=actor,
        **{**record_kwargs(resident), "clinic": None, "before_move_in": True, "place_text": "さいたま市 ○○医院"},
    )
    assert record.clinic is None


def test_invalid_codes_are_rejected(actor, resident):
    with pytest.raises(ValidationError) as excinfo:
        create(actor, resident, examination_category=3, payment_category=3)
    assert {"examination_category", "payment_category"} <= set(errors_of(excinfo))


def test_same_event_twice_is_refused_with_a_message(actor, resident):
    kwargs = record_kwargs(resident)
    vaccination_record_create(actor=actor, **kwargs)
    with pytest.raises(ValidationError) as excinfo:
        vaccination_record_create(actor=actor, **kwargs)
    assert "同じ接種記録" in str(excinfo.value)
    assert VaccinationRecord.objects.filter(resident=resident).count() == 1


def test_update_applies_rules_and_records_the_editor(actor, resident):
    record = create(actor, resident)
    editor = UserFactory(with_role=Role.STAFF)
    updated = vaccination_record_update(actor=editor, record=record, data={"lot_number": "zz-9", "fee_yen": 3000})
    assert (updated.lot_number, updated.fee_yen) == ("ZZ-9", 3000)
    assert (updated.updated_by, updated.created_by) == (editor, actor)
    with pytest.raises(ValidationError) as excinfo:
        vaccination_record_update(actor=editor, record=record, data={"age_at_vaccination": 30})
    assert "age_at_vaccination" in errors_of(excinfo)
    record.refresh_from_db()
    assert record.age_at_vaccination == 65


def test_update_refuses_fields_outside_the_16_items(actor, resident):
    record = create(actor, resident)
    other = ResidentFactory()
    with pytest.raises(ValidationError):
        vaccination_record_update(actor=actor, record=record, data={"resident": other})
    with pytest.raises(ValidationError):
        vaccination_record_update(actor=actor, record=record, data={"created_by": UserFactory()})


def test_delete_needs_a_reason(actor, resident):
    record = create(actor, resident)
    with pytest.raises(ValidationError):
        vaccination_record_delete(actor=actor, record=record, reason="  ")
    vaccination_record_delete(actor=actor, record=record, reason="二重入力")
    assert not VaccinationRecord.objects.filter(pk=record.pk).exists()


# --- Database constraints: hold even when the service (and full_clean) is bypassed -----------------

def _raw(resident, actor, **overrides) -> VaccinationRecord:
    data = record_kwargs(resident, **overrides)
    return VaccinationRecord(created_by=actor, updated_by=actor, **data)


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"examination_category": 2, "dose_ml": Decimal("0.5"), "vaccinating_doctor": "", "lot_number": ""},
         "record_screening_only_no_dose"),
        ({"vaccinating_doctor": ""}, "record_vaccinated_has_dose_and_doctor"),
        ({"clinic": None}, "record_clinic_unless_before_move_in"),
        ({"clinic": None, "before_move_in": True, "place_text": ""}, "record_has_place"),
    ],
)
def test_database_constraints(actor, resident, overrides, constraint):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        _raw(resident, actor, **overrides).save()
    assert constraint in str(excinfo.value) or "CHECK constraint failed" in str(excinfo.value)


def test_unique_event_constraint_in_the_database(actor, resident):
    _raw(resident, actor).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _raw(resident, actor).save()
