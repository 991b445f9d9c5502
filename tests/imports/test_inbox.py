"""The inbox folder: a file moves to the archive only after its import stored it; a refused file moves to
rejected/ with a Japanese reason; nothing is ever deleted; a re-run changes nothing; the monthly beat
job, its task and the operators' command. Also: docs/sample-clinic.csv goes through it cleanly."""

import csv
import errno
import fcntl
import io
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports import inbox
from imports.inbox import INBOX_SYSTEM_USERNAME, LOCK_NAME, REASON_SUFFIX, inbox_scan
from imports.models import ClinicImport, ImportSource, ImportStatus
from records.models import Sex, VaccinationRecord
from records.rules.dates import parse_date
from tests.factories import ResidentFactory, VaccineFactory
from tests.imports.surfaces import World, csv_file, make_world, receive, row_for

SAMPLE = Path(__file__).resolve().parents[2] / "docs" / "sample-clinic.csv"


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def folders(tmp_path, settings) -> tuple[Path, Path, Path]:
    settings.IMPORT_INBOX_DIR = tmp_path / "inbox"
    settings.IMPORT_ARCHIVE_DIR = tmp_path / "archive"
    (tmp_path / "inbox").mkdir()
    return tmp_path / "inbox", tmp_path / "archive", tmp_path / "inbox" / "rejected"


@pytest.fixture
def scan(django_capture_on_commit_callbacks):
    """inbox_scan with the on-commit processing of what it stored (eager Celery, as in production)."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return inbox_scan(**kwargs)

    return run


def good_bytes(world: World, remark: str = "") -> bytes:
    return csv_file([row_for(p, world.clinic_a, 備考1=remark) for p in world.people[:2]])


def files_in(folder: Path) -> dict[str, bytes]:
    if not folder.exists():
        return {}
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}


def reason_of(rejected: Path, name: str) -> str:
    [path] = [p for p in rejected.iterdir() if p.name.endswith(f"_{name}{REASON_SUFFIX}")]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    return raw.decode("utf-8-sig")


class TestGoodFile:
    def test_it_is_imported_and_then_archived(self, world, folders, scan):
        inbox_dir, archive, _rejected = folders
        data = good_bytes(world)
        (inbox_dir / "1110000011_202511.csv").write_bytes(data)
        summary = scan()
        clinic_import = ClinicImport.objects.get()
        assert [o.import_id for o in summary.archived] == [clinic_import.pk] and not summary.rejected
        assert files_in(inbox_dir) == {}
        assert files_in(archive) == {f"{clinic_import.pk}_1110000011_202511.csv": data}
        assert (clinic_import.clinic, clinic_import.source, clinic_import.original_filename) == (
            world.clinic_a, ImportSource.INBOX, "1110000011_202511.csv")
        assert clinic_import.billing_month.isoformat() == "2025-11-01"
        assert clinic_import.status == ImportStatus.COMMITTED and clinic_import.rows_committed == 2

    def test_the_scheduled_job_acts_as_an_account_nobody_can_sign_in_with(self, world, folders, scan):
        (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world))
        scan()
        clinic_import = ClinicImport.objects.get()
        uploader = clinic_import.uploaded_by
        assert uploader.username == INBOX_SYSTEM_USERNAME
        assert not uploader.is_active and not uploader.has_usable_password() and uploader.role is None
        assert {r.author for r in VaccinationRecord.objects.all()} == {uploader}

    def test_an_operator_acts_as_themselves(self, world, folders, scan):
        (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world))
        scan(actor=world.staff)
        assert ClinicImport.objects.get().uploaded_by == world.staff

    def test_a_second_file_of_the_month_with_a_suffix(self, world, folders, scan):
        (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world, "1"))
        (folders[0] / "1110000011_202511_2.csv").write_bytes(good_bytes(world, "2"))
        summary = scan()
        assert len(summary.archived) == 2 and ClinicImport.objects.count() == 2

    def test_the_file_moves_only_after_its_import_is_stored(self, world, folders, scan, monkeypatch):
        (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world))
        original = inbox._move
        seen = []

        def spy(source, folder, name):
            seen.append(ClinicImport.objects.filter(original_filename=source.name).exists())
            return original(source, folder, name)

        monkeypatch.setattr(inbox, "_move", spy)
        scan()
        assert seen == [True]

    def test_a_failure_while_storing_leaves_the_file_in_the_inbox(self, world, folders, monkeypatch):
        inbox_dir, archive, rejected = folders
        data = good_bytes(world)
        (inbox_dir / "1110000011_202511.csv").write_bytes(data)

        def broken(**kwargs):
            raise OperationalError("database unavailable")

        monkeypatch.setattr("imports.services.clinic_import_receive", broken)
        with pytest.raises(OperationalError):
            inbox_scan()
        assert files_in(inbox_dir) == {"1110000011_202511.csv": data}
        assert files_in(archive) == {} and files_in(rejected) == {}
        assert not ClinicImport.objects.exists()


class TestRefusedFiles:
    @pytest.mark.parametrize(("name", "words"), [
        ("report.csv", "ファイル名が規則に合いません"),
        ("1110000011-202511.csv", "ファイル名が規則に合いません"),
        ("1110000011_202511.txt", "ファイル名が規則に合いません"),
        ("1110000011_202513.csv", "請求年月"),
        ("9999999999_202511.csv", "医療機関コード（9999999999）は登録されていません"),
    ])
    def test_a_bad_name_or_unknown_clinic(self, world, folders, scan, name, words):
        inbox_dir, archive, rejected = folders
        data = good_bytes(world)
        (inbox_dir / name).write_bytes(data)
        summary = scan()
        assert [o.filename for o in summary.rejected] == [name] and not summary.archived
        assert words in summary.rejected[0].reason
        assert files_in(inbox_dir) == {} and files_in(archive) == {}
        [moved] = [n for n in files_in(rejected) if not n.endswith(REASON_SUFFIX)]
        assert moved.endswith(f"_{name}") and files_in(rejected)[moved] == data
        reason = reason_of(rejected, name)
        assert name in reason and words in reason and "docs/clinic-csv.md" in reason
        assert not ClinicImport.objects.exists()

    def test_a_duplicate_names_the_earlier_import(self, world, folders, scan):
        inbox_dir, _archive, rejected = folders
        data = good_bytes(world)
        earlier = receive(actor=world.clinic_a_user, clinic=world.clinic_a, data=data,
                          source=ImportSource.CLINIC_UPLOAD)
        (inbox_dir / "1110000011_202511.csv").write_bytes(data)
        summary = scan()
        assert summary.rejected and f"#{earlier.pk}" in summary.rejected[0].reason
        assert f"#{earlier.pk}" in reason_of(rejected, "1110000011_202511.csv")
        assert ClinicImport.objects.count() == 1

    def test_a_file_in_utf16_is_refused_with_its_reason(self, world, folders, scan):
        inbox_dir, _archive, rejected = folders
        (inbox_dir / "1110000011_202511.csv").write_bytes(good_bytes(world).decode().encode("utf-16"))
        summary = scan()
        assert "UTF-16" in summary.rejected[0].reason
        assert "UTF-16" in reason_of(rejected, "1110000011_202511.csv")

    def test_an_empty_file_is_stored_as_a_failed_import_not_lost(self, world, folders, scan):
        """The engine stores it (its bytes are readable) and the processing fails it as empty: the import's
        page says why, and the file is in the archive like every stored file."""
        inbox_dir, archive, _rejected = folders
        (inbox_dir / "1110000011_202511.csv").write_bytes(b"")
        scan()
        clinic_import = ClinicImport.objects.get()
        assert clinic_import.status == ImportStatus.FAILED and "空" in clinic_import.failure_message
        assert files_in(archive) == {f"{clinic_import.pk}_1110000011_202511.csv": b""}

    def test_the_same_name_refused_twice_keeps_both_files(self, world, folders, scan):
        inbox_dir, _archive, rejected = folders
        (inbox_dir / "report.csv").write_bytes(b"first")
        scan()
        (inbox_dir / "report.csv").write_bytes(b"second")
        scan()
        kept = sorted(v for k, v in files_in(rejected).items() if not k.endswith(REASON_SUFFIX))
        assert kept == [b"first", b"second"]


def test_nothing_is_deleted_and_a_rerun_changes_nothing(world, folders, scan):
    inbox_dir, archive, rejected = folders
    sent = {
        "1110000011_202511.csv": good_bytes(world, "a"),
        "1110000029_202511.csv": csv_file([row_for(p, world.clinic_b) for p in world.people[:2]]),
        "1110000011_202511_2.csv": good_bytes(world, "a"),  # same bytes as the first: a duplicate
        "notes.txt": "メモ".encode(),
        "9999999999_202511.csv": good_bytes(world, "c"),
    }
    for name, data in sent.items():
        (inbox_dir / name).write_bytes(data)
    first = scan()
    assert len(first.archived) == 2 and len(first.rejected) == 3
    kept = sorted(
        [*files_in(archive).values(), *(v for k, v in files_in(rejected).items() if not k.endswith(REASON_SUFFIX))]
    )
    assert kept == sorted(sent.values())
    assert files_in(inbox_dir) == {}
    before = (files_in(archive), files_in(rejected), ClinicImport.objects.count(), AuditLogEntry.objects.count())
    second = scan()
    assert second.outcomes == [] and not second.locked
    assert (files_in(archive), files_in(rejected), ClinicImport.objects.count(),
            AuditLogEntry.objects.count()) == before


def test_a_file_stored_by_a_scan_that_stopped_before_moving_it_is_archived(world, folders, scan):
    inbox_dir, archive, rejected = folders
    data = good_bytes(world)
    (inbox_dir / "1110000011_202511.csv").write_bytes(data)
    # The earlier scan stored it, then died before the rename.
    stored = receive(actor=world.staff, clinic=world.clinic_a, data=data, source=ImportSource.INBOX,
                     filename="1110000011_202511.csv")
    summary = scan()
    assert [o.import_id for o in summary.archived] == [stored.pk] and not summary.rejected
    assert files_in(archive) == {f"{stored.pk}_1110000011_202511.csv": data} and files_in(rejected) == {}
    assert ClinicImport.objects.count() == 1
    assert not AuditLogEntry.objects.filter(event=AuditEvent.IMPORT_DUPLICATE_REFUSED).exists()


def test_the_same_file_dropped_again_after_its_archiving_is_a_duplicate(world, folders, scan):
    inbox_dir, archive, rejected = folders
    data = good_bytes(world)
    (inbox_dir / "1110000011_202511.csv").write_bytes(data)
    scan()
    earlier = ClinicImport.objects.get()
    (inbox_dir / "1110000011_202511.csv").write_bytes(data)
    summary = scan()
    assert not summary.archived and f"#{earlier.pk}" in summary.rejected[0].reason
    assert files_in(archive) == {f"{earlier.pk}_1110000011_202511.csv": data}
    assert [v for k, v in files_in(rejected).items() if not k.endswith(REASON_SUFFIX)] == [data]
    assert ClinicImport.objects.count() == 1


def test_files_in_transit_hidden_files_folders_and_links_are_left_alone(world, folders, scan, tmp_path):
    inbox_dir, _archive, _rejected = folders
    (inbox_dir / "1110000011_202511.csv.part").write_bytes(b"half")
    (inbox_dir / "1110000011_202512.csv.tmp").write_bytes(b"half")
    (inbox_dir / ".1110000011_202511.csv").write_bytes(b"hidden")
    (inbox_dir / "subfolder").mkdir()
    outside = tmp_path / "outside.csv"
    outside.write_bytes(good_bytes(world))
    (inbox_dir / "1110000011_202511.csv").symlink_to(outside)
    summary = scan()
    assert summary.outcomes == []
    assert {p.name for p in inbox_dir.iterdir()} >= {"1110000011_202511.csv.part", "1110000011_202512.csv.tmp",
                                                     ".1110000011_202511.csv", "subfolder", "1110000011_202511.csv"}
    assert outside.exists() and not ClinicImport.objects.exists()


def test_a_scan_while_another_holds_the_inbox_does_nothing(world, folders):
    inbox_dir, _archive, _rejected = folders
    (inbox_dir / "1110000011_202511.csv").write_bytes(good_bytes(world))
    with open(inbox_dir / LOCK_NAME, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        summary = inbox_scan()
    assert summary.locked and summary.outcomes == []
    assert (inbox_dir / "1110000011_202511.csv").exists() and not ClinicImport.objects.exists()


def test_a_move_across_filesystems_copies_then_removes(world, folders, scan, monkeypatch):
    inbox_dir, archive, _rejected = folders
    data = good_bytes(world)
    (inbox_dir / "1110000011_202511.csv").write_bytes(data)

    def cross_device(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "rename", cross_device)
    summary = scan()
    assert files_in(archive) == {f"{summary.archived[0].import_id}_1110000011_202511.csv": data}
    assert files_in(inbox_dir) == {}
    assert not [p for p in archive.iterdir() if p.name.startswith(".")]


def test_moved_files_are_private(world, folders, scan):
    inbox_dir, archive, _rejected = folders
    (inbox_dir / "1110000011_202511.csv").write_bytes(good_bytes(world))
    scan()
    [moved] = archive.iterdir()
    assert moved.stat().st_mode & 0o077 == 0


# --- interfaces: command, task, schedule --------------------------------------------------------


def test_the_command_reports_what_it_did(world, folders, django_capture_on_commit_callbacks):
    inbox_dir, _archive, _rejected = folders
    (inbox_dir / "1110000011_202511.csv").write_bytes(good_bytes(world))
    (inbox_dir / "report.csv").write_bytes(b"x")
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_inbox", "--actor", world.staff.username, stdout=out)
    text = out.getvalue()
    clinic_import = ClinicImport.objects.get()
    assert f"取込 #{clinic_import.pk}: 1110000011_202511.csv" in text and "拒否: report.csv" in text
    assert "取込 1 件、拒否 1 件" in text
    assert clinic_import.uploaded_by == world.staff


def test_the_command_refuses_an_unknown_actor(world, folders):
    (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world))
    with pytest.raises(CommandError):
        call_command("import_inbox", "--actor", "nobody", stdout=io.StringIO())
    assert (folders[0] / "1110000011_202511.csv").exists()


def test_the_command_fails_when_the_inbox_is_held(world, folders):
    with open(folders[0] / LOCK_NAME, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        with pytest.raises(CommandError):
            call_command("import_inbox", stdout=io.StringIO())


def test_the_task_is_registered_and_returns_the_summary(world, folders, django_capture_on_commit_callbacks):
    from imports.inbox_tasks import INBOX_SCAN_TASK
    from koshigaya_vax.celery import app

    (folders[0] / "1110000011_202511.csv").write_bytes(good_bytes(world))
    assert INBOX_SCAN_TASK in app.tasks
    with django_capture_on_commit_callbacks(execute=True):
        result = app.tasks[INBOX_SCAN_TASK].delay().get()
    clinic_import = ClinicImport.objects.get()
    assert result == {"locked": False, "archived": [{"file": "1110000011_202511.csv", "import_id": clinic_import.pk}],
                      "rejected": []}


def test_the_monthly_schedule_exists(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="imports.inbox_scan")
    assert task.enabled
    crontab = task.crontab
    assert (crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year, crontab.day_of_week) == (
        "0", "2", "11", "*", "*")
    assert str(crontab.timezone) == "Asia/Tokyo"


def test_administrators_can_edit_the_schedule_in_the_admin(db, admin_user, client_for):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="imports.inbox_scan")
    client = client_for(admin_user)
    assert client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])).status_code == 200
    assert client.get(reverse("admin:django_celery_beat_crontabschedule_change",
                              args=[task.crontab_id])).status_code == 200


# --- the documented sample ----------------------------------------------------------------------


def test_the_sample_file_imports_cleanly(world, folders, scan):
    """docs/sample-clinic.csv, dropped into the inbox under the documented name, against residents built
    from the same rows (the sample's My Numbers are synthetic)."""
    VaccineFactory(code="FLU02")
    text = SAMPLE.read_bytes().decode("utf-8-sig")
    _header, *rows = list(csv.reader(io.StringIO(text, newline="")))
    for n, cells in enumerate(rows):
        ResidentFactory(address_number=cells[0] or f"99000{n}", my_number=cells[1] or None, name_kana=cells[2],
                        birth_date=parse_date(cells[3]), sex=Sex(int(cells[4])))
    (folders[0] / "1110000011_202511.csv").write_bytes(SAMPLE.read_bytes())
    summary = scan()
    assert not summary.rejected
    clinic_import = ClinicImport.objects.get()
    assert list(clinic_import.row_errors.values_list("row_number", "code", "message")) == []
    assert (clinic_import.status, clinic_import.rows_total, clinic_import.rows_committed) == (
        ImportStatus.COMMITTED, len(rows), len(rows))
