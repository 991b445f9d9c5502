"""Disclosure requests (開示請求): the document lists everything held about the person and every access to
their data recorded in the audit trail (issue #7 acceptance 2); My Number appears masked only; generating
and handing over are recorded."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.selectors import audit_entries_about_resident
from records.crypto import decrypt_my_number
from rights.models import DisclosureStatus, HandoverMethod, TicketStatus
from tests.factories import ResidentFactory, UserFactory, VaccinationRecordFactory
from tests.rights.helpers import disclosure, pdf_text

pytestmark = pytest.mark.django_db


def _accesses_about(resident):
    return [e for e in audit_entries_about_resident(resident_id=resident.pk) if e.action == AuditLogEntry.Action.ACCESS]


def _generate(client, request):
    response = client.post(reverse("rights:disclosure_document", args=[request.pk]))
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/pdf"
    return response.content


def test_the_document_lists_every_access_to_the_persons_data(staff_user, client_for, auditor_user, settings):
    settings.AUDITOR_CAN_VIEW_RESIDENTS = False
    resident = ResidentFactory(address_number="300001", name="開示 太郎", address="埼玉県越谷市東越谷一丁目1番1号")
    record = VaccinationRecordFactory(resident=resident, lot_number="QX77-123")
    other = ResidentFactory(address_number="300002", name="別人 次郎")
    reader = UserFactory(username="reader7", with_role=Role.STAFF, last_name="閲覧", first_name="職員")
    staff = client_for(reader)
    # Reads of the person's data through every kind of screen: the resident page, a search list, the
    # API, a record page, the My Number reveal (with its reason) and the auditor's resident history.
    assert staff.get(reverse("records:resident_detail", args=[resident.pk])).status_code == 200
    assert staff.post(reverse("records:resident_search"), {"address_number": "300001"}).status_code == 200
    assert staff.get(reverse("api:resident_detail", args=[resident.pk])).status_code == 200
    assert staff.get(reverse("records:record_update", args=[record.pk])).status_code == 200
    assert staff.post(reverse("records:my_number_reveal", args=[resident.pk]),
                      {"purpose": "本人確認のため"}).status_code == 200
    assert client_for(auditor_user).get(reverse("audit:resident_history", args=[resident.pk])).status_code == 200
    # Someone else's page is not theirs.
    assert staff.get(reverse("records:resident_detail", args=[other.pk])).status_code == 200
    other_seqs = {e.seq for e in _accesses_about(other)}

    request = disclosure(staff_user, resident)
    expected = _accesses_about(resident)
    assert len(expected) >= 7
    pdf = _generate(client_for(staff_user), request)
    text = pdf_text(pdf)

    section = text.split("6. あなたの情報を閲覧した記録", 1)[1].split("7. あなたの情報の登録・変更の記録", 1)[0]
    assert f"{len(expected)}件" in section
    rows = re.findall(r"^(\d+) (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) (\S+)", section, flags=re.M)
    listed = {int(seq): user for seq, _at, user in rows}
    assert set(listed) == {e.seq for e in expected}
    assert not set(listed) & other_seqs
    for entry in expected:
        assert listed[entry.seq].startswith(entry.actor.username)
    assert "本人確認のため" in section  # the reason given for the reveal
    assert "reader7（閲覧 職員）" in section
    assert "auditor1" in section
    assert "records:my_number_reveal" in section.replace("\n", "")

    # Everything held about the person, My Number masked (never in full, not even in the PDF's bytes).
    full = decrypt_my_number(resident.my_number_ciphertext)
    compact = re.sub(r"\s", "", text)
    assert full not in compact
    assert full.encode() not in pdf
    assert resident.my_number_masked in text
    assert "開示 太郎" in text
    assert "埼玉県越谷市東越谷一丁目1番1号" in compact
    assert "QX77-123" in compact
    assert "別人 次郎" not in text
    assert "2. 住民期間" in text


def test_generation_is_recorded_and_the_handover_closes_the_ticket(staff_user, client_for):
    resident = ResidentFactory()
    request = disclosure(staff_user, resident)
    pdf = _generate(client_for(staff_user), request)
    request.refresh_from_db()
    assert request.status == DisclosureStatus.GENERATED
    [document] = request.documents.all()
    assert document.sha256 == hashlib.sha256(pdf).hexdigest()
    [event] = AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_DISCLOSURE_GENERATED)
    assert event.actor == staff_user
    assert event.object_pk == str(resident.pk)
    assert event.additional_data["document"] == document.pk
    # The generation itself is an access to the person's data, listed in the next document.
    generation_access = _accesses_about(resident)[-1]
    assert generation_access.additional_data["view"] == "rights.disclosure_document"

    handover = reverse("rights:disclosure_handover", args=[request.pk])
    for day in (timezone.localdate() + timedelta(days=1), timezone.localdate() - timedelta(days=1)):
        page = client_for(staff_user).post(handover, {"document": document.pk, "method": HandoverMethod.MAIL,
                                                      "handed_over_on": day.isoformat()})
        assert page.status_code == 200
        assert "交付日は文書の作成日から今日までの日付を入力してください。" in page.content.decode()
    request.refresh_from_db()
    assert request.status == DisclosureStatus.GENERATED

    response = client_for(staff_user).post(handover, {
        "document": document.pk, "method": HandoverMethod.COUNTER, "handed_over_on": timezone.localdate().isoformat(),
    })
    assert response.status_code == 302
    request.refresh_from_db()
    assert request.status == DisclosureStatus.HANDED_OVER
    assert request.handed_over_by == staff_user
    assert request.handed_over_document == document
    assert request.ticket.status == TicketStatus.CLOSED
    assert AuditLogEntry.objects.filter(event=AuditEvent.RIGHTS_DISCLOSURE_HANDED_OVER,
                                        object_pk=str(resident.pk)).count() == 1
    # Handed over: no new document, no second handover.
    response = client_for(staff_user).post(reverse("rights:disclosure_document", args=[request.pk]))
    assert response.status_code == 302
    assert request.documents.count() == 1


def test_auditors_read_the_ticket_but_cannot_generate(auditor_user, staff_user, client_for):
    resident = ResidentFactory()
    request = disclosure(staff_user, resident)
    auditor = client_for(auditor_user)
    page = auditor.get(reverse("rights:ticket_detail", args=[request.ticket_id]))
    assert page.status_code == 200
    assert "開示文書を作成" not in page.content.decode()
    assert auditor.post(reverse("rights:disclosure_document", args=[request.pk])).status_code == 403
    assert not request.documents.exists()


def test_the_document_lists_eligibility_decisions_and_tickets(staff_user, client_for):
    """Issue #7 "everything held about the person": the decisions (campaign, rule version, result, reasons,
    date) and the vaccination tickets (number, dose, status) of eligibility (#5), and no one else's."""
    from datetime import date

    from eligibility.models import Ticket
    from eligibility.services import campaign_update, eligibility_decide
    from eligibility.services.notices import ticket_number
    from tests.eligibility.factories import make_campaign

    resident = ResidentFactory(birth_date=date(1990, 6, 1))
    other = ResidentFactory(birth_date=date(1950, 6, 1))
    campaign = make_campaign(staff_user, name="令和8年度 開示確認接種", min_age=65)
    eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)  # version 1: too young
    eligibility_decide(actor=staff_user, resident=other, campaign=campaign)
    rule = campaign.current_rule
    campaign_update(actor=staff_user, campaign=campaign, name=campaign.name, period_start=campaign.period_start,
                    period_end=campaign.period_end,
                    rule={"reference_date": rule.reference_date, "vaccines": list(rule.vaccines.all()),
                          "dose_number": 1, "min_age": 30})
    campaign.refresh_from_db()
    assert campaign.current_rule.version == 2
    eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)  # version 2: eligible
    voided = Ticket.objects.create(number=ticket_number(812345), resident=resident, campaign=campaign,
                                   dose_number=1, issued_on=date(2026, 10, 1), voided_at=timezone.now(),
                                   voided_by=staff_user, void_reason="紛失による再発行")
    Ticket.objects.create(number=ticket_number(812346), resident=resident, campaign=campaign, dose_number=1,
                          issued_on=date(2026, 10, 15), replaces=voided)
    Ticket.objects.create(number=ticket_number(812347), resident=other, campaign=campaign, dose_number=1,
                          issued_on=date(2026, 10, 1))

    text = pdf_text(_generate(client_for(staff_user), disclosure(staff_user, resident)))
    section = text.split("4. 予防接種の対象者判定と接種券", 1)[1].split("5. 開示・訂正・利用停止請求と問合せ", 1)[0]
    compact = re.sub(r"\s", "", section)
    assert compact.count("令和8年度開示確認接種") >= 4  # two decisions, two tickets
    assert "基準日時点で65歳未満（36歳）" in compact
    assert "対象外" in compact
    assert ticket_number(812345) in compact and ticket_number(812346) in compact
    assert ticket_number(812347) not in compact  # someone else's ticket
    assert "無効" in compact and "紛失による再発行" in compact and "有効" in compact
    assert compact.count("2026-10-01") == 3  # the reference date of both decisions and the voided ticket
