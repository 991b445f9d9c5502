"""Exports of a log search: CSV for Excel that no spreadsheet will execute (acceptance 5), a PDF report
carrying the Japanese text (acceptance 5), a cap with a clear message, and every export itself on record
(EXPORT_MADE with what, format, filters and row count, plus access entries for the residents it carries)."""

import csv
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from accounts.roles import Role
from audit import reports
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident
from tests.audit.test_desk_helpers import event_entry, jst, make_entries, pdf_font_names, pdf_text, view_entry
from tests.factories import ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db

Action = AuditLogEntry.Action
CSV_URL = reverse("audit:entry_export_csv")
PDF_URL = reverse("audit:entry_export_pdf")
FORMULA = '=HYPERLINK("x")'


@pytest.fixture
def staff():
    return UserFactory(username="kasukabe", with_role=Role.STAFF)


@pytest.fixture
def nasty(staff):
    """A resident whose name is a formula, and an entry whose field diff and extra data hold formulas."""
    resident = ResidentFactory(address_number="9000000001", name=FORMULA, actor=staff)
    make_entries([
        view_entry(staff, resident, jst(2025, 7, 1, 9, 0), remote_addr="192.0.2.5"),
        # An object whose name is nothing but the formula: its cell would start with "=".
        view_entry(staff, resident, jst(2025, 7, 1, 9, 1), object_repr=FORMULA),
        {"actor": staff, "target": resident, "action": Action.UPDATE, "timestamp": jst(2025, 7, 1, 9, 5),
         "changes": {"address_detail": ["", FORMULA], "phone": ["+81-48-000", "@SUM(A1)"]},
         "additional_data": {"reason": "-2+3"}},
    ])
    return resident


def export_events(actor) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(action=Action.EVENT, event=AuditEvent.EXPORT_MADE, actor=actor)
                .order_by("seq"))


def parse_csv(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    text = content.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_is_inert_in_a_spreadsheet(nasty, auditor_user, client_for):
    response = client_for(auditor_user).post(CSV_URL, {"address_number": "9000000001"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = parse_csv(response.content)
    header, body = rows[0], rows[1:]
    assert header[:4] == ["連番", "日時（日本時間）", "操作者", "操作"]
    assert len(body) == AuditLogEntry.objects.filter(content_type=ContentType.objects.get_for_model(Resident),
                                                     object_pk=str(nasty.pk)).exclude(actor=auditor_user).count()
    cells = [cell for row in body for cell in row]
    # The formula is there, as text: every cell that would start a formula starts with a quote instead.
    assert f"'{FORMULA}" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    update = next(row for row in body if row[3] == "変更")
    assert FORMULA in update[8] and "@SUM(A1)" in update[8]
    assert update[8].startswith(("方書:", "連絡先:"))  # field labels first (jsonb reorders keys on PostgreSQL)
    assert update[9].startswith("{")
    view = next(row for row in body if row[3] == "閲覧" and row[1] == "2025-07-01 09:00:00")
    assert view[2] == "kasukabe" and view[10] == "192.0.2.5" and view[7] == f"9000000001 {FORMULA}"


def test_csv_export_is_on_record(nasty, auditor_user, client_for):
    client_for(auditor_user).post(CSV_URL, {"address_number": "9000000001", "action": "access"})
    (event,) = export_events(auditor_user)
    assert event.additional_data == {
        "what": "audit_entries", "format": "csv", "rows": 2,
        "filters": {"address_number": "9000000001", "action": "access"},
    }
    # The export carried the resident's data: an access entry says so.
    access = AuditLogEntry.objects.get(actor=auditor_user, action=Action.ACCESS)
    assert access.object_pk == str(nasty.pk)
    assert access.additional_data == {"view": "audit:entry_export_csv", "permission": "audit.export_auditlogentry"}


def test_pdf_export_carries_the_japanese_text(staff, auditor_user, client_for):
    resident = ResidentFactory(address_number="9000000002", name="越谷 花子", actor=staff)
    make_entries([view_entry(staff, resident, jst(2025, 7, 2, 14, 30), remote_addr="192.0.2.9")])
    response = client_for(auditor_user).post(PDF_URL, {"address_number": "9000000002"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = pdf_text(response.content)
    for expected in ("監査ログ報告", "越谷 花子", "閲覧", "宛名番号", "9000000002", "kasukabe", "192.0.2.9"):
        assert expected in text, expected
    assert "NotoSansCJKJP" in pdf_font_names(response.content)
    (event,) = export_events(auditor_user)
    assert event.additional_data["format"] == "pdf"
    assert event.additional_data["rows"] == AuditLogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Resident), object_pk=str(resident.pk)
    ).exclude(actor=auditor_user).count()


def test_history_page_exports_carry_their_subject(nasty, staff, auditor_user, client_for):
    client = client_for(auditor_user)
    page = client.get(reverse("audit:user_history", args=[staff.pk]))
    assert page.context["export_fields"] == {"user": str(staff.pk)}
    body = parse_csv(client.post(CSV_URL, page.context["export_fields"]).content)[1:]
    assert body and {row[2] for row in body} == {"kasukabe"}
    assert export_events(auditor_user)[0].additional_data["filters"] == {"user": str(staff.pk)}


def test_export_over_the_cap_is_refused_with_a_message(nasty, auditor_user, client_for, monkeypatch):
    monkeypatch.setattr(reports, "CSV_EXPORT_LIMIT", 1)
    client = client_for(auditor_user)
    response = client.post(CSV_URL, {"address_number": "9000000001"})
    assert response.status_code == 302
    assert response["Location"] == reverse("audit:entry_list") + "?address_number=9000000001"
    page = client.get(response["Location"])
    assert "1件を超えるため出力できません" in page.content.decode()
    assert export_events(auditor_user) == []


def test_export_with_a_my_number_is_refused(nasty, auditor_user, client_for):
    response = client_for(auditor_user).post(CSV_URL, {"username": "123456789018"})
    assert response.status_code == 302 and "123456789018" not in response["Location"]
    assert export_events(auditor_user) == []


def test_an_export_of_events_names_them(staff, auditor_user, client_for):
    make_entries([event_entry(staff, AuditEvent.SIGN_IN, jst(2025, 7, 3, 8, 0), {"method": "totp"})])
    criteria = {"action": AuditEvent.SIGN_IN, "username": "kasukabe"}
    body = parse_csv(client_for(auditor_user).post(CSV_URL, criteria).content)[1:]
    assert [(row[3], row[4]) for row in body] == [("業務イベント: サインイン", "auth.sign_in")]
    assert body[0][9] == '{"method": "totp"}'
