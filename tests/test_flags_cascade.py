"""Issue #7 acceptance 3, end to end: a flag set through the rights services reaches every app. For
利用停止 (``use_suspended``, by granting a suspension request) and 支援措置 (``is_protected``, by the
protection service): extraction (#5) leaves the suspended person out and holds the protected person's
notice, no ticket is numbered for either without the staff override (which only a held notice has), an
inbound linkage query (#6) is not answered automatically but waits for confirmation, and the screens say
why. The eligibility and linkage tests prove the same with the column set directly; this proves it
through the services that own the flags."""

from datetime import date

import pytest
from django.urls import reverse

from eligibility.models import ExtractionRun, Ticket
from eligibility.services import extraction_run_start, notice_batch_issue, notice_item_release
from linkage.models import InboundQuery, InboundStatus, ProvisionRecord
from linkage.services.codes import provision_code_acquire
from linkage.services.provision import inbound_poll
from records.models import Resident
from rights.services import protection_flag_change, suspension_request_decide
from tests.eligibility.factories import make_campaign
from tests.factories import ResidentFactory, VaccinationRecordFactory
from tests.linkage.conftest import mock, mock_process, vaccines  # noqa: F401 (fixtures)
from tests.rights.helpers import suspension

pytestmark = pytest.mark.django_db

REASONS = {
    "use_suspended": ("利用停止中", ""),
    "is_protected": ("支援措置対象者", "支援措置対象者（DV等）のため送付を保留"),
}


def _set_flag(flag: str, *, staff, admin, resident: Resident) -> None:
    if flag == "use_suspended":
        request = suspension(staff, resident)
        suspension_request_decide(actor=staff, request=request, grant=True, reason="請求に理由があるため")
    else:  # the administrator records the resident-records section's decision
        protection_flag_change(actor=admin, resident=resident, protect=True, reason="支援措置の申出",
                               reference="支援-2026-0099")
    resident.refresh_from_db()
    assert getattr(resident, flag)


@pytest.fixture
def people(mock, staff_user, vaccines):  # noqa: F811
    """Two residents of 76 with a dose given here and an information provision code: one to be flagged,
    one not (the control)."""
    made = {}
    for key, number in (("flagged", "810001"), ("control", "810002")):
        resident = ResidentFactory(address_number=number, birth_date=date(1950, 4, 1), name=f"連鎖 {key}")
        VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 11, 10), vaccine=vaccines["FLU01"],
                                 actor=staff_user)
        provision_code_acquire(actor=staff_user, resident=resident)
        made[key] = resident
    return made


@pytest.mark.parametrize("flag", ["use_suspended", "is_protected"])
def test_a_flag_set_through_rights_reaches_extraction_notices_and_linkage(
        flag, people, mock, vaccines, staff_user, admin_user, client_for,  # noqa: F811
        django_capture_on_commit_callbacks):
    flagged, control = people["flagged"], people["control"]
    _set_flag(flag, staff=staff_user, admin=admin_user, resident=flagged)
    screen_reason, eligibility_reason = REASONS[flag]
    client = client_for(staff_user)

    # Extraction: the suspended person is left out, the protected person's notice is held.
    campaign = make_campaign(staff_user, vaccines=[vaccines["FLU02"]], min_age=65)  # their dose was FLU01
    with django_capture_on_commit_callbacks(execute=True):
        run = extraction_run_start(actor=staff_user, campaign=campaign)
    run = ExtractionRun.objects.get(pk=run.pk)
    assert run.status == "done", (run.status, run.failure_message)
    batch = run.batch
    items = {item.resident_id: item for item in batch.items.all()}
    assert control.pk in items and not items[control.pk].mail_held
    if flag == "use_suspended":
        assert flagged.pk not in items
        assert (run.excluded_suspended, run.held_protected) == (1, 0)
    else:
        assert items[flagged.pk].mail_held and items[flagged.pk].hold_reason == eligibility_reason
        assert (run.excluded_suspended, run.held_protected) == (0, 1)
    run_page = client.get(reverse("eligibility:run_detail", args=[run.pk])).content.decode()
    suspended_n, protected_n = (1, 0) if flag == "use_suspended" else (0, 1)
    assert f'利用停止のため除外</dt><dd class="mono">{suspended_n}</dd>' in run_page
    assert f'支援措置のため送付保留</dt><dd class="mono">{protected_n}</dd>' in run_page

    # Notices: issuing numbers a ticket for the control only; the protected person's notice goes out
    # only on a staff member's recorded override.
    notice_batch_issue(actor=staff_user, batch=batch)
    assert set(Ticket.objects.filter(campaign=campaign).values_list("resident_id", flat=True)) == {control.pk}
    batch_page = client.get(reverse("eligibility:batch_detail", args=[batch.pk])).content.decode()
    if flag == "is_protected":
        assert eligibility_reason in batch_page
        notice_item_release(actor=staff_user, item=items[flagged.pk], reason="本人と合意した送付先のため")
        assert Ticket.objects.filter(campaign=campaign, resident=flagged).count() == 1

    # Linkage: a query about the flagged person waits for confirmation; the control's is answered.
    mock.seed_inbound(code=flagged.information_provision_code)
    mock.seed_inbound(code=control.information_provision_code)
    summary = inbound_poll()
    assert (summary.received, summary.held, summary.sent) == (2, 1, 1)
    held = InboundQuery.objects.get(resident=flagged)
    assert held.status == InboundStatus.AWAITING_CONFIRMATION and held.hold_reason_list == [flag]
    assert not ProvisionRecord.objects.filter(inbound=held).exists()
    assert InboundQuery.objects.get(resident=control).status == InboundStatus.PROVIDED
    assert [entry["outcome"] for entry in mock.log("inbound_answered")] == ["provided"]
    inbound_page = client.get(reverse("linkage:inbound_detail", args=[held.pk])).content.decode()
    assert screen_reason in inbound_page

    # The person's own page says why.
    detail = reverse("records:resident_detail", args=[flagged.pk])
    if flag == "is_protected":
        client.post(reverse("records:protected_reason", args=[flagged.pk]), {"purpose": "連携確認のため"})
        body = client.get(detail).content.decode()
        assert "支援措置対象者" in body and "支援-2026-0099" in body
    else:
        body = client.get(detail).content.decode()
        assert "利用停止中" in body and "抽出・通知・自動提供の対象外です" in body
