"""Speed of the audit chain's verification on PostgreSQL (issue #4, "Performance"): entries per second of
``audit.chain.chain_verify`` over 1,000,000 properly chained entries, and its ratio to a bare read of the
same rows in the same run.

    .venv/bin/python benchmarks/chain_verify_bench.py                    # 1,000,000 entries
    .venv/bin/python benchmarks/chain_verify_bench.py --entries 200000   # a quicker look

It creates its own database (``kvax_bench_chain_<pid>`` on the server of BENCH_ADMIN_DATABASE_URL, default
``postgres://postgres@127.0.0.1:5432/postgres``), migrates it and drops it at the end (``--keep`` leaves it).

The entries are real chain members: numbered after what migrate already logged, each hashed with
``audit.chain.entry_hash`` over the previous hash exactly as ``chain_and_insert`` does (JSON values
round-tripped first), and written with COPY in one transaction; the chain head is moved to the last one.
The mix looks like a working log: 60 % read accesses (view and permission in additional_data), 15 %
field updates, 10 % record creations (a 24-field diff), 15 % business events. chain_verify must then
report the chain intact with every entry checked.

Measured, each after a warm-up read so every case finds the table in memory:
  (a) bare read: the same keyset batches of 5,000 rows by seq that chain_verify walks, plain SQL tuples;
  (b) ORM read: those batches as AuditLogEntry instances (chain_verify's iteration, without hashing);
  (c) chain_verify(): iteration, canonical JSON and SHA-256 of every entry, links and sequence checked.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = f"kvax_bench_chain_{os.getpid()}"
BATCH = 5000
COLUMNS = ("seq", "timestamp", "action", "event", "content_type_id", "object_pk", "object_id", "object_repr",
           "changes", "changes_text", "actor_id", "remote_addr", "cid", "additional_data", "prev_hash",
           "entry_hash")
RECORD_FIELDS = ("created_at", "resident", "vaccinated_on", "clinic", "place_text", "age_at_vaccination",
                 "billing_month", "examination_category", "lot_number", "vaccine", "before_move_in",
                 "screening_doctor", "vaccinating_doctor", "payment_category", "fee_yen", "dose_ml", "remarks1",
                 "remarks2", "remarks3", "source", "source_import", "created_by", "updated_by", "id")


def database_url() -> str:
    base, _slash, _name = ADMIN_URL.rpartition("/")
    return f"{base}/{DB_NAME}"


def admin_execute(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def chained_rows(count: int, *, first_seq: int, prev_hash: str, users: list[int],
                 content_types: dict[str, int]) -> Iterator[tuple[Any, ...]]:
    """``count`` entries continuing the chain after (first_seq - 1, prev_hash), as COPY rows."""
    from audit.chain import _json_round_trip, entry_hash
    from audit.models import AuditLogEntry

    rng = random.Random(20261127)
    Action = AuditLogEntry.Action
    moment = datetime(2021, 4, 1, tzinfo=UTC)
    events = ["auth.sign_in", "auth.sign_out", "export.made", "auth.otp_verified"]
    for seq in range(first_seq, first_seq + count):
        moment += timedelta(microseconds=rng.randint(1, 30_000_000))
        roll = rng.random()
        actor = rng.choice(users)
        resident = rng.randint(1, 300_000)
        changes: dict[str, Any] | None = None
        additional: dict[str, Any] | None = None
        event = ""
        record_text = f"接種記録 #{resident} (2025-11-10)"
        if roll < 0.60:
            action, ct, pk, text = Action.ACCESS, content_types["resident"], resident, f"{5000000000 + resident} 越谷"
            additional = {"view": "records:resident_detail", "permission": "records.view_resident"}
        elif roll < 0.75:
            action, ct, pk, text = Action.UPDATE, content_types["record"], resident, record_text
            changes = {"fee_yen": ["3520", str(rng.randint(0, 9999))], "remarks1": ["", "訂正"]}
        elif roll < 0.85:
            action, ct, pk, text = Action.CREATE, content_types["record"], resident, record_text
            changes = {name: ["None", f"{name}-{resident}"] for name in RECORD_FIELDS}
        else:
            action, ct, pk, text = Action.EVENT, content_types["user"], actor, f"user{actor}"
            event = rng.choice(events)
            additional = {"method": "totp"}
        entry = AuditLogEntry(
            seq=seq, timestamp=moment, action=action, event=event, content_type_id=ct, object_pk=str(pk),
            object_id=pk, object_repr=text, changes=_json_round_trip(changes), changes_text="", actor_id=actor,
            remote_addr=f"10.1.{actor % 200}.{1 + actor % 250}", cid=None,
            additional_data=_json_round_trip(additional),
        )
        entry.prev_hash = prev_hash
        entry.entry_hash = prev_hash = entry_hash(prev_hash, entry)
        yield (
            seq, moment, action, event, ct, entry.object_pk, pk, text,
            None if changes is None else json.dumps(entry.changes, ensure_ascii=False),
            "", actor, entry.remote_addr, None,
            None if additional is None else json.dumps(entry.additional_data, ensure_ascii=False),
            entry.prev_hash, entry.entry_hash,
        )


def fill(count: int) -> int:
    """Append ``count`` chained entries with COPY; return the number of entries in the whole chain."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction

    from accounts.models import User
    from audit.chain import HEAD_PK
    from audit.models import AuditChainHead
    from records.models import Resident, VaccinationRecord

    users = [User.objects.create_user(username=f"bench{i:02d}", password=None).pk for i in range(50)]
    content_types = {
        "resident": ContentType.objects.get_for_model(Resident).pk,
        "record": ContentType.objects.get_for_model(VaccinationRecord).pk,
        "user": ContentType.objects.get_for_model(User).pk,
    }
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)
        last_seq, last_hash = head.last_seq, head.last_hash
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(
            f"COPY audit_auditlogentry ({', '.join(COLUMNS)}) FROM STDIN"
        ) as copy:
            for row in chained_rows(count, first_seq=last_seq + 1, prev_hash=last_hash, users=users,
                                    content_types=content_types):
                copy.write_row(row)
                last_hash = row[-1]
        AuditChainHead.objects.filter(pk=HEAD_PK).update(last_seq=last_seq + count, last_hash=last_hash)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) audit_auditlogentry")
    return last_seq + count


def bare_read() -> int:
    """The rows chain_verify reads, in its keyset batches, as plain tuples (seq first, then every column)."""
    from django.db import connection

    last, total = 0, 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT seq, * FROM audit_auditlogentry WHERE seq > %s ORDER BY seq LIMIT %s",
                           [last, BATCH])
            rows = cursor.fetchall()
            if not rows:
                return total
            total += len(rows)
            last = rows[-1][0]


def orm_read() -> int:
    from audit.chain import _entries_in_order

    return sum(1 for _entry in _entries_in_order(BATCH))


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median reported)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    began = time.perf_counter()
    print(f"database {DB_NAME}: {args.entries:,} chained entries")
    admin_execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        setup_django()
        started = time.perf_counter()
        total = fill(args.entries)
        print(f"  built, hashed and COPied in {time.perf_counter() - started:.0f} s ({total:,} entries in the chain)")
        from audit.chain import chain_verify

        bare_read()  # warm-up: the table and its seq index in memory
        bare, n_bare = timed(bare_read, args.repeat)
        orm, n_orm = timed(orm_read, args.repeat)
        verify, report = timed(chain_verify, args.repeat)
        assert n_bare == n_orm == total, (n_bare, n_orm, total)
        assert report.ok and report.checked == total, report
        print()
        print(f"  (a) bare read        {bare:7.2f} s   {total / bare:12,.0f} entries/s")
        print(f"  (b) ORM read         {orm:7.2f} s   {total / orm:12,.0f} entries/s   {orm / bare:5.1f} x (a)")
        print(f"  (c) chain_verify     {verify:7.2f} s   {total / verify:12,.0f} entries/s   "
              f"{verify / bare:5.1f} x (a), {verify / orm:4.1f} x (b)")
        print(f"\n  chain intact: {report.checked:,} entries checked; at this speed 10,000,000 entries take "
              f"{10_000_000 / (total / verify) / 60:.1f} min")
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
