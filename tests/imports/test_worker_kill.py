"""The processing task: thin, acks_late, retried on database connection trouble only — and a real Celery
worker killed with SIGKILL inside the transaction that commits an import, which must leave nothing
half-written and be finished, exactly once, by the next worker (PostgreSQL and Redis)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.exceptions import Retry
from django.db import OperationalError, connection

from imports.models import ClinicImport, ImportStatus
from imports.services import receiving
from imports.tasks import clinic_import_process_task
from koshigaya_vax.celery import app as celery_app
from records.models import VaccinationRecord
from tests.conftest import requires_postgres
from tests.imports.csvdata import csv_bytes, row
from tests.imports.factories import import_setup, receive_file, residents_bulk

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own, emptied before and after
ROWS = 12_000


# --- the task ------------------------------------------------------------------------------------------
def test_the_task_calls_the_service_with_the_id_and_returns_the_status(monkeypatch):
    calls = []

    def process(*, import_id):
        calls.append(import_id)
        return ClinicImport(status=ImportStatus.COMMITTED)

    monkeypatch.setattr("imports.services.clinic_import_process", process)
    assert clinic_import_process_task.delay(42).get() == ImportStatus.COMMITTED
    assert calls == [42]


def test_a_lost_database_connection_is_retried(monkeypatch):
    def process(*, import_id):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("imports.services.clinic_import_process", process)
    with pytest.raises(Retry):
        clinic_import_process_task.delay(42)
    assert clinic_import_process_task.max_retries == 3


def test_retries_stop_at_the_cap_and_the_error_propagates(monkeypatch):
    def process(*, import_id):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("imports.services.clinic_import_process", process)
    with pytest.raises(OperationalError):
        clinic_import_process_task.apply(args=[42], retries=clinic_import_process_task.max_retries)


def test_any_other_error_propagates_at_once(monkeypatch):
    calls = []

    def process(*, import_id):
        calls.append(import_id)
        raise ValueError("a bug")

    monkeypatch.setattr("imports.services.clinic_import_process", process)
    with pytest.raises(ValueError, match="a bug"):
        clinic_import_process_task.delay(42)
    assert calls == [42]


def test_the_task_acknowledges_late():
    assert clinic_import_process_task.acks_late is True
    assert celery_app.conf.task_reject_on_worker_lost is True


# --- a real worker, killed -------------------------------------------------------------------------------
def _database_url() -> str:
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _start_worker(name: str, media: Path, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "koshigaya_vax.settings.dev",
        "DATABASE_URL": _database_url(),  # the test database
        "CELERY_BROKER_URL": REDIS_URL,
        "MEDIA_ROOT": str(media),
        "KVAX_VAR_DIR": str(media),
        "DEBUG": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "koshigaya_vax", "worker", "--concurrency=1", "--pool=prefork",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", "-n", f"{name}@%h"]
    # A session of its own, so SIGKILL reaches the worker and its pool process and nothing else.
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def _wait_for(predicate, timeout: float, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def _status(import_id: int) -> str:
    return ClinicImport.objects.values_list("status", flat=True).get(pk=import_id)


def _hold_records_table():
    """A session of the test's own holding the records table in SHARE mode until it rolls back: reads go on,
    but the import's INSERT waits for it. So the worker is stopped inside its commit transaction — the
    rows validated and matched, the import locked, the records on their way in — however fast it runs."""
    import psycopg

    holder = psycopg.connect(_database_url())
    holder.execute(f"LOCK TABLE {VaccinationRecord._meta.db_table} IN SHARE MODE")
    return holder


def _insert_waiting() -> bool:
    """Whether a session waits for a lock in the middle of inserting records (the import's commit)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query LIKE %s",
                       [f'INSERT INTO "{VaccinationRecord._meta.db_table}"%'])
        return bool(cursor.fetchone()[0])


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_import_leaves_nothing_and_the_next_one_finishes_it(settings, tmp_path, monkeypatch):
    import redis
    from kombu import Connection

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()  # Redis is part of this test's environment (.ci/run starts it)
    broker.flushdb()
    settings.MEDIA_ROOT = tmp_path
    # The suite runs Celery eagerly; this test's receipt publishes its task to Redis instead, as in
    # production, on a connection of its own (the app's pools may already exist for the default broker).
    saved = celery_app.conf.task_always_eager

    def enqueue(import_id: int) -> None:
        celery_app.conf.task_always_eager = False
        try:
            with celery_app.connection_for_write(REDIS_URL) as conn:
                clinic_import_process_task.apply_async(args=[import_id], connection=conn)
        finally:
            celery_app.conf.task_always_eager = saved

    monkeypatch.setattr(receiving, "_enqueue", enqueue)

    setup = import_setup()
    people = residents_bulk(ROWS)
    data = csv_bytes([row(p.resident, my_number=p.my_number) for p in people])
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen] = []
    holder = _hold_records_table()
    try:
        clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)  # enqueued on commit
        workers.append(_start_worker("first", tmp_path, log))
        assert _wait_for(_insert_waiting, 60, 0.05), log.read_text()
        assert _status(clinic_import.pk) == ImportStatus.VALIDATING
        _kill(workers[0])
        # The killed worker's session goes on waiting; once it gets the table it finds its client gone and
        # rolls back (meanwhile it still holds the import's row lock, which the next worker waits for).
        holder.rollback()

        assert _status(clinic_import.pk) == ImportStatus.VALIDATING
        assert VaccinationRecord.objects.count() == 0  # nothing half-written
        assert broker.hlen("unacked") == 1  # acks_late: the message was never acknowledged

        # Redis hands an unacknowledged message out again after the transport's visibility_timeout
        # (1 hour by default). Make it visible now, as kombu would then, and start the next worker.
        with Connection(REDIS_URL, transport_options={"visibility_timeout": 0}) as conn:
            conn.default_channel.qos.restore_visible(num=10)
        assert broker.hlen("unacked") == 0
        workers.append(_start_worker("second", tmp_path, log))
        assert _wait_for(lambda: _status(clinic_import.pk) == ImportStatus.COMMITTED, 60, 0.2), log.read_text()

        done = ClinicImport.objects.get(pk=clinic_import.pk)
        assert (done.rows_total, done.rows_committed, done.rows_duplicate, done.rows_error) == (ROWS, ROWS, 0, 0)
        assert VaccinationRecord.objects.count() == ROWS
        assert VaccinationRecord.objects.values("resident_id").distinct().count() == ROWS
    finally:
        holder.close()
        for worker in workers:
            _kill(worker)
        broker.flushdb()
