"""Acceptance 2: after a purge the data is gone from the tables, from stored files and from search
results, each batch is on record without personal data, and the audit chain still verifies — also after
purging audit entries, whose ranges the chain keeps as checkpoints."""

from datetime import date, timedelta
from itertools import pairwise

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from audit.chain import chain_verify
from audit.events import AuditEvent
from audit.models import AuditChainCheckpoint, AuditLogEntry
from audit.services import audit_chain_verify_record
from imports.models import ClinicImport, ImportRowError
from records.models import ResidencyPeriod, Resident, VaccinationRecord
from records.selectors import ResidentQuery, resident_search
from retention.models import PurgeReport, ReportStatus, ReportTrigger
from retention.services import legal_hold_place, purge_report_approve, purge_report_create, purge_report_run
from tests.conftest import requires_postgres
from tests.factories import VaccinationRecordFactory
from tests.imports.csvdata import csv_bytes, row
from tests.imports.factories import import_file, import_setup, stored_files
from tests.retention.factories import person_who_left

TODAY = date(2026, 11, 26)


def _approve_and_run(report: PurgeReport, actor, capture) -> PurgeReport:
    with capture(execute=True):
        purge_report_approve(actor=actor, report=report)
    report.refresh_from_db()
    return report


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_purged_people_are_gone_from_tables_and_search(admin_user, staff_user, client_for,
                                                        django_capture_on_commit_callbacks):
    gone = person_who_left(left_on=date(2000, 1, 1), vaccinated_on=[date(1999, 10, 1), date(1998, 10, 1)],
                           address_number="700001", name="消去 太郎", name_kana="ショウキョ　タロウ")
    ResidencyPeriod.objects.create(resident=gone, status="resident", valid_from=date(1950, 4, 1),
                                   valid_until=date(2000, 1, 1), cause="initial")
    kept = person_who_left(left_on=date(2020, 1, 1), address_number="700002", name="保存 花子")
    assert resident_search(actor=staff_user, query=ResidentQuery(address_number="700001")).exists()
    search = reverse("records:resident_search")
    assert "700001" in client_for(staff_user).post(search, {"kana": "ショウキョ"}).content.decode()

    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    report = _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)

    assert report.status == ReportStatus.COMPLETED
    assert not Resident.objects.filter(pk=gone.pk).exists()
    assert not VaccinationRecord.objects.filter(resident_id=gone.pk).exists()
    assert not ResidencyPeriod.objects.filter(resident_id=gone.pk).exists()
    assert Resident.objects.filter(pk=kept.pk).exists()
    item = report.items.get(data_class="records")
    assert (item.count, item.deleted, item.skipped) == (1, 1, 0)
    assert item.deleted_related["records.VaccinationRecord"] == 2
    assert item.deleted_related["records.ResidencyPeriod"] == 1
    # Search: the service and the page.
    assert not resident_search(actor=staff_user, query=ResidentQuery(address_number="700001")).exists()
    assert not resident_search(actor=staff_user, query=ResidentQuery(name="消去")).exists()
    page = client_for(staff_user).post(search, {"kana": "ショウキョ"})
    assert page.status_code == 200 and "700001" not in page.content.decode()
    assert chain_verify().ok


def test_each_batch_is_one_event_with_counts_and_ranges_and_no_personal_data(admin_user, settings,
                                                                             django_capture_on_commit_callbacks):
    settings.RETENTION_BATCH_SIZE = 2
    people = [person_who_left(left_on=date(2000, 1, 1), name=f"消去 次郎{n}", address="越谷市秘密町1-1")
              for n in range(5)]
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    before = AuditLogEntry.objects.count()
    _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)

    batches = list(AuditLogEntry.objects.filter(event=AuditEvent.RETENTION_PURGE_BATCH).order_by("seq"))
    assert [(e.additional_data["data_class"], e.additional_data["batch"], e.additional_data["deleted"])
            for e in batches] == [("records", 1, 2), ("records", 2, 2), ("records", 3, 1)]
    ids = sorted(p.pk for p in people)
    assert (batches[0].additional_data["first_id"], batches[-1].additional_data["last_id"]) == (ids[0], ids[-1])
    assert all(e.actor_id == admin_user.pk for e in batches)
    # No per-row diffs from the purge (they would carry every field), and nothing personal in what it wrote.
    written = AuditLogEntry.objects.filter(seq__gt=before) if before else AuditLogEntry.objects.all()
    assert not written.filter(action=AuditLogEntry.Action.DELETE).exists()
    text = " ".join(str(e.additional_data) + e.object_repr + str(e.changes) for e in written)
    for person in people:
        assert person.name not in text and person.name_kana not in text
    assert "秘密町" not in text


def test_import_files_go_from_storage_and_the_import_keeps_its_counts(media, admin_user,
                                                                      django_capture_on_commit_callbacks):
    setup = import_setup()
    data = csv_bytes([row(p.resident, my_number=p.my_number) for p in setup.people]
                     + [row(setup.people[0].resident, **{"LOT-NO": "bad lot"})])
    old = import_file(data, actor=setup.staff, clinic=setup.clinic)
    recent = import_file(csv_bytes([row(setup.people[1].resident, vaccinated_on=date(2025, 11, 11))]),
                         actor=setup.staff, clinic=setup.clinic, filename="recent.csv")
    assert old.rows_error == 1 and ImportRowError.objects.filter(clinic_import=old).exists()
    ClinicImport.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=400))
    old_file = media / old.stored_file
    assert old_file.exists() and len(stored_files(media)) == 2

    report = purge_report_create(actor=admin_user, as_of=timezone.localdate(), trigger=ReportTrigger.ADMINISTRATOR)
    assert report.items.get(data_class="import_files").count == 1
    assert report.items.get(data_class="import_row_errors").count == 1
    _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)

    assert not old_file.exists() and stored_files(media) == [media / recent.stored_file]
    old.refresh_from_db()
    assert old.stored_file == "" and old.sha256 and (old.rows_total, old.rows_committed, old.rows_error) == (4, 3, 1)
    assert not ImportRowError.objects.filter(clinic_import=old).exists()
    # The vaccination records it brought are records (20 years), not files: they stay.
    assert VaccinationRecord.objects.filter(source_import=old).count() == 3
    assert chain_verify().ok


def test_a_file_with_records_of_a_held_person_stays(media, admin_user, django_capture_on_commit_callbacks):
    setup = import_setup()
    old = import_file(csv_bytes([row(p.resident, my_number=p.my_number) for p in setup.people]),
                      actor=setup.staff, clinic=setup.clinic)
    ClinicImport.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=400))
    legal_hold_place(actor=admin_user, resident=setup.people[2].resident, reason="開示請求", reference="R8-1")
    report = purge_report_create(actor=admin_user, as_of=timezone.localdate(), trigger=ReportTrigger.ADMINISTRATOR)
    assert report.items.get(data_class="import_files").count == 0
    assert (media / old.stored_file).exists()


def test_changes_after_approval_are_respected_never_more_is_deleted(admin_user, settings,
                                                                   django_capture_on_commit_callbacks):
    """Between the dry run and the run: a hold on one person, a newly recorded dose for another (it
    restarts the period), and a third person who became due. The run deletes only what the report froze
    and is still due: the two are skipped, the newcomer waits for next month's report."""
    people = [person_who_left(left_on=date(2000, 1, 1)) for _ in range(4)]
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    legal_hold_place(actor=admin_user, resident=people[0], reason="訴訟対応", reference="越総第2号")
    VaccinationRecordFactory(resident=people[1], vaccinated_on=date(2025, 11, 10))
    newcomer = person_who_left(left_on=date(1999, 1, 1))
    report = _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)

    item = report.items.get(data_class="records")
    assert (item.count, item.deleted, item.skipped) == (4, 2, 2)
    assert set(Resident.objects.values_list("pk", flat=True)) >= {people[0].pk, people[1].pk, newcomer.pk}
    assert not Resident.objects.filter(pk__in=[people[2].pk, people[3].pk]).exists()
    assert VaccinationRecord.objects.filter(resident=people[1]).count() == 1


def _write_entries_in_the_past(monkeypatch, admin_user, when: date, count: int) -> None:
    """``count`` business events dated ``when``, chained like any other (the hash covers the timestamp)."""
    from datetime import datetime, time

    from django.contrib.contenttypes.models import ContentType

    from audit.chain import chain_and_insert

    stamp = timezone.make_aware(datetime.combine(when, time(9, 0)))
    user_type = ContentType.objects.get_for_model(admin_user)
    chain_and_insert([
        AuditLogEntry(content_type=user_type, object_pk=str(admin_user.pk), object_id=admin_user.pk,
                      object_repr=str(admin_user), action=AuditLogEntry.Action.EVENT,
                      event=AuditEvent.AUDIT_CHAIN_VERIFIED, actor=admin_user, timestamp=stamp,
                      additional_data={"checked": n})
        for n in range(count)
    ])


def test_purging_audit_entries_leaves_a_chain_that_verifies(admin_user, monkeypatch,
                                                            django_capture_on_commit_callbacks):
    _write_entries_in_the_past(monkeypatch, admin_user, date(1994, 4, 1), 7)
    held = person_who_left(left_on=date(2020, 1, 1))  # its creation entries are recent anyway
    legal_hold_place(actor=admin_user, resident=held, reason="訴訟対応", reference="越総第3号")
    first_recent = AuditLogEntry.objects.filter(timestamp__gte=timezone.now() - timedelta(days=1)).order_by("seq")
    old_seqs = list(AuditLogEntry.objects.filter(timestamp__lt=timezone.now() - timedelta(days=365 * 30))
                    .order_by("seq").values_list("seq", flat=True))
    assert len(old_seqs) >= 7 and first_recent.exists()

    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR,
                                 keys=["audit_entries"])
    item = report.items.get(data_class="audit_entries")
    assert (item.count, item.first_id, item.last_id) == (len(old_seqs), old_seqs[0], old_seqs[-1])
    _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)

    assert not AuditLogEntry.objects.filter(seq__in=old_seqs).exists()
    [checkpoint] = AuditChainCheckpoint.objects.all()
    assert (checkpoint.first_seq, checkpoint.last_seq, checkpoint.purge_report_id) == (
        old_seqs[0], old_seqs[-1], report.pk)
    after = AuditLogEntry.objects.filter(seq=checkpoint.last_seq + 1).get()
    assert after.prev_hash == checkpoint.last_hash
    result = chain_verify()
    assert result.ok, result.reason
    assert audit_chain_verify_record(actor=None).ok


def test_audit_purge_in_batches_leaves_consecutive_checkpoints(admin_user, monkeypatch, settings,
                                                               django_capture_on_commit_callbacks):
    settings.RETENTION_BATCH_SIZE = 3
    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 8)
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR,
                                 keys=["audit_entries"])
    _approve_and_run(report, admin_user, django_capture_on_commit_callbacks)
    spans = list(AuditChainCheckpoint.objects.values_list("first_seq", "last_seq"))
    assert len(spans) == 3 and all(a[1] + 1 == b[0] for a, b in pairwise(spans))
    assert chain_verify().ok


@pytest.mark.django_db
def test_a_gap_not_covered_exactly_is_still_reported(admin_user, monkeypatch):
    """Checkpoints are no licence to delete: a checkpoint that stops short, or names the wrong hash, leaves
    the chain broken."""
    from audit.purge import audit_entries_purge

    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 6)
    seqs = list(AuditLogEntry.objects.order_by("seq").values_list("seq", flat=True)[:6])
    with transaction.atomic():
        audit_entries_purge(seqs=seqs[:3])
    assert chain_verify().ok
    # An entry deleted next to the range, without a checkpoint (SQLite has no trigger; the trigger test
    # below shows PostgreSQL refuses this outright).
    if connection.vendor == "sqlite":
        AuditLogEntry.objects.filter(seq=seqs[3]).delete()
        report = chain_verify()
        assert not report.ok and report.first_broken_seq == seqs[3]


@pytest.mark.django_db
def test_a_checkpoint_with_the_wrong_hash_breaks_the_chain(admin_user, monkeypatch):
    from audit.purge import audit_entries_purge

    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 4)
    seqs = list(AuditLogEntry.objects.order_by("seq").values_list("seq", flat=True)[:4])
    with transaction.atomic():
        audit_entries_purge(seqs=seqs[1:3])
    assert chain_verify().ok
    if connection.vendor == "sqlite":
        AuditChainCheckpoint.objects.update(prev_hash="f" * 64)
        report = chain_verify()
        assert not report.ok and report.first_broken_seq == seqs[1]


@pytest.mark.django_db
def test_a_checkpoint_slipped_in_without_its_purge_record_breaks_the_chain(admin_user, monkeypatch):
    """Entries deleted some other way (here with the purge's own switch) and covered by a checkpoint with
    the right hashes — anyone can read them — are still caught: no AUDIT_ENTRIES_PURGED event in the chain
    vouches for that checkpoint."""
    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 5)
    rows = list(AuditLogEntry.objects.order_by("seq").values_list("seq", "prev_hash", "entry_hash")[1:3])
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL koshigaya.audit_purge = 'on'")
        AuditLogEntry.objects.filter(seq__in=[seq for seq, _prev, _hash in rows]).delete()
        AuditChainCheckpoint.objects.create(first_seq=rows[0][0], last_seq=rows[1][0], prev_hash=rows[0][1],
                                            last_hash=rows[1][2], entries=2)
    report = chain_verify()
    assert not report.ok and report.first_broken_seq == rows[0][0]
    assert "対応する消去の記録" in report.reason


@pytest.mark.django_db
def test_each_checkpoint_is_vouched_for_by_an_event_that_no_purge_deletes(admin_user, monkeypatch):
    from audit.purge import audit_entries_purge
    from retention.classes import AuditEntries

    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 6)
    seqs = list(AuditLogEntry.objects.order_by("seq").values_list("seq", flat=True)[:6])
    with transaction.atomic():
        audit_entries_purge(seqs=[seqs[0], seqs[1], seqs[3]], purge_report_id=77)
    events = AuditLogEntry.objects.filter(event=AuditEvent.AUDIT_ENTRIES_PURGED).order_by("seq")
    assert [(e.additional_data["first_seq"], e.additional_data["last_seq"], e.additional_data["purge_report"])
            for e in events] == [(seqs[0], seqs[1], 77), (seqs[3], seqs[3], 77)]
    assert chain_verify().ok
    # However far in the future a purge looks, it never selects them.
    due = set(AuditEntries().due_ids(cutoff=date(2200, 1, 1), held=set()))
    assert due and not due & {e.seq for e in events}


@requires_postgres
def test_postgres_refuses_any_other_deletion_of_the_log_and_of_checkpoints(admin_user, monkeypatch):
    from audit.purge import audit_entries_purge

    _write_entries_in_the_past(monkeypatch, admin_user, date(1990, 1, 1), 3)
    seqs = list(AuditLogEntry.objects.order_by("seq").values_list("seq", flat=True)[:3])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditLogEntry.objects.filter(seq=seqs[0]).delete()
    with transaction.atomic():
        audit_entries_purge(seqs=seqs[:2])
    assert not AuditLogEntry.objects.filter(seq__in=seqs[:2]).exists()
    # The switch is local to the purge's statements: the same transaction cannot delete more afterwards.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        audit_entries_purge(seqs=seqs[2:])
        AuditLogEntry.objects.filter(seq__gt=seqs[2]).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditChainCheckpoint.objects.all().delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditChainCheckpoint.objects.update(last_hash="0" * 64)
    assert chain_verify().ok


def test_purge_report_run_refuses_a_report_not_approved(admin_user):
    from django.core.exceptions import ValidationError

    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    with pytest.raises(ValidationError):
        purge_report_run(report_id=report.pk)
