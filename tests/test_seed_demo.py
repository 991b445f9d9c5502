"""`manage.py seed_demo`: synthetic, valid, idempotent demo data and one usable login per role."""

import re
import time
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import BackupCodeDevice, User
from accounts.roles import Role
from records.crypto import decrypt_my_number, my_number_blind_index
from records.models import Clinic, ResidencyStatus, Resident, VaccinationRecord, Vaccine
from records.rules.age import legal_age
from records.rules.kana import is_katakana_name, kana_key
from records.rules.mynumber import is_valid_my_number

DEMO_ROLES = {
    "demo-staff": Role.STAFF,
    "demo-clinic": Role.CLINIC,
    "demo-auditor": Role.AUDITOR,
    "demo-admin": Role.ADMINISTRATOR,
}
_CODES_LINE = re.compile(r"^\s+(demo-[a-z]+)\s+\(.+?\):\s+(.+)$", re.MULTILINE)
_PASSWORD_LINE = re.compile(r"password \(all users\): (\S+)")


def seed(residents: int | None = 150) -> str:
    out = StringIO()
    options = {} if residents is None else {"residents": residents}
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def printed_codes(output: str) -> dict[str, list[str]]:
    return {user: codes.split() for user, codes in _CODES_LINE.findall(output)}


def counts() -> dict[str, int]:
    return {
        "residents": Resident.objects.count(),
        "records": VaccinationRecord.objects.count(),
        "clinics": Clinic.objects.count(),
        "vaccines": Vaccine.objects.count(),
        "users": User.objects.count(),
        "devices": BackupCodeDevice.objects.count(),
    }


@pytest.mark.django_db
def test_seeding_twice_adds_nothing_the_second_time():
    seed()
    first = counts()
    assert first["residents"] == 150
    assert first["records"] >= 150
    assert first["clinics"] >= 5
    assert first["vaccines"] == 3
    assert first["users"] == 4
    assert first["devices"] == 4
    seed()
    assert counts() == first


@pytest.mark.django_db
def test_more_residents_on_a_rerun_adds_only_the_new_ones():
    seed(residents=100)
    before = set(Resident.objects.values_list("address_number", "my_number_index"))
    seed(residents=130)
    after = set(Resident.objects.values_list("address_number", "my_number_index"))
    assert before < after
    assert len(after) == 130


@pytest.mark.django_db
def test_every_stored_my_number_decrypts_to_a_valid_unique_number():
    output = seed()
    numbers = []
    for resident in Resident.objects.all():
        number = decrypt_my_number(resident.my_number_ciphertext)
        assert is_valid_my_number(number)
        assert resident.my_number_index == my_number_blind_index(number)
        assert number not in resident.my_number_ciphertext
        numbers.append(number)
    assert len(set(numbers)) == len(numbers) == 150
    assert not any(number in output for number in numbers)


@pytest.mark.django_db
def test_residents_look_like_koshigaya_residents():
    seed()
    residents = list(Resident.objects.all())
    statuses = {r.residency_status for r in residents}
    assert statuses == set(ResidencyStatus.values)
    assert sum(r.residency_status == ResidencyStatus.RESIDENT for r in residents) > len(residents) * 0.7
    ages = [r.age_on(r.created_at.date()) for r in residents]
    assert min(ages) < 10 and max(ages) > 80
    assert all(0 <= age <= 100 for age in ages)
    for resident in residents:
        family, given = resident.name.split("\u3000")
        assert family and given
        assert is_katakana_name(resident.name_kana) and "\u3000" in resident.name_kana
        assert resident.kana_key == kana_key(resident.name_kana)
        assert resident.address.startswith("埼玉県越谷市")
        assert re.fullmatch(r"343-\d{4}", resident.postal_code)
        assert resident.sex in {1, 2}
        if resident.residency_status == ResidencyStatus.MOVED_OUT:
            assert resident.moved_out_on is not None
        if resident.residency_status == ResidencyStatus.DECEASED:
            assert resident.died_on is not None and resident.died_on >= resident.birth_date
        resident.full_clean()


@pytest.mark.django_db
def test_every_record_passes_every_rule():
    seed()
    records = list(VaccinationRecord.objects.select_related("resident"))
    assert records
    assert {r.examination_category for r in records} == {1, 2}
    for record in records:
        record.full_clean()
        assert record.age_at_vaccination == legal_age(record.resident.birth_date, record.vaccinated_on)
        if record.resident.died_on:
            assert record.vaccinated_on <= record.resident.died_on


@pytest.mark.django_db
def test_one_user_per_role_with_usable_backup_codes():
    output = seed()
    match = _PASSWORD_LINE.search(output)
    assert match is not None
    password = match[1]
    codes = printed_codes(output)
    assert set(codes) == set(DEMO_ROLES)
    for username, role in DEMO_ROLES.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(password)
        assert user.is_staff == (role == Role.ADMINISTRATOR)
        assert (user.clinic is not None) == (role == Role.CLINIC)
        device = BackupCodeDevice.objects.get(user=user)
        assert device.confirmed
        assert len(codes[username]) == 10
        assert device.verify_token(codes[username][0])
        assert not device.verify_token(codes[username][0]), "a backup code works once"


@pytest.mark.django_db
def test_rerun_issues_fresh_codes_and_retires_the_old_ones():
    old = printed_codes(seed())["demo-staff"]
    new = printed_codes(seed())["demo-staff"]
    device = BackupCodeDevice.objects.get(user__username="demo-staff")
    assert not set(old) & set(new)
    assert not device.verify_token(old[1])
    device.throttle_reset()
    assert device.verify_token(new[1])


@pytest.mark.django_db
def test_default_run_is_big_enough_and_fast():
    started = time.monotonic()
    seed(residents=None)  # the default, as `make run` uses it
    elapsed = time.monotonic() - started
    assert Resident.objects.count() == 2000
    assert VaccinationRecord.objects.count() >= 2000
    assert elapsed < 60
