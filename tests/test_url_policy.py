"""Deny by default (issue #2 acceptance 5): every URL pattern, found by walking the URLconf so new URLs
are covered without editing this file, answers anonymous users with a redirect to sign-in (401/403 for
the API), and a user who has not passed the second factor reaches nothing but the OTP pages and
sign-out."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse

from accounts.access import OTP_NOT_REQUIRED, PUBLIC, view_policy
from tests.urlmap import all_urls

URLS = all_urls()


def is_api(sample) -> bool:
    cls = getattr(sample.callback, "cls", None)
    from rest_framework.views import APIView

    return isinstance(cls, type) and issubclass(cls, APIView)


def policy(sample) -> str | None:
    return view_policy(sample.callback)[0]


@pytest.mark.django_db
@pytest.mark.parametrize("sample", URLS, ids=[u.name for u in URLS])
def test_anonymous(sample):
    response = Client().get(sample.path)
    if policy(sample) == PUBLIC:
        assert not (response.status_code == 302 and resolve_url(settings.LOGIN_URL) in response["Location"])
    elif is_api(sample):
        assert response.status_code in (401, 403)
    else:
        assert response.status_code == 302, sample.path
        assert urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)


@pytest.mark.parametrize("sample", URLS, ids=[u.name for u in URLS])
def test_signed_in_without_second_factor(sample, staff_user, client_for):
    client = client_for(staff_user, verified=False)
    response = client.get(sample.path)
    if policy(sample) in (PUBLIC, OTP_NOT_REQUIRED):
        assert response.status_code != 403
        if response.status_code == 302:
            assert urlsplit(response["Location"]).path != resolve_url(settings.LOGIN_URL)
    elif is_api(sample):
        assert response.status_code == 403
    else:
        assert response.status_code == 302, sample.path
        assert urlsplit(response["Location"]).path == reverse("accounts:otp_verify")


def test_only_the_sign_in_flow_is_reachable_before_the_second_factor():
    reachable = {u.name for u in URLS if policy(u) in (PUBLIC, OTP_NOT_REQUIRED)}
    assert reachable <= {
        "accounts:login", "accounts:logout", "accounts:otp_verify", "accounts:otp_setup",
        "accounts:backup_codes", "set_language",
    }, reachable
    assert {"accounts:login", "accounts:logout", "accounts:otp_verify", "accounts:otp_setup"} <= reachable


def test_a_view_without_a_declared_permission_is_refused(staff_client, settings):
    """Fail closed: a verified user gets 403 from a view that declares nothing."""
    from django.http import HttpResponse
    from django.urls import path

    def undeclared(request):
        return HttpResponse("should never be shown")

    urlconf = type("Urls", (), {"urlpatterns": [path("undeclared/", undeclared)]})
    settings.ROOT_URLCONF = urlconf
    assert staff_client.get("/undeclared/").status_code == 403
