"""Certificate of vaccination (接種済証) issued from the resident page: who may, what it lists (before-move-in
doses included, screening-only visits not), the audit trail (business event + read access), the
protected person's notice, and the refusals."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident, VaccinationRecord
from tests.factories import ClinicFactory, ResidentFactory, VaccinationRecordFactory, VaccineFactory
from tests.notices.helpers import pdf_pages_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(staff_user):
    resident = ResidentFactory(name="越谷 桜子", name_kana="コシガヤ サクラコ", birth_date=date(2024, 4, 2),
                               postal_code="343-0845", address="埼玉県越谷市南越谷一丁目", moved_in_on=date(2025, 6, 1))
    hib = VaccineFactory(code="HIB01", name="ヒブワクチン")
    pcv = VaccineFactory(code="PCV01", name="小児用肺炎球菌ワクチン")
    clinic = ClinicFactory(code="1100000042", name="南越谷こどもクリニック")
    records = {
        # Received before moving in: no clinic of ours, the place as written.
        "moved_in": VaccinationRecordFactory(resident=resident, actor=staff_user, vaccine=hib, clinic=None,
                                             before_move_in=True, place_text="前住所地 草加市内の医院",
                                             vaccinated_on=date(2024, 6, 3), lot_number="HB-0001"),
        "second": VaccinationRecordFactory(resident=resident, actor=staff_user, vaccine=hib, clinic=clinic,
                                           vaccinated_on=date(2025, 7, 1), lot_number="HB-0002"),
        "pcv": VaccinationRecordFactory(resident=resident, actor=staff_user, vaccine=pcv, clinic=clinic,
                                        vaccinated_on=date(2025, 7, 1), lot_number="PC-0001"),
        # A screening without vaccination certifies nothing.
        "screening": VaccinationRecordFactory(resident=resident, actor=staff_user, vaccine=pcv, clinic=clinic,
                                              vaccinated_on=date(2025, 8, 5), examination_category=2,
                                              dose_ml=Decimal("0"), vaccinating_doctor="", lot_number=""),
    }
    return resident, records


def url(resident: Resident) -> str:
    return reverse("eligibility:certificate_issue", args=[resident.pk])


def issued_events() -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=AuditEvent.CERTIFICATE_ISSUED).order_by("seq"))


def access_entries(obj) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(
        action=AuditLogEntry.Action.ACCESS, content_type=ContentType.objects.get_for_model(type(obj)),
        object_pk=str(obj.pk),
    ).order_by("seq"))


def test_resident_page_links_to_the_certificate_for_staff(person, staff_user, client_for):
    resident, _ = person
    page = client_for(staff_user).get(reverse("records:resident_detail", args=[resident.pk]))
    assert url(resident) in page.content.decode()


def test_issue_page_lists_the_doses_and_records_the_access(person, staff_user, client_for):
    resident, records = person
    response = client_for(staff_user).get(url(resident))
    assert response.status_code == 200
    body = response.content.decode()
    assert "越谷 桜子" in body and "前住所地 草加市内の医院（転入前）" in body and "HB-0002" in body
    assert "protected-notice" not in body and 'name="purpose"' not in body
    assert "PC-0001" in body and body.count("<tr><td class=\"num\">") == 3  # the screening is not listed
    shown = access_entries(resident)
    assert len(shown) == 1 and shown[0].additional_data["view"] == "eligibility:certificate_issue"
    assert len(access_entries(records["second"])) == 1 and not access_entries(records["screening"])
    assert not issued_events()


def test_staff_issue_a_pdf_recorded_as_an_event_and_an_access(person, staff_user, client_for):
    resident, records = person
    response = client_for(staff_user).post(url(resident))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith(f'attachment; filename="certificate-{resident.pk}-')
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]
    [text] = pdf_pages_text(response.content)
    for value in ("予防接種済証", "越谷 桜子", "コシガヤ\u3000サクラコ", "令和6年4月2日", "ヒブワクチン",
                  "小児用肺炎球菌ワクチン", "令和6年6月3日", "HB-0001", "前住所地 草加市内の医院（転入前）",
                  "令和7年7月1日", "HB-0002", "PC-0001", "南越谷こどもクリニック"):
        assert value in text.replace("\n", ""), value  # a long cell may wrap
    assert "令和7年8月5日" not in text  # the screening-only visit
    # 3 doses in 6 slots: three struck-through rows.
    assert len([line for line in text.splitlines() if line.replace(" ", "").startswith("＊")]) == 3
    assert resident.my_number_masked not in text

    [event] = issued_events()
    assert event.actor == staff_user and event.object_pk == str(resident.pk)
    expected_ids = [records["moved_in"].pk, records["second"].pk, records["pcv"].pk]
    assert event.additional_data["records"] == sorted(expected_ids, key=lambda pk: (
        VaccinationRecord.objects.get(pk=pk).vaccinated_on, pk))
    assert event.additional_data["doses"] == 3 and event.additional_data["slots"] == 6
    assert event.additional_data["protected"] is False and event.additional_data["vaccine"] is None
    # Access: the POST's own entries (resident + the three records listed), after the event.
    assert [e.seq > event.seq for e in access_entries(resident)] == [True]
    assert len(access_entries(records["pcv"])) == 1


def test_limited_to_one_vaccine_the_doses_are_numbered_within_it(person, staff_user, client_for):
    resident, records = person
    hib = records["second"].vaccine
    response = client_for(staff_user).post(url(resident), {"vaccine": hib.pk})
    [text] = pdf_pages_text(response.content)
    assert "HB-0001" in text and "HB-0002" in text and "PC-0001" not in text
    [event] = issued_events()
    assert event.additional_data["vaccine"] == hib.pk and event.additional_data["doses"] == 2


def test_a_vaccine_the_person_never_received_is_refused(person, staff_user, client_for):
    resident, _ = person
    other = VaccineFactory(code="MR001", name="麻しん風しん混合ワクチン")
    response = client_for(staff_user).post(url(resident), {"vaccine": other.pk})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "正しく選択してください" in response.content.decode() or "Select a valid choice" in response.content.decode()
    assert not issued_events()


def test_protected_person_certificate_issues_with_a_reason_and_the_page_says_so(person, staff_user, client_for):
    resident, records = person
    Resident.objects.filter(pk=resident.pk).update(is_protected=True)
    client = client_for(staff_user)
    page = client.get(url(resident)).content.decode()
    assert "protected-notice" in page and "支援措置の対象者" in page and "手渡し" in page
    assert 'name="purpose"' in page
    refused = client.post(url(resident), {"purpose": "   "})
    assert refused["Content-Type"].startswith("text/html") and "発行の理由" in refused.content.decode()
    assert not issued_events()
    response = client.post(url(resident), {"purpose": "本人が窓口で申請（運転免許証で確認）"})
    assert response["Content-Type"] == "application/pdf"
    [event] = issued_events()
    assert event.additional_data["protected"] is True
    assert event.additional_data["purpose"] == "本人が窓口で申請（運転免許証で確認）"
    accesses = [e for e in access_entries(records["pcv"]) if e.seq > event.seq]
    assert [e.additional_data.get("purpose") for e in accesses] == ["本人が窓口で申請（運転免許証で確認）"]


def test_protected_person_service_refuses_without_a_reason(person, staff_user):
    from django.core.exceptions import ValidationError

    from eligibility.documents.certificates import certificate_issue

    resident, _ = person
    Resident.objects.filter(pk=resident.pk).update(is_protected=True)
    resident.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        certificate_issue(actor=staff_user, resident=resident, view="test")
    assert "理由を入力してください" in str(caught.value.message_dict["purpose"])
    assert not issued_events()


def test_no_vaccination_means_no_certificate(staff_user, client_for):
    resident = ResidentFactory()
    client = client_for(staff_user)
    page = client.get(url(resident)).content.decode()
    assert "接種の記録がないため、接種済証は発行できません。" in page and "接種済証を発行（PDF）" not in page
    response = client.post(url(resident))
    assert response.status_code == 200
    assert "接種の記録がないため、接種済証を発行できません。" in response.content.decode()
    assert not issued_events()


def test_unknown_resident_is_404(staff_user, client_for):
    assert client_for(staff_user).get(reverse("eligibility:certificate_issue", args=[999999])).status_code == 404


@pytest.mark.parametrize("role_user", ["clinic_user", "auditor_user", "admin_user"])
def test_other_roles_are_refused_and_nothing_is_issued(person, role_user, client_for, request):
    resident, _ = person
    client = client_for(request.getfixturevalue(role_user))
    assert client.get(url(resident)).status_code == 403
    assert client.post(url(resident)).status_code == 403
    assert not issued_events()
    assert url(resident) not in client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()


def test_signed_in_without_second_factor_is_bounced(person, staff_user, client_for):
    resident, _ = person
    response = client_for(staff_user, verified=False).post(url(resident))
    assert response.status_code == 302 and not issued_events()
