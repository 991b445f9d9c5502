"""Issue #8 "linkage results (from the linkage issue)": the retention purge reports and deletes expired
query results through linkage's own purge service — the exchange and its provision record stay, each
deleted result leaves its auditlog deletion entry and the run its linkage.result_purged event — and
leaves the results of a held person and results still within either period."""

from datetime import timedelta

from django.utils import timezone

from audit.chain import chain_verify
from audit.models import AuditLogEntry
from linkage.models import Exchange, LinkageResult, ProvisionRecord
from retention.models import ReportStatus, ReportTrigger
from retention.services import legal_hold_place, purge_report_approve, purge_report_create
from tests.retention.factories import resident_living_here


def _result(staff_user, resident, *, days_ago: int, key: str) -> LinkageResult:
    received = timezone.now() - timedelta(days=days_ago)
    exchange = Exchange.objects.create(idempotency_key=key, resident=resident, provider_code="131016",
                                       provider_name="千代田区", business="予防接種", item="接種履歴",
                                       status="answered", permit_id="P-" + key, requested_by=staff_user)
    ProvisionRecord.objects.create(direction="query", requester_code="112224", requester_name="越谷市",
                                   provider_code="131016", provider_name="千代田区", business="予防接種",
                                   item="接種履歴", resident=resident, address_number=resident.address_number,
                                   requested_at=received, completed_at=received, outcome="answered",
                                   exchange=exchange)
    return LinkageResult.objects.create(exchange=exchange, resident=resident, payload_ciphertext=b"\x01enc",
                                        dose_count=1, received_at=received)


def test_expired_results_are_reported_and_purged_through_the_linkage_service(
        staff_user, admin_user, django_capture_on_commit_callbacks):
    person, held_person = resident_living_here(address_number="720001"), resident_living_here(address_number="720002")
    old = _result(staff_user, person, days_ago=400, key="old")
    recent = _result(staff_user, person, days_ago=200, key="recent")  # past linkage's 7 days, within a year
    held = _result(staff_user, held_person, days_ago=400, key="held")
    legal_hold_place(actor=admin_user, resident=held_person, reason="訴訟対応", reference="越総第3号")

    report = purge_report_create(actor=admin_user, as_of=timezone.localdate(), trigger=ReportTrigger.ADMINISTRATOR)
    item = report.items.get(data_class="linkage_results")
    assert (item.count, item.first_id, item.last_id) == (1, old.pk, old.pk)
    assert LinkageResult.objects.filter(pk=old.pk).exists()  # the dry run deletes nothing
    with django_capture_on_commit_callbacks(execute=True):
        purge_report_approve(actor=admin_user, report=report)
    report.refresh_from_db()
    item.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    assert (item.deleted, item.skipped) == (1, 0)

    assert set(LinkageResult.objects.values_list("pk", flat=True)) == {recent.pk, held.pk}
    exchange = Exchange.objects.get(pk=old.exchange_id)
    assert exchange.result_purged_at is not None
    assert ProvisionRecord.objects.filter(exchange=exchange).exists()
    # linkage's own record of the deletion, under the approving administrator.
    event = AuditLogEntry.objects.get(event="linkage.result_purged")
    assert event.actor == admin_user and event.additional_data["exchange_ids"] == [exchange.pk]
    assert AuditLogEntry.objects.filter(content_type__model="linkageresult", object_pk=str(old.pk),
                                        action=AuditLogEntry.Action.DELETE, actor=admin_user).exists()
    assert chain_verify().ok


def test_a_result_within_linkage_period_is_not_due_even_with_a_late_cutoff(staff_user, admin_user, settings):
    settings.LINKAGE_RESULT_RETENTION_DAYS = 500
    _result(staff_user, resident_living_here(address_number="720003"), days_ago=400, key="long")
    report = purge_report_create(actor=admin_user, as_of=timezone.localdate(), trigger=ReportTrigger.ADMINISTRATOR)
    assert report.items.get(data_class="linkage_results").count == 0
