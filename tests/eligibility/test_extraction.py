"""Target extraction, what-if, notice batches, ticket numbers and reissue (issue #5)."""

import io
from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from eligibility.models import BatchStatus, ExtractionRun, NoticeBatch, RunStatus, Ticket
from eligibility.rules import Rule
from eligibility.services import (
    extraction_run_execute,
    extraction_run_start,
    notice_batch_csv,
    notice_batch_issue,
    notice_batch_pdf,
    notice_item_release,
    priority_group_grant,
    ticket_pdf,
    ticket_reissue,
    what_if_preview,
)
from eligibility.services.extraction import evaluate
from eligibility.services.notices import is_valid_ticket_number, ticket_number
from records.models import ResidencyStatus
from tests.eligibility.factories import REFERENCE, group, make_campaign, set_flags
from tests.factories import ResidentFactory, VaccinationRecordFactory

pytestmark = pytest.mark.django_db


def run_extraction(actor, campaign, django_capture_on_commit_callbacks) -> ExtractionRun:
    with django_capture_on_commit_callbacks(execute=True):
        run = extraction_run_start(actor=actor, campaign=campaign)
    run.refresh_from_db()
    return run


@pytest.fixture
def population(staff_user):
    """Targets are 65 and over on 1 October 2026."""
    people = {
        "target": ResidentFactory(name="対象 一郎", birth_date=date(1950, 1, 1)),
        "birthday": ResidentFactory(name="誕生日 当日", birth_date=date(1961, 10, 1)),  # turns 65 that day
        "young": ResidentFactory(name="若い 二郎", birth_date=date(1961, 10, 2)),  # 64
        "moved_out": ResidentFactory(birth_date=date(1950, 1, 1), residency_status=ResidencyStatus.MOVED_OUT,
                                     moved_out_on=date(2026, 9, 1)),
        "died": ResidentFactory(birth_date=date(1950, 1, 1), residency_status=ResidencyStatus.DECEASED,
                                died_on=date(2026, 9, 1)),
        "moved_in_later": ResidentFactory(birth_date=date(1950, 1, 1), moved_in_on=date(2026, 10, 2)),
        "protected": set_flags(ResidentFactory(name="保護 花子", birth_date=date(1940, 1, 1)), is_protected=True),
        "suspended": set_flags(ResidentFactory(birth_date=date(1940, 1, 1)), use_suspended=True),
        "vaccinated": ResidentFactory(birth_date=date(1950, 1, 1)),
    }
    VaccinationRecordFactory(resident=people["vaccinated"], vaccinated_on=date(2026, 9, 1), actor=staff_user)
    return people


def test_extraction_produces_a_batch_of_targets_with_counts(staff_user, population,
                                                            django_capture_on_commit_callbacks):
    campaign = make_campaign(staff_user, min_age=65)
    run = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE
    assert run.residents_processed == run.residents_total == len(population)
    batch = run.batch
    targets = {item.resident_id: item for item in batch.items.all()}
    expected = {population[k].pk for k in ("target", "birthday", "protected")}
    assert set(targets) == expected
    assert run.targets == 3 and run.excluded_suspended == 1 and run.held_protected == 1
    assert targets[population["protected"].pk].mail_held
    assert targets[population["protected"].pk].hold_reason == "支援措置対象者（DV等）のため送付を保留"
    assert targets[population["birthday"].pk].age == 65
    assert run.counts_by_age_band["65〜74歳"] == 1  # the birthday: 65
    assert run.counts_by_age_band["75〜84歳"] == 1  # 76
    assert run.counts_by_age_band["85歳以上"] == 1  # the protected resident: 86
    assert run.counts_by_age_band["60〜64歳"] == 0
    assert run.counts_by_priority_group == {"（なし）": 3}
    # bulk_create sent no signals: the service wrote one creation entry per item itself.
    created = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.CREATE,
                                           content_type__model="noticeitem")
    assert sorted(int(e.object_pk) for e in created) == sorted(i.pk for i in batch.items.all())
    events = set(AuditLogEntry.objects.filter(action=AuditLogEntry.Action.EVENT).values_list("event", flat=True))
    assert {AuditEvent.EXTRACTION_STARTED, AuditEvent.EXTRACTION_FINISHED} <= events


def test_later_move_ins_by_rule_and_priority_group_counts(staff_user, population,
                                                          django_capture_on_commit_callbacks):
    priority_group_grant(actor=staff_user, resident=population["target"], group=group("underlying_condition"),
                         application_reference="R8-1")
    campaign = make_campaign(staff_user, min_age=65, allow_later_move_in=True)
    run = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks)
    assert population["moved_in_later"].pk in set(run.batch.items.values_list("resident_id", flat=True))
    assert run.counts_by_priority_group == {"基礎疾患を有する者": 1, "（なし）": 3}


def test_extraction_is_set_based_not_a_query_per_resident(staff_user, settings):
    settings.ELIGIBILITY_EXTRACTION_CHUNK = 1000
    campaign = make_campaign(staff_user, min_age=65)
    from eligibility.selectors import rule_from_version

    rule = rule_from_version(campaign.current_rule)
    ResidentFactory.create_batch(3, birth_date=date(1950, 1, 1))
    with CaptureQueriesContext(connection) as few:
        evaluate(rule, REFERENCE)
    ResidentFactory.create_batch(30, birth_date=date(1950, 1, 1))
    with CaptureQueriesContext(connection) as many:
        tally = evaluate(rule, REFERENCE)
    assert len(tally.targets) == 33
    assert len(many.captured_queries) == len(few.captured_queries)


def test_a_finished_run_is_not_run_again(staff_user, population, django_capture_on_commit_callbacks):
    campaign = make_campaign(staff_user, min_age=65)
    run = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks)
    again = extraction_run_execute(run_id=run.pk)
    assert again.status == RunStatus.DONE
    assert NoticeBatch.objects.filter(run=run).count() == 1


def test_a_second_run_while_one_is_queued_is_refused(staff_user, population):
    campaign = make_campaign(staff_user, min_age=65)
    extraction_run_start(actor=staff_user, campaign=campaign)  # on_commit never fires: stays queued
    with pytest.raises(ValidationError):
        extraction_run_start(actor=staff_user, campaign=campaign)


def test_what_if_shows_the_difference_between_draft_and_current_rule(staff_user, population):
    campaign = make_campaign(staff_user, min_age=65)
    draft = Rule(vaccine_codes=frozenset({"FLU01"}), min_age=64, dose_number=1)
    result = what_if_preview(actor=staff_user, campaign=campaign, draft=draft, draft_reference_date=REFERENCE)
    assert result.current_targets == 3
    assert result.draft_targets == 4  # the 64-year-old joins
    assert (result.newly_eligible, result.no_longer_eligible) == (1, 0)
    assert result.newly_by_age_band["60〜64歳"] == 1
    assert result.excluded_suspended == 1
    narrower = Rule(vaccine_codes=frozenset({"FLU01"}), min_age=80, dose_number=1)
    result = what_if_preview(actor=staff_user, campaign=campaign, draft=narrower, draft_reference_date=REFERENCE)
    assert (result.draft_targets, result.no_longer_eligible) == (1, 2)
    assert not ExtractionRun.objects.exists()


def test_ticket_numbers_are_ten_digits_with_a_check_digit():
    assert ticket_number(1) == "0000000018"
    assert is_valid_ticket_number(ticket_number(123456789))
    assert not is_valid_ticket_number("0000000019")


def test_issue_reissue_and_outputs(staff_user, population, django_capture_on_commit_callbacks):
    campaign = make_campaign(staff_user, min_age=65)
    batch = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks).batch
    with pytest.raises(ValidationError):
        notice_batch_pdf(actor=staff_user, batch=batch, kind="tickets", chunk=1)  # not issued yet
    notice_batch_issue(actor=staff_user, batch=batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.ISSUED
    tickets = list(Ticket.objects.filter(campaign=campaign))
    assert len(tickets) == 2  # the protected resident is held: no number
    assert all(is_valid_ticket_number(t.number) for t in tickets)
    assert len({t.number for t in tickets}) == 2
    with pytest.raises(ValidationError):
        notice_batch_issue(actor=staff_user, batch=batch)

    held = batch.items.get(resident=population["protected"])
    with pytest.raises(ValidationError):
        notice_item_release(actor=staff_user, item=held, reason=" ")
    notice_item_release(actor=staff_user, item=held, reason="本人と合意した送付先のため")
    held.refresh_from_db()
    assert held.ticket is not None and held.released_by == staff_user
    assert AuditLogEntry.objects.filter(event=AuditEvent.NOTICE_HOLD_RELEASED).count() == 1

    pdf = notice_batch_pdf(actor=staff_user, batch=batch, kind="tickets", chunk=1)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "対象 一郎" in text and "保護 花子" in text and "若い 二郎" not in text
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 3
    event = AuditLogEntry.objects.get(event=AuditEvent.NOTICE_PDF_GENERATED)
    assert event.additional_data["kind"] == "tickets" and event.additional_data["count"] == 3
    assert sorted(event.additional_data["resident_ids"]) == sorted(
        population[k].pk for k in ("target", "birthday", "protected"))
    with pytest.raises(ValidationError):
        notice_batch_pdf(actor=staff_user, batch=batch, kind="tickets", chunk=2)
    letters_csv = notice_batch_csv(actor=staff_user, batch=batch, kind="letters").decode("utf-8-sig")
    assert "保護 花子" in letters_csv and "若い 二郎" not in letters_csv
    csv = notice_batch_csv(actor=staff_user, batch=batch, kind="tickets").decode("utf-8-sig")
    assert all(t.number in csv for t in Ticket.objects.filter(campaign=campaign))
    assert AuditLogEntry.objects.filter(event=AuditEvent.NOTICE_CSV_GENERATED).count() == 2

    old = Ticket.objects.get(resident=population["target"])
    new = ticket_reissue(actor=staff_user, ticket=old, reason="紛失の申請")
    old.refresh_from_db()
    assert not old.is_valid and old.void_reason == "再発行: 紛失の申請"
    assert new.is_valid and new.number != old.number and new.replaces == old and new.dose_number == old.dose_number
    with pytest.raises(ValidationError):
        ticket_reissue(actor=staff_user, ticket=old, reason="二重")
    with pytest.raises(ValidationError):
        ticket_pdf(actor=staff_user, ticket=old)
    assert len(PdfReader(io.BytesIO(ticket_pdf(actor=staff_user, ticket=new))).pages) == 1


def test_suspended_residents_get_no_reissue(staff_user, population, django_capture_on_commit_callbacks):
    campaign = make_campaign(staff_user, min_age=65)
    batch = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks).batch
    notice_batch_issue(actor=staff_user, batch=batch)
    ticket = Ticket.objects.get(resident=population["target"])
    set_flags(population["target"], use_suspended=True)
    ticket.refresh_from_db()
    with pytest.raises(ValidationError, match="利用停止中"):
        ticket_reissue(actor=staff_user, ticket=ticket, reason="紛失")


def test_every_stored_item_has_its_creation_entry(staff_user, population, django_capture_on_commit_callbacks):
    from audit.chain import chain_verify
    from eligibility.models import NoticeItem

    campaign = make_campaign(staff_user, min_age=65)
    run = run_extraction(staff_user, campaign, django_capture_on_commit_callbacks)
    items = list(run.batch.items.order_by("id"))
    entries = {e.object_pk: e for e in AuditLogEntry.objects.filter(
        action=AuditLogEntry.Action.CREATE, content_type__model="noticeitem")}
    assert set(entries) == {str(item.pk) for item in items}
    for item in items:
        entry = entries[str(item.pk)]
        assert entry.object_repr == str(item) == f"#{run.batch.pk}/{item.resident_id}"
        assert entry.changes == {"batch": [None, str(run.batch.pk)], "resident": [None, str(item.resident_id)],
                                 "mail_held": [None, str(item.mail_held)]}
        assert entry.additional_data == {"run_id": run.pk} and entry.actor_id == staff_user.pk
    held = NoticeItem.objects.get(batch=run.batch, resident=population["protected"])
    assert entries[str(held.pk)].changes["mail_held"] == [None, "True"]
    assert chain_verify().ok
