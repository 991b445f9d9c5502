"""Benchmark of the retention purge on PostgreSQL (issue 8, "Performance").

    .venv/bin/python benchmarks/purge_bench.py                                   # 3,000,000 people, 1,000,000 due
    .venv/bin/python benchmarks/purge_bench.py --residents 300000 --due 100000   # a tenth, for a quick look
    .venv/bin/python benchmarks/purge_bench.py --batch-size 2000                 # another RETENTION_BATCH_SIZE

It creates its own database (``kvax_purge_bench`` on ``BENCH_PG_URL``, default
``postgres://postgres@127.0.0.1:5432``), removed at the end unless ``--keep``; migrates it; and generates,
inside PostgreSQL (generate_series), ``--residents`` people each with one vaccination record: every third
person moved out in 2000-2002 (due: ``--due`` of them), the others live here or left recently. Then, in
the same run:

(a) the baseline: the same people and their records deleted by two plain DELETE statements in ONE
    transaction, rolled back — the database's own cost, and the table-wide lock-holding transaction the
    purge must not be;
(b) our purge: ``purge_report_create`` (the dry run freezing the ids into batches) and
    ``purge_report_run`` (batches of RETENTION_BATCH_SIZE people, each one transaction with its audit event),
    timed per batch — the longest batch is the longest transaction that deletes anything;
(c) during (b), a client in another process reads and writes OTHER residents without pause: each read
    loads a resident and their records and writes the read-access audit entry (it waits for the chain
    head a batch holds until it commits); each write updates a resident's phone and records an event.
    Its maximum latency is the longest any of them was blocked. Before (b) the same client runs alone
    for as long, for comparison.

Targets: every latency of (c) under 1 s; the longest transaction of (b) bounded by the batch size, not
by the number of rows due.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB_NAME = "kvax_purge_bench"
RESIDENTS = 3_000_000
DUE = 1_000_000


def _pg_admin_url() -> str:
    return os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


def _setup_django(db_name: str, media_root: str, batch_size: int) -> None:
    os.environ["DATABASE_URL"] = f"{_pg_admin_url()}/{db_name}"
    os.environ["DEBUG"] = "0"
    os.environ["MEDIA_ROOT"] = media_root
    os.environ["KVAX_VAR_DIR"] = media_root
    os.environ["RETENTION_BATCH_SIZE"] = str(batch_size)
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import logging

    logging.disable(logging.WARNING)


def _admin_execute(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{_pg_admin_url()}/postgres", autocommit=True) as conn:
        conn.execute(sql)


# --- data ------------------------------------------------------------------------------------------
def generate(residents: int, due: int, user_id: int, clinic_id: int, vaccine_id: int) -> None:
    """People 1..N; person g is due when g %% 3 == 0 and g / 3 <= due (moved out in 2000-2002, last
    vaccination in 1999); the other movers left in 2020 (not due); everyone else lives here."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO records_resident (created_at, updated_at, address_number, my_number_ciphertext,
                my_number_index, information_provision_code, name, name_kana, kana_key, name_key, sex, birth_date,
                postal_code, address, address_detail, phone, residency_status, moved_in_on, moved_out_on, died_on,
                is_protected, auto_response_disabled, use_suspended)
            SELECT now(), now(), (10000000 + g)::text, '', NULL, NULL, '越谷 太郎' || g, 'コシガヤ　タロウ',
                'コシガヤタロウ', '越谷太郎' || g, 1 + g %% 2, date '1940-01-01' + (g %% 20000), '343-0845',
                '埼玉県越谷市越ヶ谷1-1-1', '', '',
                CASE WHEN g %% 3 = 0 THEN 'moved_out' ELSE 'resident' END, NULL,
                CASE WHEN g %% 3 = 0 AND g / 3 <= %s THEN date '2000-01-01' + (g %% 1000)
                     WHEN g %% 3 = 0 THEN date '2020-01-01' + (g %% 300) END,
                NULL, false, false, false
            FROM generate_series(1, %s) AS g
            """,
            [due, residents],
        )
        cursor.execute(
            """
            INSERT INTO records_vaccinationrecord (created_at, updated_at, resident_id, vaccinated_on, clinic_id,
                place_text, age_at_vaccination, billing_month, examination_category, lot_number, vaccine_id,
                before_move_in, screening_doctor, vaccinating_doctor, payment_category, fee_yen, dose_ml, remarks1,
                remarks2, remarks3, source, source_import_id, created_by_id, updated_by_id)
            SELECT now(), now(), r.id, CASE WHEN r.moved_out_on < date '2010-01-01' THEN date '1999-11-10'
                                           ELSE date '2024-11-10' END,
                %s, '', 50, date '1999-11-01', 1, 'AB12-345', %s, false, '予診 一郎', '接種 次郎', 1, 3520, 0.50,
                '', '', '', 'manual', NULL, %s, %s
            FROM records_resident r
            """,
            [clinic_id, vaccine_id, user_id, user_id],
        )
        cursor.execute("ANALYZE records_resident")
        cursor.execute("ANALYZE records_vaccinationrecord")


# --- (a) the baseline ------------------------------------------------------------------------------
def baseline(cutoff: str) -> tuple[float, int]:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(
            "DELETE FROM records_vaccinationrecord v USING records_resident r WHERE v.resident_id = r.id "
            "AND r.residency_status = 'moved_out' AND r.moved_out_on < %s",
            [cutoff],
        )
        cursor.execute("DELETE FROM records_resident WHERE residency_status = 'moved_out' AND moved_out_on < %s",
                       [cutoff])
        deleted = cursor.rowcount
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed, deleted


# --- (c) the concurrent client ------------------------------------------------------------------------
def client(args: argparse.Namespace) -> None:
    """Reads and writes residents who are not due, until the stop file appears; prints latencies."""
    _setup_django(args.db, args.media, args.batch_size)
    import random

    from django.db import transaction

    from accounts.models import User
    from audit.events import AuditEvent
    from audit.services import audit_access_record, audit_event_record
    from records.models import Resident

    user = User.objects.get(username="bench-staff")
    rng = random.Random(8)
    living = [g for g in range(1, args.residents + 1) if g % 3 != 0]
    reads: list[tuple[float, float]] = []  # (wall-clock start, seconds)
    writes: list[tuple[float, float]] = []
    stop = Path(args.stop_file)
    Path(args.ready_file).write_text("ready")
    while not stop.exists():
        address_number = str(10_000_000 + rng.choice(living))
        wall, started = time.time(), time.perf_counter()
        with transaction.atomic():
            resident = Resident.objects.get(address_number=address_number)
            list(resident.vaccinations.all())
            audit_access_record(actor=user, objects=[resident], view="bench", permission="records.view_resident")
        reads.append((wall, time.perf_counter() - started))
        wall, started = time.time(), time.perf_counter()
        with transaction.atomic():
            Resident.objects.filter(pk=resident.pk).update(phone=f"048-{rng.randrange(10000):04d}")
            audit_event_record(event=AuditEvent.EXPORT_MADE, actor=user, target=resident, data={"bench": 1})
        writes.append((wall, time.perf_counter() - started))
    print("RESULT " + json.dumps({"reads": reads, "writes": writes}))


def start_client(args: argparse.Namespace, workdir: str, name: str) -> tuple[subprocess.Popen, Path]:
    stop = Path(workdir) / f"{name}.stop"
    ready = Path(workdir) / f"{name}.ready"
    command = [sys.executable, __file__, "--client", "--db", args.db, "--media", workdir, "--residents",
               str(args.residents), "--batch-size", str(args.batch_size), "--stop-file", str(stop),
               "--ready-file", str(ready)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while not ready.exists():
        if process.poll() is not None:
            raise SystemExit(process.stderr.read() if process.stderr else "client failed")
        time.sleep(0.1)
    return process, stop


def stop_client(process: subprocess.Popen, stop: Path) -> dict[str, list[list[float]]]:
    stop.write_text("stop")
    out, err = process.communicate(timeout=120)
    if process.returncode != 0:
        sys.stderr.write(err)
        raise SystemExit("client failed")
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def summary(label: str, timed_ops: list[list[float]], start: float = 0.0, end: float = float("inf")) -> str:
    latencies = [seconds for wall, seconds in timed_ops if start <= wall < end]
    if not latencies:
        return f"{label}: none"
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return (f"{label}: {len(ordered):,} ops, median {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms, max {ordered[-1] * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=RESIDENTS)
    parser.add_argument("--due", type=int, default=DUE)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--media", default="")
    parser.add_argument("--client", action="store_true")
    parser.add_argument("--stop-file", default="")
    parser.add_argument("--ready-file", default="")
    args = parser.parse_args()
    if args.client:
        client(args)
        return
    if args.due * 3 > args.residents:
        raise SystemExit("--residents must be at least 3 x --due (every third person moved out)")
    workdir = tempfile.mkdtemp(prefix="kvax-purge-bench-")
    _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")
    _admin_execute(f"CREATE DATABASE {args.db}")
    try:
        _run(args, workdir)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin_execute(f"DROP DATABASE IF EXISTS {args.db}")
        shutil.rmtree(workdir, ignore_errors=True)


def _run(args: argparse.Namespace, workdir: str) -> None:
    _setup_django(args.db, workdir, args.batch_size)
    from datetime import date
    from decimal import Decimal

    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from accounts.models import User
    from accounts.roles import Role
    from records.models import Clinic, Resident, VaccinationRecord, Vaccine
    from retention import services
    from retention.models import PurgeReport, ReportStatus, ReportTrigger
    from retention.rules import cutoff

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrated in {time.perf_counter() - started:.1f} s")
    clinic = Clinic.objects.create(code="1100000001", name="越谷ベンチ内科")
    vaccine = Vaccine.objects.create(code="FLU01", name="ベンチワクチン", maker="ベンチ製薬",
                                     standard_dose_ml=Decimal("0.50"))
    admin = User.objects.create(username="bench-admin", is_staff=True)
    admin.groups.add(Group.objects.get(name=Role.ADMINISTRATOR))
    staff = User.objects.create(username="bench-staff")
    staff.groups.add(Group.objects.get(name=Role.STAFF))

    started = time.perf_counter()
    generate(args.residents, args.due, admin.pk, clinic.pk, vaccine.pk)
    print(f"{Resident.objects.count():,} residents and {VaccinationRecord.objects.count():,} records generated "
          f"in {time.perf_counter() - started:.1f} s")

    as_of = date(2026, 11, 26)
    day = cutoff(as_of, years=20)
    elapsed, deleted = baseline(day.isoformat())
    print(f"(a) baseline: {deleted:,} people and their records by two DELETEs in one transaction (rolled back): "
          f"{elapsed:.1f} s, {deleted / elapsed:,.0f} people/s — one transaction of {elapsed:.1f} s")

    # The client alone, for comparison.
    process, stop = start_client(args, workdir, "alone")
    time.sleep(15)
    alone = stop_client(process, stop)

    batch_seconds: list[float] = []
    real = services._run_batch

    def timed(**kwargs: object) -> bool:
        begun = time.perf_counter()
        try:
            return real(**kwargs)  # type: ignore[arg-type]
        finally:
            batch_seconds.append(time.perf_counter() - begun)

    services._run_batch = timed  # type: ignore[assignment]
    process, stop = start_client(args, workdir, "during")
    dry_wall = time.time()
    started = time.perf_counter()
    report = services.purge_report_create(actor=admin, as_of=as_of, trigger=ReportTrigger.COMMAND, keys=["records"])
    dry = time.perf_counter() - started
    item = report.items.get()
    print(f"(b) dry run: {item.count:,} people due ({item.related_counts}), frozen into "
          f"{report.items.get().batches.count():,} batches in {dry:.1f} s (one reading transaction; it locks "
          f"no resident)")
    PurgeReport.objects.filter(pk=report.pk).update(status=ReportStatus.APPROVED, approved_by=admin,
                                                    approved_at=report.created_at)
    run_wall = time.time()
    started = time.perf_counter()
    services.purge_report_run(report_id=report.pk)
    run = time.perf_counter() - started
    end_wall = time.time()
    during = stop_client(process, stop)
    item.refresh_from_db()
    rows = item.deleted + sum(item.deleted_related.values())
    print(f"(b) run: {item.deleted:,} people and {sum(item.deleted_related.values()):,} dependent rows deleted "
          f"in {run:.1f} s: {item.deleted / run:,.0f} people/s, {rows / run:,.0f} rows/s "
          f"(ratio to the baseline's people/s: {(item.deleted / run) / (deleted / elapsed):.2f})")
    print(f"    batches: {len(batch_seconds):,} of {args.batch_size} people; longest transaction "
          f"{max(batch_seconds) * 1000:.0f} ms, median {statistics.median(batch_seconds) * 1000:.0f} ms")
    print(f"    remaining: {Resident.objects.count():,} residents, {VaccinationRecord.objects.count():,} records; "
          f"report {PurgeReport.objects.get(pk=report.pk).status}")
    print("(c) " + summary("reads alone", alone["reads"]))
    print("    " + summary("writes alone", alone["writes"]))
    print("    " + summary("reads during the dry run", during["reads"], dry_wall, run_wall))
    print("    " + summary("writes during the dry run", during["writes"], dry_wall, run_wall))
    print("    " + summary("reads during the run", during["reads"], run_wall, end_wall))
    print("    " + summary("writes during the run", during["writes"], run_wall, end_wall))
    worst = max(seconds for _, seconds in during["reads"] + during["writes"])
    print(f"    longest wait of another resident's read or write during the purge: {worst * 1000:.0f} ms "
          f"({'under' if worst < 1 else 'OVER'} 1 s)")
    from audit.chain import chain_verify

    started = time.perf_counter()
    verdict = chain_verify()
    print(f"audit chain: {verdict.checked:,} entries, ok={verdict.ok} ({time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
