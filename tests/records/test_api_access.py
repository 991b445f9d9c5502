"""Who may call which API endpoint, by which means (session with both factors, token), and that session
writes need a CSRF token. Every endpoint gets the full matrix: anonymous, signed in without the second
factor, and each role."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import User
from accounts.roles import Role
from records.models import VaccinationRecord
from tests.conftest import sign_in
from tests.factories import (
    ClinicFactory,
    ResidentFactory,
    UserFactory,
    VaccinationRecordFactory,
    VaccineFactory,
    new_my_number,
)


@dataclass(frozen=True)
class World:
    resident_pk: int
    record_pk: int
    my_number: str
    clinic_code: str
    vaccine_code: str


@pytest.fixture
def world(db) -> World:
    my_number = new_my_number()
    resident = ResidentFactory(name_kana="アクセス　タロウ", birth_date=date(1960, 4, 1), my_number=my_number)
    record = VaccinationRecordFactory(resident=resident, vaccinated_on=date(2025, 11, 10))
    return World(
        resident_pk=resident.pk, record_pk=record.pk, my_number=my_number,
        clinic_code=ClinicFactory().code, vaccine_code=VaccineFactory().code,
    )


def new_record_body(world: World) -> dict[str, Any]:
    """A valid record for the world's resident (born 1960-04-01) on a day not yet recorded."""
    return {
        "vaccinated_on": "2025-12-01", "clinic": world.clinic_code, "age_at_vaccination": 65,
        "billing_month": "2025-12", "examination_category": 1, "lot_number": "AB12-345",
        "vaccine": world.vaccine_code, "screening_doctor": "予診 一郎", "vaccinating_doctor": "接種 次郎",
        "payment_category": 1, "fee_yen": 3520, "dose_ml": "0.50",
    }


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[World], str]
    body: Callable[[World], dict[str, Any]] | None
    ok: int
    administrator_ok: bool = False  # administrators read the API docs, but never residents


ENDPOINTS = [
    Endpoint("schema", "get", lambda w: reverse("api:schema"), None, 200, administrator_ok=True),
    Endpoint("docs", "get", lambda w: reverse("api:docs"), None, 200, administrator_ok=True),
    Endpoint("resident_detail", "get", lambda w: reverse("api:resident_detail", args=[w.resident_pk]),
             None, 200),
    Endpoint("resident_search", "post", lambda w: reverse("api:resident_search"),
             lambda w: {"kana": "アクセス"}, 200),
    Endpoint("record_list", "get", lambda w: reverse("api:resident_records", args=[w.resident_pk]),
             None, 200),
    Endpoint("record_create", "post", lambda w: reverse("api:resident_records", args=[w.resident_pk]),
             new_record_body, 201),
    Endpoint("record_detail", "get", lambda w: reverse("api:record_detail", args=[w.record_pk]), None, 200),
    Endpoint("record_update", "patch", lambda w: reverse("api:record_detail", args=[w.record_pk]),
             lambda w: {"remarks1": "訂正"}, 200),
]
RESIDENT_ENDPOINTS = [e for e in ENDPOINTS if not e.administrator_ok]


def call(client: Client, endpoint: Endpoint, world: World, **extra: Any) -> Any:
    url = endpoint.url(world)
    if endpoint.body is None:
        return getattr(client, endpoint.method)(url, **extra)
    return getattr(client, endpoint.method)(
        url, data=json.dumps(endpoint.body(world)), content_type="application/json", **extra
    )


def user_with_role(role: Role) -> User:
    return UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)


def assert_error_shape(response: Any) -> None:
    if response["Content-Type"].startswith("application/json"):
        error = response.json()["error"]
        assert set(error) == {"code", "message", "fields"}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
class TestPermissionMatrix:
    def test_anonymous_gets_401_with_a_token_challenge(self, endpoint, world):
        response = call(Client(), endpoint, world)
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert_error_shape(response)

    def test_signed_in_without_second_factor_gets_403(self, endpoint, world, staff_user, client_for):
        response = call(client_for(staff_user, verified=False), endpoint, world)
        assert response.status_code == 403
        assert_error_shape(response)

    def test_staff_is_allowed(self, endpoint, world, staff_user, client_for):
        response = call(client_for(staff_user), endpoint, world)
        assert response.status_code == endpoint.ok, response.content

    @pytest.mark.parametrize("role", [Role.CLINIC, Role.AUDITOR])
    def test_clinic_and_auditor_get_403(self, endpoint, world, client_for, role):
        response = call(client_for(user_with_role(role)), endpoint, world)
        assert response.status_code == 403
        assert_error_shape(response)

    def test_administrator(self, endpoint, world, admin_user, client_for):
        response = call(client_for(admin_user), endpoint, world)
        assert response.status_code == (endpoint.ok if endpoint.administrator_ok else 403)

    def test_user_without_role_gets_403(self, endpoint, world, client_for):
        response = call(client_for(UserFactory()), endpoint, world)
        assert response.status_code == 403


@pytest.mark.parametrize("endpoint", RESIDENT_ENDPOINTS, ids=lambda e: e.name)
def test_the_full_my_number_is_in_no_response_body(endpoint, world, staff_user, client_for):
    response = call(client_for(staff_user), endpoint, world)
    assert response.status_code == endpoint.ok
    assert world.my_number not in response.content.decode()


def test_search_by_my_number_answers_without_the_number(world, staff_client):
    response = staff_client.post(reverse("api:resident_search"), data={"my_number": world.my_number},
                                 content_type="application/json")
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert world.my_number not in response.content.decode()


class TestTokenAuthentication:
    @pytest.mark.parametrize("endpoint", RESIDENT_ENDPOINTS, ids=lambda e: e.name)
    def test_a_staff_token_works_without_session_or_csrf(self, endpoint, world, staff_user):
        token = Token.objects.create(user=staff_user)
        client = Client(enforce_csrf_checks=True)
        response = call(client, endpoint, world, HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == endpoint.ok, response.content

    def test_a_record_created_with_a_token_names_the_token_user(self, world, staff_user):
        token = Token.objects.create(user=staff_user)
        response = Client().post(
            reverse("api:resident_records", args=[world.resident_pk]), data=new_record_body(world),
            content_type="application/json", HTTP_AUTHORIZATION=f"Token {token.key}",
        )
        assert response.status_code == 201
        record = VaccinationRecord.objects.get(pk=response.json()["id"])
        assert record.created_by == staff_user
        assert response.json()["created_by"] == staff_user.username

    @pytest.mark.parametrize("role", [Role.CLINIC, Role.AUDITOR, Role.ADMINISTRATOR])
    def test_tokens_of_other_roles_get_403(self, world, role):
        token = Token.objects.create(user=user_with_role(role))
        response = Client().get(reverse("api:resident_detail", args=[world.resident_pk]),
                                HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == 403

    def test_an_unknown_token_gets_401(self, world):
        response = Client().get(reverse("api:resident_detail", args=[world.resident_pk]),
                                HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert response.json()["error"]["code"] == "authentication_failed"

    def test_a_token_of_an_inactive_user_gets_401(self, world, staff_user):
        token = Token.objects.create(user=staff_user)
        staff_user.is_active = False
        staff_user.save()
        response = Client().get(reverse("api:resident_detail", args=[world.resident_pk]),
                                HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == 401


WRITE_ENDPOINTS = [e for e in ENDPOINTS if e.method != "get"]


class TestCsrfOnSessionWrites:
    @pytest.fixture
    def csrf_client(self, staff_user) -> Client:
        return sign_in(Client(enforce_csrf_checks=True), staff_user)

    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=lambda e: e.name)
    def test_refused_without_the_csrf_token(self, endpoint, world, csrf_client):
        before = list(VaccinationRecord.objects.values_list("pk", "remarks1"))
        response = call(csrf_client, endpoint, world)
        assert response.status_code == 403
        assert "CSRF" in response.json()["error"]["message"]
        assert list(VaccinationRecord.objects.values_list("pk", "remarks1")) == before

    @pytest.mark.parametrize("endpoint", WRITE_ENDPOINTS, ids=lambda e: e.name)
    def test_accepted_with_the_token_the_docs_page_hands_out(self, endpoint, world, csrf_client):
        # The Swagger UI page sets the CSRF cookie and sends the token in the header, as a browser would.
        assert csrf_client.get(reverse("api:docs")).status_code == 200
        csrf_token = csrf_client.cookies["csrftoken"].value
        response = call(csrf_client, endpoint, world, HTTP_X_CSRFTOKEN=csrf_token)
        assert response.status_code == endpoint.ok, response.content


class TestMethodRouting:
    def test_an_unsupported_method_is_405_listing_every_operation(self, world, staff_client):
        response = staff_client.delete(reverse("api:record_detail", args=[world.record_pk]))
        assert response.status_code == 405
        assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "PATCH", "OPTIONS"}
        assert VaccinationRecord.objects.filter(pk=world.record_pk).exists()

    def test_each_method_reaches_its_own_operation_and_permission(self, world, client_for):
        # A user who may read records but not add them: GET passes, POST on the same URL is refused.
        from django.contrib.auth.models import Permission

        reader = UserFactory()
        reader.user_permissions.add(
            Permission.objects.get(content_type__app_label="records", codename="view_resident"),
            Permission.objects.get(content_type__app_label="records", codename="view_vaccinationrecord"),
        )
        client = client_for(reader)
        url = reverse("api:resident_records", args=[world.resident_pk])
        assert client.get(url).status_code == 200
        response = client.post(url, data=new_record_body(world), content_type="application/json")
        assert response.status_code == 403

    def test_search_is_not_reachable_by_get(self, world, staff_client):
        assert staff_client.get(reverse("api:resident_search"), {"kana": "アクセス"}).status_code == 405

    def test_form_encoded_bodies_are_refused(self, world, staff_client):
        response = staff_client.post(reverse("api:resident_search"), data={"kana": "アクセス"})
        assert response.status_code == 415
