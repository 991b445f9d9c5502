"""Acceptance 2: inbound queries. Allowed ones are answered automatically, sealed for the requester; for a
flagged person (each of the three flags) or a flagged item the query waits for confirmation and is
answered only after approval; a refusal sends a refusal, not data. Against the real mock process."""

from datetime import date

import pytest
from django.urls import reverse

from audit.models import AuditLogEntry
from linkage.models import InboundDecision, InboundQuery, InboundStatus, ProvisionRecord, RecordOutcome
from linkage.services.codes import provision_code_acquire
from linkage.services.provision import inbound_poll
from linkage.tasks import inbound_poll_task
from records.models import Resident
from tests.factories import ResidentFactory, VaccinationRecordFactory
from tests.linkage.conftest import CHIYODA, OSAKA

pytestmark = pytest.mark.django_db


@pytest.fixture
def our_person(mock, staff_user, vaccines) -> Resident:
    """A resident of ours with a code, two doses given here and one pre-move-in dose (not provided)."""
    resident = ResidentFactory(address_number="800001", birth_date=date(1985, 7, 7))
    VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 11, 10), vaccine=vaccines["FLU01"],
                             actor=staff_user)
    VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 12, 8), vaccine=vaccines["FLU02"],
                             actor=staff_user)
    VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 10, 1), vaccine=vaccines["FLU01"],
                             clinic=None, place_text="他市", before_move_in=True, actor=staff_user)
    provision_code_acquire(actor=staff_user, resident=resident)
    return resident


def _flag(resident: Resident, flag: str) -> None:
    # Issue #7 owns the services that set these flags; the column is what linkage reads.
    Resident.objects.filter(pk=resident.pk).update(**{flag: True})


def test_allowed_query_is_answered_automatically_and_sealed_for_the_requester(mock, our_person):
    status, seeded = mock.seed_inbound(code=our_person.information_provision_code)
    assert status == 201
    summary = inbound_poll_task.delay().get()
    assert summary == {"received": 1, "held": 0, "sent": 1, "unsent": 0, "malformed": 0}

    inbound = InboundQuery.objects.get()
    assert inbound.status == InboundStatus.PROVIDED and inbound.decision == InboundDecision.AUTOMATIC
    assert inbound.resident == our_person
    seen = mock.inspect(seeded["inbound_id"])
    assert seen["status"] == "provided" and seen["answer_count"] == 1
    # Only the requester's private key opens it (the mock plays 千代田区 and decrypts with its key).
    doses = seen["decrypted"]["doses"]
    assert [(d["vaccinated_on"], d["vaccine_code"]) for d in doses] == [("2025-11-10", "FLU01"),
                                                                         ("2025-12-08", "FLU02")]
    record = ProvisionRecord.objects.get(inbound=inbound)
    assert record.outcome == RecordOutcome.PROVIDED and record.staff is None
    assert (record.requester_code, record.provider_code) == (CHIYODA, "112224")
    assert record.address_number == our_person.address_number and record.permit_id == seeded["permit_id"]
    assert AuditLogEntry.objects.filter(event="linkage.provision_sent", object_pk=str(inbound.pk)).count() == 1


def test_a_query_delivered_twice_is_stored_and_answered_once(mock, our_person):
    mock.seed_inbound(code=our_person.information_provision_code)
    mock.faults(fail_status=503, fail_count=3, path="/v1/inbound/")  # the answer cannot go out this time
    first = inbound_poll()
    assert (first.received, first.unsent) == (1, 1)
    second = inbound_poll()  # delivered again (still unanswered at the server); the answer goes out now
    assert (second.received, second.sent) == (0, 1)
    assert InboundQuery.objects.count() == 1
    assert ProvisionRecord.objects.count() == 1
    assert mock.log("inbound_answered")[0]["outcome"] == "provided"
    assert len(mock.log("inbound_answered")) == 1


@pytest.mark.parametrize("flag", ["auto_response_disabled", "is_protected", "use_suspended"])
def test_flagged_person_waits_for_confirmation_and_is_answered_only_after_approval(
        mock, our_person, staff_user, client_for, flag):
    _flag(our_person, flag)
    _status, seeded = mock.seed_inbound(code=our_person.information_provision_code)
    summary = inbound_poll()
    assert (summary.received, summary.held, summary.sent) == (1, 1, 0)
    inbound = InboundQuery.objects.get()
    assert inbound.status == InboundStatus.AWAITING_CONFIRMATION
    assert inbound.hold_reason_list == [flag]
    assert mock.inspect(seeded["inbound_id"])["status"] == "waiting"
    assert mock.log("inbound_answered") == []
    assert not ProvisionRecord.objects.exists()
    inbound_poll()  # later polls do not answer it either
    assert mock.log("inbound_answered") == []

    client = client_for(staff_user)
    page = client.get(reverse("linkage:inbound_detail", args=[inbound.pk])).content.decode()
    assert "承認すると送信される内容" in page and "2025-11-10" in page and "2025-10-01" not in page
    response = client.post(reverse("linkage:inbound_approve", args=[inbound.pk]))
    assert response.status_code == 302
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROVIDED and inbound.decision == InboundDecision.APPROVED
    assert inbound.decided_by == staff_user
    seen = mock.inspect(seeded["inbound_id"])
    assert seen["status"] == "provided" and len(seen["decrypted"]["doses"]) == 2
    record = ProvisionRecord.objects.get(inbound=inbound)
    assert record.outcome == RecordOutcome.PROVIDED and record.staff == staff_user
    events = list(AuditLogEntry.objects.filter(object_pk=str(inbound.pk), event__startswith="linkage.provision")
                  .order_by("pk").values_list("event", "actor__username"))
    assert events == [("linkage.provision_held", "system-linkage"), ("linkage.provision_approved", "staff1"),
                      ("linkage.provision_sent", "staff1")]


def test_flagged_item_waits_for_confirmation(mock, our_person, settings):
    settings.LINKAGE_NO_AUTO_RESPONSE_ITEMS = ["vaccination_history"]
    mock.seed_inbound(code=our_person.information_provision_code)
    inbound_poll()
    inbound = InboundQuery.objects.get()
    assert inbound.status == InboundStatus.AWAITING_CONFIRMATION
    assert inbound.hold_reason_list == ["item_flagged"]


def test_refusal_sends_a_refusal_not_data(mock, our_person, staff_user, client_for):
    _flag(our_person, "is_protected")
    _status, seeded = mock.seed_inbound(code=our_person.information_provision_code)
    inbound_poll()
    inbound = InboundQuery.objects.get()
    client = client_for(staff_user)
    empty = client.post(reverse("linkage:inbound_refuse", args=[inbound.pk]), {"reason": " "})
    assert empty.status_code == 200 and "この項目は必須です" in empty.content.decode()
    assert mock.log("inbound_answered") == []

    client.post(reverse("linkage:inbound_refuse", args=[inbound.pk]), {"reason": "支援措置対象者のため"})
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.REFUSED and inbound.refusal_reason == "支援措置対象者のため"
    seen = mock.inspect(seeded["inbound_id"])
    assert seen["status"] == "refused"
    assert seen["has_envelope"] is False and seen["decrypted"] is None
    assert ProvisionRecord.objects.get(inbound=inbound).outcome == RecordOutcome.REFUSED
    # Decided once: approving afterwards is refused and sends nothing.
    response = client.post(reverse("linkage:inbound_approve", args=[inbound.pk]), follow=True)
    assert "確認待ちではありません" in response.content.decode()
    assert len(mock.log("inbound_answered")) == 1


def test_query_off_our_permission_list_is_refused_and_unknown_code_gets_not_found(mock, our_person):
    _status, allowed = mock.seed_inbound(code=our_person.information_provision_code, requester=OSAKA)
    _status, unknown = mock.seed_inbound(code="NO-SUCH-CODE")
    # Our copy of the permission list no longer holds 大阪市 → us when we check it.
    mock.set_permissions([line for line in mock.server_state()["permissions"]
                          if not (line["requester"] == OSAKA and line["provider"] == "112224")])
    inbound_poll()
    assert mock.inspect(allowed["inbound_id"])["status"] == "refused"
    assert mock.inspect(allowed["inbound_id"])["has_envelope"] is False
    assert mock.inspect(unknown["inbound_id"])["status"] == "not_found"
    outcomes = dict(ProvisionRecord.objects.values_list("inbound__remote_id", "outcome"))
    assert outcomes == {allowed["inbound_id"]: RecordOutcome.NOT_PERMITTED,
                        unknown["inbound_id"]: RecordOutcome.NOT_FOUND}


def test_approval_while_the_server_is_unavailable_is_sent_by_the_next_poll(mock, our_person, staff_user, client_for):
    _flag(our_person, "auto_response_disabled")
    _status, seeded = mock.seed_inbound(code=our_person.information_provision_code)
    inbound_poll()
    inbound = InboundQuery.objects.get()
    mock.faults(fail_status=500, fail_count=3, path="/v1/inbound/")
    response = client_for(staff_user).post(reverse("linkage:inbound_approve", args=[inbound.pk]), follow=True)
    assert "次回の自動受信時に再送します" in response.content.decode()
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.SENDING and inbound.failure_code == "http_500"
    inbound_poll()
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.PROVIDED
    assert mock.inspect(seeded["inbound_id"])["answer_count"] == 1
    record = ProvisionRecord.objects.get(inbound=inbound)
    assert record.staff == staff_user  # the approving staff member, though the poll sent it


def test_an_answer_the_server_refuses_for_good_ends_failed_and_is_not_resent(mock, our_person):
    _status, seeded = mock.seed_inbound(code=our_person.information_provision_code)
    mock.faults(fail_status=503, fail_count=3, path="/v1/inbound/")
    assert inbound_poll().unsent == 1
    # Meanwhile the query was answered otherwise (another key): ours is refused with 409.
    other = mock.http.post(f"/v1/inbound/{seeded['inbound_id']}/answer", headers={"X-Body-Code": "112224"},
                           json={"body": "112224", "idempotency_key": "elsewhere", "outcome": "not_found"})
    assert other.status_code == 200
    summary = inbound_poll()
    assert (summary.sent, summary.unsent) == (0, 1)
    inbound = InboundQuery.objects.get()
    assert inbound.status == InboundStatus.FAILED and inbound.failure_code == "already_answered"
    assert ProvisionRecord.objects.get(inbound=inbound).outcome == RecordOutcome.FAILED
    inbound_poll()  # not sent again
    assert [e["idempotency_key"] for e in mock.log("inbound_answered")] == ["elsewhere"]


def test_staff_lists_show_queries_and_the_queue(mock, our_person, staff_user, client_for):
    _flag(our_person, "use_suspended")
    mock.seed_inbound(code=our_person.information_provision_code)
    inbound_poll()
    client = client_for(staff_user)
    queue = client.get(reverse("linkage:inbound_list")).content.decode()
    assert "確認待ち" in queue and our_person.address_number in queue and "東京都千代田区" in queue
    home = client.get(reverse("linkage:exchange_list")).content.decode()
    assert "他団体からの照会 1 件が確認待ちです。" in home
    detail = client.get(reverse("linkage:inbound_detail", args=[InboundQuery.objects.get().pk])).content.decode()
    assert "利用停止中" in detail


def test_a_malformed_delivery_does_not_stop_the_others(mock, our_person):
    mock.seed_inbound(code="X" * 80)  # longer than any code: refused by our model's validation
    mock.seed_inbound(code=our_person.information_provision_code)
    summary = inbound_poll().as_dict()
    assert summary["malformed"] == 1 and summary["sent"] == 1
    assert InboundQuery.objects.get().resident == our_person
