"""Denied attempts are recorded (issue #4, "Denied attempts (403) are recorded too"): every 403 answered to
a signed-in user — refused by the access policy, by a view or selector, or by DRF — writes ACCESS_DENIED
naming the user, the URL name (never the path or its query), the method and the remote address.
Sign-in prompts (anonymous users, users sent to the second factor) are not denials."""

import json
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.roles import Role
from audit.chain import chain_verify
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.permissions import ADD_RECORD, VIEW_RESIDENT
from tests.conftest import sign_in
from tests.factories import ClinicFactory, ResidentFactory, UserFactory

pytestmark = pytest.mark.django_db

ADDR = "203.0.113.5"


@pytest.fixture
def resident():
    return ResidentFactory(name="拒否 花子", name_kana="キョヒ　ハナコ")


def denials() -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=AuditEvent.ACCESS_DENIED).order_by("seq"))


def user_with_perms(*codenames: str):
    user = UserFactory()
    for perm in codenames:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return user


class TestPages:
    def test_a_page_refused_by_the_policy(self, client_for, clinic_user, resident):
        url = reverse("records:resident_detail", args=[resident.pk])
        response = client_for(clinic_user).get(url, {"kana": "キョヒ"}, REMOTE_ADDR=ADDR)
        assert response.status_code == 403
        [entry] = denials()
        assert entry.actor == clinic_user
        assert entry.object_pk == str(clinic_user.pk)  # the subject is the user who was refused
        assert entry.action == AuditLogEntry.Action.EVENT
        assert entry.remote_addr == ADDR
        assert entry.additional_data == {"view": "records:resident_detail", "method": "GET", "status": 403,
                                         "permission": VIEW_RESIDENT, "object_ids": {"pk": resident.pk}}
        # The URL name, never the path with its query string (which may carry personal data).
        blob = json.dumps([entry.additional_data, entry.object_repr], ensure_ascii=False)
        assert "キョヒ" not in blob and urlsplit(url).path not in blob

    def test_a_page_refused_by_the_view_itself(self, client_for, resident):
        # May add records but not view residents: the policy lets the page through, its selector refuses.
        user = user_with_perms(ADD_RECORD)
        response = client_for(user).get(reverse("records:record_create", args=[resident.pk]), REMOTE_ADDR=ADDR)
        assert response.status_code == 403
        [entry] = denials()
        assert (entry.actor, entry.remote_addr) == (user, ADDR)
        assert entry.additional_data["view"] == "records:record_create"
        assert entry.additional_data["permission"] == ADD_RECORD

    def test_a_post_is_recorded_with_its_method(self, client_for, auditor_user, resident):
        response = client_for(auditor_user).post(reverse("records:resident_search"), {"kana": "キョヒ"})
        assert response.status_code == 403
        [entry] = denials()
        assert entry.additional_data["method"] == "POST"
        assert "キョヒ" not in json.dumps(entry.additional_data, ensure_ascii=False)

    def test_a_refused_csrf_token_of_a_signed_in_user_is_recorded(self, staff_user, resident):
        client = sign_in(Client(enforce_csrf_checks=True), staff_user)
        response = client.post(reverse("records:resident_search"), {"kana": "キョヒ"}, REMOTE_ADDR=ADDR)
        assert response.status_code == 403
        [entry] = denials()
        assert entry.actor == staff_user and entry.additional_data["view"] == "records:resident_search"

    def test_anonymous_users_are_sent_to_sign_in_not_denied(self, resident):
        response = Client().get(reverse("records:resident_detail", args=[resident.pk]))
        assert response.status_code == 302
        assert denials() == []

    def test_users_without_the_second_factor_are_sent_to_it_not_denied(self, client_for, staff_user, resident):
        response = client_for(staff_user, verified=False).get(reverse("records:resident_detail", args=[resident.pk]))
        assert response.status_code == 302
        assert denials() == []

    def test_an_allowed_page_records_no_denial(self, staff_client, resident):
        assert staff_client.get(reverse("records:resident_detail", args=[resident.pk])).status_code == 200
        assert denials() == []


class TestApi:
    def test_an_endpoint_refused_to_a_session_user(self, client_for, auditor_user, resident):
        response = client_for(auditor_user).get(reverse("api:resident_detail", args=[resident.pk]),
                                                REMOTE_ADDR=ADDR)
        assert response.status_code == 403
        [entry] = denials()
        assert (entry.actor, entry.remote_addr) == (auditor_user, ADDR)
        assert entry.additional_data == {"view": "api:resident_detail", "method": "GET", "status": 403,
                                         "permission": VIEW_RESIDENT, "object_ids": {"pk": resident.pk}}

    def test_an_endpoint_refused_to_a_token_user_names_the_token_user(self, resident):
        clinic_user = UserFactory(with_role=Role.CLINIC, clinic=ClinicFactory())
        token = Token.objects.create(user=clinic_user)
        response = Client().post(reverse("api:resident_search"), data=json.dumps({"kana": "キョヒ"}),
                                 content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}",
                                 REMOTE_ADDR=ADDR)
        assert response.status_code == 403
        [entry] = denials()
        assert entry.actor == clinic_user
        assert entry.additional_data["view"] == "api:resident_search"
        assert "キョヒ" not in json.dumps(entry.additional_data, ensure_ascii=False)

    def test_a_signed_in_user_without_the_second_factor_is_a_denial_on_the_api(self, client_for, staff_user,
                                                                                 resident):
        response = client_for(staff_user, verified=False).get(reverse("api:resident_detail", args=[resident.pk]))
        assert response.status_code == 403
        [entry] = denials()
        assert entry.actor == staff_user

    def test_each_method_of_one_url_names_its_own_permission(self, client_for, resident):
        reader = user_with_perms("records.view_resident", "records.view_vaccinationrecord")
        url = reverse("api:resident_records", args=[resident.pk])
        client = client_for(reader)
        assert client.get(url).status_code == 200
        assert client.post(url, data="{}", content_type="application/json").status_code == 403
        [entry] = denials()
        assert entry.additional_data["method"] == "POST"
        assert entry.additional_data["permission"] == ADD_RECORD

    def test_anonymous_401_is_not_a_denial(self, resident):
        assert Client().get(reverse("api:resident_detail", args=[resident.pk])).status_code == 401
        bad_token = Client().get(reverse("api:resident_detail", args=[resident.pk]),
                                 HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
        assert bad_token.status_code == 401
        assert denials() == []

    def test_an_allowed_call_records_no_denial(self, staff_client, resident):
        assert staff_client.get(reverse("api:resident_detail", args=[resident.pk])).status_code == 200
        assert denials() == []


def test_denials_join_the_chain(client_for, clinic_user, auditor_user, resident):
    for user in (clinic_user, auditor_user):
        client_for(user).get(reverse("records:resident_detail", args=[resident.pk]))
        client_for(user).get(reverse("api:resident_detail", args=[resident.pk]))
    assert len(denials()) == 4
    report = chain_verify()
    assert report.ok, report.reason
