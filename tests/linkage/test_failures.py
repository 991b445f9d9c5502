"""Acceptance 3: the mock server down, slow (timeout) and answering 500. The client retries within its
limits (transient failures only), the exchange ends in a clear failed state, nothing is stored twice, and
a later retry completes it. Against the real mock process."""

import json
import threading

import pytest
from django.db import connection
from django.urls import reverse

from linkage.client import IntermediateServerClient, LinkageRejected, LinkageUnavailable
from linkage.models import Exchange, ExchangeStatus, LinkageResult, ProvisionRecord, RecordOutcome
from linkage.services.codes import provision_code_acquire
from linkage.services.queries import linkage_query_create, linkage_query_send
from tests.conftest import requires_postgres
from tests.linkage.conftest import CHIYODA, base_state, dose, free_port, point_settings_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(mock, staff_user, moved_in_resident) -> Exchange:
    mock.person(address_number=moved_in_resident.address_number, doses=[dose(), dose("2025-12-01")])
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    return linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                provider_name="東京都千代田区")


def test_500_twice_then_success_is_retried_within_one_send(mock, staff_user, pending):
    mock.faults(fail_status=500, fail_count=2)
    exchange = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert exchange.status == ExchangeStatus.ANSWERED
    assert exchange.attempts == 1  # one send by us; the client's retries are inside it
    assert mock.fault_status()["fail_count"] == 0
    assert LinkageResult.objects.count() == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_persistent_5xx_fails_after_the_attempt_limit_then_a_later_retry_completes(mock, staff_user, pending, status):
    mock.faults(fail_status=status, fail_count=10)
    failed = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert failed.status == ExchangeStatus.FAILED
    assert failed.failure_code == f"http_{status}"
    assert mock.fault_status()["fail_count"] == 7  # exactly LINKAGE_MAX_ATTEMPTS = 3 calls, then it gave up
    assert not LinkageResult.objects.exists()
    assert ProvisionRecord.objects.get(exchange=failed).outcome == RecordOutcome.FAILED

    mock.faults()  # the server recovers
    done = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert done.status == ExchangeStatus.ANSWERED and done.failure_code == ""
    assert done.attempts == 2
    assert LinkageResult.objects.filter(exchange=done).count() == 1
    assert len(mock.log("permit_issued")) == 1 and len(mock.log("query_answered")) == 1
    outcomes = list(ProvisionRecord.objects.filter(exchange=done).order_by("pk").values_list("outcome", flat=True))
    assert outcomes == [RecordOutcome.FAILED, RecordOutcome.ANSWERED]


def test_4xx_is_never_retried(mock, settings):
    mock.faults(fail_status=400, fail_count=5)
    with IntermediateServerClient.from_settings() as client, pytest.raises(LinkageRejected):
        client.bodies()
    assert mock.fault_status()["fail_count"] == 4


def test_slow_answer_times_out_and_the_retry_gets_the_stored_answer_never_a_second_query(mock, staff_user, pending):
    # The server handles the query, then answers too late for the 1-second timeout (once).
    mock.faults(delay_seconds=1.5, delay_count=1, path="/v1/queries")
    exchange = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert exchange.status == ExchangeStatus.ANSWERED
    assert len(mock.log("query_answered")) == 1  # the retry was answered from the server's idempotency store
    assert LinkageResult.objects.filter(exchange=exchange).count() == 1


def test_always_slow_ends_failed_with_timeout_and_a_later_retry_stores_one_result(mock, staff_user, pending,
                                                                                  client_for,
                                                                                  django_capture_on_commit_callbacks):
    mock.faults(delay_seconds=1.5, delay_count=3, path="/v1/queries")
    failed = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert failed.status == ExchangeStatus.FAILED and failed.failure_code == "timeout"
    assert not LinkageResult.objects.exists()
    # The page says why, and offers to send again.
    client = client_for(staff_user)
    page = client.get(reverse("linkage:exchange_detail", args=[pending.pk])).content.decode()
    assert "中間サーバーが制限時間内に応答しませんでした" in page and "再送する" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("linkage:exchange_retry", args=[pending.pk]))
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == ExchangeStatus.ANSWERED
    assert LinkageResult.objects.filter(exchange=pending).count() == 1
    assert len(mock.log("query_answered")) == 1
    # Once answered, a retry is refused and sends nothing.
    response = client.post(reverse("linkage:exchange_retry", args=[pending.pk]), follow=True)
    assert "完了しているため、再送できません" in response.content.decode()
    assert linkage_query_send(actor=staff_user, exchange_id=pending.pk).attempts == pending.attempts


def test_server_down_fails_clearly_and_completes_once_it_is_back(spawn_mock, settings, staff_user,
                                                                   moved_in_resident, tmp_path):
    from linkage.keys import our_public_keys

    state_path = tmp_path / "down.json"
    state = base_state(our_public_keys())
    state["persons"] = [{"id": "P1", "addresses": {"112224": moved_in_resident.address_number},
                         "codes": {CHIYODA: "C-1"}}]
    state["histories"] = {CHIYODA: {"C-1": [dose()]}}
    state_path.write_text(json.dumps(state), encoding="utf-8")
    server = spawn_mock(state_path)
    point_settings_at(settings, server.url)
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    exchange = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                    provider_name="東京都千代田区")

    server.stop()
    failed = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert failed.status == ExchangeStatus.FAILED and failed.failure_code == "connection_failed"
    assert not LinkageResult.objects.exists()

    spawn_mock(state_path, port=server.port)  # back, with the state it kept on disk
    done = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert done.status == ExchangeStatus.ANSWERED
    assert done.result.dose_count == 1
    assert LinkageResult.objects.count() == 1


def test_nothing_listening_is_unavailable_after_the_attempt_limit():
    sleeps: list[float] = []
    client = IntermediateServerClient(base_url=f"http://127.0.0.1:{free_port()}", body_code="112224", timeout=1,
                                      max_attempts=3, backoff_seconds=0.01, sleep=sleeps.append)
    with client, pytest.raises(LinkageUnavailable) as excinfo:
        client.bodies()
    assert excinfo.value.attempts == 3 and excinfo.value.code == "connection_failed"
    assert sleeps == [0.01, 0.02]  # exponential back-off between the three attempts


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sends_of_one_exchange_store_one_result(mock, staff_user, moved_in_resident):
    """Two workers send the same exchange at once (a double click, a redelivered task): the row lock and
    the idempotency key leave one query at the server and one stored result."""
    mock.person(address_number=moved_in_resident.address_number, doses=[dose()])
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    exchange = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                    provider_name="東京都千代田区")
    mock.faults(delay_seconds=0.5, delay_count=2, path="/v1/queries")  # both requests in flight together
    barrier = threading.Barrier(2)
    statuses: list[str] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            statuses.append(linkage_query_send(actor=staff_user, exchange_id=exchange.pk).status)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [ExchangeStatus.ANSWERED, ExchangeStatus.ANSWERED]
    assert LinkageResult.objects.filter(exchange=exchange).count() == 1
    assert len(mock.log("query_answered")) == 1
    assert ProvisionRecord.objects.filter(exchange=exchange, outcome=RecordOutcome.ANSWERED).count() == 1


def test_a_body_acts_only_as_itself(mock):
    """The mock refuses a request that claims to come from another body than the one connected."""
    import httpx

    as_chiyoda = {"X-Body-Code": CHIYODA}
    response = httpx.post(f"{mock.url}/v1/codes", headers=as_chiyoda,
                          json={"body": "112224", "address_number": "1", "idempotency_key": "k"})
    assert response.status_code == 403 and response.json()["error"] == "wrong_body"
    response = httpx.get(f"{mock.url}/v1/inbound", params={"body": "112224"}, headers=as_chiyoda)
    assert response.status_code == 403


def test_query_page_says_so_when_the_server_cannot_be_reached(settings, staff_user, client_for, moved_in_resident):
    settings.LINKAGE_SERVER_URL = f"http://127.0.0.1:{free_port()}"
    settings.LINKAGE_RETRY_BACKOFF_MS = 1
    page = client_for(staff_user).get(reverse("linkage:query_start", args=[moved_in_resident.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "中間サーバーに接続できないため、照会先の一覧を取得できません。" in text
    assert "照会する" not in text
    assert not Exchange.objects.exists()


def test_a_retry_after_the_permit_lapsed_gets_a_new_permit_and_still_one_query(mock, staff_user, pending):
    mock.faults(fail_status=503, fail_count=3, path="/v1/queries")
    failed = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert failed.status == ExchangeStatus.FAILED and failed.permit_id.startswith("PMT-")
    first_permit = failed.permit_id

    assert mock.http.post("/admin/permits/expire").status_code == 200  # the permit's 30 minutes are over
    done = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert done.status == ExchangeStatus.ANSWERED, done.failure_code
    assert done.permit_id != first_permit
    assert len(mock.log("permit_issued")) == 2 and len(mock.log("query_answered")) == 1
    assert LinkageResult.objects.filter(exchange=done).count() == 1


def test_a_retry_reuses_the_permit_of_an_answered_query_and_gets_the_stored_answer(mock, staff_user, pending):
    # Answered at the server but lost on the way back, three times; by the retry the permit has lapsed:
    # the stored answer still comes back for the query key, with no new permit.
    mock.faults(delay_seconds=1.5, delay_count=3, path="/v1/queries")
    failed = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert failed.status == ExchangeStatus.FAILED and failed.failure_code == "timeout"
    mock.http.post("/admin/permits/expire")
    done = linkage_query_send(actor=staff_user, exchange_id=pending.pk)
    assert done.status == ExchangeStatus.ANSWERED
    assert len(mock.log("permit_issued")) == 1 and len(mock.log("query_answered")) == 1
