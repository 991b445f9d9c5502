"""Receiving and processing rules of the change feed, shared with the clinic import: stored unchanged
(encrypted) with its SHA-256, duplicates refused, size and row limits, encodings, files that fail as a
whole, and a run that breaks down part-way leaving nothing half-applied."""

import codecs
import hashlib

import pytest
from django.core.files.storage import default_storage

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.feed import applying, resident_feed_process
from imports.models import FeedStatus, ResidentFeedFile
from imports.services.errors import ImportRefused
from imports.services.storage import StoredFileCorrupted, import_file_read
from records.crypto import encrypt_blob
from records.models import ResidencyPeriod, Resident
from tests.feed.helpers import change, feed_bytes, feed_staff, receive, receive_and_process, resident

pytestmark = pytest.mark.django_db


def test_stored_unchanged_and_encrypted_with_sha256():
    data = feed_bytes([change("address_change", "2025-05-01", "220001")])
    feed = receive([change("address_change", "2025-05-01", "220001")])
    assert feed.sha256 == hashlib.sha256(data).hexdigest()
    assert feed.size_bytes == len(data) and feed.rows_total == 1 and feed.status == FeedStatus.RECEIVED
    with default_storage.open(feed.stored_file, "rb") as handle:
        assert data not in handle.read()  # encrypted at rest
    assert import_file_read(clinic_import=feed) == data


@pytest.mark.parametrize(("encoding", "prefix", "expected"), [
    ("utf-8", b"", "utf-8"), ("utf-8", codecs.BOM_UTF8, "utf-8-sig"), ("cp932", b"", "cp932"),
])
def test_encodings_are_detected_and_names_survive(encoding, prefix, expected):
    resident("220002")
    rows = [change("address_change", "2025-05-01", "220002", name="髙橋　①子", address="越谷市㈱前")]
    data = prefix + feed_bytes(rows, encoding=encoding)
    from imports.feed import resident_feed_receive
    from imports.models import ImportSource

    feed = resident_feed_receive(actor=feed_staff(), filename="e.csv", data=data, source=ImportSource.STAFF_UPLOAD)
    assert feed.encoding == expected
    resident_feed_process(feed_id=feed.pk)
    person = Resident.objects.get(address_number="220002")
    assert (person.name, person.address) == ("髙橋　①子", "越谷市㈱前")


def test_utf16_is_refused_and_nothing_is_stored():
    before = set(default_storage.listdir("imports")[0]) if default_storage.exists("imports") else set()
    with pytest.raises(ImportRefused) as refused:
        receive([change("address_change", "2025-05-01", "220003")], encoding="utf-16")
    assert refused.value.code == "encoding_utf16"
    assert not ResidentFeedFile.objects.exists()
    after = set(default_storage.listdir("imports")[0]) if default_storage.exists("imports") else set()
    assert after == before


def test_duplicate_refused_naming_the_earlier_file_and_recorded():
    rows = [change("address_change", "2025-05-01", "220004")]
    first = receive(rows, name="first.csv")
    with pytest.raises(ImportRefused) as refused:
        receive(rows, name="again.csv")
    assert refused.value.code == "duplicate_file"
    assert refused.value.existing_import == first
    assert f"#{first.pk}「first.csv」" in refused.value.messages[0]
    assert AuditLogEntry.objects.filter(event=AuditEvent.FEED_DUPLICATE_REFUSED).count() == 1


def test_size_and_row_limits(settings):
    settings.IMPORT_MAX_ROWS = 2
    with pytest.raises(ImportRefused) as refused:
        receive([change("address_change", "2025-05-01", f"22001{n}") for n in range(3)])
    assert refused.value.code == "too_many_rows"
    settings.IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportRefused) as refused:
        receive([change("address_change", "2025-05-01", "220020")])
    assert refused.value.code == "too_large"
    assert not ResidentFeedFile.objects.exists()


@pytest.mark.parametrize(("rows", "header", "code"), [
    ([], ("異動区分", "異動日"), "見出しが2列"),
    ([], None, "見出し行だけ"),
    ([["05", "2025-05-01"]], None, "どの行も列数"),
])
def test_files_that_fail_as_a_whole(rows, header, code):
    kwargs = {"header": header} if header else {}
    feed = receive_and_process(rows, **kwargs)
    assert feed.status == FeedStatus.FAILED
    assert code in feed.failure_message
    assert AuditLogEntry.objects.filter(event=AuditEvent.FEED_FAILED).count() == 1


def test_header_aliases_are_accepted():
    resident("220040")
    header = ("異動区分", "異動年月日", "団体内宛名番号", "氏名", "フリガナ", "生年月日", "性別", "〒", "住所",
              "マイナンバー")
    feed = receive_and_process([change("address_change", "2025-05-01", "220040", address="越谷市別名")], header=header)
    assert feed.rows_applied == 1


def test_a_run_that_breaks_in_the_last_step_leaves_nothing_and_a_rerun_applies(monkeypatch):
    person = resident("220050")
    feed = receive([change("move_out", "2025-05-01", "220050", address="東京都"),
                    change("birth", "2025-05-05", "720050", birth="2025-05-05")])
    periods_before = ResidencyPeriod.objects.count()

    def broken(*args, **kwargs):
        raise RuntimeError("worker lost mid-transaction")

    monkeypatch.setattr(applying, "_audit", broken)
    with pytest.raises(RuntimeError):
        resident_feed_process(feed_id=feed.pk)
    feed.refresh_from_db()
    person.refresh_from_db()
    assert feed.status == FeedStatus.VALIDATING
    assert person.residency_status == "resident"
    assert not Resident.objects.filter(address_number="720050").exists()
    assert ResidencyPeriod.objects.count() == periods_before
    assert not feed.row_errors.exists()

    monkeypatch.undo()
    done = resident_feed_process(feed_id=feed.pk)
    assert (done.status, done.rows_applied, done.residents_created) == (FeedStatus.APPLIED, 2, 1)
    person.refresh_from_db()
    assert person.residency_status == "moved_out"


def test_altered_stored_file_is_not_processed():
    resident("220060")
    feed = receive([change("address_change", "2025-05-01", "220060", address="越谷市改")])
    with default_storage.open(feed.stored_file, "wb") as handle:
        handle.write(encrypt_blob(b"something else"))
    with pytest.raises(StoredFileCorrupted):
        resident_feed_process(feed_id=feed.pk)
    feed.refresh_from_db()
    assert feed.status == FeedStatus.VALIDATING
    assert Resident.objects.get(address_number="220060").address != "越谷市改"
