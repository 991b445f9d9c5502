"""Acceptance 3: a purge interrupted halfway — between batches, inside a batch, or by a real Celery worker
killed with SIGKILL (PostgreSQL and Redis) — and then resumed deletes exactly the approved set."""

import os
import subprocess
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.chain import chain_verify
from records.models import ResidencyStatus, Resident, Sex
from retention import classes, services
from retention.models import BatchStatus, PurgeBatch, PurgeReport, ReportStatus, ReportTrigger
from retention.services import purge_report_approve, purge_report_create, purge_report_stop
from tests.conftest import requires_postgres
from tests.retention.factories import person_who_left
from tests.workers import kill, start_worker, wait_for

# This database, emptied before and after; KVAX_TEST_REDIS_URL names another (a shared machine).
REDIS_URL = os.environ.get("KVAX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TODAY = date(2026, 11, 26)


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way catches it."""


def people_bulk(count: int, *, start: int = 900000, left_on: date = date(2000, 1, 1)) -> list[int]:
    """``count`` people who moved out on ``left_on``, in one insert (no audit entries, no My Number)."""
    created = Resident.objects.bulk_create([
        Resident(address_number=str(start + n), name=f"退去 三郎{n}", name_kana="タイキョ　サブロウ",
                 kana_key="タイキヨサブロウ", name_key=f"退去三郎{n}", sex=Sex.MALE, birth_date=date(1950, 1, 1),
                 address="埼玉県越谷市越ヶ谷1-1-1", residency_status=ResidencyStatus.MOVED_OUT, moved_out_on=left_on)
        for n in range(count)
    ])
    return sorted(r.pk for r in created)


def _approved_report(admin_user, settings, batch_size: int) -> PurgeReport:
    settings.RETENTION_BATCH_SIZE = batch_size
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR,
                                 keys=["records"])
    # Approved without running: the test transaction never commits, so the on-commit enqueue never fires.
    purge_report_approve(actor=admin_user, report=report)  # on_commit not executed inside the test transaction
    report.refresh_from_db()
    assert report.status == ReportStatus.APPROVED
    return report


def _frozen(report: PurgeReport) -> set[int]:
    return {pk for batch in PurgeBatch.objects.filter(item__report=report) for pk in batch.ids}


def test_killed_between_batches_and_resumed_deletes_exactly_the_approved_set(admin_user, settings, monkeypatch):
    approved = set(people_bulk(10))
    report = _approved_report(admin_user, settings, batch_size=3)  # batches of 3, 3, 3, 1
    assert _frozen(report) == approved
    newcomer = person_who_left(left_on=date(1999, 1, 1))  # due too, but not in the approved report

    real = services._run_batch
    done: list[bool] = []

    def run_then_die(**kwargs):
        if len(done) == 2:
            raise Killed
        done.append(real(**kwargs))
        return done[-1]

    monkeypatch.setattr(services, "_run_batch", run_then_die)
    with pytest.raises(Killed):
        services.purge_report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.RUNNING
    statuses = list(PurgeBatch.objects.filter(item__report=report).order_by("number").values_list("status", flat=True))
    assert statuses == [BatchStatus.DONE, BatchStatus.DONE, BatchStatus.PENDING, BatchStatus.PENDING]
    assert Resident.objects.filter(pk__in=approved).count() == 4

    monkeypatch.setattr(services, "_run_batch", real)
    out = StringIO()
    call_command("purge", "--run", str(report.pk), stdout=out)
    assert "完了" in out.getvalue()
    assert not Resident.objects.filter(pk__in=approved).exists()
    assert Resident.objects.filter(pk=newcomer.pk).exists()
    item = report.items.get()
    assert (item.count, item.deleted, item.skipped) == (10, 10, 0)
    assert chain_verify().ok


def test_killed_inside_a_batch_rolls_that_batch_back(admin_user, settings, monkeypatch):
    approved = set(people_bulk(6))
    report = _approved_report(admin_user, settings, batch_size=4)
    real = classes.PersonRecords.purge

    def delete_then_die(self, **kwargs):
        real(self, **kwargs)  # rows deleted inside the batch's transaction ...
        raise Killed  # ... and the worker dies before the commit

    monkeypatch.setattr(classes.PersonRecords, "purge", delete_then_die)
    with pytest.raises(Killed):
        services.purge_report_run(report_id=report.pk)
    assert Resident.objects.filter(pk__in=approved).count() == 6
    assert not PurgeBatch.objects.filter(item__report=report, status=BatchStatus.DONE).exists()

    monkeypatch.setattr(classes.PersonRecords, "purge", real)
    services.purge_report_run(report_id=report.pk)
    assert not Resident.objects.filter(pk__in=approved).exists()
    assert report.items.get().deleted == 6


def test_a_stop_takes_effect_between_batches_and_resume_finishes(admin_user, settings, monkeypatch,
                                                                 django_capture_on_commit_callbacks):
    approved = set(people_bulk(9))
    report = _approved_report(admin_user, settings, batch_size=3)
    real = services._run_batch
    calls = []

    def run_and_ask_to_stop(**kwargs):
        calls.append(real(**kwargs))
        if len(calls) == 1:
            purge_report_stop(actor=admin_user, report=report)

    monkeypatch.setattr(services, "_run_batch", run_and_ask_to_stop)
    services.purge_report_run(report_id=report.pk)
    report.refresh_from_db()
    assert report.status == ReportStatus.STOPPED and len(calls) == 1
    assert Resident.objects.filter(pk__in=approved).count() == 6

    monkeypatch.setattr(services, "_run_batch", real)
    with django_capture_on_commit_callbacks(execute=True):
        services.purge_report_resume(actor=admin_user, report=report)
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert not Resident.objects.filter(pk__in=approved).exists()


def test_the_command_refuses_a_report_not_approved(admin_user):
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    with pytest.raises(CommandError, match="承認されていません"):
        call_command("purge", "--run", str(report.pk))
    with pytest.raises(CommandError, match="ありません"):
        call_command("purge", "--run", "999999")


def test_the_command_dry_run_stores_a_report_and_deletes_nothing(db):
    people = people_bulk(3)
    out = StringIO()
    call_command("purge", "--dry-run", "--as-of", "2026-11-26", stdout=out)
    report = PurgeReport.objects.get()
    assert (report.trigger, report.status, report.created_by) == (ReportTrigger.COMMAND, ReportStatus.PROPOSED, None)
    assert f"ID {people[0]}–{people[-1]}" in out.getvalue()
    assert Resident.objects.filter(pk__in=people).count() == 3


# --- a real worker, killed -------------------------------------------------------------------------------

def _batches_done(report: PurgeReport) -> int:
    return PurgeBatch.objects.filter(item__report=report, status=BatchStatus.DONE).count()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_purge_and_the_next_one_deletes_exactly_the_approved_set(admin_user, settings,
                                                                                    tmp_path, monkeypatch):
    import redis
    from kombu import Connection

    from koshigaya_vax.celery import app as celery_app
    from retention.tasks import purge_report_run_task

    broker = redis.Redis.from_url(REDIS_URL)
    broker.ping()
    broker.flushdb()
    saved = celery_app.conf.task_always_eager

    def enqueue(report_id: int) -> None:
        def publish() -> None:
            celery_app.conf.task_always_eager = False
            try:
                with celery_app.connection_for_write(REDIS_URL) as conn:
                    purge_report_run_task.apply_async(args=[report_id], connection=conn)
            finally:
                celery_app.conf.task_always_eager = saved

        from django.db import transaction

        transaction.on_commit(publish)

    monkeypatch.setattr(services, "_enqueue_run", enqueue)
    approved = set(people_bulk(3000))
    settings.RETENTION_BATCH_SIZE = 10  # 300 batches: a run long enough to be killed in the middle
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR,
                                 keys=["records"])
    newcomer = people_bulk(5, start=990000)  # due as well, but after the dry run: must survive
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen] = []
    try:
        purge_report_approve(actor=admin_user, report=report)  # autocommit: published at once
        workers.append(start_worker("first", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: _batches_done(report) >= 20, 60), log.read_text()
        kill(workers[0])
        done = _batches_done(report)
        assert 20 <= done < 300, done
        assert Resident.objects.filter(pk__in=approved).count() == 3000 - 10 * done
        assert PurgeReport.objects.get(pk=report.pk).status == ReportStatus.RUNNING
        assert broker.hlen("unacked") == 1

        with Connection(REDIS_URL, transport_options={"visibility_timeout": 0}) as conn:
            conn.default_channel.qos.restore_visible(num=10)
        workers.append(start_worker("second", tmp_path, log, broker_url=REDIS_URL))
        assert wait_for(lambda: PurgeReport.objects.get(pk=report.pk).status == ReportStatus.COMPLETED, 120, 0.2), \
            log.read_text()

        assert not Resident.objects.filter(pk__in=approved).exists()
        assert Resident.objects.filter(pk__in=newcomer).count() == 5
        item = PurgeReport.objects.get(pk=report.pk).items.get()
        assert (item.count, item.deleted, item.skipped) == (3000, 3000, 0)
        assert chain_verify().ok
    finally:
        for worker in workers:
            kill(worker)
        broker.flushdb()
