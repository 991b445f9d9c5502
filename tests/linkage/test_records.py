"""Acceptance 5: every exchange leaves a provision record and audit entries naming the staff member; no
My Number is sent or stored in the linkage tables (the information-provision code is the key). Plus the
auditors' search and CSV export, and code acquisition (single and the batch job)."""

import csv
import io
import json
from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditLogEntry
from linkage.models import Exchange, InboundQuery, LinkageResult, ProvisionRecord, RecordDirection
from linkage.services.codes import provision_code_acquire
from linkage.services.provision import inbound_poll
from linkage.services.queries import linkage_query_create, linkage_query_send, linkage_result_register
from linkage.tasks import code_acquire_missing_task
from records.crypto import decrypt_my_number
from records.models import Resident
from tests.factories import ResidentFactory, VaccinationRecordFactory
from tests.linkage.conftest import CHIYODA, SAPPORO, dose

pytestmark = pytest.mark.django_db

LINKAGE_TABLES = ("linkage_exchange", "linkage_linkageresult", "linkage_inboundquery", "linkage_provisionrecord")


def _every_exchange(mock, staff_user, vaccines):
    """A refused query, an answered and registered one, an automatic and an approved provision."""
    mover = ResidentFactory(address_number="900001", birth_date=date(1990, 5, 1), moved_in_on=date(2026, 4, 1))
    mock.person(address_number=mover.address_number, doses=[dose()])
    provision_code_acquire(actor=staff_user, resident=mover)
    for provider in (SAPPORO, CHIYODA):
        exchange = linkage_query_create(actor=staff_user, resident=mover, provider_code=provider, provider_name="x")
        linkage_query_send(actor=staff_user, exchange_id=exchange.pk)
    linkage_result_register(actor=staff_user, result_id=LinkageResult.objects.get().pk)

    ours = ResidentFactory(address_number="900002", birth_date=date(1980, 1, 1))
    VaccinationRecordFactory(resident=ours, vaccine=vaccines["FLU01"], actor=staff_user)
    provision_code_acquire(actor=staff_user, resident=ours)
    flagged = ResidentFactory(address_number="900003", birth_date=date(1980, 1, 1))
    provision_code_acquire(actor=staff_user, resident=flagged)
    Resident.objects.filter(pk=flagged.pk).update(auto_response_disabled=True)
    mock.seed_inbound(code=ours.information_provision_code)
    mock.seed_inbound(code=flagged.information_provision_code)
    inbound_poll()
    from linkage.services.provision import inbound_approve

    inbound_approve(actor=staff_user, inbound_id=InboundQuery.objects.get(resident=flagged).pk)
    return mover, ours, flagged


def test_every_exchange_leaves_a_provision_record_and_audit_entries_naming_the_staff_member(
        mock, staff_user, vaccines):
    mover, ours, flagged = _every_exchange(mock, staff_user, vaccines)
    rows = list(ProvisionRecord.objects.order_by("pk").values_list("direction", "outcome", "address_number",
                                                                  "staff__username"))
    assert rows == [
        (RecordDirection.QUERY, "not_permitted", mover.address_number, "staff1"),
        (RecordDirection.QUERY, "answered", mover.address_number, "staff1"),
        (RecordDirection.PROVISION, "provided", ours.address_number, None),  # automatic
        (RecordDirection.PROVISION, "provided", flagged.address_number, "staff1"),
    ]
    for record in ProvisionRecord.objects.all():
        assert record.business == "tokuso_vaccination" and record.item == "vaccination_history"
        assert record.requested_at <= record.completed_at
        assert record.permit_id or record.outcome == "not_permitted"
    staff_events = set(AuditLogEntry.objects.filter(actor=staff_user).values_list("event", flat=True))
    assert {"linkage.code_acquired", "linkage.query_sent", "linkage.query_refused", "linkage.result_received",
            "linkage.result_registered", "linkage.provision_approved", "linkage.provision_sent"} <= staff_events
    # django-auditlog field diffs for the linkage models, with the staff member as actor.
    assert AuditLogEntry.objects.filter(content_type__app_label="linkage", content_type__model="exchange",
                                        actor=staff_user).exists()


def test_no_my_number_is_sent_or_stored_in_the_linkage_tables(mock, staff_user, vaccines):
    people = _every_exchange(mock, staff_user, vaccines)
    numbers = [decrypt_my_number(Resident.objects.get(pk=p.pk).my_number_ciphertext) for p in people]
    assert all(len(n) == 12 for n in numbers)
    with connection.cursor() as cursor:
        for table in LINKAGE_TABLES:
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump = json.dumps([[str(v) for v in row] for row in cursor.fetchall()], ensure_ascii=False)
            for number in numbers:
                assert number not in dump, table
    # Nor does the server ever see one: its whole state and log (every request it kept) is free of them,
    # while it does hold the codes that stand for the persons.
    server = json.dumps(mock.server_state(), ensure_ascii=False)
    for number in numbers:
        assert number not in server
    assert people[1].information_provision_code in server
    # The audit entries written for linkage carry none either.
    entries = AuditLogEntry.objects.filter(event__startswith="linkage.")
    text = json.dumps([[e.additional_data, e.changes, e.object_repr] for e in entries], ensure_ascii=False)
    for number in numbers:
        assert number not in text


def test_auditors_search_and_export_provision_records_as_csv(mock, staff_user, auditor_user, client_for, vaccines):
    mover, _ours, _flagged = _every_exchange(mock, staff_user, vaccines)
    client = client_for(auditor_user)
    page = client.get(reverse("linkage:record_list"), {"direction": "query"}).content.decode()
    assert "照会許可なし" in page and "応答受領" in page and "提供（当市→照会元）" not in page.split("<table")[-1]
    bad = client.get(reverse("linkage:record_list"), {"body_code": "12"}).content.decode()
    assert "団体コードは数字6桁です。" in bad

    response = client.post(reverse("linkage:record_export_csv"), {"address_number": mover.address_number})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["記録番号", "区分", "情報照会者コード"]
    assert len(rows) == 3 and {r[8] for r in rows[1:]} == {mover.address_number}
    assert {r[12] for r in rows[1:]} == {"照会許可なし", "応答受領"}
    export = AuditLogEntry.objects.get(event="export.made", actor=auditor_user)
    assert export.additional_data["what"] == "provision_records" and export.additional_data["rows"] == 2
    # Staff cannot reach the auditors' records; auditors cannot reach results.
    assert client_for(staff_user).get(reverse("linkage:record_list")).status_code == 403
    exchange = Exchange.objects.filter(result__isnull=False).get()
    assert client.get(reverse("linkage:exchange_detail", args=[exchange.pk])).status_code == 403


def test_code_acquisition_single_is_idempotent_and_the_batch_job_fills_the_rest(mock, staff_user):
    residents = [ResidentFactory(address_number=f"91000{i}", birth_date=date(1970, 1, 1)) for i in range(4)]
    first = provision_code_acquire(actor=staff_user, resident=residents[0])
    again = provision_code_acquire(actor=staff_user, resident=Resident.objects.get(pk=residents[0].pk))
    assert first == again and len(mock.log("code_issued")) == 1
    summary = code_acquire_missing_task.delay().get()
    assert summary == {"acquired": 3, "failed": 0, "stopped": ""}
    codes = list(Resident.objects.filter(pk__in=[r.pk for r in residents]).values_list("information_provision_code",
                                                                                       flat=True))
    assert all(codes) and len(set(codes)) == 4
    assert AuditLogEntry.objects.filter(event="linkage.code_acquired").count() == 4
    assert code_acquire_missing_task.delay().get() == {"acquired": 0, "failed": 0, "stopped": ""}


def test_code_batch_stops_when_the_server_is_unavailable_and_resumes(mock, staff_user):
    residents = [ResidentFactory(address_number=f"92000{i}", birth_date=date(1970, 1, 1)) for i in range(2)]
    mock.faults(fail_status=503, fail_count=3)
    assert code_acquire_missing_task.delay().get() == {"acquired": 0, "failed": 0, "stopped": "http_503"}
    assert not Resident.objects.filter(pk__in=[r.pk for r in residents], information_provision_code__isnull=False)
    assert code_acquire_missing_task.delay().get()["acquired"] == 2
