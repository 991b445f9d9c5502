"""The processing task: thin, acks_late, retried on database connection trouble only — and a real Celery
worker killed with SIGKILL inside the transaction that commits an import, which must leave nothing
half-written and be finished, exactly once, by the next worker (PostgreSQL and Redis)."""

import subprocess

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from imports.models import ClinicImport, ImportStatus
from imports.services import receiving
from imports.tasks import clinic_import_process_task
from koshigaya_vax.celery import app as celery_app
from records.models import VaccinationRecord
from tests.conftest import requires_postgres
from tests.imports.csvdata import csv_bytes, row
from tests.imports.factories import import_setup, receive_file, residents_bulk
from tests.workers import hold_table, kill, start_worker, wait_for, write_waiting

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
def _status(import_id: int) -> str:
    return ClinicImport.objects.values_list("status", flat=True).get(pk=import_id)


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
    holder = hold_table(VaccinationRecord)  # the worker's INSERT of the records waits for it
    try:
        clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)  # enqueued on commit
        workers.append(start_worker("first", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: write_waiting(VaccinationRecord, "INSERT INTO"), 60, 0.05), log.read_text()
        assert _status(clinic_import.pk) == ImportStatus.VALIDATING
        kill(workers[0])
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
        workers.append(start_worker("second", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: _status(clinic_import.pk) == ImportStatus.COMMITTED, 60, 0.2), log.read_text()

        done = ClinicImport.objects.get(pk=clinic_import.pk)
        assert (done.rows_total, done.rows_committed, done.rows_duplicate, done.rows_error) == (ROWS, ROWS, 0, 0)
        assert VaccinationRecord.objects.count() == ROWS
        assert VaccinationRecord.objects.values("resident_id").distinct().count() == ROWS
    finally:
        holder.close()
        for worker in workers:
            kill(worker)
        broker.flushdb()
