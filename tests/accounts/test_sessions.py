"""Who reaches what before the second factor, idle and absolute session lifetime, deactivation."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.middleware import SIGNED_IN_AT
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import enrol_totp, reaches_desk


def test_anonymous_users_are_sent_to_sign_in(db):
    for name in ("accounts:home", "accounts:otp_verify", "accounts:otp_setup", "accounts:backup_codes"):
        response = Client().get(reverse(name))
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("accounts:login") + "?next="), name


def test_unenrolled_user_reaching_home_ends_up_enrolling(clinic_user, client_for):
    client = client_for(clinic_user, verified=False)
    response = client.get(reverse("accounts:home"))
    assert response["Location"] == reverse("accounts:otp_verify")
    response = client.get(response["Location"])
    assert response["Location"] == reverse("accounts:otp_setup")
    assert client.get(response["Location"]).status_code == 200


def test_user_with_device_but_no_code_yet_is_sent_to_otp_verify(staff_user, client_for):
    enrol_totp(staff_user)
    client = client_for(staff_user, verified=False)
    for url in (reverse("accounts:home"), "/residents/", reverse("admin:index")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("accounts:otp_verify"), url
    assert client.get(reverse("accounts:otp_verify")).status_code == 200


def test_idle_timeout_is_thirty_minutes_renewed_on_every_request():
    assert settings.SESSION_COOKIE_AGE == 1800
    assert settings.SESSION_SAVE_EVERY_REQUEST is True


def test_each_request_pushes_the_idle_expiry_forward(clinic_user, client_for):
    client = client_for(clinic_user)
    Session.objects.update(expire_date=timezone.now() + timedelta(minutes=1))
    assert reaches_desk(client)
    expiry = Session.objects.get(session_key=client.session.session_key).expire_date
    assert expiry > timezone.now() + timedelta(minutes=29)


def test_idle_session_stops_working(clinic_user, client_for):
    client = client_for(clinic_user)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _age_session(client: Client, by: timedelta) -> None:
    session = client.session
    session[SIGNED_IN_AT] = (timezone.now() - by).isoformat()
    session.save()


def test_session_ends_after_the_absolute_lifetime_however_busy(clinic_user, client_for):
    client = client_for(clinic_user)
    _age_session(client, settings.SESSION_ABSOLUTE_LIFETIME + timedelta(minutes=1))
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "_auth_user_id" not in client.session
    entry = AuditLogEntry.objects.get(event=AuditEvent.SESSION_EXPIRED)
    assert entry.actor == clinic_user


def test_session_within_the_absolute_lifetime_keeps_working(clinic_user, client_for):
    client = client_for(clinic_user)
    _age_session(client, settings.SESSION_ABSOLUTE_LIFETIME - timedelta(minutes=1))
    assert reaches_desk(client)


def test_absolute_lifetime_is_ten_hours_by_default():
    assert timedelta(hours=10) == settings.SESSION_ABSOLUTE_LIFETIME


@pytest.mark.parametrize("verified", [True, False])
def test_deactivated_user_session_stops_on_next_request(clinic_user, client_for, verified):
    client = client_for(clinic_user, verified=verified)
    clinic_user.is_active = False
    clinic_user.save()
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_deactivated_user_cannot_sign_in_again(clinic_user):
    clinic_user.is_active = False
    clinic_user.save()
    from tests.accounts.conftest import password_step

    response = password_step(Client(), clinic_user.username)
    assert response.status_code == 200
    assert "_auth_user_id" not in response.client.session
