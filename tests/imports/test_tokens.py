"""Clinic API tokens: issued by administrators and shown once (only a SHA-256 is stored), revoked at once,
every use recorded; the administrators' pages and who may reach them."""

import hashlib
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import ClinicApiToken
from imports.permissions import CLINIC_TOKEN_PERMISSIONS, UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS
from imports.tokens import (
    ClinicTokenUser,
    TokenRejected,
    clinic_api_token_authenticate,
    clinic_api_token_issue,
    clinic_api_token_revoke,
)
from records.permissions import VIEW_RESIDENT
from tests.factories import ClinicFactory, UserFactory


@pytest.fixture
def clinic(db):
    return ClinicFactory(code="1110000011")


def events(event: AuditEvent) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=event).order_by("id"))


def all_stored_text() -> str:
    """Every column of every token row and every audit entry, as text: the clear token must be in none."""
    tokens = json.dumps(list(ClinicApiToken.objects.values()), default=str)
    entries = json.dumps(list(AuditLogEntry.objects.values()), default=str)
    return tokens + entries


class TestIssue:
    def test_the_token_is_returned_once_and_only_its_hash_is_stored(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="電子カルテ送信")
        token = ClinicApiToken.objects.get()
        assert issued.key.startswith("kvx_") and len(issued.key) > 40
        assert token.key_hash == hashlib.sha256(issued.key.encode()).hexdigest()
        assert token.prefix == issued.key[:12]
        assert token.clinic == clinic and token.created_by == admin_user and token.is_active
        assert issued.key not in all_stored_text()
        assert issued.key[12:] not in all_stored_text()

    def test_each_issue_is_a_new_random_token(self, admin_user, clinic):
        first = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="a")
        second = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="b")
        assert first.key != second.key

    def test_the_issue_is_recorded_without_the_token(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="電子カルテ送信")
        [entry] = events(AuditEvent.API_TOKEN_ISSUED)
        assert entry.actor == admin_user
        assert entry.object_pk == str(issued.token.pk)
        assert entry.additional_data == {"clinic": clinic.code, "prefix": issued.token.prefix, "name": "電子カルテ送信"}
        created = AuditLogEntry.objects.get(action=AuditLogEntry.Action.CREATE, object_pk=str(issued.token.pk),
                                            content_type__model="clinicapitoken")
        assert created.actor == admin_user and "key_hash" not in created.changes_dict

    @pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR])
    def test_only_administrators_issue(self, role, clinic):
        user = UserFactory(with_role=role, clinic=clinic if role == Role.CLINIC else None)
        with pytest.raises(PermissionDenied):
            clinic_api_token_issue(actor=user, clinic=clinic, name="x")
        assert not ClinicApiToken.objects.exists()

    def test_an_inactive_clinic_gets_no_token(self, admin_user, clinic):
        clinic.is_active = False
        clinic.save()
        with pytest.raises(ValidationError):
            clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        assert not ClinicApiToken.objects.exists()


class TestRevoke:
    def test_revoke_records_who_and_when(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        token = clinic_api_token_revoke(actor=admin_user, token_id=issued.token.pk)
        assert token.revoked_at is not None and token.revoked_by == admin_user and not token.is_active
        [entry] = events(AuditEvent.API_TOKEN_REVOKED)
        assert entry.actor == admin_user and entry.object_pk == str(token.pk)

    def test_a_second_revocation_is_refused_and_keeps_the_first(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        first = clinic_api_token_revoke(actor=admin_user, token_id=issued.token.pk)
        other_admin = UserFactory(with_role=Role.ADMINISTRATOR)
        with pytest.raises(ValidationError):
            clinic_api_token_revoke(actor=other_admin, token_id=issued.token.pk)
        issued.token.refresh_from_db()
        assert issued.token.revoked_by == admin_user and issued.token.revoked_at == first.revoked_at
        assert len(events(AuditEvent.API_TOKEN_REVOKED)) == 1

    def test_only_administrators_revoke(self, admin_user, staff_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        with pytest.raises(PermissionDenied):
            clinic_api_token_revoke(actor=staff_user, token_id=issued.token.pk)
        issued.token.refresh_from_db()
        assert issued.token.is_active


class TestAuthenticate:
    def test_a_valid_token_is_accepted_and_its_use_recorded(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        token = clinic_api_token_authenticate(key=issued.key, method="GET", path="/api/v1/imports/")
        assert token.pk == issued.token.pk
        token.refresh_from_db()
        assert token.last_used_at is not None
        [entry] = events(AuditEvent.API_TOKEN_USED)
        assert entry.object_pk == str(token.pk) and entry.actor is None
        assert entry.additional_data == {"clinic": clinic.code, "prefix": token.prefix, "method": "GET",
                                         "path": "/api/v1/imports/"}
        assert issued.key not in all_stored_text()

    def test_every_use_is_recorded(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        for _ in range(3):
            clinic_api_token_authenticate(key=issued.key)
        assert len(events(AuditEvent.API_TOKEN_USED)) == 3

    def test_a_revoked_token_is_refused_and_the_attempt_recorded(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        clinic_api_token_revoke(actor=admin_user, token_id=issued.token.pk)
        with pytest.raises(TokenRejected) as caught:
            clinic_api_token_authenticate(key=issued.key)
        assert caught.value.code == "token_revoked"
        assert not events(AuditEvent.API_TOKEN_USED)
        [denied] = events(AuditEvent.ACCESS_DENIED)
        assert denied.additional_data["reason"] == "token_revoked"
        issued.token.refresh_from_db()
        assert issued.token.last_used_at is None

    def test_a_token_of_a_clinic_no_longer_active_is_refused(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        clinic.is_active = False
        clinic.save()
        with pytest.raises(TokenRejected) as caught:
            clinic_api_token_authenticate(key=issued.key)
        assert caught.value.code == "clinic_inactive"

    @pytest.mark.parametrize("key", ["", "kvx_", "kvx_unknown-token", "x" * 200])
    def test_unknown_keys_are_refused(self, admin_user, clinic, key):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        with pytest.raises(TokenRejected) as caught:
            clinic_api_token_authenticate(key=key)
        assert caught.value.code == "token_invalid"
        with pytest.raises(TokenRejected):
            clinic_api_token_authenticate(key=issued.key[:-1])

    def test_the_token_user_holds_the_clinic_import_permissions_only(self, admin_user, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        user = ClinicTokenUser(issued.token)
        assert {UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS} == CLINIC_TOKEN_PERMISSIONS
        assert all(user.has_perm(p) for p in (UPLOAD_IMPORT, VIEW_IMPORT, VIEW_ROW_ERRORS))
        assert not user.has_perm(VIEW_RESIDENT)
        assert not user.has_perm("imports.add_clinicapitoken")
        assert user.clinic_id == clinic.pk and user.pk is None and user.is_authenticated


# --- Pages -------------------------------------------------------------------------------------


def issue_via_page(client: Client, clinic) -> tuple[str, str]:
    response = client.post(reverse("imports:token_issue"), {"clinic": clinic.pk, "name": "委託先送信システム"})
    assert response.status_code == 200
    assert ClinicApiToken.objects.filter(name="委託先送信システム").exists()
    html = response.content.decode()
    start = html.index('id="issued-token">') + len('id="issued-token">')
    return html[start:html.index("<", start)], html


class TestPages:
    def test_the_issue_page_shows_the_token_once(self, admin_user, client_for, clinic):
        client = client_for(admin_user)
        key, html = issue_via_page(client, clinic)
        token = ClinicApiToken.objects.get()
        assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert f"ClinicToken {key}" in html
        # Nowhere afterwards: neither the list, nor the revoke page, nor the session.
        assert key not in client.get(reverse("imports:token_list")).content.decode()
        assert key not in client.get(reverse("imports:token_revoke", args=[token.pk])).content.decode()
        assert key not in json.dumps(dict(client.session.items()), default=str)

    def test_the_issue_page_is_not_cached(self, admin_user, client_for, clinic):
        response = client_for(admin_user).post(reverse("imports:token_issue"), {"clinic": clinic.pk, "name": "x"})
        assert "no-store" in response["Cache-Control"]

    def test_the_issue_form_needs_a_clinic_and_a_name(self, admin_user, client_for, clinic):
        response = client_for(admin_user).post(reverse("imports:token_issue"), {"clinic": "", "name": ""})
        assert response.status_code == 200
        assert set(response.context["form"].errors) == {"clinic", "name"}
        assert not ClinicApiToken.objects.exists()

    def test_the_list_shows_prefix_clinic_use_and_state(self, admin_user, client_for, clinic):
        active = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="使用中")
        revoked = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="廃止")
        clinic_api_token_revoke(actor=admin_user, token_id=revoked.token.pk)
        html = client_for(admin_user).get(reverse("imports:token_list")).content.decode()
        assert active.token.prefix in html and revoked.token.prefix in html
        assert reverse("imports:token_revoke", args=[active.token.pk]) in html
        assert reverse("imports:token_revoke", args=[revoked.token.pk]) not in html
        assert active.token.key_hash not in html

    def test_revoking_through_the_page(self, admin_user, client_for, clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        client = client_for(admin_user)
        assert client.get(reverse("imports:token_revoke", args=[issued.token.pk])).status_code == 200
        assert ClinicApiToken.objects.get().is_active  # GET only asks
        response = client.post(reverse("imports:token_revoke", args=[issued.token.pk]))
        assert response.status_code == 302
        assert not ClinicApiToken.objects.get().is_active
        again = client.post(reverse("imports:token_revoke", args=[issued.token.pk]), follow=True)
        assert "既に失効" in again.content.decode()
        assert len(events(AuditEvent.API_TOKEN_REVOKED)) == 1

    def test_revoking_an_unknown_token_is_404(self, admin_user, client_for):
        assert client_for(admin_user).post(reverse("imports:token_revoke", args=[999])).status_code == 404


TOKEN_PAGES = ["imports:token_list", "imports:token_issue", "imports:token_revoke"]


@pytest.fixture
def token(admin_user, clinic):
    return clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x").token


def page_url(name: str, token) -> str:
    return reverse(name, args=[token.pk]) if name.endswith("revoke") else reverse(name)


@pytest.mark.parametrize("name", TOKEN_PAGES)
class TestTokenPagesMatrix:
    def test_anonymous_is_sent_to_sign_in(self, name, token):
        response = Client().get(page_url(name, token))
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]

    def test_without_second_factor_is_sent_to_otp(self, name, token, admin_user, client_for):
        response = client_for(admin_user, verified=False).get(page_url(name, token))
        assert response.status_code == 302 and response["Location"] == reverse("accounts:otp_verify")

    def test_administrator_is_allowed(self, name, token, admin_user, client_for):
        assert client_for(admin_user).get(page_url(name, token)).status_code == 200

    @pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR, None])
    def test_other_roles_are_refused(self, name, token, role, client_for, clinic):
        user = UserFactory(with_role=role, clinic=clinic if role == Role.CLINIC else None)
        assert client_for(user).get(page_url(name, token)).status_code == 403

    @pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR])
    def test_other_roles_cannot_post(self, name, token, role, client_for, clinic):
        user = UserFactory(with_role=role, clinic=clinic if role == Role.CLINIC else None)
        response = client_for(user).post(page_url(name, token), {"clinic": clinic.pk, "name": "y"})
        assert response.status_code == 403
        assert ClinicApiToken.objects.count() == 1 and ClinicApiToken.objects.get().is_active


class TestAdmin:
    def test_administrators_see_tokens_in_the_admin_read_only_without_hashes(self, admin_user, client_for,
                                                                              clinic):
        issued = clinic_api_token_issue(actor=admin_user, clinic=clinic, name="x")
        client = client_for(admin_user)
        listing = client.get(reverse("admin:imports_clinicapitoken_changelist"))
        assert listing.status_code == 200
        html = listing.content.decode()
        assert issued.token.prefix in html and issued.token.key_hash not in html
        assert reverse("imports:token_list") in html
        assert client.get(reverse("admin:imports_clinicapitoken_add")).status_code == 403
        detail = client.get(reverse("admin:imports_clinicapitoken_change", args=[issued.token.pk]))
        assert detail.status_code == 200 and issued.token.key_hash not in detail.content.decode()
        response = client.post(reverse("admin:imports_clinicapitoken_delete", args=[issued.token.pk]),
                               {"post": "yes"})
        assert response.status_code == 403 and ClinicApiToken.objects.exists()
