"""Acceptance 1: with the clock moved, the monthly job's report holds exactly the people past their period —
the boundary day stays, one day past goes; someone who left 19 years ago stays; held people stay — and the
legal 5-year floor cannot be configured away (service, form, database)."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from records.models import Resident, VaccinationRecord
from retention.holds import register_hold_provider
from retention.models import PurgeReport, ReportStatus, RetentionPolicy
from retention.services import legal_hold_place, purge_report_approve, retention_policy_set
from retention.tasks import purge_schedule_task
from tests.retention.factories import move_clock, person_who_left, resident_living_here

TODAY = date(2026, 11, 26)


@pytest.fixture
def people(db):
    return {
        # last vaccination exactly 20 years before today: the boundary day, stays
        "vaccinated_on_boundary": person_who_left(left_on=date(2001, 3, 1), vaccinated_on=[date(2006, 11, 26)]),
        # one day past: goes
        "vaccinated_day_past": person_who_left(left_on=date(2001, 3, 1), vaccinated_on=[date(2006, 11, 25)]),
        "left_on_boundary": person_who_left(left_on=date(2006, 11, 26)),
        "left_day_past": person_who_left(left_on=date(2006, 11, 25), vaccinated_on=[date(2005, 10, 1)]),
        "left_19_years_ago": person_who_left(left_on=date(2007, 11, 26), vaccinated_on=[date(1990, 10, 1)]),
        "died_25_years_ago": person_who_left(left_on=date(2001, 11, 26), died=True),
        # left long ago, but a dose recorded later (given elsewhere) restarts the period
        "left_long_ago_dose_later": person_who_left(left_on=date(1990, 1, 1), vaccinated_on=[date(2010, 1, 5)]),
        "lives_here": resident_living_here(),
        "held": person_who_left(left_on=date(1990, 1, 1)),
        "held_by_provider": person_who_left(left_on=date(1990, 1, 1)),
    }


@pytest.fixture
def provider_hold(people):
    """Another app's provider (as rights will register open requests)."""
    held = {people["held_by_provider"].pk}
    register_hold_provider("tests.open_requests", lambda: held)
    yield held
    from retention import holds

    holds._providers.pop("tests.open_requests", None)


def _monthly_report() -> PurgeReport:
    [report_id] = purge_schedule_task.delay().get()
    return PurgeReport.objects.get(pk=report_id)


def _records_ids(report: PurgeReport) -> set[int]:
    item = report.items.get(data_class="records")
    return {pk for batch in item.batches.all() for pk in batch.ids}


def test_the_monthly_report_holds_exactly_those_past_their_period(people, provider_hold, admin_user, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    legal_hold_place(actor=admin_user, resident=people["held"], reason="訴訟対応", reference="越総第1号")
    move_clock(monkeypatch, TODAY)

    report = _monthly_report()
    assert report.as_of == TODAY and report.status == ReportStatus.PROPOSED
    due = {"vaccinated_day_past", "left_day_past", "died_25_years_ago"}
    assert _records_ids(report) == {people[key].pk for key in due}
    item = report.items.get(data_class="records")
    assert (item.count, item.years, item.cutoff) == (3, 20, date(2006, 11, 26))
    assert item.related_counts["records.VaccinationRecord"] == 2
    # Nothing is deleted before approval.
    assert Resident.objects.count() == len(people)

    with django_capture_on_commit_callbacks(execute=True):
        purge_report_approve(actor=admin_user, report=report)
    remaining = set(Resident.objects.values_list("pk", flat=True))
    assert remaining == {people[key].pk for key in people if key not in due}
    assert not VaccinationRecord.objects.filter(resident_id__in=[people[key].pk for key in due]).exists()

    # One day later the boundary people are one day past.
    move_clock(monkeypatch, date(2026, 11, 27))
    later = _monthly_report()
    assert _records_ids(later) == {people["vaccinated_on_boundary"].pk, people["left_on_boundary"].pk}


def test_a_released_hold_no_longer_protects(people, admin_user, monkeypatch):
    from retention.services import legal_hold_release

    hold = legal_hold_place(actor=admin_user, resident=people["held"], reason="訴訟対応", reference="越総第1号")
    move_clock(monkeypatch, TODAY)
    assert people["held"].pk not in _records_ids(_monthly_report())
    legal_hold_release(actor=admin_user, hold=hold, reason="訴訟終結")
    assert people["held"].pk in _records_ids(_monthly_report())


def test_the_service_refuses_a_period_under_the_legal_five_years(admin_user):
    for years in (0, 1, 4):
        with pytest.raises(ValidationError) as refused:
            retention_policy_set(actor=admin_user, key="records", years=years, reason="短縮")
        assert "5年以上" in str(refused.value.message_dict["years"])
    assert not RetentionPolicy.objects.exists()
    retention_policy_set(actor=admin_user, key="records", years=5, reason="法定最低")
    assert RetentionPolicy.objects.get(data_class="records").years == 5


def test_the_database_refuses_it_too(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        RetentionPolicy.objects.create(data_class="records", years=4)
    with pytest.raises(IntegrityError), transaction.atomic():
        RetentionPolicy.objects.create(data_class="import_files", years=0)


def test_the_form_refuses_it(admin_user, client_for):
    client = client_for(admin_user)
    response = client.post("/retention/policies/records/", {"years": "4", "reason": "短縮"})
    assert response.status_code == 200
    assert "5年以上" in response.content.decode()
    assert not RetentionPolicy.objects.exists()


def test_a_five_year_policy_applies_to_the_day(people, admin_user, monkeypatch):
    retention_policy_set(actor=admin_user, key="records", years=5, reason="法定最低")
    move_clock(monkeypatch, TODAY)
    five = _monthly_report().items.get(data_class="records")
    assert (five.years, five.cutoff) == (5, date(2021, 11, 26))
    assert people["left_19_years_ago"].pk in {pk for b in five.batches.all() for pk in b.ids}
    boundary = person_who_left(left_on=date(2021, 11, 26))
    past = person_who_left(left_on=date(2021, 11, 25))
    ids = _records_ids(_monthly_report())
    assert boundary.pk not in ids and past.pk in ids


def test_a_period_under_the_floor_from_anywhere_is_never_applied(people, monkeypatch):
    """Whatever hands the report a shorter period (a row from before the floor existed, a bug), the report
    uses the class's minimum."""
    monkeypatch.setattr("retention.services.policy_years", lambda *, key: 2)
    move_clock(monkeypatch, TODAY)
    item = _monthly_report().items.get(data_class="records")
    assert (item.years, item.cutoff) == (5, date(2021, 11, 26))
