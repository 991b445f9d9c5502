"""Bulk export (持ち出し): administrators only, with a reason, recorded as EXPORT_MADE; CSV with BOM,
formula-safe, without any My Number; streamed in chunks, as an attachment that is never cached."""

import csv
import io
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import StreamingHttpResponse
from django.urls import reverse

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.crypto import decrypt_my_number
from records.exports import ExportKind, bulk_export_csv
from records.models import Resident, VaccinationRecord
from records.services import resident_create
from tests.factories import ClinicFactory, ResidentFactory, UserFactory, VaccinationRecordFactory

EXPORT_URL = reverse("manage:export")


def consume(response) -> bytes:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content)


def parse(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.fixture
def residents(db, admin_user):
    made = [ResidentFactory(actor=admin_user) for _ in range(5)]
    Resident.objects.filter(pk=made[0].pk).update(information_provision_code="IPC-NOT-FOR-EXPORT-0001")
    return made


@pytest.fixture
def admin_client(admin_user, client_for):
    return client_for(admin_user)


# --- who may export -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR])
def test_no_other_role_can_export(role, client_for, residents):
    user = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
    client = client_for(user)
    assert client.get(EXPORT_URL).status_code == 403
    for kind in ExportKind.values:
        response = client.post(EXPORT_URL, {"kind": kind, "reason": "調査のため"})
        assert response.status_code == 403
        assert not isinstance(response, StreamingHttpResponse)
    with pytest.raises(PermissionDenied):
        bulk_export_csv(actor=user, kind=ExportKind.RESIDENTS, reason="調査のため")
    assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()


def test_signed_in_without_second_factor_cannot_export(admin_user, client_for, residents):
    response = client_for(admin_user, verified=False).post(EXPORT_URL, {"kind": "residents", "reason": "x"})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_verify")
    assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()


def test_the_page_says_my_number_is_not_included(admin_client):
    body = admin_client.get(EXPORT_URL).content.decode()
    assert "個人番号は含まれません" in body
    assert 'method="post"' in body


# --- the residents' CSV -------------------------------------------------------------------------


def test_residents_export_is_a_never_cached_attachment_with_bom(admin_client, residents):
    response = admin_client.post(EXPORT_URL, {"kind": "residents", "reason": "システム移行の検証"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="residents-') and disposition.endswith('.csv"')
    assert "no-store" in response["Cache-Control"] and "no-cache" in response["Cache-Control"]
    rows = parse(consume(response))
    assert rows[0][:3] == ["団体内宛名番号", "氏名", "氏名の振り仮名"]
    assert "住所" in rows[0]
    assert not any("個人番号" in header for header in rows[0])
    assert sorted(row[0] for row in rows[1:]) == sorted(r.address_number for r in residents)
    by_number = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    first = residents[0]
    assert by_number[first.address_number]["氏名"] == first.name
    assert by_number[first.address_number]["住所"] == first.address
    assert by_number[first.address_number]["生年月日"] == first.birth_date.isoformat()


def test_no_my_number_in_the_export(admin_client, residents):
    data = consume(admin_client.post(EXPORT_URL, {"kind": "residents", "reason": "監査対応"}))
    numbers = [decrypt_my_number(r.my_number_ciphertext) for r in Resident.objects.all()]
    assert len(numbers) == len(residents)
    for number in numbers:
        assert number.encode() not in data
    assert b"IPC-NOT-FOR-EXPORT" not in data
    assert not any(r.my_number_ciphertext.encode() in data for r in Resident.objects.all())


def test_cells_that_look_like_formulas_come_out_inert(admin_client, admin_user):
    resident_create(actor=admin_user, address_number="900001", name="=HYPERLINK(\"x\")", name_kana="テスト",
                    sex=1, birth_date=date(1970, 1, 1), address="@SUM(A1)", phone="+81-48")
    rows = parse(consume(admin_client.post(EXPORT_URL, {"kind": "residents", "reason": "検証"})))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["氏名"] == "'=HYPERLINK(\"x\")"
    assert row["住所"] == "'@SUM(A1)"
    assert row["連絡先"] == "'+81-48"


def test_export_made_is_recorded_with_what_rows_and_reason(admin_client, admin_user, residents):
    response = admin_client.post(EXPORT_URL, {"kind": "residents", "reason": "  県への報告（依頼番号 越健推第9号）  "})
    consume(response)
    [entry] = AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE)
    assert entry.actor == admin_user
    assert entry.additional_data["what"] == "residents"
    assert entry.additional_data["rows"] == 5
    assert entry.additional_data["up_to_id"] == max(r.pk for r in residents)
    assert entry.additional_data["reason"] == "県への報告（依頼番号 越健推第9号）"
    assert entry.additional_data["my_number_included"] is False
    assert entry.additional_data["filename"] in response["Content-Disposition"]


@pytest.mark.parametrize("reason", ["", "   ", "個人番号 123456789018 の確認"])
def test_a_reason_is_required(admin_client, residents, reason):
    response = admin_client.post(EXPORT_URL, {"kind": "residents", "reason": reason})
    assert response.status_code == 200
    assert not isinstance(response, StreamingHttpResponse)
    assert response.context["form"].errors["reason"]
    assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()
    assert "123456789018" not in response.content.decode()


def test_unknown_kind_is_refused(admin_client, residents):
    response = admin_client.post(EXPORT_URL, {"kind": "users", "reason": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors["kind"]
    assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()


# --- the vaccination records' CSV ---------------------------------------------------------------


def test_records_export_has_the_16_items_and_is_recorded(admin_client, admin_user, db):
    record = VaccinationRecordFactory(remarks1="-cmd", remarks2="=1+1")
    other = VaccinationRecordFactory()
    response = admin_client.post(EXPORT_URL, {"kind": "vaccination_records", "reason": "国への報告"})
    assert response["Content-Disposition"].startswith('attachment; filename="vaccination_records-')
    data = consume(response)
    rows = parse(data)
    header = rows[0]
    for item in ("接種日", "接種場所", "接種時年齢", "請求年月", "診察区分", "LOT-NO", "ワクチン", "転入前接種",
                 "予診医師名", "接種医師名", "公費自費区分", "委託料", "接種量", "備考1", "備考2", "備考3"):
        assert item in header, item
    assert len(rows) == 3
    row = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}[str(record.pk)]
    assert row["団体内宛名番号"] == record.resident.address_number
    assert row["接種日"] == record.vaccinated_on.isoformat()
    assert row["請求年月"] == record.billing_month.strftime("%Y-%m")
    assert row["接種量"] == "0.50"
    assert row["備考1"] == "'-cmd"
    assert row["備考2"] == "'=1+1"
    for resident in Resident.objects.all():
        assert decrypt_my_number(resident.my_number_ciphertext).encode() not in data
    [entry] = AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE)
    assert (entry.additional_data["what"], entry.additional_data["rows"]) == ("vaccination_records", 2)
    assert other.pk in {int(r[0]) for r in rows[1:]}


# --- chunks and the bound of an export ----------------------------------------------------------


def test_rows_come_in_chunks_from_an_iterator(admin_user, residents):
    export = bulk_export_csv(actor=admin_user, kind=ExportKind.RESIDENTS, reason="検証", chunk_rows=2)
    first = next(export.chunks)
    assert first.startswith(b"\xef\xbb\xbf")
    assert first.count(b"\r\n") == 3  # the header and two rows: the rest is not read yet
    rest = list(export.chunks)
    assert len(rest) == 2  # 2 + 1 rows
    assert len(parse(first + b"".join(rest))) == 6


def test_the_export_holds_the_rows_that_existed_when_it_started(admin_user, residents):
    export = bulk_export_csv(actor=admin_user, kind=ExportKind.RESIDENTS, reason="検証")
    late = ResidentFactory(actor=admin_user)
    rows = parse(b"".join(export.chunks))
    assert export.row_count == len(rows) - 1 == 5
    assert late.address_number not in {row[0] for row in rows}
    entry = AuditLogEntry.objects.get(event=AuditEvent.EXPORT_MADE)
    assert entry.additional_data["rows"] == export.row_count


def test_the_export_is_recorded_before_any_row_is_read(admin_user, residents):
    export = bulk_export_csv(actor=admin_user, kind=ExportKind.RESIDENTS, reason="検証")
    assert AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).count() == 1  # nothing consumed yet
    del export


def test_empty_export_has_only_the_header(admin_user, db):
    assert not VaccinationRecord.objects.exists()
    export = bulk_export_csv(actor=admin_user, kind=ExportKind.VACCINATION_RECORDS, reason="検証")
    rows = parse(b"".join(export.chunks))
    assert len(rows) == 1 and export.row_count == 0


def test_reason_is_validated_by_the_service(admin_user, db):
    with pytest.raises(ValidationError):
        bulk_export_csv(actor=admin_user, kind=ExportKind.RESIDENTS, reason=" ")
    assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()
