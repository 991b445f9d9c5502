"""Benchmark of the resident change feed (異動データ, issue #7, "Performance") on PostgreSQL.

    .venv/bin/python benchmarks/feed_bench.py                    # 50,000 changes over 300,000 residents
    .venv/bin/python benchmarks/feed_bench.py --changes 10000    # smaller, for a quick look
    .venv/bin/python benchmarks/feed_bench.py --profile          # also print a cProfile of the processing
    .venv/bin/python benchmarks/feed_bench.py --db kvax_feed_me  # another database name (two people benchmarking)
    .venv/bin/python benchmarks/feed_bench.py --repeat 5         # five runs instead of three

It creates its own database (``kvax_feed_bench``, or ``--db``, on ``BENCH_PG_URL``, default
``postgres://postgres@127.0.0.1:5432``) and a temporary media folder, both removed at the end unless
``--keep``; migrates it; COPYs 300,000 synthetic residents (no stored histories: the feed derives and
stores each person's history the first time it changes them) and builds one UTF-8 change file: address
changes, move-outs, deaths, move-ins (new and returning people), births, name changes and corrections,
about 10 % of them dated before a change of the same person earlier in the file (out of order) and about
1 % bad rows (unknown 宛名番号, impossible dates, wrong check digits). Then, in the same run:

(a) the floor: decoding the file, parsing it with ``csv`` and COPYing its cells into a bare table;
(b) receiving it (``imports.feed.resident_feed_receive``: hash, encryption, storage, encoding, row count);
(c) processing it (``imports.feed.resident_feed_process``: validation, the people and their histories,
    placement, the resident and period writes — new rows COPYed straight into their tables, updates COPYed
    into temporary tables and applied by ``UPDATE ... FROM`` in pipeline mode while the audit entries are
    built —, the audit entries chained by ``audit_entries_bulk_write``, the file's bookkeeping).

(c) runs ``--repeat`` times (default 3), each in a fresh copy of the database as received (``CREATE DATABASE
... TEMPLATE``, named ``<db>_run``): on a shared machine one run can be a fifth slower than the next. Prints
the median run's changes/s (target >= 10,000/s) with the fastest and slowest, (c)/(a), the Python process's
CPU time, the number of audit entries the file wrote, the machine's load average, and the wall and CPU time
of each step. Then a reference: the same writes replayed inside PostgreSQL with no Python in between (the
residents rewritten, the periods and audit entries inserted again, the foreign-key checks), rolled back —
the database work any engine pays on this schema, before reading anything.
"""

import argparse
import cProfile
import csv
import io
import os
import pstats
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "kvax_feed_bench"
RESIDENTS = 300_000
CHANGES = 50_000
FIRST_NUMBER = 1_000_001


def _pg_admin_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{_pg_admin_url()}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def _fresh_copy(template: str, run_db: str) -> None:
    """(Re)create ``run_db`` as a copy of ``template`` and point Django's connection at it."""
    from django.db import connections

    connections.close_all()
    connections["default"].settings_dict["NAME"] = template  # so closing leaves nothing open on either
    _admin_execute(f"DROP DATABASE IF EXISTS {run_db}")
    _admin_execute(f"CREATE DATABASE {run_db} TEMPLATE {template} STRATEGY FILE_COPY")
    connections["default"].settings_dict["NAME"] = run_db


def _setup_django(db_name: str, media_root: str) -> None:
    os.environ["DATABASE_URL"] = f"{_pg_admin_url()}/{db_name}"
    os.environ["DEBUG"] = "0"
    os.environ["MEDIA_ROOT"] = media_root
    os.environ["KVAX_VAR_DIR"] = media_root
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)


def generate_residents(count: int, rng: random.Random) -> list[tuple[str, str, str, date, int]]:
    """(address number, name, kana, birth date, sex) of ``count`` residents COPYed into the table, a My
    Number for about half of them."""
    from django.db import connection
    from django.utils import timezone

    from records.crypto import encrypt_my_number, my_number_blind_index
    from records.models import Resident
    from records.rules.kana import kana_key, name_key
    from records.rules.mynumber import generate_my_number

    fields = [f for f in Resident._meta.concrete_fields if f.attname != "id"]
    columns = ", ".join(str(f.column) for f in fields)
    now = timezone.now()
    people = []
    seen: set[str] = set()
    with connection.cursor() as cursor, cursor.copy(f"COPY records_resident ({columns}) FROM STDIN") as copy:
        for n in range(count):
            address_number = str(FIRST_NUMBER + n)
            kana = f"コシガヤ\u3000{'アイウエオカキクケコ'[n % 10]}{'サシスセソ'[n // 10 % 5]}"
            name = f"越谷 太郎{n}"
            birth = date(1930, 1, 1) + timedelta(days=rng.randrange(33000))
            sex = rng.choice((1, 2))
            my_number = ""
            if n % 2 == 0:
                my_number = generate_my_number(rng)
                while my_number in seen:
                    my_number = generate_my_number(rng)
                seen.add(my_number)
            values = {
                "created_at": now, "updated_at": now, "address_number": address_number,
                "my_number_ciphertext": encrypt_my_number(my_number) if my_number else "",
                "my_number_index": my_number_blind_index(my_number) if my_number else None,
                "information_provision_code": None, "name": name, "name_kana": kana, "kana_key": kana_key(kana),
                "name_key": name_key(name), "sex": sex, "birth_date": birth, "postal_code": "343-0845",
                "address": "埼玉県越谷市越ヶ谷1-1-1", "address_detail": "", "phone": "",
                "residency_status": "resident", "moved_in_on": None, "moved_out_on": None, "died_on": None,
                "is_protected": False, "auto_response_disabled": False, "use_suspended": False,
            }
            copy.write_row([values[f.attname] for f in fields])
            people.append((address_number, name, kana, birth, sex))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE records_resident")
    return people


def build_changes(people: list[tuple[str, str, str, date, int]], count: int, rng: random.Random) -> list[list[str]]:
    """The change rows. Each carries the person's basic items after the change, as the resident-records
    system sends them: the name held, except on a name change (until 2026-11-27 every row carried another
    name, so every change also rewrote the indexed name key, which no real file does)."""
    from imports.feed.layout import KIND_CODES
    from records.rules.mynumber import generate_my_number

    rows: list[list[str]] = []
    chosen = rng.sample(people, int(count * 0.8))
    base = date(2025, 6, 1)
    new_number = FIRST_NUMBER + len(people)
    for address_number, name, kana, birth, sex in chosen:
        roll = rng.random()
        kind = ("address_change" if roll < 0.4 else "move_out" if roll < 0.55 else "death" if roll < 0.6
                else "move_in" if roll < 0.68 else "name_change" if roll < 0.8 else "correction" if roll < 0.85
                else "address_change")
        on = base + timedelta(days=rng.randrange(120))
        rows.append([KIND_CODES[kind], on.isoformat(), address_number,
                     f"越谷 花子{address_number}" if kind == "name_change" else name, kana, birth.isoformat(),
                     str(sex), "343-0001", f"埼玉県越谷市{rng.randrange(1000)}", ""])
        if rng.random() < 0.12 and kind not in ("death",):
            # a second change of the same person, dated earlier: out of order
            rows.append([KIND_CODES["address_change"], (on - timedelta(days=rng.randrange(1, 60))).isoformat(),
                         address_number, name, kana, birth.isoformat(), str(sex), "343-0002",
                         f"埼玉県越谷市旧{rng.randrange(1000)}", ""])
    while len(rows) < count:
        on = base + timedelta(days=rng.randrange(120))
        if rng.random() < 0.5:
            birth, kind = on, "birth"
        else:
            birth, kind = date(1950, 1, 1) + timedelta(days=rng.randrange(25000)), "move_in"
        rows.append([KIND_CODES[kind], on.isoformat(), str(new_number), "新規 太郎", "シンキ\u3000タロウ",
                     birth.isoformat(), "1", "343-0003", "埼玉県越谷市新1-1", generate_my_number(rng)])
        new_number += 1
    rows = rows[:count]
    rng.shuffle(rows)
    for row in rng.sample(rows, count // 100):
        spoil = rng.randrange(3)
        if spoil == 0:
            row[2] = "999999999999"
        elif spoil == 1:
            row[1] = "2025-02-30"
        else:
            row[9] = "123456789012"
    return rows


def to_bytes(rows: list[list[str]]) -> bytes:
    from imports.feed.layout import FEED_COLUMNS

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FEED_COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def floor(data: bytes) -> float:
    from django.db import connection, transaction

    from imports.feed.layout import FEED_COLUMN_COUNT

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_floor")
        cursor.execute(f"CREATE TABLE bench_floor ({', '.join(f'c{i} text' for i in range(FEED_COLUMN_COUNT))})")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
        next(reader)
        with cursor.copy("COPY bench_floor FROM STDIN") as copy:
            for record in reader:
                copy.write_row(record)
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_floor")
    return elapsed


def reference_writes() -> dict[str, float]:
    """The file's writes replayed inside PostgreSQL, no Python in between, rolled back: the residents it
    changed rewritten with the same values (UPDATE ... FROM a copy of them), its periods inserted again
    (dated a century later, so the one-start-per-day key takes them), its audit entries inserted again
    (with new sequence numbers; no hashing) and the deferred foreign-key checks. What any engine writing
    the same rows, indexes and entries on this schema has to pay."""
    from django.db import connection, transaction

    from records.models import Resident

    fields = [f.column for f in Resident._meta.concrete_fields
              if f.column not in ("id", "address_number", "created_at")]
    period_columns = ("resident_id, status, valid_from, valid_until, address, postal_code, cause, created_at, "
                      "updated_at")
    audit_columns = ("content_type_id, object_pk, object_id, object_repr, action, changes, changes_text, actor_id, "
                     "remote_addr, additional_data, event, timestamp, prev_hash, entry_hash")
    timings: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE bench_changed ON COMMIT DROP AS SELECT r.* FROM records_resident r "
                       "WHERE r.updated_at > r.created_at")
        steps = {
            "residents rewritten (UPDATE ... FROM)": (
                f"UPDATE records_resident r SET {', '.join(f'{c} = t.{c}' for c in fields)} "  # noqa: S608
                "FROM bench_changed t WHERE r.id = t.id"),
            "periods inserted": (
                f"INSERT INTO records_residencyperiod ({period_columns}) SELECT resident_id, status, "  # noqa: S608
                "valid_from + interval '100 years', valid_until + interval '100 years', address, postal_code, "
                "cause, created_at, updated_at FROM records_residencyperiod"),
            "audit entries inserted (no hashing)": (
                f"INSERT INTO audit_auditlogentry ({audit_columns}, seq) "  # noqa: S608
                f"SELECT {audit_columns}, seq + 10000000000 FROM audit_auditlogentry WHERE action IN (0, 1)"),
            "deferred foreign-key checks": "SET CONSTRAINTS ALL IMMEDIATE",
        }
        for label, sql in steps.items():
            started = time.perf_counter()
            cursor.execute(sql)
            timings[label] = time.perf_counter() - started
        transaction.set_rollback(True)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=CHANGES)
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db", default=DB_NAME, help="database to create and drop (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="process the file this many times, each in a fresh copy of the database; the median "
                             "run is reported (default: %(default)s)")
    args = parser.parse_args()
    run_db = f"{args.db}_run"

    media = tempfile.mkdtemp(prefix="kvax-feed-bench-")
    _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")
    _admin_execute(f"CREATE DATABASE {args.db}")
    try:
        _setup_django(args.db, media)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        from accounts.roles import Role
        from audit.models import AuditLogEntry
        from imports.feed import applying, receiving, resident_feed_process, resident_feed_receive
        from imports.models import ImportSource, ResidentFeedFile
        from records.models import ResidencyPeriod
        from tests.factories import UserFactory

        rng = random.Random(7)
        started = time.perf_counter()
        people = generate_residents(args.residents, rng)
        print(f"setup: {len(people):,} residents in {time.perf_counter() - started:.1f} s")
        rows = build_changes(people, args.changes, rng)
        data = to_bytes(rows)
        print(f"file: {len(rows):,} changes, {len(data) / 1024 / 1024:.1f} MB")
        user = UserFactory(username="bench-staff", with_role=Role.STAFF)

        floor_s = floor(data)
        receiving._enqueue = lambda feed_id: None  # type: ignore[assignment]  # processing is timed on its own
        started = time.perf_counter()
        feed_file = resident_feed_receive(actor=user, filename="bench.csv", data=data,
                                          source=ImportSource.STAFF_UPLOAD)
        receive_s = time.perf_counter() - started

        phases: dict[str, tuple[float, float]] = {}  # wall, CPU

        def timed(owner: object, name: str) -> None:
            original = getattr(owner, name)

            def wrapper(*a: object, **k: object) -> object:
                began, cpu_began = time.perf_counter(), time.process_time()
                try:
                    return original(*a, **k)
                finally:
                    wall, cpu = phases.get(name, (0.0, 0.0))
                    phases[name] = (wall + time.perf_counter() - began, cpu + time.process_time() - cpu_began)

            setattr(owner, name, wrapper)

        for name in ("_parse", "_load", "_apply_rows", "_plan", "_write", "_copy_into", "_update_from",
                     "_audit_entries", "_audit", "_save_row_errors"):
            timed(applying, name)
        from audit import services as audit_services

        timed(audit_services, "chain_and_copy_batch")
        # Each run processes the file in a fresh copy of the database as received (the file applies once).
        runs: list[tuple[float, float, dict[str, tuple[float, float]], float, float]] = []
        for attempt in range(args.repeat):
            _fresh_copy(args.db, run_db)
            phases.clear()
            profiler = cProfile.Profile(time.process_time) if args.profile and not attempt else None  # CPU time
            if profiler:
                profiler.enable()
            load_before = os.getloadavg()[0]
            started, cpu_started = time.perf_counter(), time.process_time()
            done = resident_feed_process(feed_id=feed_file.pk)
            process_s, process_cpu = time.perf_counter() - started, time.process_time() - cpu_started
            runs.append((process_s, process_cpu, dict(phases), load_before, os.getloadavg()[0]))
            print(f"run {attempt + 1}: {process_s:.2f} s = {len(rows) / process_s:,.0f} changes/s, "
                  f"CPU {process_cpu:.2f} s")
            if profiler:
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
        runs.sort(key=lambda run: run[0])
        process_s, process_cpu, median_phases, load_before, load_after = runs[len(runs) // 2]
        done = ResidentFeedFile.objects.get(pk=done.pk)
        print(f"result: {done.status}, {done.rows_applied:,} applied, {done.rows_error:,} errors, "
              f"{done.residents_created:,} residents created, {ResidencyPeriod.objects.count():,} periods stored, "
              f"{AuditLogEntry.objects.filter(action__in=(0, 1)).count():,} audit entries (creates and updates)")
        print(f"(a) floor (decode, csv, COPY into a bare table): {floor_s:.2f} s")
        print(f"(b) receive (hash, encrypt, store, encoding, count): {receive_s:.2f} s")
        print(f"(c) process, median of {len(runs)} runs: {process_s:.2f} s = {len(rows) / process_s:,.0f} changes/s "
              f"(target >= 10,000/s); (c)/(a) = {process_s / floor_s:.1f}; runs from {runs[0][0]:.2f} s "
              f"({len(rows) / runs[0][0]:,.0f}/s) to {runs[-1][0]:.2f} s ({len(rows) / runs[-1][0]:,.0f}/s)")
        print(f"    CPU time of this process (Python side, without the database server): {process_cpu:.2f} s; "
              f"load average before/after: {load_before:.1f}/{load_after:.1f} on {os.cpu_count()} CPUs")
        labels = {"_load": "  of which the reads (3 queries) and histories",
                  "_copy_into": "  of which COPYs (new rows; updates' rows)",
                  "_audit_entries": "  of which building audit entries (overlaps the UPDATE)",
                  "chain_and_copy_batch": "  of which chaining + COPY of audit rows"}
        print(f"    {'step':<42} {'wall':>8} {'CPU':>8}")
        for name, (seconds, cpu) in median_phases.items():
            print(f"    {labels.get(name, name):<42} {seconds:6.2f} s {cpu:6.2f} s")
        reference = reference_writes()
        print(f"reference, the same writes replayed inside PostgreSQL (rolled back): {sum(reference.values()):.2f} s "
              f"-> at most {len(rows) / sum(reference.values()):,.0f} changes/s for any engine on this schema")
        for label, seconds in reference.items():
            print(f"    {label:<42} {seconds:6.2f} s")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_execute(f"DROP DATABASE IF EXISTS {run_db}")
            _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")
            shutil.rmtree(media, ignore_errors=True)


if __name__ == "__main__":
    main()
