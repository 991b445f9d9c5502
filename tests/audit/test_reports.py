"""The yearly self-inspection report (維持管理点検): accesses per user and operation, the export history,
off-hours use, unusual daily volumes, unused accounts and the chain's state, each computed in SQL from
crafted entries at known instants (Asia/Tokyo, with the UTC date line in the way); on screen and as PDF,
every generation on record."""

import re
from datetime import date, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from audit.reports import InspectionPeriod, OfficeHours, self_inspection_build
from audit.services import audit_chain_verify_record
from tests.audit.test_desk_helpers import event_entry, jst, make_entries, pdf_text, view_entry
from tests.factories import ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db

Action = AuditLogEntry.Action
JUNE = InspectionPeriod(date(2025, 6, 1), date(2025, 6, 30))
URL = reverse("audit:self_inspection")


@pytest.fixture
def residents():
    actor = UserFactory(username="registrar")
    return [ResidentFactory(actor=actor, address_number=f"60000000{i:02d}") for i in range(6)]


def build(actor, period=JUNE, **kwargs):
    return self_inspection_build(actor=actor, period=period, **kwargs)


def by_user(rows):
    return {row.username: row for row in rows}


@pytest.fixture
def night_and_day(residents):
    night = UserFactory(username="night", with_role=Role.STAFF)
    day = UserFactory(username="day", with_role=Role.STAFF)
    r = residents[0]
    make_entries([
        view_entry(night, r, jst(2025, 6, 2, 8, 29)),   # Monday, before 08:30 (and Sunday 23:29 in UTC)
        view_entry(night, r, jst(2025, 6, 2, 8, 30)),   # in hours
        view_entry(night, r, jst(2025, 6, 2, 17, 14)),  # in hours
        view_entry(night, r, jst(2025, 6, 2, 17, 15)),  # closing time: outside
        view_entry(night, r, jst(2025, 6, 3, 23, 59)),  # Tuesday night
        view_entry(night, r, jst(2025, 6, 4, 0, 0)),    # Wednesday, midnight
        view_entry(night, r, jst(2025, 6, 7, 12, 0)),   # Saturday noon
        view_entry(night, r, jst(2025, 6, 8, 9, 0)),    # Sunday morning
        view_entry(day, r, jst(2025, 6, 2, 10, 0)),
        view_entry(day, r, jst(2025, 6, 6, 17, 0)),     # Friday 17:00
        {"actor": None, "target": r, "action": Action.ACCESS, "timestamp": jst(2025, 6, 2, 3, 0)},  # system
        view_entry(night, r, jst(2025, 5, 31, 23, 0)),  # before the period
        view_entry(night, r, jst(2025, 7, 1, 0, 30)),   # after it
    ])
    return night, day


def test_off_hours_are_found_in_tokyo_time(night_and_day, auditor_user):
    rows = build(auditor_user).off_hours
    assert [row.username for row in rows] == ["night"]
    (night,) = rows
    assert (night.total, night.before_start, night.after_end, night.weekend, night.days) == (6, 2, 2, 2, 5)
    assert night.last == jst(2025, 6, 8, 9, 0)


def test_office_hours_are_configurable(night_and_day, auditor_user, settings):
    settings.AUDIT_OFFICE_HOURS = "09:00-18:00"
    rows = by_user(build(auditor_user).off_hours)
    # 08:29 and 08:30 are now early; 17:14 and 17:15 within hours.
    assert (rows["night"].before_start, rows["night"].after_end, rows["night"].weekend) == (3, 1, 2)
    assert "day" not in rows


@pytest.mark.parametrize("value", ["8:30", "17:15-08:30", "08:30-25:00", "", "0830-1715"])
def test_malformed_office_hours_stop_the_report(settings, value):
    settings.AUDIT_OFFICE_HOURS = value
    with pytest.raises(ImproperlyConfigured):
        OfficeHours.from_settings()


def test_unusual_daily_volume(residents, auditor_user, settings):
    settings.AUDIT_UNUSUAL_RESIDENTS_PER_DAY = 3
    bulk, normal, split = (UserFactory(username=n, with_role=Role.STAFF) for n in ("bulk", "normal", "split"))
    make_entries(
        [view_entry(bulk, r, jst(2025, 6, 10, 9, i)) for i, r in enumerate(residents[:4])]
        + [view_entry(bulk, residents[0], jst(2025, 6, 10, 15, 0))]        # a second look: same resident
        + [view_entry(normal, r, jst(2025, 6, 10, 9, i)) for i, r in enumerate(residents[:3])]
        + [view_entry(normal, residents[3], jst(2025, 6, 11, 9, 0))]       # the 4th on another day
        # Four residents within one UTC day, but across midnight in Tokyo: two days of two.
        + [view_entry(split, r, jst(2025, 6, 12, 23, 30)) for r in residents[:2]]
        + [view_entry(split, r, jst(2025, 6, 13, 0, 30)) for r in residents[2:4]]
    )
    rows = build(auditor_user).unusual
    assert [(row.username, row.day, row.residents, row.entries) for row in rows] == [
        ("bulk", date(2025, 6, 10), 4, 5)
    ]
    settings.AUDIT_UNUSUAL_RESIDENTS_PER_DAY = 2
    flagged = {(row.username, row.day) for row in build(auditor_user).unusual}
    assert flagged == {("bulk", date(2025, 6, 10)), ("normal", date(2025, 6, 10))}


def test_activity_per_user_and_operation(night_and_day, residents, auditor_user):
    _night, day = night_and_day
    make_entries([
        {"actor": day, "target": residents[1], "action": Action.UPDATE, "timestamp": jst(2025, 6, 3, 10, 0),
         "changes": {"phone": ["", "048-000-0000"]}},
        event_entry(day, AuditEvent.SIGN_IN, jst(2025, 6, 3, 9, 0)),
        view_entry(day, residents[2], jst(2025, 6, 3, 11, 0)),
    ])
    report = build(auditor_user)
    rows = by_user(report.activity)
    assert rows["night"].counts == {"access": 8}
    assert rows["night"].residents == 1
    assert rows["day"].counts == {"access": 3, "update": 1, "event": 1} and rows["day"].residents == 2
    assert rows["day"].column_counts == [0, 1, 0, 3, 1]  # create, update, delete, access, event
    assert rows[""].user_id is None and rows[""].counts == {"access": 1}  # the system's entries
    assert report.entries_total == 8 + 5 + 1 == sum(row.total for row in report.activity)
    assert report.activity_totals["access"] == 12
    assert report.activity[0].username == "night"  # most active first


def test_exports_made_in_the_period(auditor_user):
    exporter = UserFactory(username="exporter", with_role=Role.ADMINISTRATOR)
    make_entries([
        event_entry(exporter, AuditEvent.EXPORT_MADE, jst(2025, 6, 5, 10, 0),
                    {"what": "residents", "format": "csv", "rows": 1200, "filters": {}}),
        event_entry(exporter, AuditEvent.EXPORT_MADE, jst(2025, 7, 5, 10, 0),
                    {"what": "residents", "format": "csv", "rows": 5, "filters": {}}),
        event_entry(exporter, AuditEvent.SIGN_IN, jst(2025, 6, 5, 9, 0)),
    ])
    report = build(auditor_user)
    assert report.exports_total == 1
    assert [(row["actor"], row["what"], row["rows"]) for row in report.export_rows()] == [
        ("exporter", "residents", 1200)
    ]


def test_unused_accounts(auditor_user):
    now = timezone.now()

    def user(name, *, last_login=None, joined_days_ago=0, active=True):
        u = UserFactory(username=name, with_role=Role.STAFF)
        type(u).objects.filter(pk=u.pk).update(
            last_login=last_login, date_joined=now - timedelta(days=joined_days_ago), is_active=active
        )

    user("recent", last_login=now - timedelta(days=10), joined_days_ago=400)
    user("almost", last_login=now - timedelta(days=89), joined_days_ago=400)
    user("stale", last_login=now - timedelta(days=91), joined_days_ago=400)
    user("never_old", joined_days_ago=100)
    user("never_new", joined_days_ago=5)
    user("retired", last_login=now - timedelta(days=300), joined_days_ago=400, active=False)
    names = [u.username for u in build(auditor_user, now=now).unused_accounts]
    assert names == ["never_old", "stale"]  # never signed in first, then the oldest sign-in


def test_unused_days_are_configurable(auditor_user, settings):
    now = timezone.now()
    u = UserFactory(username="monthly", with_role=Role.STAFF)
    type(u).objects.filter(pk=u.pk).update(last_login=now - timedelta(days=40), date_joined=now - timedelta(days=400))
    assert "monthly" not in {a.username for a in build(auditor_user, now=now).unused_accounts}
    settings.AUDIT_UNUSED_ACCOUNT_DAYS = 30
    assert "monthly" in {a.username for a in build(auditor_user, now=now).unused_accounts}


def test_chain_result_is_the_latest_recorded(auditor_user):
    from tests.audit.test_chain import tamper

    assert build(auditor_user).chain_latest is None
    audit_chain_verify_record()
    assert build(auditor_user).chain_latest.event == AuditEvent.AUDIT_CHAIN_VERIFIED
    victim = AuditLogEntry.objects.order_by("seq").first()
    tamper("UPDATE audit_auditlogentry SET object_repr = %s WHERE seq = %s", ["forged", victim.seq])
    audit_chain_verify_record()
    latest = build(auditor_user).chain_latest
    assert latest.event == AuditEvent.AUDIT_CHAIN_BROKEN
    assert latest.additional_data["first_broken_seq"] == victim.seq


def test_the_report_is_a_fixed_number_of_queries(residents, auditor_user):
    """Grouped queries in the database, not loops over entries: ten times the entries, same queries."""
    user = UserFactory(username="counted", with_role=Role.STAFF)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            build(auditor_user)
        return len(captured.captured_queries)

    make_entries([view_entry(user, residents[i % 6], jst(2025, 6, 2, 7, i)) for i in range(10)])
    queries()  # content types cached from here on
    few = queries()
    make_entries([view_entry(user, residents[i % 6], jst(2025, 6, 3, 20, i % 60)) for i in range(100)])
    assert queries() == few


def test_screen_shows_the_report_and_records_it(night_and_day, auditor_user, client_for):
    client = client_for(auditor_user)
    response = client.get(URL, {"date_from": "2025-06-01", "date_to": "令和7年6月30日"})
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("利用者別・操作別のアクセス件数", "持ち出し履歴", "勤務時間外のアクセス", "祝日", "night",
                 "大量の宛名を閲覧した利用者", "90日以上利用のないアカウント", "ハッシュ連鎖の検証",
                 "2025-06-01", "2025-06-30"):
        assert text in html, text
    (event,) = AuditLogEntry.objects.filter(event=AuditEvent.REPORT_GENERATED, actor=auditor_user)
    assert event.additional_data == {"report": "self_inspection", "from": "2025-06-01", "to": "2025-06-30",
                                     "format": "html"}


def test_fiscal_year_and_default_period(auditor_user, client_for):
    client = client_for(auditor_user)
    report = client.get(URL, {"fiscal_year": "2025"}).context["report"]
    assert (report.period.start, report.period.end) == (date(2025, 4, 1), date(2026, 3, 31))
    today = timezone.localdate()
    report = client.get(URL).context["report"]
    assert report.period.end == today and report.period.start == date(InspectionPeriod.fiscal_year_of(today), 4, 1)
    assert InspectionPeriod.fiscal_year_of(date(2026, 3, 31)) == 2025
    assert InspectionPeriod.fiscal_year_of(date(2026, 4, 1)) == 2026


@pytest.mark.parametrize(("params", "message"), [
    ({"fiscal_year": "2025", "date_from": "2025-06-01", "date_to": "2025-06-30"}, "どちらか一方だけ"),
    ({"date_from": "2025-06-01"}, "開始日と終了日の両方"),
    ({"date_from": "2025-06-30", "date_to": "2025-06-01"}, "開始日が終了日より後"),
    ({"date_from": "2025-13-01", "date_to": "2025-06-01"}, "月が不正"),
])
def test_invalid_periods_are_explained_and_nothing_is_generated(auditor_user, client_for, params, message):
    response = client_for(auditor_user).get(URL, params)
    assert response.status_code == 200 and message in response.content.decode()
    assert "report" not in response.context
    assert not AuditLogEntry.objects.filter(event=AuditEvent.REPORT_GENERATED).exists()


def test_a_my_number_as_period_is_refused(auditor_user, client_for):
    response = client_for(auditor_user).get(URL, {"date_from": "123456789018", "date_to": "2025-06-01"})
    assert response.status_code == 302 and response["Location"] == URL
    assert not AuditLogEntry.objects.filter(event=AuditEvent.REPORT_GENERATED).exists()


def test_pdf_carries_the_japanese_report_and_is_on_record(night_and_day, auditor_user, client_for, settings):
    settings.AUDIT_UNUSUAL_RESIDENTS_PER_DAY = 0
    response = client_for(auditor_user).post(reverse("audit:self_inspection_pdf"),
                                             {"date_from": "2025-06-01", "date_to": "2025-06-30"})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert 'filename="self-inspection-20250601-20250630.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    for expected in ("維持管理点検報告", "利用者別・操作別のアクセス件数", "持ち出し履歴", "勤務時間外のアクセス",
                     "祝日・年末年始は判定の対象外", "大量の宛名を閲覧した利用者", "night", "2025-06-01"):
        assert expected in text, expected
    events = list(AuditLogEntry.objects.filter(actor=auditor_user, action=Action.EVENT).order_by("seq"))
    assert [e.event for e in events][-2:] == [AuditEvent.REPORT_GENERATED, AuditEvent.EXPORT_MADE]
    assert events[-2].additional_data["format"] == "pdf"
    assert events[-1].additional_data["what"] == "self_inspection"
    assert events[-1].additional_data["filters"] == {"from": "2025-06-01", "to": "2025-06-30"}


def test_verify_button_runs_the_verification_and_records_who(auditor_user, client_for,
                                                            django_capture_on_commit_callbacks):
    client = client_for(auditor_user)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post(reverse("audit:chain_verify"), {"date_from": "2025-06-01", "date_to": "2025-06-30"})
    assert len(queued) == 1  # the nightly job's task, queued once the request's work is committed
    assert response.status_code == 302
    assert response["Location"] == URL + "?date_from=2025-06-01&date_to=2025-06-30"
    event = AuditLogEntry.objects.get(event=AuditEvent.AUDIT_CHAIN_VERIFIED)
    assert event.actor == auditor_user and event.additional_data["ok"] is True
    html = client.get(response["Location"]).content.decode()
    assert "検証を開始しました" in html
    latest = re.search(r"直近の検証.*?</p>", html, re.S).group(0)
    assert "正常" in latest and f"実行者: {auditor_user.username}" in latest


def test_verify_button_reports_a_broken_chain(auditor_user, client_for, django_capture_on_commit_callbacks):
    from tests.audit.test_chain import tamper

    make_entries([event_entry(auditor_user, AuditEvent.SIGN_IN, jst(2025, 6, 1, 9, 0))])
    victim = AuditLogEntry.objects.order_by("seq").first()
    tamper("UPDATE audit_auditlogentry SET object_repr = %s WHERE seq = %s", ["forged", victim.seq])
    client = client_for(auditor_user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("audit:chain_verify"))
    html = client.get(URL).content.decode()
    assert "異常検出" in html and f"連番{victim.seq}で不一致" in html
