"""The administrator's pages (policies with history, holds, reports with approval and progress) and the
auditor's read-only view, through HTTP."""

from datetime import date

from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident
from retention.models import LegalHold, PurgeReport, ReportStatus, RetentionPolicy
from tests.retention.factories import person_who_left


def test_an_administrator_changes_a_policy_and_the_history_shows_it(admin_user, client_for):
    client = client_for(admin_user)
    assert "20年" in client.get(reverse("retention:policy_list")).content.decode()
    response = client.post(reverse("retention:policy_edit", args=["records"]),
                           {"years": "25", "reason": "文書管理規程の改正"})
    assert response.status_code == 302
    assert RetentionPolicy.objects.get(data_class="records").years == 25
    page = client.get(reverse("retention:policy_edit", args=["records"])).content.decode()
    assert "文書管理規程の改正" in page and "25" in page
    event = AuditLogEntry.objects.get(event=AuditEvent.RETENTION_POLICY_CHANGED)
    assert event.additional_data == {"data_class": "records", "old_years": 20, "new_years": 25}
    assert client.get(reverse("retention:policy_edit", args=["nothing"])).status_code == 404


def test_a_reason_is_required(admin_user, client_for):
    response = client_for(admin_user).post(reverse("retention:policy_edit", args=["import_files"]),
                                           {"years": "2", "reason": ""})
    assert response.status_code == 200 and not RetentionPolicy.objects.exists()


def test_holds_are_placed_by_address_number_and_released_with_a_reason(admin_user, client_for):
    person = person_who_left(left_on=date(1990, 1, 1), address_number="620001")
    client = client_for(admin_user)
    unknown = client.post(reverse("retention:hold_create"),
                          {"address_number": "999999", "reason": "訴訟対応", "reference": "越総第9号"})
    assert "この宛名番号の宛名はありません。" in unknown.content.decode()
    assert client.post(reverse("retention:hold_create"),
                       {"address_number": "620001", "reason": "訴訟対応", "reference": "越総第9号"}).status_code == 302
    hold = LegalHold.objects.get()
    assert (hold.resident_id, hold.placed_by, hold.is_open) == (person.pk, admin_user, True)
    listing = client.get(reverse("retention:hold_list")).content.decode()
    assert "620001" in listing and "越総第9号" in listing
    # The list showed a person: on record as a read.
    assert AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, object_pk=str(person.pk),
                                        additional_data__view="retention:hold_list").exists()
    confirm = client.get(reverse("retention:hold_release", args=[hold.pk])).content.decode()
    assert "620001" in confirm and "解除する" in confirm
    refused = client.post(reverse("retention:hold_release", args=[hold.pk]), {"release_reason": ""})
    assert refused.status_code == 200
    assert client.post(reverse("retention:hold_release", args=[hold.pk]),
                       {"release_reason": "訴訟終結"}).status_code == 302
    hold.refresh_from_db()
    assert not hold.is_open and hold.release_reason == "訴訟終結" and hold.released_by == admin_user
    assert "620001" not in client.get(reverse("retention:hold_list")).content.decode()  # open holds only
    assert "訴訟終結" in client.get(reverse("retention:hold_list") + "?state=all").content.decode()
    assert "この保留は既に解除されています。" in client.get(
        reverse("retention:hold_release", args=[hold.pk])).content.decode()


def test_dry_run_approve_and_progress_in_the_browser(admin_user, client_for, django_capture_on_commit_callbacks):
    gone = person_who_left(left_on=date(2000, 1, 1))
    client = client_for(admin_user)
    response = client.post(reverse("retention:report_create"), {"as_of": "2026-11-26"})
    report = PurgeReport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("retention:report_detail",
                                                                            args=[report.pk])
    page = client.get(response["Location"]).content.decode()
    assert "承認して消去する" in page and Resident.objects.filter(pk=gone.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("retention:report_approve", args=[report.pk]), {"note": "定例"})
    report.refresh_from_db()
    assert report.status == ReportStatus.COMPLETED and report.approved_by == admin_user
    assert not Resident.objects.filter(pk=gone.pk).exists()
    progress = client.get(reverse("retention:report_progress", args=[report.pk])).json()
    assert progress["status"] == ReportStatus.COMPLETED and progress["deleted"] == 1 and progress["percent"] == 100
    assert "消去証明" in client.get(reverse("retention:report_detail", args=[report.pk])).content.decode()
    # Approving twice is refused with a message, not an error page.
    again = client.post(reverse("retention:report_approve", args=[report.pk]), follow=True)
    assert "承認待ちの報告だけを承認できます。" in again.content.decode()


def test_rejecting_deletes_nothing(admin_user, client_for):
    gone = person_who_left(left_on=date(2000, 1, 1))
    client = client_for(admin_user)
    client.post(reverse("retention:report_create"), {"as_of": "2026-11-26"})
    report = PurgeReport.objects.get()
    client.post(reverse("retention:report_reject", args=[report.pk]), {"note": "確認中"})
    report.refresh_from_db()
    assert report.status == ReportStatus.REJECTED and Resident.objects.filter(pk=gone.pk).exists()


def test_auditors_read_reports_but_decide_nothing(admin_user, auditor_user, client_for):
    person_who_left(left_on=date(2000, 1, 1))
    client_for(admin_user).post(reverse("retention:report_create"), {"as_of": "2026-11-26"})
    report = PurgeReport.objects.get()
    auditor = client_for(auditor_user)
    page = auditor.get(reverse("retention:report_detail", args=[report.pk])).content.decode()
    assert "承認待ち" in page and "承認して消去する" not in page
    assert auditor.post(reverse("retention:report_approve", args=[report.pk])).status_code == 403
    assert PurgeReport.objects.get().status == ReportStatus.PROPOSED
    assert "保存期間" in auditor.get(reverse("retention:report_list")).content.decode()
