"""Tamper evidence: altering, deleting or reordering any entry is detected; on PostgreSQL the log
refuses UPDATE and DELETE outright."""

import itertools
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.chain import chain_and_insert, chain_verify
from audit.events import AuditEvent
from audit.models import AuditChainHead, AuditLogEntry
from audit.services import audit_event_record
from audit.tasks import audit_chain_verify_task
from tests.conftest import ON_POSTGRES, requires_postgres
from tests.factories import UserFactory, VaccinationRecordFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    """A chain with field diffs (auditlog signals), events and a bulk insert mixed."""
    user = UserFactory(username="chain-user")
    VaccinationRecordFactory()
    for _ in range(3):
        audit_event_record(event=AuditEvent.SIGN_IN, actor=user)
    bulk = [AuditLogEntry(content_type_id=AuditLogEntry.objects.first().content_type_id, object_pk=str(i),
                          object_repr=f"bulk {i}", action=AuditLogEntry.Action.ACCESS, actor=user)
            for i in range(5)]
    chain_and_insert(bulk)
    return list(AuditLogEntry.objects.order_by("seq"))


def tamper(sql: str, params: list) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    with transaction.atomic(), connection.cursor() as cursor:
        if ON_POSTGRES:
            cursor.execute("SET LOCAL session_replication_role = replica")  # bypasses the append-only trigger
        cursor.execute(sql, params)


def test_entries_form_an_unbroken_numbered_chain(log):
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    assert all(b.prev_hash == a.entry_hash for a, b in itertools.pairwise(log))
    report = chain_verify()
    assert report.ok and report.checked == len(log) >= 10
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash) == (log[-1].seq, log[-1].entry_hash)


def test_altered_entry_is_named(log):
    victim = log[4]
    tamper("UPDATE audit_auditlogentry SET object_repr = %s WHERE seq = %s", ["forged", victim.seq])
    report = chain_verify()
    assert (report.ok, report.first_broken_seq) == (False, victim.seq)
    assert "改ざん" in report.reason


def test_altered_actor_is_detected(log):
    other = UserFactory()
    tamper("UPDATE audit_auditlogentry SET actor_id = %s WHERE seq = %s", [other.pk, log[2].seq])
    assert chain_verify().first_broken_seq == log[2].seq


def test_deleted_entry_is_detected(log):
    tamper("DELETE FROM audit_auditlogentry WHERE seq = %s", [log[3].seq])
    report = chain_verify()
    assert (report.ok, report.first_broken_seq) == (False, log[3].seq)
    assert "欠落" in report.reason


def test_deleted_last_entry_is_detected(log):
    tamper("DELETE FROM audit_auditlogentry WHERE seq = %s", [log[-1].seq])
    report = chain_verify()
    assert not report.ok and report.first_broken_seq == log[-1].seq


def test_reordered_entries_are_detected(log):
    a, b = log[5], log[6]
    tamper("UPDATE audit_auditlogentry SET seq = -1 WHERE seq = %s", [a.seq])
    tamper("UPDATE audit_auditlogentry SET seq = %s WHERE seq = %s", [a.seq, b.seq])
    tamper("UPDATE audit_auditlogentry SET seq = %s WHERE seq = -1", [b.seq])
    report = chain_verify()
    assert (report.ok, report.first_broken_seq) == (False, a.seq)


def test_command_reports_and_fails_on_a_broken_chain(log, capsys):
    call_command("audit_verify")
    assert "OK" in capsys.readouterr().out
    tamper("UPDATE audit_auditlogentry SET remote_addr = %s WHERE seq = %s", ["203.0.113.9", log[1].seq])
    with pytest.raises(CommandError, match=f"seq {log[1].seq}"):
        call_command("audit_verify")
    events = list(AuditLogEntry.objects.filter(action=AuditLogEntry.Action.EVENT,
                                               event__in=[AuditEvent.AUDIT_CHAIN_VERIFIED,
                                                          AuditEvent.AUDIT_CHAIN_BROKEN]).order_by("seq"))
    assert [e.event for e in events] == [AuditEvent.AUDIT_CHAIN_VERIFIED, AuditEvent.AUDIT_CHAIN_BROKEN]
    assert events[1].additional_data["first_broken_seq"] == log[1].seq


def test_nightly_task_records_the_result(log):
    assert audit_chain_verify_task.delay().get() == {"checked": len(log), "ok": True, "first_broken_seq": None}
    assert AuditLogEntry.objects.filter(event=AuditEvent.AUDIT_CHAIN_VERIFIED).count() == 1


def test_nightly_schedule_exists():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="audit.verify_chain")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("2", "30")
    assert str(task.crontab.timezone) == "Asia/Tokyo"


def test_entries_cannot_be_saved_twice(log):
    with pytest.raises(ValueError, match="append-only"):
        log[0].save()


@requires_postgres
def test_postgres_refuses_raw_update_and_delete(log):
    for sql in ("UPDATE audit_auditlogentry SET object_repr = 'x' WHERE seq = 1",
                "DELETE FROM audit_auditlogentry WHERE seq = 1"):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert chain_verify().ok


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_postgres_refuses_truncate():
    UserFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET koshigaya.audit_allow_truncate = 'off'")  # as on every production connection
        try:
            with pytest.raises(DatabaseError, match="append-only"):
                cursor.execute("TRUNCATE audit_auditlogentry CASCADE")
        finally:
            cursor.execute("SET koshigaya.audit_allow_truncate = 'on'")
    assert AuditLogEntry.objects.exists()


@requires_postgres
def test_postgres_allows_delete_only_on_the_sanctioned_purge_path(log):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL koshigaya.audit_purge = 'on'")
        cursor.execute("DELETE FROM audit_auditlogentry WHERE seq = 1")
    assert not AuditLogEntry.objects.filter(seq=1).exists()


def test_bulk_entries_and_access_records_join_the_chain(log):
    from audit.services import audit_access_record
    from records.models import Resident

    staff = UserFactory(with_role="staff")
    residents = list(Resident.objects.all())
    assert audit_access_record(actor=staff, objects=residents, view="records:resident_search",
                               permission="records.view_resident") == len(residents)
    entries = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, actor=staff)
    assert entries.count() == len(residents)
    assert entries.first().additional_data == {"view": "records:resident_search", "permission": "records.view_resident"}
    assert chain_verify().ok


@requires_postgres
def test_bulk_row_path_writes_the_same_chain_as_the_model_path(log):
    """The PostgreSQL row path (many entries, no model instances) must hash exactly what chain_verify
    recomputes from the stored entries, whatever the JSON holds."""
    from audit.services import BULK_ROWS_THRESHOLD, audit_entries_bulk_create
    from records.models import Resident

    staff = UserFactory(with_role="staff")
    residents = list(Resident.objects.all()) * BULK_ROWS_THRESHOLD
    written = audit_entries_bulk_create(
        actor=staff, action=AuditLogEntry.Action.CREATE, objects=residents, remote_addr="2001:db8::1",
        changes=lambda obj: {"b": ["None", "越谷"], "a": [None, 1.5], "n": {"z": [1, 2], "y": "=x"}},
        additional_data={"why": "テスト", "count": 3},
    )
    assert written == len(residents) >= BULK_ROWS_THRESHOLD
    report = chain_verify()
    assert report.ok, report
    last = AuditLogEntry.objects.order_by("-seq").first()
    assert (last.actor, last.remote_addr, last.additional_data) == (staff, "2001:db8::1", {"why": "テスト", "count": 3})
    assert last.changes["n"] == {"z": [1, 2], "y": "=x"}


def _batch_entries(count: int):
    from audit.chain import json_text

    awkward = 'tab\there "quoted" back\\slash\nnew\rline \\N ①'
    for i in range(count):
        changes = None if i % 3 == 2 else json_text({"b": ["None", awkward], "a": ["None", str(i)]})
        yield (f"pk-{i}\t{awkward}" if i % 2 else str(i)), (None if i % 2 else i), f"repr {i} {awkward}", changes


def test_bulk_write_of_text_entries_joins_the_chain(log):
    """audit_entries_bulk_write (COPY of preformatted lines on PostgreSQL, model instances elsewhere): the
    entries read back hold exactly what was given and chain_verify recomputes every hash."""
    from audit.services import audit_entries_bulk_write
    from records.models import VaccinationRecord

    staff = UserFactory(with_role="staff")
    before = AuditLogEntry.objects.count()
    with transaction.atomic():
        written = audit_entries_bulk_write(actor=staff, action=AuditLogEntry.Action.CREATE, model=VaccinationRecord,
                                           entries=_batch_entries(7), count=7, additional_data={"file": 5})
    assert written == 7 and AuditLogEntry.objects.count() == before + 7
    report = chain_verify()
    assert report.ok, report
    entries = list(AuditLogEntry.objects.order_by("seq"))[-7:]
    for i, (entry, (object_pk, object_id, object_repr, changes)) in enumerate(zip(entries, _batch_entries(7),
                                                                                  strict=True)):
        assert (entry.object_pk, entry.object_id, entry.object_repr, entry.actor, entry.additional_data) == (
            object_pk, object_id, object_repr, staff, {"file": 5}), i
        # The diff is kept as text (changes_text) and read through auditlog's changes_dict.
        assert entry.changes is None and entry.changes_text == (changes or "")
        assert entry.changes_dict == ({} if changes is None else json.loads(changes))
    head = AuditChainHead.objects.get()
    assert (head.last_seq, head.last_hash) == (entries[-1].seq, entries[-1].entry_hash)


def test_bulk_write_refuses_a_count_that_does_not_match_and_writes_nothing(log):
    from audit.services import audit_entries_bulk_write
    from records.models import VaccinationRecord

    staff = UserFactory(with_role="staff")
    head = AuditChainHead.objects.get()
    before = AuditLogEntry.objects.count()
    for given, announced in ((3, 4), (5, 4)):
        with pytest.raises(ValueError, match="announced"), transaction.atomic():
            audit_entries_bulk_write(actor=staff, action=AuditLogEntry.Action.CREATE, model=VaccinationRecord,
                                     entries=_batch_entries(given), count=announced)
    assert AuditLogEntry.objects.count() == before
    assert AuditChainHead.objects.get().last_seq == head.last_seq
    assert chain_verify().ok
