"""Processing on PostgreSQL with real concurrency: two workers on one import, and a record committed by
another transaction while this import inserts. Both must end with every event stored exactly once."""

import threading
import time

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction

from audit.chain import chain_verify
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import ImportStatus
from imports.services import clinic_import_process, receiving
from records.models import VaccinationRecord
from tests.conftest import requires_postgres
from tests.factories import VaccinationRecordFactory
from tests.imports.csvdata import csv_bytes, row
from tests.imports.factories import import_setup, receive_file, residents_bulk

pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture(autouse=True)
def not_enqueued(monkeypatch):
    """Receipts commit for real here, and eager Celery would process each import inside its receipt;
    these tests start the processing themselves, in the threads they need."""
    monkeypatch.setattr(receiving, "_enqueue", lambda import_id: None)


def in_thread(target, results: list, index: int) -> threading.Thread:
    def work():
        try:
            results[index] = target()
        except Exception as exc:  # surfaced by the test's assertions
            results[index] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_two_workers_on_one_import_commit_it_once():
    setup = import_setup()
    people = residents_bulk(400)
    data = csv_bytes([row(p.resident, my_number=p.my_number) for p in people])
    clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)
    assert clinic_import.status == ImportStatus.RECEIVED
    results: list = [None, None]
    threads = [in_thread(lambda: clinic_import_process(import_id=clinic_import.pk), results, i) for i in range(2)]
    for thread in threads:
        thread.join(60)
    assert all(getattr(r, "status", None) == ImportStatus.COMMITTED for r in results), results
    assert VaccinationRecord.objects.filter(source_import=clinic_import).count() == 400
    assert AuditLogEntry.objects.filter(event=AuditEvent.IMPORT_COMMITTED).count() == 1
    record_ids = [str(pk) for pk in VaccinationRecord.objects.filter(source_import=clinic_import).values_list("pk",
                                                                                                        flat=True)]
    content_type = ContentType.objects.get_for_model(VaccinationRecord)
    assert AuditLogEntry.objects.filter(content_type=content_type, object_pk__in=record_ids).count() == 400
    assert chain_verify().ok  # 400 entries went in by COPY, numbered and hashed like any other


def test_an_event_committed_by_another_transaction_during_the_insert_is_skipped():
    setup = import_setup()
    data = csv_bytes([row(p.resident, my_number=p.my_number) for p in setup.people])
    clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)
    started = threading.Event()
    results: list = [None]

    def clerk():
        with transaction.atomic():
            record = VaccinationRecordFactory(resident=setup.people[2].resident, vaccine=setup.vaccine,
                                              clinic=setup.clinic)
            started.set()
            time.sleep(1.0)  # the import's INSERT waits on this uncommitted row, then skips it
        return record

    thread = in_thread(clerk, results, 0)
    assert started.wait(10)
    done = clinic_import_process(import_id=clinic_import.pk)
    thread.join(30)
    assert not isinstance(results[0], Exception), results[0]
    assert (done.status, done.rows_committed, done.rows_duplicate) == (ImportStatus.COMMITTED, 2, 1)
    assert VaccinationRecord.objects.filter(resident=setup.people[2].resident).count() == 1
