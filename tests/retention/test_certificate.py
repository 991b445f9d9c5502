"""Acceptance 4: the deletion certificate (PDF and CSV) says what was deleted, how many, which range,
approved by whom and when — and holds no name, kana, My Number or address of anyone deleted."""

import io
import re
from datetime import date

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from retention.models import PurgeReport, ReportTrigger
from retention.services import purge_report_approve, purge_report_create
from tests.factories import new_my_number
from tests.retention.factories import person_who_left

TODAY = date(2026, 11, 26)


@pytest.fixture
def purged(admin_user, django_capture_on_commit_callbacks):
    people = []
    for n, (name, kana) in enumerate([("証明 一郎", "ショウメイ　イチロウ"), ("証明 二葉", "ショウメイ　フタバ")]):
        my_number = new_my_number()
        people.append((person_who_left(left_on=date(2001, 5, 1), vaccinated_on=[date(2000, 11, 1)], name=name,
                                       name_kana=kana, my_number=my_number, address=f"埼玉県越谷市証明町{n + 7}丁目",
                                       address_number=f"61000{n}"), my_number))
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    with django_capture_on_commit_callbacks(execute=True):
        purge_report_approve(actor=admin_user, report=report, note="定例消去")
    return PurgeReport.objects.get(pk=report.pk), people


def _forbidden(people) -> list[str]:
    words = []
    for resident, my_number in people:
        words += [resident.name, resident.name.replace(" ", ""), resident.name_kana,
                  resident.name_kana.replace("　", ""), my_number, resident.address, "証明町"]
    return words


def _assert_clean(text: str, people) -> None:
    for word in _forbidden(people):
        assert word not in text, word
    assert not re.search(r"\d{12}", text)  # no My Number, whatever its formatting elsewhere


def test_the_csv_names_class_count_range_approver_and_no_person(purged, admin_user, client_for):
    report, people = purged
    response = client_for(admin_user).get(reverse("retention:certificate_csv", args=[report.pk]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8-sig")
    _assert_clean(text, people)
    lines = text.splitlines()
    assert lines[0].startswith("消去報告番号,データ区分")
    ids = sorted(resident.pk for resident, _ in people)
    [records] = [line for line in lines if ",records," in line]
    cells = records.split(",")
    assert cells[5:8] == ["2", "2", "0"]  # due, deleted, skipped
    assert cells[9:11] == [str(ids[0]), str(ids[1])]
    assert admin_user.username in records and "records.VaccinationRecord: 2" in records
    assert len(lines) == 1 + report.items.count()
    assert AuditLogEntry.objects.filter(event=AuditEvent.RETENTION_CERTIFICATE_ISSUED,
                                        additional_data__format="csv").count() == 1


def test_the_pdf_says_the_same_and_names_no_person(purged, auditor_user, admin_user, client_for):
    report, people = purged
    response = client_for(auditor_user).get(reverse("retention:certificate_pdf", args=[report.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "消去証明" in text and admin_user.username in text and "接種記録・宛名" in text
    assert "個人情報が含まれます" not in text  # the generic PDF footer is replaced for this document
    _assert_clean(text, people)
    # Document metadata too.
    assert not any(word in str(reader.metadata or {}) for word in _forbidden(people))


def test_there_is_no_certificate_before_the_purge_has_completed(admin_user, client_for):
    report = purge_report_create(actor=admin_user, as_of=TODAY, trigger=ReportTrigger.ADMINISTRATOR)
    assert client_for(admin_user).get(reverse("retention:certificate_csv", args=[report.pk])).status_code == 404
