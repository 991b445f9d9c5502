"""The data-class registry: a class registered by another app (as linkage results and notice PDFs will be)
is listed in reports, run batch by batch with the persons held at that moment, and certified."""

from collections.abc import Iterator, Sequence
from datetime import date

import pytest

from retention import classes
from retention.classes import BatchOutcome, register_data_class
from retention.holds import register_hold_provider
from retention.models import ReportStatus, ReportTrigger
from retention.services import purge_report_approve, purge_report_create


class StoredResults:
    """A stand-in for linkage results: ``{id: (resident id, received on)}`` kept in memory."""

    key = "test_results"
    label = "照会結果（テスト）"
    unit = "件"
    start_label = "受信日"
    default_years = 1
    minimum_years = 1

    def __init__(self) -> None:
        self.rows: dict[int, tuple[int, date]] = {}
        self.purge_calls: list[tuple[list[int], set[int]]] = []

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        yield from sorted(pk for pk, (who, on) in self.rows.items() if on < cutoff and who not in held)

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        return {}

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        self.purge_calls.append((list(ids), set(held)))
        gone = [pk for pk in ids if pk in self.rows and self.rows[pk][1] < cutoff and self.rows[pk][0] not in held]
        for pk in gone:
            del self.rows[pk]
        return BatchOutcome(deleted=len(gone), skipped=len(ids) - len(gone))


@pytest.fixture
def results():
    store = StoredResults()
    register_data_class(store)
    yield store
    classes._registry.pop(store.key, None)
    from retention import holds

    holds._providers.pop("tests.requests", None)


def test_a_registered_class_is_reported_run_and_certified(results, admin_user, settings, client_for,
                                                          django_capture_on_commit_callbacks):
    settings.RETENTION_BATCH_SIZE = 2
    results.rows = {1: (101, date(2024, 1, 1)), 2: (102, date(2024, 6, 1)), 3: (103, date(2024, 7, 1)),
                    4: (104, date(2026, 1, 1)), 5: (105, date(2024, 1, 1))}
    held = {105}
    register_hold_provider("tests.requests", lambda: held)
    report = purge_report_create(actor=admin_user, as_of=date(2026, 11, 26), trigger=ReportTrigger.ADMINISTRATOR)
    item = report.items.get(data_class="test_results")
    assert (item.count, item.first_id, item.last_id, item.years) == (3, 1, 3, 1)
    assert item.position == report.items.count()  # run after the built-in classes

    held.add(102)  # a request opened after the dry run
    with django_capture_on_commit_callbacks(execute=True):
        purge_report_approve(actor=admin_user, report=report)
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert sorted(results.rows) == [2, 4, 5]
    assert [ids for ids, _ in results.purge_calls] == [[1, 2], [3]]
    assert all({102, 105} <= seen for _, seen in results.purge_calls)
    item.refresh_from_db()
    assert (item.deleted, item.skipped) == (2, 1)
    csv_text = client_for(admin_user).get(f"/retention/reports/{report.pk}/certificate.csv").content.decode("utf-8-sig")
    assert "照会結果（テスト）,test_results,1," in csv_text
