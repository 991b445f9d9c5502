"""The auditor's search over a large log on PostgreSQL (issue #4, "Performance"): the first page of the
search by resident and by user, through the very selector the desk uses
(``audit.selectors.audit_entry_page``), over 10,000,000 entries; target <= 200 ms each. Baseline, in the
same run: the bare indexed lookup of the same rows (one SQL statement on the composite index, no ORM, no
sub-queries). EXPLAIN (ANALYZE, BUFFERS) of each selector query is printed.

    .venv/bin/python benchmarks/audit_search_bench.py                     # 10,000,000 entries
    .venv/bin/python benchmarks/audit_search_bench.py --entries 1000000   # a quicker look
    .venv/bin/python benchmarks/audit_search_bench.py --keep              # leave the database behind

It creates its own database (``kvax_bench_audit_search_<pid>`` on the server of BENCH_ADMIN_DATABASE_URL,
default ``postgres://postgres@127.0.0.1:5432/postgres``), migrates it and drops it at the end.

Filling the log fast: the benchmark owns the database, so it writes the rows directly with
``INSERT ... SELECT ... FROM generate_series`` in 1,000,000-row statements, with the table's secondary
indexes and foreign keys dropped during the load and rebuilt afterwards exactly as the migrations define
them (their definitions are read back from pg_indexes / pg_constraint). The hash columns hold dummy
64-character values: verification is not what is measured here (benchmarks/chain_verify_bench.py is).

The distribution, meant to look like five years of a health division's log: ~50 users with a skewed
share (a few heavy users, many light ones), 2 % system entries without an actor, one user who retired
after the first year (every entry of theirs is old: the case that needs the timestamp order, see
audit/selectors.py), 300,000 residents each with one vaccination record; 70 % of entries concern
residents (85 % reads), 25 % records (0.5 % of them deletions, whose diff names the resident), 5 %
sign-in/sign-out events; timestamps rise with seq over 2021-01-01 .. 2025-12-31.

Also printed, for the record: the same searches ordered by seq alone (what the brief first suggested),
which cannot use the composite indexes for the order and so degrade for old entries.
"""

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = f"kvax_bench_audit_search_{os.getpid()}"
TABLE = "audit_auditlogentry"
TARGET_MS = 200.0
CHUNK = 1_000_000
START = datetime(2021, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 1, tzinfo=UTC)
ACTIVE_USERS = 49


def database_url() -> str:
    base, _slash, _name = ADMIN_URL.rpartition("/")
    return f"{base}/{DB_NAME}"


def admin_execute(sql: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def setup_django() -> None:
    os.environ["DATABASE_URL"] = database_url()
    os.environ["DEBUG"] = "0"  # no query log
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "koshigaya_vax.settings.dev"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def step(label: str) -> Callable[[], None]:
    started = time.perf_counter()
    print(f"  {label} ...", end="", flush=True)

    def done() -> None:
        print(f" {time.perf_counter() - started:.1f} s", flush=True)

    return done


def seed_people(residents: int) -> dict[str, Any]:
    """Users (49 active staff, 1 retired, 1 auditor), one clinic and vaccine, ``residents`` residents with
    one record each (resident i holds record i), written with generate_series."""
    from django.contrib.auth.models import Group
    from django.db import connection

    from accounts.models import User
    from accounts.roles import Role

    staff_group = Group.objects.get(name=Role.STAFF)
    users = [User(username=f"staff{i:02d}") for i in range(1, ACTIVE_USERS + 1)] + [User(username="retired01")]
    User.objects.bulk_create(users)
    users = list(User.objects.filter(username__in=[u.username for u in users]).order_by("id"))
    staff_group.user_set.add(*users)
    auditor = User.objects.create_user(username="bench-auditor", password=None)
    auditor.groups.add(Group.objects.get(name=Role.AUDITOR))
    creator = users[0].pk
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO records_clinic (created_at, updated_at, code, name, address, is_active)
            VALUES (now(), now(), '1100000001', '越谷ベンチ医院', '', true) RETURNING id""")
        clinic = cursor.fetchone()[0]
        cursor.execute("""
            INSERT INTO records_vaccine (created_at, updated_at, code, name, maker, standard_dose_ml, is_active)
            VALUES (now(), now(), 'FLU01', 'ベンチワクチン', 'テスト製薬', 0.50, true) RETURNING id""")
        vaccine = cursor.fetchone()[0]
        cursor.execute("""
            INSERT INTO records_resident (id, created_at, updated_at, address_number, my_number_ciphertext,
                name, name_kana, kana_key, name_key, sex, birth_date, postal_code, address, address_detail,
                phone, residency_status)
            SELECT g, now(), now(), (5000000000 + g)::text, '', '越谷 ' || g, 'コシガヤ', 'コシガヤ', '越谷' || g,
                1 + g %% 2, date '1930-01-01' + (g %% 30000), '', '埼玉県越谷市', '', '', 'resident'
            FROM generate_series(1, %s) g""", [residents])
        cursor.execute("""
            INSERT INTO records_vaccinationrecord (id, created_at, updated_at, vaccinated_on, place_text,
                age_at_vaccination, billing_month, examination_category, lot_number, before_move_in,
                screening_doctor, vaccinating_doctor, payment_category, fee_yen, dose_ml, remarks1, remarks2,
                remarks3, source, clinic_id, created_by_id, resident_id, updated_by_id, vaccine_id)
            SELECT g, now(), now(), date '2025-11-10', '', 40, date '2025-11-01', 1, 'AB12-345', false,
                '予診 一郎', '接種 次郎', 1, 3520, 0.50, '', '', '', 'manual', %s, %s, g, %s, %s
            FROM generate_series(1, %s) g""", [clinic, creator, creator, vaccine, residents])
        for table in ("records_resident", "records_vaccinationrecord"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", [residents])
    return {"users": users, "auditor": auditor}


def drop_secondary_structures(cursor: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Drop the log's secondary indexes, its unique constraint and foreign keys; return how to rebuild
    them (CREATE INDEX statements, and (name, definition) of the constraints)."""
    cursor.execute("""
        SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = %s::regclass AND contype IN ('f', 'u')""", [TABLE])
    constraints = list(cursor.fetchall())
    for name, _definition in constraints:
        cursor.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
    cursor.execute("""
        SELECT indexname, indexdef FROM pg_indexes
        WHERE tablename = %s AND indexname <> %s""", [TABLE, f"{TABLE}_pkey"])
    indexes = list(cursor.fetchall())
    for name, _definition in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return [definition for _name, definition in indexes], constraints


def fill_log(entries: int, residents: int, users: list[Any]) -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from accounts.models import User
    from records.models import Resident, VaccinationRecord

    resident_ct = ContentType.objects.get_for_model(Resident).pk
    record_ct = ContentType.objects.get_for_model(VaccinationRecord).pk
    user_ct = ContentType.objects.get_for_model(User).pk
    first_user = users[0].pk  # active users are first_user .. first_user + 48, the retired one after them
    retired = users[-1].pk
    step_us = int((END - START).total_seconds() * 1_000_000 // entries)
    retired_until = entries // 5  # the first year
    access_data = '{"view": "records:resident_detail", "permission": "records.view_resident"}'
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 2")
        cursor.execute("SELECT setseed(0.20261127)")
        # migrate already logged a few entries (role groups, ...): the generated ones follow them.
        cursor.execute("SELECT coalesce(max(seq), 0) FROM audit_auditlogentry")
        offset = cursor.fetchone()[0]
        done = step("dropping secondary indexes and foreign keys for the load")
        index_defs, constraints = drop_secondary_structures(cursor)
        done()
        for low in range(1, entries + 1, CHUNK):
            high = min(low + CHUNK - 1, entries)
            done = step(f"inserting entries {low:,}..{high:,}")
            cursor.execute("""
                INSERT INTO audit_auditlogentry (seq, "timestamp", actor_id, content_type_id, object_pk, object_id,
                    object_repr, action, event, changes, changes_text, additional_data, remote_addr,
                    prev_hash, entry_hash)
                SELECT %(offset)s + g, ts, actor, ct, pk::text, pk,
                    CASE ct WHEN %(resident_ct)s THEN 'resident ' || pk WHEN %(record_ct)s THEN '接種記録 #' || pk
                            ELSE 'user ' || pk END,
                    action,
                    CASE WHEN action = 10 THEN CASE WHEN r5 < 0.5 THEN 'auth.sign_in' ELSE 'auth.sign_out' END
                         ELSE '' END,
                    CASE WHEN ct = %(record_ct)s AND action = 2
                              THEN jsonb_build_object('resident', jsonb_build_array(pk::text, 'None'))
                         WHEN ct = %(record_ct)s AND action = 1
                              THEN '{"fee_yen": ["3520", "1000"]}'::jsonb
                         ELSE NULL END,
                    '',
                    CASE WHEN action = 3 THEN %(access_data)s::jsonb ELSE NULL END,
                    CASE WHEN actor IS NULL THEN NULL
                         ELSE ('10.1.' || (actor %% 200) || '.' || (1 + actor %% 250))::inet END,
                    md5(g::text) || md5((g + 1)::text), md5((g + 2)::text) || md5((g + 3)::text)
                FROM (
                    SELECT g, ts, actor, ct, r5,
                        CASE WHEN ct = %(user_ct)s THEN coalesce(actor, %(first_user)s)
                             ELSE 1 + floor(r4 * %(residents)s)::bigint END AS pk,
                        CASE WHEN ct = %(user_ct)s THEN 10
                             WHEN ct = %(resident_ct)s THEN CASE WHEN r5 < 0.85 THEN 3 WHEN r5 < 0.95 THEN 1 ELSE 0 END
                             ELSE CASE WHEN r5 < 0.55 THEN 0 WHEN r5 < 0.995 THEN 1 ELSE 2 END END AS action
                    FROM (
                        SELECT g, r4, r5,
                            %(start)s::timestamptz + (g * %(step_us)s) * interval '1 microsecond' AS ts,
                            CASE WHEN r1 < 0.02 THEN NULL
                                 WHEN r1 < 0.03 AND g <= %(retired_until)s THEN %(retired)s
                                 ELSE %(first_user)s + floor(%(active)s * power(r2, 1.6))::bigint END AS actor,
                            CASE WHEN r3 < 0.70 THEN %(resident_ct)s WHEN r3 < 0.95 THEN %(record_ct)s
                                 ELSE %(user_ct)s END AS ct
                        FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
                                     random() AS r5
                              FROM generate_series(%(low)s::bigint, %(high)s::bigint) g) raw
                    ) shaped
                ) rows""", {
                "resident_ct": resident_ct, "record_ct": record_ct, "user_ct": user_ct, "access_data": access_data,
                "first_user": first_user, "retired": retired, "retired_until": retired_until,
                "active": ACTIVE_USERS, "residents": residents, "start": START, "step_us": step_us,
                "low": low, "high": high, "offset": offset,
            })
            done()
        cursor.execute("UPDATE audit_auditchainhead SET last_seq = %s", [offset + entries])
        done = step(f"rebuilding {len(index_defs)} indexes and {len(constraints)} constraints")
        for definition in index_defs:
            cursor.execute(definition)
        for name, definition in constraints:
            cursor.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        done()
        done = step("VACUUM ANALYZE")
        cursor.execute(f"VACUUM (ANALYZE) {TABLE}")
        cursor.execute("ANALYZE records_resident")
        cursor.execute("ANALYZE records_vaccinationrecord")
        done()
        cursor.execute(f"SELECT pg_size_pretty(pg_total_relation_size('{TABLE}')), "
                       f"pg_size_pretty(pg_relation_size('{TABLE}'))")
        total, heap = cursor.fetchone()
        print(f"  log table: {heap} of rows, {total} with indexes")


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(first call ms, median of the next ``repeat`` calls ms, last result)."""
    started = time.perf_counter()
    result = fn()
    first = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return first, statistics.median(samples), result


def raw_query(sql: str, params: list[Any]) -> Callable[[], list[Any]]:
    from django.db import connection

    def run() -> list[Any]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    return run


def measure(users: list[Any], auditor: Any, residents: int, repeat: int) -> bool:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection

    from audit.selectors import PAGE_SIZE, AuditSearchCriteria, audit_entry_page, audit_entry_search
    from records.models import Resident, VaccinationRecord

    resident_ct = ContentType.objects.get_for_model(Resident).pk
    record_ct = ContentType.objects.get_for_model(VaccinationRecord).pk
    with connection.cursor() as cursor:
        # A resident whose record was deleted (the search must find the deletion entry too), a heavy user,
        # a light one, and the retired one.
        cursor.execute("SELECT object_pk FROM audit_auditlogentry WHERE action = 2 AND content_type_id = %s "
                       "ORDER BY seq DESC LIMIT 1", [record_ct])
        deleted_pk = int(cursor.fetchone()[0])
        cursor.execute("SELECT actor_id, count(*) FROM audit_auditlogentry WHERE actor_id IS NOT NULL "
                       "GROUP BY actor_id ORDER BY count(*) DESC")
        counts = cursor.fetchall()
    heavy, heavy_n = counts[0]
    light, light_n = next((a, n) for a, n in reversed(counts) if a != users[-1].pk)
    retired_n = dict(counts).get(users[-1].pk, 0)
    address = {pk: f"{5000000000 + pk}" for pk in (deleted_pk, residents // 2)}
    usernames = {u.pk: u.username for u in users}
    cases = [
        (f"resident {address[residents // 2]} (typical)", AuditSearchCriteria(address_number=address[residents // 2]),
         residents // 2),
        (f"resident {address[deleted_pk]} (with a deleted record)",
         AuditSearchCriteria(address_number=address[deleted_pk]), deleted_pk),
        (f"user {usernames[heavy]} (heaviest, {heavy_n:,} entries)", AuditSearchCriteria(username=usernames[heavy]),
         None),
        (f"user {usernames[light]} (lightest active, {light_n:,} entries)",
         AuditSearchCriteria(username=usernames[light]), None),
        (f"user retired01 (entries only in 2021, {retired_n:,})", AuditSearchCriteria(username="retired01"), None),
    ]
    def page_of(criteria: AuditSearchCriteria) -> Callable[[], Any]:
        return lambda: audit_entry_page(actor=auditor, criteria=criteria)

    def first_rows(qs: Any) -> Callable[[], Any]:
        return lambda: list(qs[: PAGE_SIZE + 1])

    all_ok = True
    print()
    print(f"{'search (first page of ' + str(PAGE_SIZE) + ')':58} {'selector':>10} {'cold':>8} "
          f"{'baseline':>9} {'ratio':>6} {'by seq':>9}  target")
    for label, criteria, resident_pk in cases:
        first, median, page = timed(page_of(criteria), repeat)
        assert len(page.entries) == PAGE_SIZE or page.older_cursor is None, label
        if resident_pk is not None:
            baseline_sql = ("SELECT * FROM audit_auditlogentry WHERE (content_type_id = %s AND object_pk = %s) "
                            "OR (content_type_id = %s AND object_pk = %s) "
                            'ORDER BY "timestamp" DESC, seq DESC LIMIT %s')
            params: list[Any] = [resident_ct, str(resident_pk), record_ct, str(resident_pk), PAGE_SIZE + 1]
            assert {e.object_pk for e in page.entries} == {str(resident_pk)}, label
        else:
            actor_id = next(pk for pk, name in usernames.items() if criteria.username == name)
            baseline_sql = ('SELECT * FROM audit_auditlogentry WHERE actor_id = %s ORDER BY "timestamp" DESC, '
                            "seq DESC LIMIT %s")
            params = [actor_id, PAGE_SIZE + 1]
            assert {e.actor_id for e in page.entries} == {actor_id}, label
        _bf, baseline, rows = timed(raw_query(baseline_sql, params), repeat)
        assert [r[0] for r in rows[:PAGE_SIZE]] == [e.pk for e in page.entries], label
        by_seq_qs = audit_entry_search(actor=auditor, criteria=criteria).order_by("-seq")
        _sf, by_seq, _rows = timed(first_rows(by_seq_qs), max(1, repeat // 3))
        ok = median <= TARGET_MS
        all_ok &= ok
        print(f"{label:58} {median:8.1f}ms {first:6.1f}ms {baseline:7.1f}ms {median / baseline:5.1f}x "
              f"{by_seq:7.1f}ms  {'OK' if ok else 'MISSED'} (<= {TARGET_MS:.0f} ms)")
    print()
    print("EXPLAIN (ANALYZE, BUFFERS) of the selector's queries:")
    for label, criteria, _resident_pk in cases:
        print(f"\n--- {label}: the page")
        print(audit_entry_search(actor=auditor, criteria=criteria)[: PAGE_SIZE + 1].explain(analyze=True,
                                                                                           buffers=True))
    from audit.models import AuditLogEntry, deleted_resident_expression

    print(f"\n--- the deleted-records lookup inside the resident search (resident {deleted_pk})")
    print(AuditLogEntry.objects.annotate(named=deleted_resident_expression())
          .filter(action=AuditLogEntry.Action.DELETE, named=str(deleted_pk), content_type_id=record_ct)
          .values_list("object_pk", flat=True).explain(analyze=True, buffers=True))
    print("\n--- for comparison: user retired01 ordered by seq alone")
    print(audit_entry_search(actor=auditor, criteria=AuditSearchCriteria(username="retired01"))
          .order_by("-seq")[: PAGE_SIZE + 1].explain(analyze=True, buffers=True))
    return all_ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000_000)
    parser.add_argument("--residents", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=9, help="timed calls per case after the first")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()

    began = time.perf_counter()
    print(f"database {DB_NAME}: {args.entries:,} audit entries, {args.residents:,} residents")
    admin_execute(f'CREATE DATABASE "{DB_NAME}"')
    try:
        done = step("migrating")
        setup_django()
        done()
        done = step("residents, records and users")
        people = seed_people(args.residents)
        done()
        fill_started = time.perf_counter()
        fill_log(args.entries, args.residents, people["users"])
        print(f"  log filled in {time.perf_counter() - fill_started:.0f} s")
        ok = measure(people["users"], people["auditor"], args.residents, args.repeat)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    print(f"\ntotal run time {time.perf_counter() - began:.0f} s; all targets {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
