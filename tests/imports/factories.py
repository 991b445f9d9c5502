"""Fixtures' building blocks for the import engine's tests: a clinic, a vaccine, an uploader and residents
whose (synthetic) My Numbers the test knows, plus fast bulk creation of many residents."""

from dataclasses import dataclass, field
from datetime import date

from accounts.models import User
from accounts.roles import Role
from imports.models import ClinicImport, ImportSource
from imports.services import clinic_import_process, clinic_import_receive
from records.crypto import encrypt_my_number, my_number_blind_index
from records.models import Clinic, Resident, Sex, Vaccine
from records.rules.kana import kana_key, name_key, normalize_kana
from tests.factories import ClinicFactory, ResidentFactory, UserFactory, VaccineFactory, new_my_number
from tests.imports.csvdata import BILLING_MONTH, CLINIC_CODE, VACCINE_CODE


@dataclass
class Person:
    resident: Resident
    my_number: str


@dataclass
class ImportSetup:
    clinic: Clinic
    other_clinic: Clinic
    vaccine: Vaccine
    staff: User
    clinic_user: User
    people: list[Person] = field(default_factory=list)


def person(**kwargs) -> Person:
    my_number = kwargs.pop("my_number", None) or new_my_number()
    return Person(resident=ResidentFactory(my_number=my_number, **kwargs), my_number=my_number)


def import_setup(people: int = 3) -> ImportSetup:
    clinic = ClinicFactory(code=CLINIC_CODE, name="越谷テスト内科")
    setup = ImportSetup(
        clinic=clinic,
        other_clinic=ClinicFactory(code="1100000002", name="蒲生テスト小児科"),
        vaccine=VaccineFactory(code=VACCINE_CODE),
        staff=UserFactory(username="engine-staff", with_role=Role.STAFF),
        clinic_user=UserFactory(username="engine-clinic", with_role=Role.CLINIC, clinic=clinic),
    )
    setup.people = [
        person(address_number=f"{500000 + n}", name_kana=f"トリコミ　ハナコ{'ア' * (n + 1)}",
               birth_date=date(1960, 4, 1 + n), sex=Sex.FEMALE)
        for n in range(people)
    ]
    return setup


_DIGITS_AS_KANA = str.maketrans("0123456789", "アイウエオカキクケコ")


def residents_bulk(count: int, *, start: int = 800000, birth_date: date = date(1970, 1, 1)) -> list[Person]:
    """``count`` residents in one bulk insert (no per-row service call, no audit entries): for tests that
    need many people and do not look at how residents were made."""
    people = []
    objects = []
    for n in range(count):
        my_number = new_my_number()
        kana = normalize_kana(f"タイリョウ　イチロウ{n:05d}".translate(_DIGITS_AS_KANA))
        objects.append(Resident(
            address_number=str(start + n), my_number_ciphertext=encrypt_my_number(my_number),
            my_number_index=my_number_blind_index(my_number), name=f"大量 一郎{n}", name_kana=kana,
            kana_key=kana_key(kana), name_key=name_key(f"大量 一郎{n}"), sex=Sex.MALE, birth_date=birth_date,
            address="埼玉県越谷市越ヶ谷1-1-1",
        ))
        people.append(my_number)
    created = Resident.objects.bulk_create(objects)
    return [Person(resident=r, my_number=m) for r, m in zip(created, people, strict=True)]


def receive_file(
    data: bytes,
    *,
    actor: User,
    clinic: Clinic,
    billing_month: date = BILLING_MONTH,
    filename: str = "2025-11.csv",
    source: ImportSource = ImportSource.CLINIC_UPLOAD,
    api_token=None,
) -> ClinicImport:
    """Receive through the public service; the on-commit processing is not run (tests call it)."""
    return clinic_import_receive(actor=actor, clinic=clinic, billing_month=billing_month, filename=filename,
                                 data=data, source=source, api_token=api_token)


def import_file(data: bytes, *, actor: User, clinic: Clinic, **kwargs) -> ClinicImport:
    """Receive and process a file; returns the import as stored afterwards."""
    clinic_import = receive_file(data, actor=actor, clinic=clinic, **kwargs)
    clinic_import_process(import_id=clinic_import.pk)
    return ClinicImport.objects.get(pk=clinic_import.pk)


def stored_files(root) -> list:
    """Every file under the storage's imports/ folder (``root`` is MEDIA_ROOT)."""
    base = root / "imports"
    return sorted(p for p in base.rglob("*") if p.is_file()) if base.exists() else []
