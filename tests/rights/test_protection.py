"""The protection flag (支援措置 / DV): set and cleared only by administrators with a reason and reference,
with history and events; the address is masked in lists, API answers and the bulk export; a protected
person's record opens for staff only after a reason, which the access entries keep."""

import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident
from rights import services
from rights.models import ProtectionAction, ProtectionChange
from tests.factories import ResidentFactory, VaccinationRecordFactory

pytestmark = pytest.mark.django_db

ADDRESS = "埼玉県越谷市秘匿町一丁目2番3号"


@pytest.fixture
def protected(admin_user):
    resident = ResidentFactory(address_number="400001", name="保護 花子", address=ADDRESS, postal_code="343-0001",
                               address_detail="秘匿ハイツ101")
    services.protection_flag_change(actor=admin_user, resident=resident, protect=True,
                                    reason="DV等支援措置の申出（住民記録担当課の決定）", reference="支援-2026-0042")
    resident.refresh_from_db()
    return resident


def test_an_administrator_sets_and_clears_the_flag_on_record(admin_user, client_for):
    resident = ResidentFactory(address_number="400002")
    client = client_for(admin_user)
    response = client.post(reverse("rights:protection_change"), {
        "address_number": "400002", "action": "set", "reference": "支援-2026-0001", "reason": "DV被害の申出",
    })
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.is_protected
    # Setting twice is refused; clearing needs its own reason.
    response = client.post(reverse("rights:protection_change"), {
        "address_number": "400002", "action": "set", "reference": "x", "reason": "y"})
    assert "既に支援措置対象です。" in response.content.decode()
    response = client.post(reverse("rights:protection_change"), {
        "address_number": "400002", "action": "clear", "reference": "支援-2026-0001-解除", "reason": "措置期間の終了"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert not resident.is_protected

    history = list(ProtectionChange.objects.filter(resident=resident).order_by("id"))
    assert [(c.action, c.reference, c.changed_by) for c in history] == [
        (ProtectionAction.SET, "支援-2026-0001", admin_user),
        (ProtectionAction.CLEAR, "支援-2026-0001-解除", admin_user),
    ]
    events = list(AuditLogEntry.objects.filter(object_pk=str(resident.pk), event__startswith="rights.protection")
                  .order_by("seq").values_list("event", flat=True))
    assert events == [AuditEvent.RIGHTS_PROTECTION_SET, AuditEvent.RIGHTS_PROTECTION_CLEARED]
    diffs = [e.changes_dict.get("is_protected") for e in AuditLogEntry.objects.filter(
        action=AuditLogEntry.Action.UPDATE, object_pk=str(resident.pk),
        content_type=ContentType.objects.get_for_model(Resident)).order_by("seq")]
    assert diffs == [["False", "True"], ["True", "False"]]
    page = client.get(reverse("rights:protection")).content.decode()
    assert "措置期間の終了" in page and "支援-2026-0001-解除" in page


def test_the_flag_needs_a_reason_and_a_reference_and_an_administrator(admin_user, staff_user, auditor_user,
                                                                          client_for):
    resident = ResidentFactory()
    with pytest.raises(ValidationError) as exc:
        services.protection_flag_change(actor=admin_user, resident=resident, protect=True, reason=" ", reference="")
    assert set(exc.value.error_dict) == {"reason"}
    with pytest.raises(ValidationError):
        services.protection_flag_change(actor=admin_user, resident=resident, protect=True, reason="申出",
                                        reference="")
    for user in (staff_user, auditor_user):
        with pytest.raises(PermissionDenied):
            services.protection_flag_change(actor=user, resident=resident, protect=True, reason="申出", reference="1")
    assert client_for(staff_user).post(reverse("rights:protection_change"), {
        "address_number": resident.address_number, "action": "set", "reference": "1", "reason": "r"}).status_code == 403
    # Auditors read the history, without the form.
    page = client_for(auditor_user).get(reverse("rights:protection"))
    assert page.status_code == 200 and "支援措置フラグの設定・解除" not in page.content.decode()
    assert not Resident.objects.get(pk=resident.pk).is_protected
    assert not ProtectionChange.objects.exists()


def test_staff_must_give_a_reason_before_the_record_shows_and_the_reason_is_kept(protected, staff_user, client_for):
    record = VaccinationRecordFactory(resident=protected)
    client = client_for(staff_user)
    detail = reverse("records:resident_detail", args=[protected.pk])
    reason_url = reverse("records:protected_reason", args=[protected.pk])
    before = AuditLogEntry.objects.count()
    for url in (detail, reverse("records:record_update", args=[record.pk]),
                reverse("records:my_number_reveal", args=[protected.pk])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == reason_url, url
    # Nothing of the record was shown, so no access entry names the record's pages.
    assert not AuditLogEntry.objects.filter(pk__gt=before, action=AuditLogEntry.Action.ACCESS).exclude(
        additional_data__view="records:protected_reason").exists()
    page = client.get(reason_url).content.decode()
    assert ADDRESS not in page and "閲覧する理由" in page

    # No reason, or a 12-digit number as the reason: refused, nothing opens.
    assert 'class="field__error"' in client.post(reason_url, {"purpose": "  "}).content.decode()
    refused = client.post(reason_url, {"purpose": "番号 123456789018 の確認"}).content.decode()
    assert "12桁の数字" in refused and "123456789018" not in refused
    assert client.get(detail).status_code == 302

    response = client.post(reason_url, {"purpose": "訂正請求への対応のため"})
    assert response.status_code == 302 and response["Location"] == detail
    [reason_entry] = AuditLogEntry.objects.filter(additional_data__purpose="訂正請求への対応のため",
                                                  additional_data__view="records:protected_reason")
    assert reason_entry.object_pk == str(protected.pk) and reason_entry.actor == staff_user
    page = client.get(detail)
    assert page.status_code == 200
    body = page.content.decode()
    assert ADDRESS in body  # the full record, now that the reason is on record
    assert "支援措置対象者" in body and "支援-2026-0042" in body and "訂正請求への対応のため" in body
    shown = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, object_pk=str(protected.pk),
                                         additional_data__view="records:resident_detail").get()
    assert shown.additional_data["purpose"] == "訂正請求への対応のため"
    # Another staff member's session has no reason of its own.
    from accounts.roles import Role
    from tests.factories import UserFactory

    assert client_for(UserFactory(with_role=Role.STAFF)).get(detail).status_code == 302


def test_the_address_is_masked_in_lists_api_and_the_bulk_export(protected, staff_user, admin_user, client_for):
    ResidentFactory(address_number="400009", name="保護 対象外", address="埼玉県越谷市公開町1番")
    client = client_for(staff_user)
    listing = client.post(reverse("records:resident_search"), {"kana": "コシガヤ"}).content.decode()
    assert "保護 花子" in listing and ADDRESS not in listing and "支援措置" in listing

    found = client.post(reverse("api:resident_search"), data=json.dumps({"address_number": "400001"}),
                        content_type="application/json").json()["results"]
    assert found[0]["address"] == "" and found[0]["is_protected"] is True
    other = client.post(reverse("api:resident_search"), data=json.dumps({"address_number": "400009"}),
                        content_type="application/json").json()["results"]
    assert other[0]["address"] == "埼玉県越谷市公開町1番"
    detail = client.get(reverse("api:resident_detail", args=[protected.pk])).json()
    assert (detail["address"], detail["postal_code"], detail["address_detail"]) == ("", "", "")
    assert ADDRESS not in json.dumps(detail, ensure_ascii=False)

    response = client_for(admin_user).post(reverse("manage:export"), {"kind": "residents", "reason": "監査対応"})
    assert response.status_code == 200
    csv_text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert ADDRESS not in csv_text and "343-0001" not in csv_text and "秘匿ハイツ101" not in csv_text
    [row] = [line for line in csv_text.splitlines() if line.startswith("400001,")]
    assert "（支援措置）" in row and "保護 花子" in row
    assert "埼玉県越谷市公開町1番" in csv_text


def test_the_auditors_entry_page_withholds_a_protected_persons_address(protected, auditor_user, client_for):
    resident_ct = ContentType.objects.get_for_model(Resident)
    created = AuditLogEntry.objects.get(content_type=resident_ct, object_pk=str(protected.pk),
                                        action=AuditLogEntry.Action.CREATE)
    html = client_for(auditor_user).get(reverse("audit:entry_detail", args=[created.pk])).content.decode()
    assert "保護 花子" in html and "（支援措置のため非表示）" in html and "住所は表示していません" in html
    assert ADDRESS not in html and "秘匿ハイツ101" not in html and "343-0001" not in html
    assert "内容はハッシュと一致" in html  # the hash is checked on the entry as stored
    other = ResidentFactory(address_number="400004", address="埼玉県越谷市公開町3番")
    shown = AuditLogEntry.objects.get(content_type=resident_ct, object_pk=str(other.pk),
                                      action=AuditLogEntry.Action.CREATE)
    html = client_for(auditor_user).get(reverse("audit:entry_detail", args=[shown.pk])).content.decode()
    assert "埼玉県越谷市公開町3番" in html and "住所は表示していません" not in html


def test_the_auditors_csv_export_withholds_a_protected_persons_address(protected, auditor_user, client_for):
    response = client_for(auditor_user).post(reverse("audit:entry_export_csv"), {"address_number": "400001"})
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    assert "保護 花子" in text  # the entries are there ...
    assert ADDRESS not in text and "秘匿ハイツ101" not in text and "343-0001" not in text  # ... not the address
    assert "（支援措置のため非表示）" in text
    # A person who is not protected is exported as before.
    ResidentFactory(address_number="400003", address="埼玉県越谷市公開町2番")
    text = client_for(auditor_user).post(reverse("audit:entry_export_csv"),
                                         {"address_number": "400003"}).content.decode("utf-8-sig")
    assert "埼玉県越谷市公開町2番" in text
