"""What read-access logging costs (issue #4, "Performance"): median request time of the resident page and
of a 50-row resident search with access logging on and off, measured in one run against PostgreSQL;
target overhead <= 15 %.

    .venv/bin/python benchmarks/access_log_bench.py [--residents 5000] [--requests 200]

It creates its own database (``kvax_bench_access_<pid>``) on the server of BENCH_ADMIN_DATABASE_URL
(default ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it, seeds synthetic residents (valid,
generated My Numbers) and vaccination records, signs a staff user in with both factors on Django's test
client, and drops the database at the end. Each case alternates the two modes request by request (on/off,
then off/on), so drift in the machine or the growing log affects both alike; the switch is
settings.AUDIT_ACCESS_LOGGING, flipped with override_settings outside the timed call. Logging on must
write one entry per resident shown (checked), so the "on" figures include the chained, single-INSERT write.

The access entries are a transaction of their own, so on a read-only page they add a commit, and with
synchronous_commit on (the server default) a WAL flush: on a disk with slow fsync that flush is most of
the overhead. A second pass repeats everything with synchronous_commit off for the benchmark's
connection (both modes alike) to show the overhead without that wait; skip it with --no-async-pass.
"""

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = f"kvax_bench_access_{os.getpid()}"
SEARCH_ROWS = 50
TARGET_OVERHEAD = 0.15
KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"


def database_url() -> str:
    base, _slash, _name = ADMIN_URL.rpartition("/")
    return f"{base}/{DB_NAME}"


def create_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    os.environ["DEBUG"] = "0"  # no query log: measure what a server does
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(residents: int) -> dict[str, Any]:
    """Synthetic residents written in bulk (through the same crypto the services use): SEARCH_ROWS whose
    reading starts with ベンチ (the search), one more with a longer history (the resident page), the rest
    random. Every resident has a vaccination record."""
    from django.contrib.auth.models import Group

    from accounts.models import User
    from accounts.roles import Role
    from records.crypto import encrypt_my_number, my_number_blind_index
    from records.models import Clinic, RecordSource, Resident, Sex, VaccinationRecord, Vaccine
    from records.rules.age import legal_age
    from records.rules.kana import kana_key, name_key, normalize_kana
    from records.rules.mynumber import generate_my_number

    rng = random.Random(20261127)
    staff = User.objects.create_user(username="bench-staff")  # unusable password: signed in by force_login
    staff.groups.add(Group.objects.get(name=Role.STAFF))
    clinic = Clinic.objects.create(code="1100000001", name="越谷ベンチ医院")
    vaccine = Vaccine.objects.create(code="FLU01", name="新型インフルエンザワクチン", maker="テスト製薬",
                                     standard_dose_ml=Decimal("0.50"))
    numbers: set[str] = set()
    people = []
    for i in range(residents):
        number = generate_my_number(rng)
        while number in numbers:
            number = generate_my_number(rng)
        numbers.add(number)
        if i < SEARCH_ROWS:  # 0..49 match the search; 50 is the resident page's resident
            reading = "ベンチ　" + "".join(rng.choice(KANA) for _ in range(4))
        else:
            reading = "".join(rng.choice(KANA) for _ in range(3)) + "　" + "".join(rng.choice(KANA) for _ in range(4))
        name = f"越谷 {i:05d}"
        kana = normalize_kana(reading)
        people.append(Resident(
            address_number=f"{300000000 + i}", my_number_ciphertext=encrypt_my_number(number),
            my_number_index=my_number_blind_index(number), name=name, name_kana=kana, kana_key=kana_key(kana),
            name_key=name_key(name), sex=rng.choice([Sex.MALE, Sex.FEMALE]),
            birth_date=date(rng.randint(1925, 2020), rng.randint(1, 12), rng.randint(1, 28)),
            postal_code="343-0023", address=f"埼玉県越谷市東越谷{rng.randint(1, 10)}丁目{rng.randint(1, 40)}番地",
        ))
    Resident.objects.bulk_create(people, batch_size=1000)
    people = list(Resident.objects.order_by("address_number"))
    detail_resident = people[SEARCH_ROWS]
    records = []
    for person in people:
        days = [date(2025, 11, 10)] + ([date(2025, 10, 1), date(2025, 12, 1)] if person == detail_resident else [])
        for day in days:
            records.append(VaccinationRecord(
                resident=person, vaccinated_on=day, clinic=clinic, vaccine=vaccine,
                age_at_vaccination=legal_age(person.birth_date, day), billing_month=day.replace(day=1),
                examination_category=1, lot_number="AB12-345", screening_doctor="予診 一郎",
                vaccinating_doctor="接種 次郎", payment_category=1, fee_yen=3520, dose_ml=Decimal("0.50"),
                source=RecordSource.MANUAL, created_by=staff, updated_by=staff,
            ))
    VaccinationRecord.objects.bulk_create(records, batch_size=2000)
    return {"staff": staff, "detail_resident": detail_resident}


def signed_in_client(user: Any) -> Any:
    """A test client signed in with password and a confirmed TOTP device (what django_otp.login records)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def access_entries() -> int:
    from audit.models import AuditLogEntry

    return AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS).count()


def measure(name: str, call: Callable[[], Any], per_request: int, requests: int, warmup: int) -> dict[str, Any]:
    from django.test import override_settings

    for _ in range(warmup):
        for logging_on in (True, False):
            with override_settings(AUDIT_ACCESS_LOGGING=logging_on):
                call()
    before = access_entries()
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(requests):
        for logging_on in ((True, False) if i % 2 == 0 else (False, True)):
            with override_settings(AUDIT_ACCESS_LOGGING=logging_on):
                start = time.perf_counter()
                response = call()
                elapsed = time.perf_counter() - start
            if response.status_code != 200:
                raise SystemExit(f"{name}: HTTP {response.status_code}")
            times[logging_on].append(elapsed)
    written = access_entries() - before
    if written != requests * per_request:
        raise SystemExit(f"{name}: expected {requests * per_request} access entries, found {written}")
    on, off = statistics.median(times[True]), statistics.median(times[False])
    return {
        "name": name, "off": off, "on": on, "overhead": on / off - 1,
        "p90_off": statistics.quantiles(times[False], n=10)[-1],
        "p90_on": statistics.quantiles(times[True], n=10)[-1],
        "entries": written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per mode and case")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-async-pass", action="store_true",
                        help="skip the second pass with synchronous_commit off")
    args = parser.parse_args()
    if args.residents <= SEARCH_ROWS:
        raise SystemExit(f"--residents must exceed {SEARCH_ROWS}")

    create_database()
    try:
        started = time.perf_counter()
        setup_django()
        world = seed(args.residents)
        print(f"database {DB_NAME}: {args.residents:,} residents seeded in {time.perf_counter() - started:.1f} s")
        run(world, args.requests, args.warmup, "server defaults (synchronous_commit on)")
        if not args.no_async_pass:
            asynchronous_commit()
            run(world, args.requests, args.warmup, "diagnostic: synchronous_commit off (no WAL flush wait)")
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except ImportError:
            pass
        drop_database()
        print(f"database {DB_NAME} dropped")


def asynchronous_commit() -> None:
    """From here on, every connection of this process commits without waiting for the WAL flush."""
    from django.db import connection
    from django.db.backends.signals import connection_created

    def turn_off(sender: Any, connection: Any, **kwargs: Any) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")

    connection_created.connect(turn_off, weak=False)
    connection.close()


def run(world: dict[str, Any], requests: int, warmup: int, label: str) -> None:
    import json

    from django.urls import reverse

    from audit.chain import chain_verify

    client = signed_in_client(world["staff"])
    detail_url = reverse("records:resident_detail", args=[world["detail_resident"].pk])
    search_url = reverse("records:resident_search")
    api_search_url = reverse("api:resident_search")
    search_form = {"address_number": "", "kana": "ベンチ", "name": "", "birth_date": "", "my_number": ""}
    api_body = json.dumps({"kana": "ベンチ", "limit": SEARCH_ROWS})

    # The search must really find SEARCH_ROWS residents (measure() then checks that each request of each
    # case recorded exactly the residents it showed).
    found = client.post(api_search_url, data=api_body, content_type="application/json").json()
    if found["count"] != SEARCH_ROWS:
        raise SystemExit(f"the search finds {found['count']} residents, not {SEARCH_ROWS}")

    cases = [
        measure("resident page (GET, 1 resident)", lambda: client.get(detail_url), 1, requests, warmup),
        measure(f"search page (POST, {SEARCH_ROWS} rows)", lambda: client.post(search_url, search_form),
                SEARCH_ROWS, requests, warmup),
        measure(f"API search (POST, {SEARCH_ROWS} rows)",
                lambda: client.post(api_search_url, data=api_body, content_type="application/json"),
                SEARCH_ROWS, requests, warmup),
    ]
    print(f"\n{label}: {requests} timed requests per mode and case, alternating; medians (p90) in ms")
    print(f"{'case':36} {'logging off':>18} {'logging on':>18} {'added':>8} {'overhead':>9}"
          f"  target <= {TARGET_OVERHEAD:.0%}")
    for case in cases:
        verdict = "ok" if case["overhead"] <= TARGET_OVERHEAD else "OVER"
        print(f"{case['name']:36} {case['off'] * 1000:8.2f} ({case['p90_off'] * 1000:6.2f}) "
              f"{case['on'] * 1000:8.2f} ({case['p90_on'] * 1000:6.2f}) {(case['on'] - case['off']) * 1000:8.2f}"
              f" {case['overhead']:+8.1%}  {verdict}")
    started = time.perf_counter()
    report = chain_verify()
    print(f"\naudit chain after the run: {report.checked:,} entries, ok={report.ok} "
          f"(verified in {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
