"""The change feed's inbox: stored files archived, refused ones moved aside with the reason, the daily
schedule, and the task."""

import pytest

from imports.inbox import INBOX_SYSTEM_USERNAME, REASON_SUFFIX
from imports.models import FeedStatus, ImportSource, ResidentFeedFile
from records.models import Resident
from tests.feed.helpers import change, feed_bytes, resident

pytestmark = pytest.mark.django_db


@pytest.fixture
def folders(settings, tmp_path):
    settings.FEED_INBOX_DIR = tmp_path / "feed-inbox"
    settings.FEED_ARCHIVE_DIR = tmp_path / "feed-archive"
    settings.FEED_INBOX_DIR.mkdir()
    return settings.FEED_INBOX_DIR, settings.FEED_ARCHIVE_DIR


def scan():
    from imports.feed.inbox import feed_inbox_scan

    return feed_inbox_scan()


def test_file_is_stored_applied_and_archived_as_the_system_account(folders, django_capture_on_commit_callbacks):
    inbox, archive = folders
    resident("230001")
    (inbox / "ido_20250501.csv").write_bytes(feed_bytes([change("address_change", "2025-05-01", "230001",
                                                                address="越谷市受信")]))
    (inbox / "ido_20250502.csv.part").write_bytes(b"half written")
    with django_capture_on_commit_callbacks(execute=True):
        summary = scan()
    feed = ResidentFeedFile.objects.get()
    assert summary.as_dict() == {"locked": False, "archived": [{"file": "ido_20250501.csv", "import_id": feed.pk}],
                                 "rejected": []}
    assert (feed.source, feed.status, feed.uploaded_by.username) == (ImportSource.INBOX, FeedStatus.APPLIED,
                                                                     INBOX_SYSTEM_USERNAME)
    assert Resident.objects.get(address_number="230001").address == "越谷市受信"
    assert (archive / f"{feed.pk}_ido_20250501.csv").exists()
    assert sorted(p.name for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")) == [
        "ido_20250502.csv.part"]


def test_duplicate_and_non_csv_are_rejected_with_reason(folders):
    inbox, _archive = folders
    data = feed_bytes([change("address_change", "2025-05-01", "230002")])
    (inbox / "a.csv").write_bytes(data)
    scan()
    (inbox / "b.csv").write_bytes(data)
    (inbox / "notes.txt").write_text("x")
    summary = scan()
    assert {o.filename for o in summary.rejected} == {"b.csv", "notes.txt"}
    reasons = sorted((inbox / "rejected").glob(f"*{REASON_SUFFIX}"))
    assert len(reasons) == 2
    text = "".join(r.read_text(encoding="utf-8-sig") for r in reasons)
    assert "同じファイルは既に受け付けています" in text and "docs/resident-feed.md" in text


def test_a_file_stored_by_a_scan_that_stopped_is_archived_next_time(folders, monkeypatch):
    inbox, archive = folders
    data = feed_bytes([change("address_change", "2025-05-01", "230003")])
    (inbox / "c.csv").write_bytes(data)
    import imports.feed.inbox as feed_inbox

    real_move = feed_inbox._move

    def stop(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(feed_inbox, "_move", stop)
    with pytest.raises(OSError):
        scan()
    monkeypatch.setattr(feed_inbox, "_move", real_move)
    summary = scan()
    feed = ResidentFeedFile.objects.get()
    assert [o.import_id for o in summary.archived] == [feed.pk]
    assert (archive / f"{feed.pk}_c.csv").exists()


def test_daily_schedule_and_task(folders):
    from django_celery_beat.models import PeriodicTask

    from imports.inbox_tasks import FEED_INBOX_SCAN_TASK
    from koshigaya_vax.celery import app

    task = PeriodicTask.objects.get(task=FEED_INBOX_SCAN_TASK)
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute, str(task.crontab.timezone)) == ("1", "30", "Asia/Tokyo")
    assert app.tasks[FEED_INBOX_SCAN_TASK].delay().get() == {"locked": False, "archived": [], "rejected": []}
