"""Acceptance 1: a query the permission list does not allow is refused before any data leaves; an allowed
one returns the history, which decrypts and registers as 転入前接種 records. Against the real mock."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditLogEntry
from linkage.models import Exchange, ExchangeStatus, LinkageResult, ProvisionRecord, RecordOutcome
from linkage.services.codes import provision_code_acquire
from linkage.services.queries import (
    linkage_query_create,
    linkage_query_send,
    linkage_result_doses,
    linkage_result_register,
)
from records.models import RecordSource, VaccinationRecord
from tests.factories import ResidentFactory, VaccinationRecordFactory
from tests.linkage.conftest import CHIYODA, SAPPORO, dose

pytestmark = pytest.mark.django_db


def _query(staff, resident, provider=CHIYODA, name="東京都千代田区"):
    provision_code_acquire(actor=staff, resident=resident)
    exchange = linkage_query_create(actor=staff, resident=resident, provider_code=provider, provider_name=name)
    return linkage_query_send(actor=staff, exchange_id=exchange.pk)


def test_query_not_on_the_permission_list_is_refused_before_any_data_leaves(mock, staff_user, moved_in_resident):
    mock.person(address_number=moved_in_resident.address_number, provider=SAPPORO, doses=[dose()])
    exchange = _query(staff_user, moved_in_resident, provider=SAPPORO, name="北海道札幌市")

    assert exchange.status == ExchangeStatus.REFUSED
    assert exchange.failure_code == "not_permitted"
    assert exchange.attempts == 1
    assert not LinkageResult.objects.exists()
    assert len(mock.log("permit_refused")) == 1
    assert mock.log("query_answered") == []  # the query itself was never sent
    record = ProvisionRecord.objects.get(exchange=exchange)
    assert record.outcome == RecordOutcome.NOT_PERMITTED and record.staff == staff_user
    assert AuditLogEntry.objects.filter(event="linkage.query_refused", actor=staff_user).count() == 1
    # Final: sending again sends nothing.
    again = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert again.status == ExchangeStatus.REFUSED and again.attempts == 1
    assert len(mock.log("permit_refused")) == 1


def test_refusal_shows_a_clear_message_on_the_page(mock, staff_user, client_for, moved_in_resident,
                                                   django_capture_on_commit_callbacks):
    client = client_for(staff_user)
    page = client.get(reverse("linkage:query_start", args=[moved_in_resident.pk]))
    assert page.status_code == 200
    assert SAPPORO in page.content.decode()  # the list of bodies comes from the server
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("linkage:query_start", args=[moved_in_resident.pk]),
                               {"provider_code": SAPPORO})
    exchange = Exchange.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("linkage:exchange_detail", args=[exchange.pk])
    detail = client.get(response["Location"]).content.decode()
    assert "照会許可用照会リストで許可されていない照会" in detail
    assert "照会は送信していません" in detail


def test_allowed_query_decrypts_and_registers_as_before_move_in_records(mock, staff_user, client_for, vaccines,
                                                                        moved_in_resident,
                                                                        django_capture_on_commit_callbacks):
    doses = [dose("2025-11-04"), dose("2025-12-02", vaccine="FLU02", lot_number="ab9-1")]
    mock.person(address_number=moved_in_resident.address_number, doses=doses)
    client = client_for(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("linkage:query_start", args=[moved_in_resident.pk]),
                               {"provider_code": CHIYODA})
    exchange = Exchange.objects.get()
    exchange.refresh_from_db()
    assert exchange.status == ExchangeStatus.ANSWERED, exchange.failure_code
    assert exchange.permit_id.startswith("PMT-")
    result = LinkageResult.objects.get(exchange=exchange)
    assert result.dose_count == 2
    # Stored encrypted at rest: nothing of the history is readable in the column.
    assert b"HA123" not in bytes(result.payload_ciphertext)
    assert [d.vaccinated_on for d in linkage_result_doses(result=result)] == [date(2025, 11, 4), date(2025, 12, 2)]

    detail = client.get(response["Location"]).content.decode()
    assert "HA123-A" in detail and "すべて転入前接種として登録" in detail
    registered = client.post(reverse("linkage:result_register", args=[exchange.pk]))
    assert registered.status_code == 302
    records = VaccinationRecord.objects.filter(resident=moved_in_resident).order_by("vaccinated_on")
    assert [(r.vaccinated_on, r.vaccine.code, r.lot_number) for r in records] == [
        (date(2025, 11, 4), "FLU01", "HA123-A"), (date(2025, 12, 2), "FLU02", "AB9-1"),
    ]
    for record in records:
        assert record.before_move_in is True
        assert record.source == RecordSource.LINKAGE
        assert record.clinic is None and "東京都千代田区" in record.place_text
        assert record.age_at_vaccination == 35
        assert record.dose_ml == Decimal("0.50")
        assert record.created_by == staff_user
    result.refresh_from_db()
    assert result.registered_count == 2 and result.registered_by == staff_user
    # One action, once: registering again is refused and stores nothing.
    with pytest.raises(ValidationError):
        linkage_result_register(actor=staff_user, result_id=result.pk)
    assert records.count() == 2
    events = set(AuditLogEntry.objects.filter(actor=staff_user, event__startswith="linkage.")
                 .values_list("event", flat=True))
    assert {"linkage.code_acquired", "linkage.query_sent", "linkage.result_received",
            "linkage.result_registered"} <= events


def test_register_skips_a_dose_already_held_and_refuses_unknown_vaccines(mock, staff_user, vaccines,
                                                                         moved_in_resident):
    VaccinationRecordFactory(resident=moved_in_resident, vaccinated_on=date(2025, 11, 4), vaccine=vaccines["FLU01"],
                             clinic=None, place_text="紙の済証", before_move_in=True, actor=staff_user)
    mock.person(address_number=moved_in_resident.address_number, doses=[dose("2025-11-04"), dose("2025-12-01")])
    exchange = _query(staff_user, moved_in_resident)
    created, skipped = linkage_result_register(actor=staff_user, result_id=exchange.result.pk)
    assert (len(created), skipped) == (1, 1)
    assert VaccinationRecord.objects.filter(resident=moved_in_resident).count() == 2

    other = ResidentFactory(address_number="700002", birth_date=date(1990, 5, 1), moved_in_on=date(2026, 4, 1))
    mock.person(address_number=other.address_number, doses=[dose("2025-11-04"), dose("2025-11-20", vaccine="XYZ9")])
    exchange = _query(staff_user, other)
    with pytest.raises(ValidationError) as excinfo:
        linkage_result_register(actor=staff_user, result_id=exchange.result.pk)
    assert "2件目（2025-11-20）: ワクチンコード XYZ9 がワクチンマスタにありません。" in excinfo.value.messages
    assert not VaccinationRecord.objects.filter(resident=other).exists()  # all or nothing


def test_dose_after_moving_in_is_not_registered_as_before_move_in(mock, staff_user, vaccines, moved_in_resident):
    mock.person(address_number=moved_in_resident.address_number, doses=[dose("2026-04-01")])
    exchange = _query(staff_user, moved_in_resident)
    with pytest.raises(ValidationError) as excinfo:
        linkage_result_register(actor=staff_user, result_id=exchange.result.pk)
    assert "転入日（2026-04-01）以後の接種" in excinfo.value.messages[0]


def test_person_unknown_to_the_provider_answers_with_no_doses(mock, staff_user, moved_in_resident):
    exchange = _query(staff_user, moved_in_resident)
    assert exchange.status == ExchangeStatus.ANSWERED
    assert exchange.result.dose_count == 0


def test_only_moved_in_residents_with_a_code_are_queried(mock, staff_user, db):
    born_here = ResidentFactory(address_number="700010", birth_date=date(2000, 1, 1))
    with pytest.raises(ValidationError, match="転入日が登録されていない"):
        linkage_query_create(actor=staff_user, resident=born_here, provider_code=CHIYODA, provider_name="x")
    no_code = ResidentFactory(address_number="700011", birth_date=date(2000, 1, 1), moved_in_on=date(2026, 1, 5))
    with pytest.raises(ValidationError, match="符号が未取得"):
        linkage_query_create(actor=staff_user, resident=no_code, provider_code=CHIYODA, provider_name="x")
    assert not Exchange.objects.exists()


def test_key_rotation_new_key_for_new_queries_every_key_for_decryption(mock, staff_user, moved_in_resident,
                                                                      settings):
    """The answer to a query sent under the old key arrives (the retry gets the server's stored answer)
    after the rotation: the old key, now second in the list, still opens it."""
    from linkage.envelope import generate_private_key_text, private_key_from_text, public_key_text

    old = list(settings.LINKAGE_PRIVATE_KEYS)
    mock.person(address_number=moved_in_resident.address_number, doses=[dose()])
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    exchange = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                    provider_name="東京都千代田区")
    mock.faults(delay_seconds=1.5, delay_count=3, path="/v1/queries")
    timed_out = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert timed_out.status == ExchangeStatus.FAILED and timed_out.failure_code == "timeout"

    new = generate_private_key_text()
    settings.LINKAGE_PRIVATE_KEYS = [new, *old]
    call_command("linkage_register_key", stdout=io.StringIO())
    assert public_key_text(private_key_from_text(new)) in mock.server_state()["bodies"]["112224"]["public_keys"]
    answered = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert answered.status == ExchangeStatus.ANSWERED, answered.failure_code
    assert answered.result.dose_count == 1
    assert len(mock.log("query_answered")) == 1

    # A new query announces the newest key; the server seals for it.
    second = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                  provider_name="東京都千代田区")
    settings.LINKAGE_PRIVATE_KEYS = [new]  # only the new key: must open the new answer
    assert linkage_query_send(actor=staff_user, exchange_id=second.pk).status == ExchangeStatus.ANSWERED


def test_unregistered_reply_key_is_a_4xx_and_not_retried(mock, staff_user, moved_in_resident, settings):
    from linkage.envelope import generate_private_key_text

    mock.person(address_number=moved_in_resident.address_number, doses=[dose()])
    provision_code_acquire(actor=staff_user, resident=moved_in_resident)
    exchange = linkage_query_create(actor=staff_user, resident=moved_in_resident, provider_code=CHIYODA,
                                    provider_name="東京都千代田区")
    settings.LINKAGE_PRIVATE_KEYS = [generate_private_key_text(), *settings.LINKAGE_PRIVATE_KEYS]
    failed = linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    assert failed.status == ExchangeStatus.FAILED and failed.failure_code == "unknown_reply_key"
    assert mock.log("query_answered") == []
