"""The monthly job: its default schedule, and the classes the city lets run without approval."""

from datetime import date

import pytest
from django_celery_beat.models import PeriodicTask

from records.models import Resident
from retention.models import PurgeReport, ReportStatus
from retention.services import purge_schedule_run
from tests.retention.factories import person_who_left


def test_the_default_schedule_is_the_first_of_the_month_at_three_tokyo_time(db):
    task = PeriodicTask.objects.get(task="retention.monthly")
    crontab = task.crontab
    assert task.enabled
    assert (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week) == (
        "0", "3", "1", "*", "*")
    assert str(crontab.timezone) == "Asia/Tokyo"


def test_only_the_configured_classes_run_without_approval(db, settings, django_capture_on_commit_callbacks):
    settings.RETENTION_AUTO_CLASSES = ["import_row_errors", "import_files"]
    person = person_who_left(left_on=date(2000, 1, 1))
    with django_capture_on_commit_callbacks(execute=True):
        manual, automatic = purge_schedule_run(as_of=date(2026, 11, 26))
    assert manual.status == ReportStatus.PROPOSED and not manual.automatic
    assert set(manual.items.values_list("data_class", flat=True)) == {"records", "linkage_results", "audit_entries"}
    automatic.refresh_from_db()
    assert automatic.automatic and automatic.status == ReportStatus.COMPLETED and automatic.approved_by is None
    assert set(automatic.items.values_list("data_class", flat=True)) == {"import_row_errors", "import_files"}
    assert Resident.objects.filter(pk=person.pk).exists()  # records always wait for an administrator


def test_an_unknown_class_in_the_setting_is_an_error_not_a_silent_skip(settings, db):
    settings.RETENTION_AUTO_CLASSES = ["linkage_reslts"]
    with pytest.raises(ValueError, match="linkage_reslts"):
        purge_schedule_run(as_of=date(2026, 11, 26))
    assert not PurgeReport.objects.exists()
