"""The feed's task (thin, acks_late, retried on lost database connections only) and a real Celery worker
killed with SIGKILL inside the applying transaction (stopped there by a table lock the test holds):
nothing may be half-applied, and the next worker applies the file, once (PostgreSQL and Redis)."""

import os
import subprocess
from datetime import date

import pytest
from celery.exceptions import Retry
from django.db import OperationalError, connection

from imports.feed import receiving
from imports.feed.applying import _ADVISORY_LOCK
from imports.models import FeedStatus, ResidentFeedFile
from imports.tasks import resident_feed_process_task
from koshigaya_vax.celery import app as celery_app
from records.models import ResidencyPeriod, Resident
from tests.conftest import requires_postgres
from tests.feed.helpers import change, feed_staff, receive
from tests.imports.factories import residents_bulk
from tests.workers import hold_table, kill, start_worker, wait_for, write_waiting

# Emptied before and after; KVAX_TEST_REDIS_URL names another database (a shared machine).
REDIS_URL = os.environ.get("KVAX_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
ROWS = 8000


def test_the_task_calls_the_service_and_returns_the_status(monkeypatch):
    calls = []

    def process(*, feed_id):
        calls.append(feed_id)
        return ResidentFeedFile(status=FeedStatus.APPLIED)

    monkeypatch.setattr("imports.feed.resident_feed_process", process)
    assert resident_feed_process_task.delay(7).get() == FeedStatus.APPLIED
    assert calls == [7]
    assert resident_feed_process_task.acks_late is True


def test_a_lost_database_connection_is_retried_and_other_errors_propagate(monkeypatch):
    def lost(*, feed_id):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("imports.feed.resident_feed_process", lost)
    with pytest.raises(Retry):
        resident_feed_process_task.delay(7)

    def bug(*, feed_id):
        raise ValueError("a bug")

    monkeypatch.setattr("imports.feed.resident_feed_process", bug)
    with pytest.raises(ValueError, match="a bug"):
        resident_feed_process_task.delay(7)


def _applying() -> bool:
    """Whether some session holds the feed's advisory lock, i.e. is inside the applying transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
                       [_ADVISORY_LOCK])
        return bool(cursor.fetchone()[0])


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_inside_the_applying_transaction_leaves_nothing(settings, tmp_path, monkeypatch):
    import redis
    from kombu import Connection

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    settings.MEDIA_ROOT = tmp_path
    saved = celery_app.conf.task_always_eager

    def enqueue(feed_id: int) -> None:
        celery_app.conf.task_always_eager = False
        try:
            with celery_app.connection_for_write(REDIS_URL) as conn:
                resident_feed_process_task.apply_async(args=[feed_id], connection=conn)
        finally:
            celery_app.conf.task_always_eager = saved

    monkeypatch.setattr(receiving, "_enqueue", enqueue)
    people = residents_bulk(ROWS, start=900000, birth_date=date(1970, 1, 1))
    rows = [change("move_out", "2025-06-01", p.resident.address_number, name=p.resident.name,
                   kana=p.resident.name_kana, birth="1970-01-01", sex="1", address="東京都") for p in people]
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen] = []
    holder = hold_table(ResidencyPeriod)  # the worker's writes of new periods wait for it
    try:
        feed_file = receive(rows, actor=feed_staff())  # enqueued on commit (transaction=True)
        workers.append(start_worker("feed-first", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: write_waiting(ResidencyPeriod), 90, 0.05), log.read_text()
        assert _applying()
        kill(workers[0])
        holder.rollback()
        # The database notices the dead client at its next read or write and rolls the transaction back.
        assert wait_for(lambda: not _applying(), 90, 0.2)

        assert ResidentFeedFile.objects.get(pk=feed_file.pk).status == FeedStatus.VALIDATING
        assert not Resident.objects.exclude(residency_status="resident").exists()
        assert not ResidencyPeriod.objects.exists()
        assert broker.hlen("unacked") == 1

        with Connection(REDIS_URL, transport_options={"visibility_timeout": 0}) as conn:
            conn.default_channel.qos.restore_visible(num=10)
        workers.append(start_worker("feed-second", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: ResidentFeedFile.objects.get(pk=feed_file.pk).status == FeedStatus.APPLIED, 120,
                         0.2), log.read_text()
        done = ResidentFeedFile.objects.get(pk=feed_file.pk)
        assert (done.rows_total, done.rows_applied, done.rows_error) == (ROWS, ROWS, 0)
        assert Resident.objects.filter(residency_status="moved_out", moved_out_on=date(2025, 6, 1)).count() == ROWS
        assert ResidencyPeriod.objects.count() == 2 * ROWS
    finally:
        holder.close()
        for worker in workers:
            kill(worker)
        broker.flushdb()
