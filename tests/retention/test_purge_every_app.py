"""Issue #8 with #5–#7 merged: a purge-due person with rows in every app is purged whole — the rows that
refer to the person and the rows that refer to those (results of their exchanges, notice items of their
tickets, decisions of their checks), leaves first — while the legal records that refer to them with
SET_NULL (provision records, rights tickets and requests, protection changes) stay with the link emptied.
The chain still verifies."""

from datetime import date, timedelta

from django.utils import timezone

from audit.chain import chain_verify
from eligibility.models import (
    EligibilityCheck,
    EligibilityDecision,
    ExtractionRun,
    NoticeBatch,
    NoticeItem,
    PriorityGroup,
    PriorityGroupMembership,
    Ticket,
)
from eligibility.services import eligibility_check_create, eligibility_decide, priority_group_grant
from eligibility.services.notices import ticket_number
from linkage.models import Exchange, InboundQuery, LinkageResult, ProvisionRecord
from records.models import NonResidentRegistration, NonResidentSource, ResidencyPeriod, Resident, VaccinationRecord
from retention.models import ReportStatus, ReportTrigger
from retention.services import purge_report_approve, purge_report_create
from rights.models import DisclosureDocument, DisclosureRequest, HandoverMethod, ReceptionTicket
from rights.services import disclosure_document_generate, disclosure_handover_record
from tests.conftest import requires_postgres
from tests.eligibility.factories import make_campaign
from tests.retention.factories import person_who_left
from tests.rights.helpers import disclosure

TODAY = date(2026, 11, 26)


def _person_in_every_app(staff_user, admin_user) -> tuple[Resident, dict[str, list[int]]]:
    person = person_who_left(left_on=date(2000, 1, 1), vaccinated_on=[date(1999, 10, 1)], address_number="710001",
                             name="全部 消子", name_kana="ゼンブ　ケシコ", birth_date=date(1940, 5, 5))
    ResidencyPeriod.objects.create(resident=person, status="resident", valid_from=date(1940, 5, 5),
                                   valid_until=date(2000, 1, 1), cause="initial")
    NonResidentRegistration.objects.create(resident=person, registered_from=date(1999, 1, 1),
                                           source=NonResidentSource.values[0], source_document="転出証明書",
                                           registered_by=staff_user)
    # Eligibility, through its services where they take a person who no longer lives here.
    campaign = make_campaign(staff_user)
    priority_group_grant(actor=staff_user, resident=person, group=PriorityGroup.objects.order_by("pk")[0],
                         application_reference="R8-0001")
    check, _ = eligibility_check_create(actor=staff_user, campaign=campaign, birth_date=person.birth_date,
                                        name=person.name, address_number=person.address_number)
    EligibilityCheck.objects.filter(pk=check.pk).update(resident=person)
    check.refresh_from_db()
    eligibility_decide(actor=staff_user, resident=person, campaign=campaign, check=check)
    eligibility_decide(actor=staff_user, resident=person, campaign=campaign)
    run = ExtractionRun.objects.create(campaign=campaign, rule=campaign.current_rule, started_by=staff_user)
    batch = NoticeBatch.objects.create(run=run, campaign=campaign, rule=campaign.current_rule)
    first = Ticket.objects.create(number=ticket_number(900001), resident=person, campaign=campaign, dose_number=1,
                                  issued_on=date(1999, 9, 1), voided_at=timezone.now(), voided_by=staff_user,
                                  void_reason="再発行")
    second = Ticket.objects.create(number=ticket_number(900002), resident=person, campaign=campaign, dose_number=2,
                                   issued_on=date(1999, 9, 2), replaces=first)
    NoticeItem.objects.create(batch=batch, resident=person, dose_number=1, age=59, ticket=second)
    # Linkage: an exchange with its (encrypted) result and provision record, an inbound query answered.
    now = timezone.now()
    exchange = Exchange.objects.create(idempotency_key="purge-every-app", resident=person, provider_code="131016",
                                       provider_name="千代田区", business="予防接種", item="接種履歴",
                                       status="answered", permit_id="P0", requested_by=staff_user)
    LinkageResult.objects.create(exchange=exchange, resident=person, payload_ciphertext=b"\x00secret", dose_count=1,
                                 received_at=now)
    inbound = InboundQuery.objects.create(remote_id="in-purge-1", requester_code="131016", requester_name="千代田区",
                                          business="予防接種", item="接種履歴", information_provision_code="c" * 16,
                                          permit_id="P1", reply_key="k" * 16, received_at=now, resident=person,
                                          status="provided")
    kept = [
        ProvisionRecord.objects.create(direction=direction, requester_code="131016", requester_name="千代田区",
                                       provider_code="112224", provider_name="越谷市", business="予防接種",
                                       item="接種履歴", resident=person, address_number=person.address_number,
                                       requested_at=now, completed_at=now, outcome="provided", **link).pk
        for direction, link in (("query", {"exchange": exchange}), ("provision", {"inbound": inbound}))
    ]
    # Rights: a disclosure received, generated and handed over (closed, so it holds no one).
    request = disclosure(staff_user, person)
    document, _pdf = disclosure_document_generate(actor=staff_user, request=request)
    disclosure_handover_record(actor=staff_user, request=request, document=document,
                               method=HandoverMethod.values[0], handed_over_on=timezone.localdate())
    return person, {"provision": kept, "ticket": [request.ticket_id], "request": [request.pk],
                    "document": [document.pk]}


def _purge_everything(staff_user, admin_user, django_capture_on_commit_callbacks) -> None:
    person, kept = _person_in_every_app(staff_user, admin_user)
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    item = report.items.get(data_class="records")
    assert item.count == 1
    # The dry run counts what the run deletes, through every level.
    expected = {
        "records.VaccinationRecord": 1, "records.ResidencyPeriod": 1, "records.NonResidentRegistration": 1,
        "eligibility.PriorityGroupMembership": 1, "eligibility.EligibilityCheck": 1,
        "eligibility.EligibilityDecision": 2, "eligibility.Ticket": 2, "eligibility.NoticeItem": 1,
        "linkage.Exchange": 1, "linkage.LinkageResult": 1, "linkage.InboundQuery": 1,
    }
    for label, n in expected.items():
        assert item.related_counts[label] == n, label
    with django_capture_on_commit_callbacks(execute=True):
        purge_report_approve(actor=admin_user, report=report)
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED
    item.refresh_from_db()
    assert (item.deleted, item.skipped) == (1, 0)
    for label, n in expected.items():
        assert item.deleted_related[label] == n, label

    pk = person.pk
    assert not Resident.objects.filter(pk=pk).exists()
    for model in (VaccinationRecord, ResidencyPeriod, NonResidentRegistration, PriorityGroupMembership,
                  EligibilityCheck, EligibilityDecision, Ticket, NoticeItem, Exchange, LinkageResult, InboundQuery):
        assert not model.objects.filter(resident_id=pk).exists(), model
    assert not EligibilityCheck.objects.exists()
    assert not Ticket.objects.exists() and not NoticeItem.objects.exists()
    assert not LinkageResult.objects.exists() and not Exchange.objects.exists() and not InboundQuery.objects.exists()
    # The legal records stay, without the link.
    provisions = ProvisionRecord.objects.filter(pk__in=kept["provision"])
    assert provisions.count() == 2
    assert all(p.resident_id is None and p.exchange_id is None and p.inbound_id is None for p in provisions)
    assert provisions.filter(address_number="710001").count() == 2  # the copy the record keeps by design
    ticket = ReceptionTicket.objects.get(pk__in=kept["ticket"])
    assert ticket.resident_id is None
    assert DisclosureRequest.objects.get(pk__in=kept["request"]).resident_id is None
    assert DisclosureDocument.objects.filter(pk__in=kept["document"]).exists()
    assert chain_verify().ok


def test_a_person_with_rows_in_every_app_is_purged_whole(staff_user, admin_user,
                                                         django_capture_on_commit_callbacks):
    _purge_everything(staff_user, admin_user, django_capture_on_commit_callbacks)


@requires_postgres
def test_a_person_with_rows_in_every_app_is_purged_whole_on_postgres(staff_user, admin_user,
                                                                     django_capture_on_commit_callbacks):
    _purge_everything(staff_user, admin_user, django_capture_on_commit_callbacks)


def test_a_later_vaccination_keeps_everything(staff_user, admin_user, django_capture_on_commit_callbacks):
    person, _kept = _person_in_every_app(staff_user, admin_user)
    VaccinationRecord.objects.filter(resident=person).update(vaccinated_on=TODAY - timedelta(days=30))
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    assert report.items.get(data_class="records").count == 0
    assert LinkageResult.objects.filter(resident=person).exists()
