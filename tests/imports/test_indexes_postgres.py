"""The records and audit tables carry fewer indexes so that a 100,000-row import pays less per row
(records/migrations/0005_perf_import_fewer_indexes, audit/migrations/0006_perf_import_event_index). The
queries that used the dropped ones must still find an index: checked with EXPLAIN, sequential scans
disabled (the test tables are too small for the planner to prefer an index on its own)."""

import pytest
from django.db import connection

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import VaccinationRecord
from records.selectors import vaccination_record_list
from tests.conftest import requires_postgres
from tests.factories import ResidentFactory, UserFactory, VaccinationRecordFactory

pytestmark = [requires_postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def no_seqscan():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # until the test's transaction is rolled back


def indexes_used(queryset) -> str:
    plan = queryset.explain()
    assert "Seq Scan" not in plan, plan  # with sequential scans off, only a query with no index does one
    return plan


def test_a_residents_records_are_found_through_the_one_record_per_event_key():
    resident = ResidentFactory()
    VaccinationRecordFactory(resident=resident)
    plan = indexes_used(vaccination_record_list(actor=UserFactory(with_role="staff"), resident=resident))
    assert "record_one_per_event" in plan, plan


def test_an_imports_records_and_business_events_keep_an_index():
    VaccinationRecordFactory()
    indexes_used(VaccinationRecord.objects.filter(source_import_id=1))
    assert "audit_event_time_idx" in indexes_used(
        AuditLogEntry.objects.filter(action=AuditLogEntry.Action.EVENT, event=AuditEvent.IMPORT_COMMITTED)
        .order_by("-timestamp", "-seq")
    )


def test_the_dropped_indexes_are_gone():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename IN (%s, %s)",
            [VaccinationRecord._meta.db_table, AuditLogEntry._meta.db_table],
        )
        definitions = [definition for (definition,) in cursor.fetchall()]
    record_indexes = [d for d in definitions if VaccinationRecord._meta.db_table in d]
    # id, the one-record-per-event key, clinic, vaccine, import: nothing on the resident alone, the creation
    # time or the users (users are deactivated, never deleted).
    assert len(record_indexes) == 5, record_indexes
    assert not any("(event varchar_pattern_ops)" in d or d.endswith("USING btree (event)") for d in definitions)
