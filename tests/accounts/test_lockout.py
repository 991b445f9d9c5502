"""django-axes: five wrong passwords lock the (username, address) pair, for AXES_COOLOFF_TIME only."""

from django.conf import settings
from django.db.models import F
from django.test import Client
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import password_step
from tests.factories import UserFactory

OFFICE = "192.0.2.10"
ELSEWHERE = "198.51.100.7"


def fail(username: str, *, times: int, ip: str = OFFICE):
    response = None
    for _ in range(times):
        response = password_step(Client(), username, password="not-the-password", ip=ip)
    return response


def signs_in(username: str, ip: str) -> bool:
    response = password_step(Client(), username, ip=ip)
    return response.status_code == 302 and response["Location"].startswith("/accounts/otp/")


def test_settings_lock_the_pair_for_a_while():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_COOLOFF_TIME is not None


def test_four_failures_do_not_lock(staff_user):
    response = fail(staff_user.username, times=4)
    assert response.status_code == 200
    assert signs_in(staff_user.username, OFFICE)


def test_fifth_failure_locks_that_username_from_that_address_only(staff_user, db):
    colleague = UserFactory.create(username="staff2")
    response = fail(staff_user.username, times=5)
    assert response.status_code == 429
    body = response.content.decode()
    assert "一時的に停止しています" in body
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    assert f"約 {minutes} 分後" in body

    # the right password does not help while locked
    locked = password_step(Client(), staff_user.username, ip=OFFICE)
    assert locked.status_code == 429
    assert "_auth_user_id" not in locked.client.session
    # a colleague behind the same office address is not affected, nor the same user elsewhere
    assert signs_in(colleague.username, OFFICE)
    assert signs_in(staff_user.username, ELSEWHERE)
    # ...and signing in elsewhere did not lift the lock at the office
    assert password_step(Client(), staff_user.username, ip=OFFICE).status_code == 429


def test_lock_lifts_after_the_cool_off(staff_user):
    from axes.models import AccessAttempt

    fail(staff_user.username, times=5)
    assert password_step(Client(), staff_user.username, ip=OFFICE).status_code == 429
    # move the clock: every recorded attempt is now older than the cool-off period
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME)
    assert signs_in(staff_user.username, OFFICE)


def test_lock_is_lifted_by_an_administrator_reset(staff_user):
    from axes.utils import reset

    fail(staff_user.username, times=5)
    assert password_step(Client(), staff_user.username, ip=OFFICE).status_code == 429
    reset(username=staff_user.username)
    assert signs_in(staff_user.username, OFFICE)


def test_every_failure_is_audited_with_the_username(staff_user):
    fail(staff_user.username, times=5)
    entries = AuditLogEntry.objects.filter(event=AuditEvent.SIGN_IN_FAILED)
    assert entries.count() == 5
    assert {e.object_repr for e in entries} == {staff_user.username}


def test_unknown_username_failures_are_audited_without_a_user(db):
    response = password_step(Client(), "nobody-here", password="whatever-it-is")
    assert response.status_code == 200
    entry = AuditLogEntry.objects.get(event=AuditEvent.SIGN_IN_FAILED)
    assert entry.additional_data == {"username": "nobody-here"}


def test_locked_out_page_is_reached_from_the_login_url(staff_user):
    response = fail(staff_user.username, times=5)
    assert response.request["PATH_INFO"] == reverse("accounts:login")
    assert "accounts/locked_out.html" in [t.name for t in response.templates]
