"""Revealing a My Number (issue #4, "Every access recorded"): an explicit POST that asks for a reason,
shows the number once (never in a URL, never cached), and records the reveal and its read access with
the reason, in one transaction. Only staff may; everyone else gets 403 and a recorded denial."""

import json

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from records.models import Resident
from records.permissions import REVEAL_MY_NUMBER
from records.rules.mynumber import mask_my_number
from records.services import my_number_reveal
from tests.factories import ClinicFactory, ResidentFactory, UserFactory, new_my_number

pytestmark = pytest.mark.django_db

PURPOSE = "本人確認のため"
ADDR = "192.0.2.44"


@pytest.fixture
def my_number() -> str:
    return new_my_number()


@pytest.fixture
def resident(my_number) -> Resident:
    return ResidentFactory(name="表示 太郎", name_kana="ヒョウジ　タロウ", my_number=my_number)


def page_url(resident: Resident) -> str:
    return reverse("records:my_number_reveal", args=[resident.pk])


def api_url(resident: Resident) -> str:
    return reverse("api:resident_my_number", args=[resident.pk])


def reveal(client: Client, resident: Resident, purpose: str | None = PURPOSE):
    data = {} if purpose is None else {"purpose": purpose}
    return client.post(page_url(resident), data, REMOTE_ADDR=ADDR)


def api_reveal(client: Client, resident: Resident, body: dict | None = None, **extra):
    body = {"purpose": PURPOSE} if body is None else body
    return client.post(api_url(resident), data=json.dumps(body), content_type="application/json",
                       REMOTE_ADDR=ADDR, **extra)


def revealed_events() -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=AuditEvent.MY_NUMBER_REVEALED).order_by("seq"))


def access_entries(resident: Resident) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(
        action=AuditLogEntry.Action.ACCESS, content_type=ContentType.objects.get_for_model(Resident),
        object_pk=str(resident.pk),
    ).order_by("seq"))


def denials() -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=AuditEvent.ACCESS_DENIED).order_by("seq"))


def log_text() -> str:
    return json.dumps([[e.object_repr, e.changes, e.changes_text, e.additional_data]
                       for e in AuditLogEntry.objects.all()], ensure_ascii=False)


class TestPage:
    def test_the_resident_page_offers_the_reveal_as_a_post_form(self, staff_client, resident, my_number):
        html = staff_client.get(reverse("records:resident_detail", args=[resident.pk])).content.decode()
        assert f'<form method="post" action="{page_url(resident)}"' in html
        assert 'name="purpose"' in html and "個人番号を表示" in html
        assert my_number not in html
        assert mask_my_number(my_number) in html

    def test_no_reveal_form_for_a_resident_without_a_my_number(self, staff_client):
        nobody = ResidentFactory(my_number=None)
        html = staff_client.get(reverse("records:resident_detail", args=[nobody.pk])).content.decode()
        assert page_url(nobody) not in html

    def test_the_reveal_shows_the_number_once_uncached_and_records_it(self, staff_client, staff_user, resident,
                                                                       my_number):
        response = reveal(staff_client, resident)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.count(my_number) == 1
        assert PURPOSE in html
        assert "no-store" in response["Cache-Control"]
        assert not response.has_header("Location")
        # The number is in neither the request line nor anything the browser keeps as a URL.
        assert my_number not in response.wsgi_request.get_full_path()

        [event] = revealed_events()
        assert (event.actor, event.object_pk, event.remote_addr) == (staff_user, str(resident.pk), ADDR)
        assert event.additional_data == {"view": "records:my_number_reveal", "purpose": PURPOSE}
        [access] = access_entries(resident)
        assert access.actor == staff_user
        assert access.remote_addr == ADDR
        assert access.additional_data == {"view": "records:my_number_reveal", "permission": REVEAL_MY_NUMBER,
                                          "purpose": PURPOSE}
        assert my_number not in log_text()

    def test_afterwards_the_pages_show_it_masked_again(self, staff_client, resident, my_number):
        assert my_number in reveal(staff_client, resident).content.decode()
        for url in (reverse("records:resident_detail", args=[resident.pk]), page_url(resident)):
            html = staff_client.get(url).content.decode()
            assert my_number not in html
            assert mask_my_number(my_number) in html

    @pytest.mark.parametrize("purpose", [None, "", "   \u3000 "])
    def test_a_reason_is_required(self, staff_client, resident, my_number, purpose):
        response = reveal(staff_client, resident, purpose)
        assert response.status_code == 200
        html = response.content.decode()
        assert my_number not in html
        assert response.context["form"].errors["purpose"]
        assert revealed_events() == []
        # The form page shown again is an ordinary (masked) access, without a purpose.
        [access] = access_entries(resident)
        assert "purpose" not in access.additional_data

    def test_an_overlong_reason_is_refused(self, staff_client, resident, my_number):
        response = reveal(staff_client, resident, "理" * 201)
        assert my_number not in response.content.decode()
        assert response.context["form"].errors["purpose"]
        assert revealed_events() == []

    @pytest.mark.parametrize("shape", ["plain", "spaced", "hyphenated", "full_width"])
    def test_a_reason_holding_a_my_number_is_refused_and_never_logged(self, staff_client, resident, my_number,
                                                                      shape):
        typed = {
            "plain": my_number,
            "spaced": f"{my_number[:4]} {my_number[4:8]} {my_number[8:]}",
            "hyphenated": f"{my_number[:4]}-{my_number[4:8]}-{my_number[8:]}",
            "full_width": my_number.translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        }[shape]
        response = reveal(staff_client, resident, f"{typed}の本人確認")
        assert response.status_code == 200
        assert my_number not in response.content.decode()
        assert typed not in response.content.decode()  # the refused reason is not echoed back
        assert "12桁の数字" in str(response.context["form"].errors["purpose"])
        assert revealed_events() == []
        assert my_number not in log_text() and typed not in log_text()

    def test_a_reason_with_a_date_or_a_reference_number_is_fine(self, staff_client, resident, my_number):
        purpose = "2025-04-01 受付 第20250401号 本人確認のため"
        assert my_number in reveal(staff_client, resident, purpose).content.decode()
        assert revealed_events()[0].additional_data["purpose"] == purpose

    def test_a_resident_without_a_my_number_has_nothing_to_reveal(self, staff_client):
        nobody = ResidentFactory(my_number=None)
        response = reveal(staff_client, nobody)
        assert response.status_code == 200
        assert "個人番号が登録されていません" in response.content.decode()
        assert revealed_events() == []

    def test_an_unknown_resident_is_404(self, staff_client, resident):
        response = staff_client.post(reverse("records:my_number_reveal", args=[resident.pk + 1000]),
                                     {"purpose": PURPOSE})
        assert response.status_code == 404
        assert revealed_events() == []

    @pytest.mark.parametrize("role", [Role.CLINIC, Role.AUDITOR, Role.ADMINISTRATOR])
    def test_other_roles_get_403_and_a_recorded_denial(self, client_for, resident, my_number, role):
        user = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
        client = client_for(user)
        for method in ("get", "post"):
            response = getattr(client, method)(page_url(resident), {"purpose": PURPOSE}, REMOTE_ADDR=ADDR)
            assert response.status_code == 403
            assert my_number not in response.content.decode()
        assert [(d.actor, d.additional_data["view"], d.additional_data["method"], d.remote_addr)
                for d in denials()] == [
            (user, "records:my_number_reveal", "GET", ADDR), (user, "records:my_number_reveal", "POST", ADDR),
        ]
        assert all(d.additional_data["permission"] == REVEAL_MY_NUMBER for d in denials())
        assert revealed_events() == [] and access_entries(resident) == []

    def test_before_the_second_factor_the_page_sends_to_otp(self, client_for, staff_user, resident, my_number):
        response = reveal(client_for(staff_user, verified=False), resident)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:otp_verify"))
        assert my_number not in response["Location"]
        assert revealed_events() == [] and denials() == []


class TestApi:
    def test_staff_gets_the_number_uncached_and_it_is_recorded(self, staff_client, staff_user, resident, my_number):
        response = api_reveal(staff_client, resident)
        assert response.status_code == 200
        assert response.json() == {"my_number": my_number}
        assert "no-store" in response["Cache-Control"]
        [event] = revealed_events()
        assert event.actor == staff_user and event.additional_data["purpose"] == PURPOSE
        [access] = access_entries(resident)
        assert access.additional_data == {"view": "api:resident_my_number", "permission": REVEAL_MY_NUMBER,
                                          "purpose": PURPOSE}
        assert access.remote_addr == ADDR

    def test_a_staff_token_works(self, staff_user, resident, my_number):
        token = Token.objects.create(user=staff_user)
        response = api_reveal(Client(enforce_csrf_checks=True), resident,
                              HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.json() == {"my_number": my_number}
        assert revealed_events()[0].actor == staff_user

    @pytest.mark.parametrize(
        ("body", "field"),
        [({}, "purpose"), ({"purpose": ""}, "purpose"), ({"purpose": "   "}, "purpose"),
         ({"purpose": "理" * 201}, "purpose"), ({"purpose": PURPOSE, "extra": 1}, "non_field_errors")],
    )
    def test_a_reason_is_required(self, staff_client, resident, my_number, body, field):
        response = api_reveal(staff_client, resident, body)
        assert response.status_code == 400
        assert field in response.json()["error"]["fields"]
        assert my_number not in response.content.decode()
        assert revealed_events() == [] and access_entries(resident) == []

    def test_a_reason_holding_a_my_number_is_refused(self, staff_client, resident, my_number):
        response = api_reveal(staff_client, resident, {"purpose": f"番号 {my_number}"})
        assert response.status_code == 400
        assert "purpose" in response.json()["error"]["fields"]
        assert my_number not in response.content.decode()
        assert my_number not in log_text()

    def test_get_is_not_allowed(self, staff_client, resident, my_number):
        response = staff_client.get(api_url(resident))
        assert response.status_code == 405
        assert my_number not in response.content.decode()

    @pytest.mark.parametrize("role", [Role.CLINIC, Role.AUDITOR, Role.ADMINISTRATOR])
    def test_other_roles_get_403_and_a_recorded_denial(self, client_for, resident, my_number, role):
        user = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
        response = api_reveal(client_for(user), resident)
        assert response.status_code == 403
        assert my_number not in response.content.decode()
        [denial] = denials()
        assert denial.actor == user
        assert denial.additional_data == {"view": "api:resident_my_number", "method": "POST", "status": 403,
                                          "permission": REVEAL_MY_NUMBER, "object_ids": {"pk": resident.pk}}
        assert denial.remote_addr == ADDR
        assert revealed_events() == []

    def test_a_session_without_the_second_factor_is_refused_and_recorded(self, client_for, staff_user, resident):
        response = api_reveal(client_for(staff_user, verified=False), resident)
        assert response.status_code == 403
        assert [d.actor for d in denials()] == [staff_user]
        assert revealed_events() == []

    def test_anonymous_gets_401_and_no_denial_entry(self, resident):
        assert api_reveal(Client(), resident).status_code == 401
        assert denials() == [] and revealed_events() == []

    def test_the_schema_documents_the_operation(self, staff_client):
        schema = staff_client.get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
        operation = schema["paths"]["/api/v1/residents/{id}/my-number/"]["post"]
        assert operation["operationId"] == "resident_my_number_reveal"
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert schema["components"]["schemas"][body]["required"] == ["purpose"]
        assert {"200", "400", "401", "403", "404"} <= set(operation["responses"])


class TestService:
    def test_it_needs_the_permission_and_writes_nothing_without_it(self, resident, clinic_user, auditor_user,
                                                                   admin_user):
        for user in (clinic_user, auditor_user, admin_user):
            with pytest.raises(PermissionDenied):
                my_number_reveal(actor=user, resident=resident, purpose=PURPOSE)
        assert revealed_events() == [] and access_entries(resident) == []

    def test_the_event_and_the_access_entry_are_one_transaction(self, staff_user, resident, monkeypatch):
        def failing(**kwargs):
            raise RuntimeError("audit store unavailable")

        monkeypatch.setattr("records.services.audit_access_record", failing)
        with pytest.raises(RuntimeError):
            my_number_reveal(actor=staff_user, resident=resident, purpose=PURPOSE)
        assert revealed_events() == []

    def test_it_returns_the_number_and_names_the_caller(self, staff_user, resident, my_number):
        assert my_number_reveal(actor=staff_user, resident=resident, purpose=f" {PURPOSE} ",
                                view="api:resident_my_number") == my_number
        [event] = revealed_events()
        assert event.additional_data == {"view": "api:resident_my_number", "purpose": PURPOSE}

    def test_the_reason_is_checked_before_anything_is_written(self, staff_user, resident):
        with pytest.raises(ValidationError) as error:
            my_number_reveal(actor=staff_user, resident=resident, purpose=" ")
        assert error.value.error_dict["purpose"]
        assert revealed_events() == [] and access_entries(resident) == []
