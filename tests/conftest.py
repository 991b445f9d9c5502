"""Shared fixtures: one user per role, and clients signed in with or without the second factor."""

import os
from collections.abc import Callable

import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.roles import Role
from tests.factories import UserFactory


@pytest.fixture
def staff_user(db) -> User:
    return UserFactory(username="staff1", with_role=Role.STAFF)


@pytest.fixture
def clinic_user(db) -> User:
    from tests.factories import ClinicFactory

    return UserFactory(username="clinic1", with_role=Role.CLINIC, clinic=ClinicFactory())


@pytest.fixture
def auditor_user(db) -> User:
    return UserFactory(username="auditor1", with_role=Role.AUDITOR)


@pytest.fixture
def admin_user(db) -> User:
    return UserFactory(username="admin1", with_role=Role.ADMINISTRATOR)


def sign_in(client: Client, user: User, *, verified: bool = True) -> Client:
    """Sign ``user`` in on ``client``; with ``verified`` also pass the second factor (a confirmed TOTP
    device recorded in the session, exactly what django_otp.login does)."""
    client.force_login(user)
    if verified:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
            user=user, name="test", confirmed=True
        )
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def client_for(db) -> Callable[..., Client]:
    """``client_for(user)`` -> a fresh Client signed in with both factors (``verified=False`` for
    password only)."""

    def make(user: User, *, verified: bool = True) -> Client:
        return sign_in(Client(), user, verified=verified)

    return make


@pytest.fixture
def staff_client(staff_user, client_for) -> Client:
    return client_for(staff_user)


ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
# Behaviour that only PostgreSQL has (triggers, COPY, locks); .ci/run runs the suite on both databases.
requires_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (DATABASE_URL)")
