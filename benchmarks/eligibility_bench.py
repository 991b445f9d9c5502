"""Benchmark of eligibility on PostgreSQL (issue 5, "Performance").

    .venv/bin/python benchmarks/eligibility_bench.py                     # 300,000 residents (a few minutes)
    .venv/bin/python benchmarks/eligibility_bench.py --residents 30000   # smaller, for a quick look
    .venv/bin/python benchmarks/eligibility_bench.py --profile           # also a cProfile of the extraction

It creates its own database (``kvax_eligibility_bench`` on ``BENCH_PG_URL``, default
``postgres://postgres@127.0.0.1:5432``), removed at the end unless ``--keep``; migrates it; and COPYs
synthetic residents (births spread over 100 years; about 3 % moved out, 1 % deceased, 1 % registered
non-residents, 4 % moved in during the last year, 5 % with a stored residency history, 0.3 % under
支援措置, 0.2 % under 利用停止, 2 % in a priority group; the first 2,000 with valid synthetic My Numbers)
and their dose histories (about 60 % with one to three doses, some given before moving in). Then, in
the same run:

(a) the floor: a bare SELECT of the same columns the extraction reads (residents, doses with their
    vaccine code, stored residency periods, priority groups), fetched to Python;
(b) the extraction end to end: ``extraction_run_start`` (the Celery task runs in-process) — every
    resident evaluated in chunks, the notice batch, its items and their audit entries stored;
(c) issuing the batch: a ticket number for every mailable target, the tickets' audit entries;
(d) one eligibility check over HTTP (``POST /api/v1/eligibility/checks/`` with a My Number and
    ``confirm_exact``: matching, the decision, its events and the read-access entry), 200 times.

Targets: (b) <= 20 s for 300,000 residents; (d) median <= 50 ms.
"""

import argparse
import cProfile
import os
import pstats
import random
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "kvax_eligibility_bench"
REFERENCE = date(2026, 10, 1)
WITH_MY_NUMBER = 2000
TICKET_AUDIT = "issue: of which the ticket audit entries"


def _pg_admin_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{_pg_admin_url()}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _setup_django(db_name: str) -> None:
    os.environ["DATABASE_URL"] = f"{_pg_admin_url()}/{db_name}"
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)


def _copy(table: str, columns: list[str], rows: list[list[object]]) -> None:
    from django.db import connection

    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def generate(count: int, rng: random.Random, *, user_id: int, clinic_id: int, vaccine_id: int) -> list[str]:
    """Residents, their histories, doses and priority groups; returns the My Numbers given out."""
    from django.db import connection
    from django.utils import timezone

    from eligibility.models import PriorityGroup
    from records.crypto import encrypt_my_number, my_number_blind_index
    from records.rules.age import legal_age
    from records.rules.mynumber import generate_my_number

    now = timezone.now()
    numbers: list[str] = []
    residents = []
    for n in range(count):
        birth = date(1925, 1, 1) + timedelta(days=rng.randrange(36500))
        status, moved_in, moved_out, died = "resident", None, None, None
        roll = rng.random()
        if roll < 0.03:
            status, moved_out = "moved_out", REFERENCE - timedelta(days=rng.randrange(1, 700))
        elif roll < 0.04:
            status, died = "deceased", REFERENCE - timedelta(days=rng.randrange(1, 700))
        elif roll < 0.05:
            status = "non_resident"
        elif roll < 0.09:
            moved_in = REFERENCE - timedelta(days=rng.randrange(-60, 365))
        if moved_in and moved_in < birth:
            moved_in = None
        if moved_out and moved_out <= birth:
            status, moved_out = "resident", None
        if died and died < birth:
            status, died = "resident", None
        ciphertext, index = "", None
        if n < WITH_MY_NUMBER:
            number = generate_my_number(rng)
            numbers.append(number)
            ciphertext, index = encrypt_my_number(number), my_number_blind_index(number)
        kana = "コシガヤ\u3000タロウ"
        residents.append([now, now, str(2_000_001 + n), ciphertext, index, f"越谷 太郎{n}", kana, "コシガヤタロウ",
                          f"越谷太郎{n}", rng.choice((1, 2)), birth, "343-0845", "埼玉県越谷市越ヶ谷1-1-1", "", "",
                          status, moved_in, moved_out, died, rng.random() < 0.003, False, rng.random() < 0.002])
    _copy("records_resident", [
        "created_at", "updated_at", "address_number", "my_number_ciphertext", "my_number_index", "name", "name_kana",
        "kana_key", "name_key", "sex", "birth_date", "postal_code", "address", "address_detail", "phone",
        "residency_status", "moved_in_on", "moved_out_on", "died_on", "is_protected", "auto_response_disabled",
        "use_suspended"], residents)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, birth_date, moved_in_on, residency_status FROM records_resident ORDER BY id")
        people = cursor.fetchall()
    doses, periods, groups = [], [], []
    group_ids = list(PriorityGroup.objects.values_list("id", flat=True))
    for rid, birth, moved_in, status in people:
        if rng.random() < 0.05 and status == "resident":
            start = moved_in or birth
            middle = start + timedelta(days=max(1, (REFERENCE - start).days // 2))
            periods.append([now, now, rid, "resident", start, middle, "埼玉県越谷市旧住所1-1", "", "initial"])
            periods.append([now, now, rid, "resident", middle, None, "埼玉県越谷市越ヶ谷1-1-1", "", "address_change"])
        if rng.random() < 0.02:
            groups.append([now, now, rid, rng.choice(group_ids), "BENCH-1", user_id, None, None])
        if rng.random() < 0.6:
            day = date(2025, 10, 1) + timedelta(days=rng.randrange(60))
            for _dose in range(rng.randint(1, 3)):
                if day < birth or day >= REFERENCE:
                    break
                before = moved_in is not None and day < moved_in
                doses.append([now, now, rid, day, None if before else clinic_id, "札幌市 テスト医院" if before else "",
                              legal_age(birth, day), date(day.year, day.month, 1), 1, "AB12-345", vaccine_id, before,
                              "予診 一郎", "接種 次郎", 1, 3520, "0.50", "", "", "", "manual", None, user_id, user_id])
                day += timedelta(days=rng.randrange(60, 200))
    _copy("records_residencyperiod", ["created_at", "updated_at", "resident_id", "status", "valid_from",
                                      "valid_until", "address", "postal_code", "cause"], periods)
    _copy("eligibility_prioritygroupmembership", ["created_at", "updated_at", "resident_id", "group_id",
                                                  "application_reference", "granted_by_id", "revoked_at",
                                                  "revoked_by_id"], groups)
    _copy("records_vaccinationrecord", [
        "created_at", "updated_at", "resident_id", "vaccinated_on", "clinic_id", "place_text", "age_at_vaccination",
        "billing_month", "examination_category", "lot_number", "vaccine_id", "before_move_in", "screening_doctor",
        "vaccinating_doctor", "payment_category", "fee_yen", "dose_ml", "remarks1", "remarks2", "remarks3", "source",
        "source_import_id", "created_by_id", "updated_by_id"], doses)
    with connection.cursor() as cursor:
        for table in ("records_resident", "records_vaccinationrecord", "records_residencyperiod",
                      "eligibility_prioritygroupmembership"):
            cursor.execute(f"ANALYZE {table}")
    print(f"  {len(people):,} residents, {len(doses):,} doses, {len(periods):,} stored periods, "
          f"{len(groups):,} priority-group memberships")
    return numbers


def floor() -> float:
    """The same columns the extraction reads, by bare SELECTs fetched to Python."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, birth_date, is_protected, use_suspended, residency_status, moved_in_on, "
                       "moved_out_on, died_on, address FROM records_resident ORDER BY id")
        cursor.fetchall()
        cursor.execute("SELECT r.resident_id, r.vaccinated_on, v.code, r.before_move_in "
                       "FROM records_vaccinationrecord r JOIN records_vaccine v ON v.id = r.vaccine_id "
                       "WHERE r.examination_category = 1")
        cursor.fetchall()
        cursor.execute("SELECT resident_id, status, valid_from, valid_until, address FROM records_residencyperiod "
                       "ORDER BY resident_id, valid_from")
        cursor.fetchall()
        cursor.execute("SELECT m.resident_id, g.code FROM eligibility_prioritygroupmembership m "
                       "JOIN eligibility_prioritygroup g ON g.id = m.group_id WHERE m.revoked_at IS NULL")
        cursor.fetchall()
    return time.perf_counter() - started


def http_checks(numbers: list[str], campaign_id: int, user: Any, rng: random.Random, count: int) -> list[float]:
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from records.models import Resident

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    by_index = {r.address_number: r for r in Resident.objects.filter(address_number__in=[
        str(2_000_001 + n) for n in range(len(numbers))])}
    timings = []
    for _ in range(count + 10):
        n = rng.randrange(len(numbers))
        resident = by_index[str(2_000_001 + n)]
        body = {"campaign": campaign_id, "birth_date": resident.birth_date.isoformat(), "name_kana": "コシガヤ タロウ",
                "sex": resident.sex, "my_number": numbers[n], "confirm_exact": True}
        started = time.perf_counter()
        response = client.post("/api/v1/eligibility/checks/", body, content_type="application/json")
        timings.append(time.perf_counter() - started)
        if response.status_code != 201 or response.json()["decision"] is None:
            raise SystemExit(f"check failed: {response.status_code} {response.content[:300]!r}")
    return timings[10:]  # the first requests warm caches


def http_floor(user: Any, count: int) -> list[float]:
    """The environment's floor for one signed-in API request that shows one resident and records its
    access: ``GET /api/v1/residents/{id}/`` (records' endpoint), same client set-up."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from records.models import Resident

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user).first()
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id  # type: ignore[union-attr]
    session.save()
    resident_id = Resident.objects.order_by("id").values_list("id", flat=True).first()
    timings = []
    for _ in range(count + 10):
        started = time.perf_counter()
        response = client.get(f"/api/v1/residents/{resident_id}/")
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"floor request failed: {response.status_code}")
    return timings[10:]


def _instrument() -> dict[str, float]:
    """Wrap the steps to time them (seconds, summed). The wrappers only measure."""
    from eligibility.services import extraction, notices

    phases: dict[str, float] = {}

    def timed(owner: object, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases[label] = phases.get(label, 0.0) + time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(extraction, "periods_for_chunk", "  load residency periods (range scans)")
    timed(extraction, "doses_for", "  load doses")
    timed(extraction, "groups_for", "  load priority groups")
    timed(extraction, "evaluate", "evaluate every resident (loads + pure rule)")
    timed(extraction, "_store", "store batch, items, audit entries (one transaction)")
    timed(extraction, "audit_entries_bulk_create", "  of which the items' audit entries")
    timed(notices, "audit_entries_bulk_create", TICKET_AUDIT)
    return phases


def run(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts.models import User
    from eligibility.models import NoticeBatch
    from eligibility.services import campaign_create, extraction_run_start, notice_batch_issue
    from records.models import Clinic, Vaccine

    rng = random.Random(20261126)
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    user = User.objects.create_user(username="bench-staff", password="x")  # noqa: S106
    user.groups.add(Group.objects.get(name="staff"))
    clinic = Clinic.objects.create(code="1100000001", name="越谷ベンチ医院")
    vaccine = Vaccine.objects.create(code="FLU01", name="新型インフルエンザワクチン", maker="ベンチ製薬",
                                     standard_dose_ml="0.50")
    started = time.perf_counter()
    numbers = generate(args.residents, rng, user_id=user.pk, clinic_id=clinic.pk, vaccine_id=vaccine.pk)
    print(f"generated in {time.perf_counter() - started:.1f} s")
    campaign = campaign_create(actor=user, name="令和8年度 ベンチ事業", period_start=REFERENCE,
                               period_end=date(2027, 3, 31),
                               rule={"reference_date": REFERENCE, "vaccines": [vaccine], "min_age": 65,
                                     "dose_number": None, "max_doses": 3, "min_interval_days": 90})

    floors = [floor() for _ in range(3)]
    bare = min(floors)
    print(f"\n(a) bare SELECT of the same columns: {bare:.2f} s (best of 3: "
          f"{', '.join(f'{f:.2f}' for f in floors)})")

    phases = _instrument()
    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    run_obj = extraction_run_start(actor=user, campaign=campaign)  # autocommit: the eager task runs at once
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    run_obj.refresh_from_db()
    batch = NoticeBatch.objects.get(run=run_obj)
    print(f"(b) extraction end to end: {elapsed:.2f} s for {run_obj.residents_processed:,} residents "
          f"= {run_obj.residents_processed / elapsed:,.0f} residents/s; ratio to (a) {elapsed / bare:.1f} x; "
          f"status {run_obj.status}; {run_obj.targets:,} targets ({run_obj.held_protected} held under 支援措置, "
          f"{run_obj.excluded_suspended} excluded under 利用停止), {batch.items.count():,} items stored")
    for label, seconds in phases.items():
        if not label.startswith("issue"):
            print(f"    {label}: {seconds:.2f} s")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    notice_batch_issue(actor=user, batch=batch)
    if profiler:
        profiler.disable()
    issue = time.perf_counter() - started
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(20)
    print(f"(c) issuing the batch (ticket numbers and their audit entries): {issue:.2f} s for "
          f"{batch.items.filter(ticket__isnull=False).count():,} tickets "
          f"(audit entries {phases.get(TICKET_AUDIT, 0.0):.2f} s)")

    timings = http_checks(numbers, campaign.pk, user, rng, args.checks)
    print(f"(d) one eligibility check over HTTP, {len(timings)} requests: median "
          f"{statistics.median(timings) * 1000:.1f} ms, p90 {sorted(timings)[int(len(timings) * 0.9)] * 1000:.1f} ms, "
          f"max {max(timings) * 1000:.1f} ms")
    floor_timings = http_floor(user, args.checks)
    print(f"    floor in the same run, GET /api/v1/residents/{{id}}/ (sign-in, one access entry): median "
          f"{statistics.median(floor_timings) * 1000:.1f} ms; check / floor "
          f"{statistics.median(timings) / statistics.median(floor_timings):.1f} x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")
    _admin_execute(f"CREATE DATABASE {args.db}")
    try:
        _setup_django(args.db)
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")


if __name__ == "__main__":
    main()
