"""Helpers for the sign-in tests: real TOTP codes computed from a device's key, and users with a
confirmed authenticator and backup codes."""

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BackupCodeDevice, User

PASSWORD = "correct-horse-battery-staple"  # tests.factories.UserFactory's password


def current_code(device: TOTPDevice) -> str:
    """The code an authenticator app would show now for ``device``."""
    return str(totp(device.bin_key, device.step, device.t0, device.digits, device.drift)).zfill(device.digits)


def enrol_totp(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def issue_backup_codes(user: User, count: int = 10) -> list[str]:
    device, _ = BackupCodeDevice.objects.get_or_create(
        user=user, defaults={"name": "backup", "confirmed": True}
    )
    return device.issue_codes(count)


def password_step(client: Client, username: str, *, password: str = PASSWORD, ip: str = "10.0.0.1",
                  next_url: str | None = None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data, REMOTE_ADDR=ip)


@pytest.fixture
def sign_in_with_code() -> Callable[..., tuple[Client, object]]:
    """Password then second factor through the real views; returns (client, last response)."""

    def run(user: User, code: str, *, ip: str = "10.0.0.1") -> tuple[Client, object]:
        client = Client()
        response = password_step(client, user.username, ip=ip)
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:otp_verify")
        response = client.post(reverse("accounts:otp_verify"), {"otp_token": code}, REMOTE_ADDR=ip)
        return client, response

    return run


def reaches_desk(client: Client) -> bool:
    """Fully signed in: home sends the user on to their role's desk (not to sign-in or the OTP pages),
    and the desk answers."""
    from urllib.parse import urlsplit

    response = client.get(reverse("accounts:home"))
    if response.status_code != 302:
        return False
    target = urlsplit(response["Location"]).path
    if target in {reverse("accounts:login"), reverse("accounts:otp_verify"), reverse("accounts:otp_setup")}:
        return False
    return client.get(target).status_code == 200
