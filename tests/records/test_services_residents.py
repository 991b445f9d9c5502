from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from records.crypto import decrypt_my_number, my_number_blind_index
from records.models import ResidencyStatus, Resident
from records.selectors import ResidentQuery, resident_search
from records.services import resident_create
from tests.factories import ResidentFactory, UserFactory, new_my_number

pytestmark = pytest.mark.django_db


def base(**overrides):
    data = {
        "address_number": "500001", "name": "越谷 次郎", "name_kana": "ｺｼｶﾞﾔ ｼﾞﾛｳ", "sex": 1,
        "birth_date": date(1950, 1, 1), "address": "埼玉県越谷市越ヶ谷一丁目1番1号",
    }
    data.update(overrides)
    return data


def test_my_number_is_stored_encrypted_and_indexed():
    number = new_my_number()
    resident = resident_create(actor=UserFactory(), my_number=number, **base())
    row = Resident.objects.values("my_number_ciphertext", "my_number_index").get(pk=resident.pk)
    assert number not in row["my_number_ciphertext"]
    assert row["my_number_index"] == my_number_blind_index(number)
    assert decrypt_my_number(row["my_number_ciphertext"]) == number
    assert resident.my_number_masked == "********" + number[-4:]
    assert number not in str(resident)


@pytest.mark.parametrize("bad", ["12345678901", "1234567890180", "123456789017", "12345678901x", "ABCDEFGHIJKL"])
def test_invalid_my_numbers_are_rejected_without_echo(bad):
    with pytest.raises(ValidationError) as excinfo:
        resident_create(actor=UserFactory(), my_number=bad, **base())
    assert "my_number" in excinfo.value.message_dict
    assert bad not in str(excinfo.value)
    assert not Resident.objects.exists()


def test_full_width_my_number_is_normalised():
    resident = resident_create(actor=UserFactory(), my_number="１２３４５６７８９０１８", **base())
    assert decrypt_my_number(resident.my_number_ciphertext) == "123456789018"


def test_same_my_number_on_two_residents_is_refused():
    number = new_my_number()
    resident_create(actor=UserFactory(), my_number=number, **base())
    with pytest.raises(ValidationError) as excinfo:
        resident_create(actor=UserFactory(), my_number=number, **base(address_number="500002"))
    assert "my_number" in excinfo.value.message_dict


def test_kana_is_normalised_and_keyed():
    resident = resident_create(actor=UserFactory(), **base(name_kana="こしがや　じろう"))
    assert resident.name_kana == "コシガヤ　ジロウ"
    assert resident.kana_key == "コシガヤジロウ"


def test_status_dates_are_required_by_the_database():
    with pytest.raises(ValidationError):
        resident_create(actor=UserFactory(), **base(residency_status=ResidencyStatus.DECEASED))
    with pytest.raises(IntegrityError), transaction.atomic():
        Resident.objects.create(
            address_number="9", name="x", name_kana="エックス", kana_key="エックス", name_key="x", sex=1,
            birth_date=date(2000, 1, 1), address="a", residency_status=ResidencyStatus.MOVED_OUT,
        )


def test_deceased_resident_keeps_working_like_the_living():
    resident = resident_create(
        actor=UserFactory(), **base(residency_status=ResidencyStatus.DECEASED, died_on=date(2024, 5, 1))
    )
    assert resident.died_on == date(2024, 5, 1)


def test_search_by_each_criterion():
    staff = UserFactory(with_role="staff")
    number = new_my_number()
    target = ResidentFactory(name="越谷 太郎", name_kana="コシガヤ タロウ", birth_date=date(1950, 2, 3),
                             address_number="700001", my_number=number)
    ResidentFactory(name="草加 花子", name_kana="ソウカ ハナコ", birth_date=date(1950, 2, 3))
    assert list(resident_search(actor=staff, query=ResidentQuery(kana="ｺｼｶﾞ"))) == [target]
    assert list(resident_search(actor=staff, query=ResidentQuery(kana="こしがや　た"))) == [target]
    assert list(resident_search(actor=staff, query=ResidentQuery(name="越谷太郎"))) == [target]
    assert list(resident_search(actor=staff, query=ResidentQuery(address_number="700001"))) == [target]
    assert list(resident_search(actor=staff, query=ResidentQuery(my_number=number))) == [target]
    assert resident_search(actor=staff, query=ResidentQuery(birth_date=date(1950, 2, 3))).count() == 2
    assert resident_search(actor=staff, query=ResidentQuery()).count() == 0
