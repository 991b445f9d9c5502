"""Eligibility screens and API through HTTP: the check flow, the resident page panel, extraction with
progress, batches, and the read-access entries of pages that show residents (issue #5)."""

from datetime import date

import pytest
from django.urls import reverse

from audit.models import AuditLogEntry
from eligibility.models import Campaign, EligibilityCheck, EligibilityDecision, ExtractionRun, RunStatus
from eligibility.services import eligibility_decide
from records.models import Sex
from tests.eligibility.factories import make_campaign, set_flags
from tests.factories import ResidentFactory, VaccineFactory, new_my_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(staff_user):
    return make_campaign(staff_user, min_age=65)


def accesses(view: str) -> list[str]:
    return list(AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, additional_data__view=view)
                .values_list("object_pk", flat=True))


def test_check_flow_in_the_browser(staff_user, staff_client, campaign):
    number = new_my_number()
    resident = ResidentFactory(my_number=number, birth_date=date(1950, 1, 1), name_kana="コシガヤ　イチロウ",
                               sex=Sex.MALE, name="越谷 一郎")
    response = staff_client.post(reverse("eligibility:check_create"), {
        "campaign": campaign.pk, "birth_date": "昭和25年1月1日", "name_kana": "ｺｼｶﾞﾔ ｲﾁﾛｳ", "sex": "1",
        "my_number": " ".join([number[:4], number[4:8], number[8:]]),
    })
    assert response.status_code == 302
    assert number not in response["Location"]
    check = EligibilityCheck.objects.get()
    page = staff_client.get(response["Location"])
    body = page.content.decode()
    assert "個人番号で一致" in body and "越谷 一郎" in body and number not in body
    assert not EligibilityDecision.objects.exists()
    assert accesses("eligibility:check_detail") == [str(resident.pk)]

    response = staff_client.post(reverse("eligibility:check_detail", args=[check.pk]), {"resident_id": resident.pk})
    assert response.status_code == 302
    decision = EligibilityDecision.objects.get()
    assert decision.eligible and decision.resident == resident
    body = staff_client.get(reverse("eligibility:check_detail", args=[check.pk])).content.decode()
    assert "基準日時点で76歳（対象年齢）" in body

    detail = staff_client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
    assert "対象者判定" in detail and campaign.name in detail
    history = staff_client.get(reverse("eligibility:resident", args=[resident.pk])).content.decode()
    assert "基準日時点で住民" in history


def test_check_form_errors_are_specific(staff_client, campaign):
    response = staff_client.post(reverse("eligibility:check_create"), {
        "campaign": campaign.pk, "birth_date": "令和8年2月30日", "my_number": "123456789012",
    })
    body = response.content.decode()
    assert response.status_code == 200
    assert "2026年2月30日は存在しない日付です。" in body
    assert "個人番号の検査用数字が一致しません。" in body
    assert "123456789012" not in body


def test_auditor_reads_decisions_but_not_the_desk(staff_user, auditor_user, client_for, campaign):
    resident = ResidentFactory(birth_date=date(1962, 1, 1))  # 64 on the reference date
    eligibility_decide(actor=staff_user, resident=resident, campaign=campaign)
    client = client_for(auditor_user)
    body = client.get(reverse("eligibility:decision_list")).content.decode()
    assert resident.address_number in body and "基準日時点で65歳未満（64歳）" in body
    assert "対象外" in body and campaign.name in body
    assert accesses("eligibility:decision_list") == [str(resident.pk)]
    assert client.get(reverse("eligibility:resident", args=[resident.pk])).status_code == 403


def test_campaign_create_and_edit_makes_a_version_once_decided(staff_user, staff_client):
    vaccine = VaccineFactory(code="FLU01")
    data = {"name": "テスト事業", "period_start": "2026-10-01", "period_end": "2027-03-31", "ticket_type": "1",
            "reference_date": "R8.10.1", "vaccines": [vaccine.pk], "min_age": "65", "dose_number": "1"}
    response = staff_client.post(reverse("eligibility:campaign_create"), data)
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    eligibility_decide(actor=staff_user, resident=ResidentFactory(), campaign=campaign)
    form = staff_client.get(reverse("eligibility:campaign_update", args=[campaign.pk])).content.decode()
    assert "新しい版として保存します" in form
    staff_client.post(reverse("eligibility:campaign_update", args=[campaign.pk]), {**data, "min_age": "70"})
    assert list(campaign.rules.values_list("version", "min_age")) == [(2, 70), (1, 65)]
    bad = staff_client.post(reverse("eligibility:campaign_create"), {**data, "min_age": "80", "max_age": "70"})
    assert "対象年齢の上限が下限より小さくなっています。" in bad.content.decode()


def test_extraction_run_page_progress_and_batch(staff_user, staff_client, campaign,
                                                django_capture_on_commit_callbacks):
    ResidentFactory(birth_date=date(1950, 1, 1))
    protected = set_flags(ResidentFactory(birth_date=date(1950, 1, 1), name="保護 花子"), is_protected=True)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("eligibility:extraction_start", args=[campaign.pk]))
    run = ExtractionRun.objects.get()
    assert response["Location"] == reverse("eligibility:run_detail", args=[run.pk])
    progress = staff_client.get(reverse("eligibility:run_progress", args=[run.pk])).json()
    assert progress["status"] == RunStatus.DONE and progress["residents_processed"] == 2
    api = staff_client.get(reverse("api:extraction_run", args=[run.pk])).json()
    assert api["targets"] == 2 and api["held_protected"] == 1 and api["batch_id"] == run.batch.pk
    page = staff_client.get(reverse("eligibility:batch_detail", args=[run.batch.pk])).content.decode()
    assert "保護 花子" in page and "支援措置対象者（DV等）のため送付を保留" in page
    assert accesses("eligibility:batch_detail") == [str(protected.pk)]
    staff_client.post(reverse("eligibility:batch_issue", args=[run.batch.pk]))
    csv = staff_client.get(reverse("eligibility:batch_csv", args=[run.batch.pk, "letters"]))
    assert csv["Content-Type"].startswith("text/csv") and "保護 花子" not in csv.content.decode("utf-8-sig")
    assert staff_client.get(reverse("eligibility:batch_csv", args=[run.batch.pk, "other"])).status_code == 404
    pdf = staff_client.get(reverse("eligibility:batch_pdf", args=[run.batch.pk, "letters", 1]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_api_check_decides_at_once_only_for_an_exact_agreeing_number(staff_client, campaign):
    number = new_my_number()
    resident = ResidentFactory(my_number=number, birth_date=date(1950, 1, 1), name_kana="ア　イ", sex=Sex.FEMALE)
    url = reverse("api:eligibility_checks")
    body = {"campaign": campaign.pk, "birth_date": "1950-01-01", "name_kana": "ア イ", "sex": 2,
            "my_number": number, "confirm_exact": True}
    response = staff_client.post(url, body, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "confirmed" and data["decision"]["eligible"] is True
    assert data["candidates"][0]["resident_id"] == resident.pk and number not in response.content.decode()
    # Sex disagrees: the exact match is only proposed.
    response = staff_client.post(url, {**body, "sex": 1}, content_type="application/json")
    data = response.json()
    assert data["status"] == "pending" and data["decision"] is None
    # No number: candidates only, whatever confirm_exact says; then staff confirm one.
    response = staff_client.post(url, {k: v for k, v in body.items() if k != "my_number"},
                                 content_type="application/json")
    data = response.json()
    assert data["decision"] is None and data["candidates"][0]["method"] == "basic_items"
    confirm = staff_client.post(reverse("api:eligibility_check_confirm", args=[data["check_id"]]),
                                {"resident_id": resident.pk}, content_type="application/json")
    assert confirm.status_code == 201 and confirm.json()["eligible"] is True
    bad = staff_client.post(url, {**body, "my_number": "123456789012"}, content_type="application/json")
    assert bad.status_code == 400 and "my_number" in bad.json()["error"]["fields"]


def test_api_exact_check_records_its_entries_in_one_pass(staff_user, staff_client, campaign):
    from audit.chain import chain_verify
    from audit.events import AuditEvent

    number = new_my_number()
    resident = ResidentFactory(my_number=number, birth_date=date(1950, 1, 1), name_kana="ア　イ", sex=Sex.FEMALE)
    before = AuditLogEntry.objects.count()
    body = {"campaign": campaign.pk, "birth_date": "1950-01-01", "name_kana": "ア イ", "sex": 2,
            "my_number": number, "confirm_exact": True}
    response = staff_client.post(reverse("api:eligibility_checks"), body, content_type="application/json")
    assert response.status_code == 201, response.content
    check = EligibilityCheck.objects.get(pk=response.json()["check_id"])
    decision = EligibilityDecision.objects.get(applicant_check=check)
    assert check.status == "confirmed" and check.resident_id == resident.pk and check.match_method == "my_number"
    assert check.confirmed_at is not None
    new = AuditLogEntry.objects.filter(pk__gt=0).order_by("seq")[before:]
    events = {e.event: e for e in new if e.event}
    assert events[AuditEvent.ELIGIBILITY_MATCHED].additional_data == {
        "check_id": check.pk, "campaign_id": campaign.pk, "candidates": 1, "exact": ["my_number"],
        "by_my_number": True}
    decided = events[AuditEvent.ELIGIBILITY_DECIDED]
    assert decided.object_pk == str(resident.pk) and decided.actor_id == staff_user.pk
    assert decided.additional_data["decision_id"] == decision.pk and decided.additional_data["source"] == "check"
    assert accesses("api:eligibility_checks") == [str(resident.pk)]
    # The check and the decision keep their field-diff entries; the chain stays whole.
    created = {(e.content_type.model, e.action) for e in new if e.action == AuditLogEntry.Action.CREATE}
    assert {("eligibilitycheck", 0), ("eligibilitydecision", 0)} <= created
    assert number not in str([(e.changes, e.additional_data) for e in new])
    assert chain_verify().ok
