"""The feed's pages through the HTTP client: upload (processing runs eagerly on commit), the file's page
with its row errors, the error CSV as a recorded export, duplicates refused on the form, and what
auditors may see."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import FeedStatus, ResidentFeedFile
from records.crypto import decrypt_my_number
from tests.feed.helpers import change, feed_bytes, new_my_number, resident

pytestmark = pytest.mark.django_db(transaction=True)


def upload(client, data: bytes, name: str = "ido.csv"):
    return client.post(reverse("imports:feed_upload"), {"file": SimpleUploadedFile(name, data, "text/csv")})


def test_staff_upload_applies_and_page_shows_row_errors(staff_user, client_for):
    person = resident("210001")
    client = client_for(staff_user)
    bad_my_number = "123456789012"
    data = feed_bytes([
        change("address_change", "2025-05-01", "210001", address="越谷市ビュー"),
        change("address_change", "2025-05-01", "999998"),
        change("address_change", "2025-05-01", "210001", my_number=bad_my_number),
    ])
    response = upload(client, data)
    feed = ResidentFeedFile.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:feed_detail", args=[feed.pk])
    assert feed.status == FeedStatus.APPLIED  # eager Celery on commit
    assert feed.uploaded_by == staff_user
    person.refresh_from_db()
    assert person.address == "越谷市ビュー"
    page = client.get(reverse("imports:feed_detail", args=[feed.pk]))
    text = page.content.decode()
    assert "宛名番号に該当する宛名がありません" in text
    assert bad_my_number not in text
    assert AuditLogEntry.objects.filter(event=AuditEvent.FEED_RECEIVED).count() == 1

    progress = client.get(reverse("imports:feed_progress", args=[feed.pk])).json()
    assert (progress["rows_applied"], progress["rows_error"], progress["in_progress"]) == (1, 2, False)

    csv_response = client.get(reverse("imports:feed_error_csv", args=[feed.pk]))
    rows = list(csv.reader(io.StringIO(csv_response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["異動区分", "異動日", "宛名番号"] and rows[0][-3:] == ["行番号", "エラー項目", "エラー内容"]
    assert [r[10] for r in rows[1:]] == ["3", "4"]
    assert rows[1][2] == "999998"
    assert rows[2][9] == "（不正な値のため表示しません）"
    assert bad_my_number not in csv_response.content.decode("utf-8-sig")
    assert AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).count() == 1


def test_duplicate_upload_is_refused_naming_the_earlier_file(staff_user, client_for):
    resident("210002")
    client = client_for(staff_user)
    data = feed_bytes([change("address_change", "2025-05-01", "210002", address="越谷市")])
    upload(client, data, "first.csv")
    response = upload(client, data, "second.csv")
    assert response.status_code == 200
    earlier = ResidentFeedFile.objects.get()
    text = response.content.decode()
    assert f"異動データ #{earlier.pk}「first.csv」" in text
    assert AuditLogEntry.objects.filter(event=AuditEvent.FEED_DUPLICATE_REFUSED).count() == 1


def test_auditor_sees_list_and_history_but_not_row_errors(staff_user, auditor_user, client_for):
    my_number = new_my_number()
    upload(client_for(staff_user), feed_bytes([change("address_change", "2025-05-01", "999997", my_number=my_number)]))
    feed = ResidentFeedFile.objects.get()
    auditor = client_for(auditor_user)
    assert auditor.get(reverse("imports:feed_list")).status_code == 200
    page = auditor.get(reverse("imports:feed_detail", args=[feed.pk]))
    assert page.status_code == 200
    assert "宛名番号に該当する宛名がありません" not in page.content.decode()
    assert auditor.get(reverse("imports:feed_error_csv", args=[feed.pk])).status_code == 403
    assert auditor.post(reverse("imports:feed_upload")).status_code == 403


def test_error_csv_masks_a_valid_my_number(staff_user, client_for):
    my_number = new_my_number()
    client = client_for(staff_user)
    upload(client, feed_bytes([change("address_change", "2025-05-01", "999996", my_number=my_number)]))
    feed = ResidentFeedFile.objects.get()
    content = client.get(reverse("imports:feed_error_csv", args=[feed.pk])).content.decode("utf-8-sig")
    assert my_number not in content
    assert "********" + my_number[-4:] in content


def test_upload_of_a_new_resident_with_my_number(staff_user, client_for):
    my_number = new_my_number()
    upload(client_for(staff_user), feed_bytes([change("move_in", "2025-05-01", "710001", my_number=my_number)],
                                              encoding="cp932"))
    feed = ResidentFeedFile.objects.get()
    assert (feed.encoding, feed.residents_created) == ("cp932", 1)
    from records.models import Resident

    assert decrypt_my_number(Resident.objects.get(address_number="710001").my_number_ciphertext) == my_number
