"""Builders shared by the tests of the import surfaces (pages, API, tokens, inbox, error CSV): two clinics,
a vaccine, residents with synthetic My Numbers, CSV rows in the SPEC layout, and imports taken through
the engine's public services with their on-commit processing run."""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.test import TestCase

from accounts.models import User
from accounts.roles import Role
from imports.csvformat import CSV_COLUMNS
from imports.models import ClinicImport, ImportSource
from records.models import Clinic, Resident, Sex, Vaccine
from records.rules.age import legal_age
from tests.factories import ClinicFactory, ResidentFactory, UserFactory, VaccineFactory, new_my_number

BILLING_MONTH = date(2025, 11, 1)
VACCINATED_ON = date(2025, 11, 10)


@dataclass
class Person:
    resident: Resident
    my_number: str


@dataclass
class World:
    clinic_a: Clinic
    clinic_b: Clinic
    vaccine: Vaccine
    people: list[Person]
    staff: User
    clinic_a_user: User
    clinic_b_user: User
    auditor: User
    administrator: User


def make_world(count: int = 4) -> World:
    clinic_a = ClinicFactory(code="1110000011", name="越谷駅前内科クリニック")
    clinic_b = ClinicFactory(code="1110000029", name="南越谷こどもクリニック")
    vaccine = VaccineFactory(code="FLU01")
    people = []
    for n in range(count):
        my_number = new_my_number()
        resident = ResidentFactory(address_number=f"{700000 + n}", name_kana=f"トリコミ　タロウ{'ア' * (n + 1)}",
                                   birth_date=date(1960, 4, 1 + n), sex=Sex.MALE, my_number=my_number)
        people.append(Person(resident=resident, my_number=my_number))
    return World(
        clinic_a=clinic_a, clinic_b=clinic_b, vaccine=vaccine, people=people,
        staff=UserFactory(username="imp-staff", with_role=Role.STAFF),
        clinic_a_user=UserFactory(username="imp-clinic-a", with_role=Role.CLINIC, clinic=clinic_a),
        clinic_b_user=UserFactory(username="imp-clinic-b", with_role=Role.CLINIC, clinic=clinic_b),
        auditor=UserFactory(username="imp-auditor", with_role=Role.AUDITOR),
        administrator=UserFactory(username="imp-admin", with_role=Role.ADMINISTRATOR),
    )


def row_for(person: Person, clinic: Clinic, **overrides: str) -> list[str]:
    """A valid row for ``person`` vaccinated at ``clinic`` on VACCINATED_ON; cells overridden by column
    name (e.g. ``備考1="..."``)."""
    resident = person.resident
    cells = {
        "宛名番号": resident.address_number, "個人番号": person.my_number, "氏名カナ": resident.name_kana,
        "生年月日": resident.birth_date.isoformat(), "性別": str(resident.sex),
        "接種日": VACCINATED_ON.isoformat(), "接種場所": clinic.code,
        "接種時年齢": str(legal_age(resident.birth_date, VACCINATED_ON)), "請求年月": "2025-11",
        "診察区分": "1", "LOT-NO": "AB12-345", "ワクチン": "FLU01", "転入前接種": "0",
        "予診医師名": "予診 一郎", "接種医師名": "接種 次郎", "公費自費区分": "1", "委託料": "3520",
        "接種量": "0.50", "備考1": "", "備考2": "", "備考3": "",
    }
    unknown = set(overrides) - set(cells)
    assert not unknown, unknown
    cells.update(overrides)
    return [cells[name] for name in CSV_COLUMNS]


def csv_file(rows: Sequence[Sequence[str]], *, header: Sequence[str] = CSV_COLUMNS, encoding: str = "utf-8",
             newline: str = "\r\n") -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def receive(*, actor: Any, clinic: Clinic, data: bytes, filename: str = "2025-11.csv",
            source: str = ImportSource.STAFF_UPLOAD, api_token: Any = None,
            billing_month: date = BILLING_MONTH) -> ClinicImport:
    """Receive a file through the engine and run its on-commit processing (eager Celery), as a request
    would; returns the import as it is afterwards."""
    from imports.services import clinic_import_receive

    with TestCase.captureOnCommitCallbacks(execute=True):
        clinic_import = clinic_import_receive(actor=actor, clinic=clinic, billing_month=billing_month,
                                              filename=filename, data=data, source=source, api_token=api_token)
    clinic_import.refresh_from_db()
    return clinic_import


def import_with_errors(world: World, *, clinic: Clinic | None = None, actor: Any = None) -> ClinicImport:
    """A processed import of ``clinic`` (default A): two good rows, and two rows with errors (a wrong check
    digit; a formula-like remark in a row whose fee is not a number)."""
    clinic = clinic or world.clinic_a
    people = world.people
    bad_my_number = people[2].my_number[:11] + str((int(people[2].my_number[11]) + 1) % 10)
    rows = [
        row_for(people[0], clinic),
        row_for(people[1], clinic),
        row_for(people[2], clinic, 個人番号=bad_my_number),
        row_for(people[3], clinic, 委託料="abc", 備考1='=HYPERLINK("http://example.com")'),
    ]
    return receive(actor=actor or world.staff, clinic=clinic, data=csv_file(rows), filename="errors.csv")
