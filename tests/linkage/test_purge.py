"""Acceptance 4: expired linkage results are purged by the beat job (with a moved clock), and the purge
is recorded. The exchange and its provision record stay."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from audit.models import AuditLogEntry
from linkage.models import Exchange, LinkageResult, ProvisionRecord
from linkage.services.codes import provision_code_acquire
from linkage.services.queries import linkage_query_create, linkage_query_send
from linkage.tasks import CODE_BATCH_TASK, INBOUND_POLL_TASK, RESULT_PURGE_TASK, result_purge_task
from tests.linkage.conftest import CHIYODA, dose

pytestmark = pytest.mark.django_db


@pytest.fixture
def answered(mock, staff_user, moved_in_resident) -> Exchange:
    mock.person(address_number=moved_in_resident.address_number, doses=[dose()])
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    exchange = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                    provider_name="東京都千代田区")
    return linkage_query_send(actor=staff_user, exchange_id=exchange.pk)


@pytest.fixture
def move_clock(monkeypatch):
    real_now = timezone.now

    def move(days: float) -> None:
        monkeypatch.setattr(timezone, "now", lambda: real_now() + timedelta(days=days))

    return move


def test_the_linkage_jobs_are_beat_schedules():
    task = PeriodicTask.objects.get(task=RESULT_PURGE_TASK)
    assert task.enabled and task.crontab is not None
    assert (task.crontab.hour, task.crontab.minute) == ("3", "30")
    poll = PeriodicTask.objects.get(task=INBOUND_POLL_TASK)
    assert poll.enabled and (poll.interval.every, poll.interval.period) == (5, "minutes")
    codes = PeriodicTask.objects.get(task=CODE_BATCH_TASK)
    assert codes.enabled and (codes.crontab.hour, codes.crontab.minute) == ("2", "30")


def test_results_are_kept_for_seven_days_then_purged_and_the_purge_recorded(answered, move_clock, staff_user,
                                                                            client_for):
    result_pk = answered.result.pk
    move_clock(6.9)
    assert result_purge_task.delay().get() == 0
    assert LinkageResult.objects.filter(pk=result_pk).exists()

    move_clock(7.1)
    assert result_purge_task.delay().get() == 1
    assert not LinkageResult.objects.exists()
    answered.refresh_from_db()
    assert answered.result_purged_at is not None
    assert ProvisionRecord.objects.filter(exchange=answered).exists()  # the record of the query stays

    event = AuditLogEntry.objects.get(event="linkage.result_purged")
    assert event.actor.username == "system-linkage"
    assert event.additional_data["count"] == 1 and event.additional_data["exchange_ids"] == [answered.pk]
    deletion = AuditLogEntry.objects.get(content_type__model="linkageresult", object_pk=str(result_pk),
                                         action=AuditLogEntry.Action.DELETE)
    assert deletion.actor.username == "system-linkage"
    # The page says the result was deleted, and nothing is left to register.
    page = client_for(staff_user).get(reverse("linkage:exchange_detail", args=[answered.pk])).content.decode()
    assert "保存期間を過ぎたため" in page and "すべて転入前接種として登録" not in page
    # Running again finds nothing.
    assert result_purge_task.delay().get() == 0
    assert AuditLogEntry.objects.filter(event="linkage.result_purged").count() == 1


def test_the_period_is_configurable(answered, move_clock, settings):
    settings.LINKAGE_RESULT_RETENTION_DAYS = 2
    move_clock(1.5)
    assert result_purge_task.delay().get() == 0
    move_clock(2.5)
    assert result_purge_task.delay().get() == 1
