"""The import API: a clinic's token (its clinic is the import's clinic, every use recorded, revoked -> 401),
staff by session or token naming the clinic, clinic users by session for their own clinic; the permission
matrix of every endpoint, refused files in the shared error shape, CSRF on session writes."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import ClinicApiToken, ClinicImport, ImportSource, ImportStatus
from imports.tokens import clinic_api_token_issue, clinic_api_token_revoke
from records.models import VaccinationRecord
from tests.conftest import sign_in
from tests.factories import UserFactory
from tests.imports.surfaces import World, csv_file, import_with_errors, make_world, row_for

LIST_URL = reverse("api:import_list")


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture
def finished(world) -> ClinicImport:
    return import_with_errors(world)


def token_for(world: World, clinic) -> str:
    return clinic_api_token_issue(actor=world.administrator, clinic=clinic, name="送信システム").key


def clinic_auth(key: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"ClinicToken {key}"}


_counter = iter(range(10**6))


def fresh_file(world: World, clinic) -> bytes:
    """A valid file with bytes never sent before (the remark differs)."""
    return csv_file([row_for(p, clinic, 備考1=f"送信{next(_counter)}") for p in world.people[:2]])


def post_file(client: Client, data: bytes, *, billing_month: str = "2025-11", name: str = "2025-11.csv",
              clinic: str | None = None, **extra: Any):
    body: dict[str, Any] = {"file": SimpleUploadedFile(name, data, content_type="text/csv"),
                            "billing_month": billing_month}
    if clinic is not None:
        body["clinic"] = clinic
    return client.post(LIST_URL, body, **extra)


def assert_error(response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"}
    if code is not None:
        assert error["code"] == code
    return error


# --- permission matrix ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    name: str
    call: Callable[[Client, World, ClinicImport, dict[str, str]], Any]
    ok: int
    auditor: int  # what an auditor gets


def _get(url: Callable[[ClinicImport], str]) -> Callable[..., Any]:
    return lambda client, world, imp, extra: client.get(url(imp), **extra)


def _create(client: Client, world: World, imp: ClinicImport, extra: dict[str, str]) -> Any:
    return post_file(client, fresh_file(world, world.clinic_a), clinic=world.clinic_a.code, **extra)


ENDPOINTS = [
    Endpoint("list", _get(lambda imp: LIST_URL), 200, 200),
    Endpoint("create", _create, 201, 403),
    Endpoint("detail", _get(lambda imp: reverse("api:import_detail", args=[imp.pk])), 200, 200),
    Endpoint("errors", _get(lambda imp: reverse("api:import_errors", args=[imp.pk])), 200, 403),
]
OBJECT_ENDPOINTS = [e for e in ENDPOINTS if e.name in ("detail", "errors")]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
class TestPermissionMatrix:
    def test_anonymous_gets_401(self, endpoint, world, finished):
        response = endpoint.call(Client(), world, finished, {})
        assert_error(response, 401)
        assert response["WWW-Authenticate"] == "ClinicToken"

    def test_without_second_factor_gets_403(self, endpoint, world, finished, client_for):
        assert_error(endpoint.call(client_for(world.clinic_a_user, verified=False), world, finished, {}), 403)

    def test_staff_session(self, endpoint, world, finished, client_for):
        assert endpoint.call(client_for(world.staff), world, finished, {}).status_code == endpoint.ok

    def test_staff_token(self, endpoint, world, finished):
        key = Token.objects.create(user=world.staff).key
        response = endpoint.call(Client(), world, finished, {"HTTP_AUTHORIZATION": f"Token {key}"})
        assert response.status_code == endpoint.ok

    def test_own_clinic_session(self, endpoint, world, finished, client_for):
        assert endpoint.call(client_for(world.clinic_a_user), world, finished, {}).status_code == endpoint.ok

    def test_own_clinic_token(self, endpoint, world, finished):
        response = endpoint.call(Client(), world, finished, clinic_auth(token_for(world, world.clinic_a)))
        assert response.status_code == endpoint.ok

    def test_auditor(self, endpoint, world, finished, client_for):
        assert endpoint.call(client_for(world.auditor), world, finished, {}).status_code == endpoint.auditor

    def test_administrator_gets_403(self, endpoint, world, finished, client_for):
        assert_error(endpoint.call(client_for(world.administrator), world, finished, {}), 403)

    def test_user_without_role_gets_403(self, endpoint, world, finished, client_for):
        assert_error(endpoint.call(client_for(UserFactory()), world, finished, {}), 403)

    def test_revoked_clinic_token_gets_401(self, endpoint, world, finished):
        key = token_for(world, world.clinic_a)
        clinic_api_token_revoke(actor=world.administrator, token_id=ClinicApiToken.objects.get().pk)
        response = endpoint.call(Client(), world, finished, clinic_auth(key))
        assert_error(response, 401)
        assert response["WWW-Authenticate"] == "ClinicToken"


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=lambda e: e.name)
class TestOtherClinic:
    def test_another_clinics_session_gets_404(self, endpoint, world, finished, client_for):
        assert_error(endpoint.call(client_for(world.clinic_b_user), world, finished, {}), 404)

    def test_another_clinics_token_gets_404(self, endpoint, world, finished):
        response = endpoint.call(Client(), world, finished, clinic_auth(token_for(world, world.clinic_b)))
        assert_error(response, 404)


@pytest.mark.parametrize("header", ["ClinicToken", "ClinicToken a b", "ClinicToken kvx_wrong", "clinictoken kvx_x"])
def test_malformed_or_unknown_clinic_tokens_get_401(world, finished, header):
    response = Client().get(LIST_URL, HTTP_AUTHORIZATION=header)
    assert_error(response, 401, "authentication_failed")


# --- create ---------------------------------------------------------------------------------------


class TestCreateWithClinicToken:
    def test_the_tokens_clinic_is_the_imports_clinic(self, world, django_capture_on_commit_callbacks):
        key = token_for(world, world.clinic_a)
        token = ClinicApiToken.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_file(Client(enforce_csrf_checks=True), fresh_file(world, world.clinic_a),
                                 **clinic_auth(key))
        assert response.status_code == 201, response.content
        body = response.json()
        clinic_import = ClinicImport.objects.get(pk=body["id"])
        assert (clinic_import.clinic, clinic_import.source, clinic_import.api_token, clinic_import.uploaded_by) == (
            world.clinic_a, ImportSource.API, token, None)
        assert body["clinic"] == {"code": world.clinic_a.code, "name": world.clinic_a.name}
        assert body["api_token"] == token.prefix and body["uploaded_by"] is None
        assert body["billing_month"] == "2025-11"
        clinic_import.refresh_from_db()
        assert clinic_import.status == ImportStatus.COMMITTED and clinic_import.rows_committed == 2
        assert VaccinationRecord.objects.filter(source_import=clinic_import).count() == 2

    def test_the_use_is_recorded(self, world):
        key = token_for(world, world.clinic_a)
        post_file(Client(), fresh_file(world, world.clinic_a), **clinic_auth(key))
        token = ClinicApiToken.objects.get()
        assert token.last_used_at is not None
        [entry] = AuditLogEntry.objects.filter(event=AuditEvent.API_TOKEN_USED)
        assert entry.additional_data["method"] == "POST" and entry.additional_data["path"] == LIST_URL
        assert key not in str(entry.additional_data)

    def test_naming_its_own_clinic_is_fine(self, world):
        key = token_for(world, world.clinic_a)
        response = post_file(Client(), fresh_file(world, world.clinic_a), clinic=world.clinic_a.code,
                             **clinic_auth(key))
        assert response.status_code == 201

    def test_a_token_of_clinic_a_cannot_import_for_clinic_b(self, world):
        key = token_for(world, world.clinic_a)
        response = post_file(Client(), fresh_file(world, world.clinic_b), clinic=world.clinic_b.code,
                             **clinic_auth(key))
        assert_error(response, 403)
        assert not ClinicImport.objects.exists()
        [denied] = AuditLogEntry.objects.filter(event=AuditEvent.ACCESS_DENIED)
        assert denied.object_pk == str(ClinicApiToken.objects.get().pk) and denied.actor is None

    def test_a_revoked_token_cannot_import(self, world):
        key = token_for(world, world.clinic_a)
        clinic_api_token_revoke(actor=world.administrator, token_id=ClinicApiToken.objects.get().pk)
        assert_error(post_file(Client(), fresh_file(world, world.clinic_a), **clinic_auth(key)), 401)
        assert not ClinicImport.objects.exists()


class TestCreateBySession:
    def test_a_clinic_user_imports_for_its_own_clinic(self, world, client_for):
        response = post_file(client_for(world.clinic_a_user), fresh_file(world, world.clinic_a))
        assert response.status_code == 201
        clinic_import = ClinicImport.objects.get()
        assert (clinic_import.clinic, clinic_import.uploaded_by, clinic_import.source) == (
            world.clinic_a, world.clinic_a_user, ImportSource.API)

    def test_a_clinic_user_cannot_name_another_clinic(self, world, client_for):
        response = post_file(client_for(world.clinic_a_user), fresh_file(world, world.clinic_b),
                             clinic=world.clinic_b.code)
        assert_error(response, 403)
        assert not ClinicImport.objects.exists()

    def test_staff_must_name_a_known_clinic(self, world, client_for):
        client = client_for(world.staff)
        error = assert_error(post_file(client, fresh_file(world, world.clinic_b)), 400, "validation_error")
        assert "clinic" in error["fields"]
        error = assert_error(post_file(client, fresh_file(world, world.clinic_b), clinic="9999999999"), 400)
        assert error["fields"]["clinic"] == ["この医療機関コードは登録されていません。"]
        response = post_file(client, fresh_file(world, world.clinic_b), clinic=world.clinic_b.code)
        assert response.status_code == 201
        assert ClinicImport.objects.get().clinic == world.clinic_b

    def test_a_session_post_needs_the_csrf_token(self, world):
        client = sign_in(Client(enforce_csrf_checks=True), world.clinic_a_user)
        error = assert_error(post_file(client, fresh_file(world, world.clinic_a)), 403)
        assert "CSRF" in error["message"]
        assert not ClinicImport.objects.exists()


class TestRefusals:
    def test_the_same_file_twice_is_409_naming_the_earlier_import(self, world):
        key = token_for(world, world.clinic_a)
        data = fresh_file(world, world.clinic_a)
        first = post_file(Client(), data, **clinic_auth(key)).json()
        error = assert_error(post_file(Client(), data, name="again.csv", **clinic_auth(key)), 409, "duplicate_file")
        assert f"#{first['id']}" in error["message"]
        assert ClinicImport.objects.count() == 1

    def test_a_file_over_the_limit_is_413(self, world, settings):
        settings.IMPORT_MAX_BYTES = 100
        key = token_for(world, world.clinic_a)
        error = assert_error(post_file(Client(), fresh_file(world, world.clinic_a), **clinic_auth(key)), 413,
                             "too_large")
        assert "大きすぎ" in error["message"]

    def test_a_utf16_file_is_400_with_its_reason(self, world):
        key = token_for(world, world.clinic_a)
        data = fresh_file(world, world.clinic_a).decode("utf-8").encode("utf-16")
        error = assert_error(post_file(Client(), data, **clinic_auth(key)), 400, "encoding_utf16")
        assert "UTF-16" in error["message"]

    @pytest.mark.parametrize("month", ["", "2025-13", "令和0年1月"])
    def test_a_bad_billing_month_is_400(self, world, month):
        key = token_for(world, world.clinic_a)
        error = assert_error(post_file(Client(), fresh_file(world, world.clinic_a), billing_month=month,
                                       **clinic_auth(key)), 400, "validation_error")
        assert "billing_month" in error["fields"]

    def test_a_missing_file_is_400(self, world):
        key = token_for(world, world.clinic_a)
        response = Client().post(LIST_URL, {"billing_month": "2025-11"}, **clinic_auth(key))
        assert "file" in assert_error(response, 400)["fields"]

    def test_json_is_not_accepted_for_the_upload(self, world):
        key = token_for(world, world.clinic_a)
        response = Client().post(LIST_URL, {"billing_month": "2025-11"}, content_type="application/json",
                                 **clinic_auth(key))
        assert_error(response, 415)


# --- reads ----------------------------------------------------------------------------------------


def test_detail_reports_status_and_counts(world, finished):
    key = token_for(world, world.clinic_a)
    body = Client().get(reverse("api:import_detail", args=[finished.pk]), **clinic_auth(key)).json()
    assert body["status"] == "committed"
    assert {k: body[k] for k in ("rows_total", "rows_validated", "rows_committed", "rows_duplicate", "rows_error")} == {
        "rows_total": 4, "rows_validated": 4, "rows_committed": 2, "rows_duplicate": 0, "rows_error": 2}
    assert body["sha256"] == finished.sha256 and body["uploaded_by"] == world.staff.username
    assert body["received_at"] and body["started_at"] and body["finished_at"]


def test_errors_list_rows_without_values(world, finished):
    key = token_for(world, world.clinic_a)
    response = Client().get(reverse("api:import_errors", args=[finished.pk]), **clinic_auth(key))
    body = response.json()
    assert body["count"] == len(body["results"]) == finished.row_errors.count()
    assert {(e["row_number"], e["column"]) for e in body["results"]} >= {(4, "個人番号"), (5, "委託料")}
    assert set(body["results"][0]) == {"row_number", "column", "code", "message"}
    text = response.content.decode()
    assert world.people[2].my_number[:11] not in text and "HYPERLINK" not in text


def test_errors_are_paginated(world, finished, client_for):
    body = client_for(world.staff).get(reverse("api:import_errors", args=[finished.pk]), {"limit": 1}).json()
    assert body["count"] >= 2 and len(body["results"]) == 1 and body["next"]


def test_the_list_is_scoped_to_the_tokens_clinic(world, finished):
    other = import_with_errors(world, clinic=world.clinic_b)
    key_a = token_for(world, world.clinic_a)
    key_b = token_for(world, world.clinic_b)
    ids_a = [r["id"] for r in Client().get(LIST_URL, **clinic_auth(key_a)).json()["results"]]
    ids_b = [r["id"] for r in Client().get(LIST_URL, **clinic_auth(key_b)).json()["results"]]
    assert ids_a == [finished.pk] and ids_b == [other.pk]


def test_a_clinic_token_reaches_nothing_but_imports(world, finished):
    key = token_for(world, world.clinic_a)
    resident = world.people[0].resident
    assert_error(Client().get(reverse("api:resident_detail", args=[resident.pk]), **clinic_auth(key)), 401)


@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC])
def test_an_unsupported_method_is_405(world, client_for, role):
    user = world.staff if role == Role.STAFF else world.clinic_a_user
    response = client_for(user).delete(LIST_URL)
    assert response.status_code == 405
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "POST", "OPTIONS"}
