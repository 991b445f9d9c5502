"""The administrator's desk through its pages: who reaches it, every action as a POST with its request
reference, the confirmation step, and acceptance 4 of issue #4 — a deactivated user's open session stops
working on its next request."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccessReview, RoleGrant, User
from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import current_code, enrol_totp, issue_backup_codes, password_step
from tests.accounts.factories import RoleGrantFactory, events_since, last_seq, reference_post
from tests.factories import ClinicFactory, UserFactory

E = AuditEvent
LOGIN_PATH = resolve_url(settings.LOGIN_URL)


def url(name: str, *args: int) -> str:
    return reverse(f"manage:{name}", args=args)


@pytest.fixture
def admin_client(admin_user, client_for) -> Client:
    return client_for(admin_user)


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


# --- who reaches the desk -------------------------------------------------------------------------

PAGES = ["user_list", "user_create", "access_review", "export"]
USER_PAGES = ["user_detail", "user_deactivate", "user_reactivate", "otp_reset", "role_grant", "role_revoke"]


@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR])
def test_other_roles_are_refused_everywhere(role, client_for, staff_user):
    user = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
    client = client_for(user)
    paths = [url(name) for name in PAGES] + [url(name, staff_user.pk) for name in USER_PAGES]
    seq = last_seq()
    for path in paths:
        assert client.get(path).status_code == 403, path
        assert client.post(path, reference_post()).status_code == 403, path
    assert fresh(staff_user).is_active is True
    assert not set(events_since(seq)) & {E.USER_DEACTIVATED, E.USER_REACTIVATED, E.ROLE_GRANTED, E.ROLE_REVOKED,
                                         E.OTP_DEVICE_RESET, E.ACCESS_REVIEWED, E.EXPORT_MADE, E.USER_CREATED}


@pytest.mark.parametrize("name", PAGES)
def test_administrator_reaches_the_pages_uncached(name, admin_client):
    response = admin_client.get(url(name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "利用者一覧" in response.content.decode()  # the desk's menu


def test_the_menu_links_the_desk_for_administrators_only(admin_client, staff_client):
    assert url("user_list") in admin_client.get(url("user_list")).content.decode()
    assert url("user_list") not in staff_client.get(reverse("records:resident_search")).content.decode()


def test_user_list_filters(admin_client, admin_user, staff_user, clinic_user):
    retired = UserFactory(username="retired1", with_role=Role.STAFF, is_active=False)
    body = admin_client.get(url("user_list")).content.decode()
    for user in (admin_user, staff_user, clinic_user, retired):
        assert user.username in body
    body = admin_client.get(url("user_list"), {"role": "staff", "active": "1"}).content.decode()
    assert staff_user.username in body
    assert retired.username not in body and clinic_user.username not in body
    body = admin_client.get(url("user_list"), {"active": "0"}).content.decode()
    assert retired.username in body and staff_user.username not in body
    body = admin_client.get(url("user_list"), {"q": "clinic"}).content.decode()
    assert clinic_user.username in body and staff_user.username not in body


def test_user_detail_shows_role_request_and_history(admin_client, admin_user, staff_user):
    RoleGrantFactory(user=staff_user, role="staff", reference_number="越健推第55号", performed_by=admin_user)
    response = admin_client.get(url("user_detail", staff_user.pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "越健推第55号" in body
    assert url("user_deactivate", staff_user.pk) in body
    assert response.context["current_grant"].reference_number == "越健推第55号"


def test_unknown_user_is_404(admin_client):
    assert admin_client.get(url("user_detail", 999999)).status_code == 404
    assert admin_client.post(url("user_reactivate", 999999), reference_post("reactivate")).status_code == 404


def test_actions_are_post_only(admin_client, staff_user):
    for name in ("user_reactivate", "otp_reset", "role_grant", "role_revoke"):
        assert admin_client.get(url(name, staff_user.pk)).status_code == 405


# --- create ---------------------------------------------------------------------------------------


def test_create_shows_the_initial_password_once_and_the_user_must_enrol(admin_client):
    clinic = ClinicFactory()
    seq = last_seq()
    response = admin_client.post(url("user_create"), {
        "username": "suzuki", "last_name": "鈴木", "first_name": "花子", "email": "",
        "role": "clinic", "clinic": str(clinic.pk), **reference_post(reference_number="越健推第200号"),
    })
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    password = response.context["initial_password"]
    assert password in response.content.decode()
    user = User.objects.get(username="suzuki")
    assert (user.role, user.clinic, user.last_name) == (Role.CLINIC, clinic, "鈴木")
    assert events_since(seq) == [E.USER_CREATED, E.ROLE_GRANTED]
    # shown once: the user's page does not have it
    assert password not in admin_client.get(url("user_detail", user.pk)).content.decode()
    # the new user signs in with it and is sent to enrol an authenticator first
    client = Client()
    first = password_step(client, "suzuki", password=password)
    assert first.status_code == 302
    assert first["Location"] == reverse("accounts:otp_setup")
    assert client.get(reverse("accounts:home"))["Location"] == reverse("accounts:otp_verify")


@pytest.mark.parametrize("missing", ["requesting_division", "reference_number"])
def test_create_requires_the_request_reference(admin_client, missing):
    seq = last_seq()
    data = {"username": "nobody", "last_name": "無", "role": "staff", **reference_post()}
    data[missing] = ""
    response = admin_client.post(url("user_create"), data)
    assert response.status_code == 200
    assert response.context["form"].errors[missing]
    assert "initial_password" not in response.context
    assert not User.objects.filter(username="nobody").exists()
    assert events_since(seq) == []


def test_create_clinic_user_without_clinic_is_refused(admin_client):
    response = admin_client.post(url("user_create"), {
        "username": "noclinic", "last_name": "無", "role": "clinic", **reference_post()})
    assert response.context["form"].errors["clinic"]
    assert not User.objects.filter(username="noclinic").exists()


# --- deactivation: confirmation step and acceptance 4 -----------------------------------------------


def test_deactivation_has_a_confirmation_step(admin_client, staff_user):
    seq = last_seq()
    page = admin_client.get(url("user_deactivate", staff_user.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "停止する" in body and 'method="post"' in body
    assert fresh(staff_user).is_active is True  # the GET changed nothing
    assert events_since(seq) == []


def test_deactivated_users_open_session_stops_working_on_its_next_request(staff_user, admin_user, client_for):
    """Acceptance 4: sign in a client, deactivate through the desk from another client; the first
    client's next request is sent to sign-in and its session row is gone."""
    victim = client_for(staff_user)
    search = reverse("records:resident_search")
    assert victim.get(search).status_code == 200
    key = victim.session.session_key
    assert Session.objects.filter(session_key=key).exists()

    admin = client_for(admin_user)
    seq = last_seq()
    response = admin.post(url("user_deactivate", staff_user.pk), reference_post(reference_number="越総人第3号"))
    assert response.status_code == 302
    assert response["Location"] == url("user_detail", staff_user.pk)
    assert events_since(seq) == [E.USER_DEACTIVATED]
    assert not Session.objects.filter(session_key=key).exists()

    response = victim.get(search)
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == LOGIN_PATH
    assert not Session.objects.filter(session_key=key).exists()
    assert admin.get(url("user_list")).status_code == 200  # the administrator's own session is untouched


def test_a_session_signed_in_through_the_real_flow_is_ended_too(staff_user, admin_client):
    """The key changes at the second factor (no fixation); the new key is the one that must end."""
    device = enrol_totp(staff_user)
    victim = Client()
    assert password_step(victim, staff_user.username).status_code == 302
    first_key = victim.session.session_key
    response = victim.post(reverse("accounts:otp_verify"), {"otp_token": current_code(device)})
    assert response.status_code == 302
    key = victim.session.session_key
    assert key != first_key
    assert victim.get(reverse("records:resident_search")).status_code == 200

    admin_client.post(url("user_deactivate", staff_user.pk), reference_post())
    assert not Session.objects.filter(session_key=key).exists()
    response = victim.get(reverse("records:resident_search"))
    assert urlsplit(response["Location"]).path == LOGIN_PATH


def test_sign_out_forgets_the_session_record(staff_user, client_for):
    from accounts.models import UserSession

    client = client_for(staff_user)
    key = client.session.session_key
    assert UserSession.objects.filter(user=staff_user, session_key=key).exists()
    client.post(reverse("accounts:logout"))
    assert not UserSession.objects.filter(session_key=key).exists()


def test_deactivation_without_reference_changes_nothing(admin_client, staff_user, client_for):
    victim = client_for(staff_user)
    seq = last_seq()
    response = admin_client.post(url("user_deactivate", staff_user.pk), reference_post(reference_number=""))
    assert response.status_code == 200
    assert response.context["form"].errors["reference_number"]
    assert fresh(staff_user).is_active is True
    assert victim.get(reverse("records:resident_search")).status_code == 200
    assert events_since(seq) == []


def test_an_administrator_cannot_deactivate_themselves_on_the_desk(admin_client, admin_user):
    UserFactory(with_role=Role.ADMINISTRATOR)
    page = admin_client.get(url("user_deactivate", admin_user.pk))
    assert "自分自身を停止することはできません" in page.content.decode()
    seq = last_seq()
    response = admin_client.post(url("user_deactivate", admin_user.pk), reference_post())
    assert response.status_code == 200
    assert "自分自身を停止することはできません" in response.content.decode()
    assert fresh(admin_user).is_active is True
    assert events_since(seq) == []


def test_reactivate_on_the_desk(admin_client, staff_user):
    admin_client.post(url("user_deactivate", staff_user.pk), reference_post())
    seq = last_seq()
    response = admin_client.post(url("user_reactivate", staff_user.pk), reference_post("reactivate"))
    assert response.status_code == 302
    assert fresh(staff_user).is_active is True
    assert events_since(seq) == [E.USER_REACTIVATED]


# --- roles and second factor on the desk ------------------------------------------------------------


def test_grant_and_revoke_on_the_desk(admin_client, staff_user, client_for):
    seq = last_seq()
    response = admin_client.post(url("role_grant", staff_user.pk), {
        "grant-role": "auditor", "grant-clinic": "", **reference_post("grant", reference_number="R-20")})
    assert response.status_code == 302
    assert fresh(staff_user).role == Role.AUDITOR
    assert events_since(seq) == [E.ROLE_REVOKED, E.ROLE_GRANTED]

    seq = last_seq()
    response = admin_client.post(url("role_revoke", staff_user.pk), reference_post("revoke", reference_number="R-21"))
    assert response.status_code == 302
    assert fresh(staff_user).role is None
    assert events_since(seq) == [E.ROLE_REVOKED]
    assert RoleGrant.objects.filter(user=staff_user, reference_number="R-21", action="revoked").exists()
    # without a role, nothing is reachable
    assert client_for(staff_user).get(reverse("records:resident_search")).status_code == 403


def test_grant_errors_come_back_on_the_user_page(admin_client, staff_user):
    seq = last_seq()
    response = admin_client.post(url("role_grant", staff_user.pk), {
        "grant-role": "clinic", "grant-clinic": "", **reference_post("grant", reference_number="")})
    assert response.status_code == 200
    form = response.context["grant_form"]
    assert form.errors["clinic"] and form.errors["reference_number"]
    assert fresh(staff_user).role == Role.STAFF
    assert events_since(seq) == []


def test_own_administrator_role_cannot_be_revoked_on_the_desk(admin_client, admin_user):
    UserFactory(with_role=Role.ADMINISTRATOR)
    seq = last_seq()
    response = admin_client.post(url("role_revoke", admin_user.pk), reference_post("revoke"))
    assert response.status_code == 200
    assert "自分自身の管理者権限は取り消せません" in response.content.decode()
    assert fresh(admin_user).role == Role.ADMINISTRATOR
    assert events_since(seq) == []


def test_otp_reset_forces_re_enrolment(admin_client, staff_user, client_for):
    enrol_totp(staff_user)
    issue_backup_codes(staff_user)
    open_session = client_for(staff_user)
    seq = last_seq()
    response = admin_client.post(url("otp_reset", staff_user.pk), reference_post("otp", reference_number="R-30"))
    assert response.status_code == 302
    assert events_since(seq) == [E.OTP_DEVICE_RESET]
    assert not TOTPDevice.objects.filter(user=staff_user).exists()
    # the open session ended; the next sign-in goes straight to enrolment
    assert urlsplit(open_session.get(reverse("records:resident_search"))["Location"]).path == LOGIN_PATH
    client = Client()
    response = password_step(client, staff_user.username)
    assert response["Location"] == reverse("accounts:otp_setup")
    assert client.get(reverse("records:resident_search"))["Location"] == reverse("accounts:otp_verify")


def test_otp_reset_requires_the_reference(admin_client, staff_user):
    enrol_totp(staff_user)
    response = admin_client.post(url("otp_reset", staff_user.pk), reference_post("otp", requesting_division=""))
    assert response.status_code == 200
    assert response.context["otp_form"].errors["requesting_division"]
    assert TOTPDevice.objects.filter(user=staff_user).exists()


# --- access review ---------------------------------------------------------------------------------


def test_access_review_page_lists_users_with_their_grant(admin_client, admin_user, staff_user):
    RoleGrantFactory(user=staff_user, role="staff", reference_number="越健推第77号", performed_by=admin_user)
    response = admin_client.get(url("access_review"))
    body = response.content.decode()
    assert "越健推第77号" in body
    assert staff_user.username in body and admin_user.username in body
    assert "未確認" in body


def test_mark_one_user_reviewed(admin_client, admin_user, staff_user):
    seq = last_seq()
    response = admin_client.post(url("access_review"), {"user": str(staff_user.pk), "note": ""})
    assert response.status_code == 302
    review = AccessReview.objects.get()
    assert list(review.users.all()) == [staff_user]
    assert review.reviewer == admin_user
    assert events_since(seq) == [E.ACCESS_REVIEWED]
    row = {r.user.pk: r for r in admin_client.get(url("access_review")).context["rows"]}
    assert row[staff_user.pk].last_reviewed_at == review.created_at
    assert row[admin_user.pk].last_reviewed_at is None


def test_mark_everyone_shown_reviewed_keeps_the_filter(admin_client, admin_user, staff_user, clinic_user):
    other_staff = UserFactory(with_role=Role.STAFF)
    page = admin_client.get(url("access_review"), {"role": "staff"})
    shown = [row.user.pk for row in page.context["rows"]]
    assert sorted(shown) == sorted([staff_user.pk, other_staff.pk])
    target = url("access_review") + "?role=staff"
    response = admin_client.post(target, {"everyone": "1", "shown": [str(pk) for pk in shown], "note": "年次確認"})
    assert response.status_code == 302
    assert response["Location"] == target
    review = AccessReview.objects.get()
    assert {u.pk for u in review.users.all()} == set(shown)
    assert review.note == "年次確認"
    entry = AuditLogEntry.objects.get(event=E.ACCESS_REVIEWED)
    assert entry.additional_data == {"users": sorted(shown), "count": 2, "note": "年次確認"}


def test_marking_nobody_is_an_error(admin_client):
    response = admin_client.post(url("access_review"), {"note": ""})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not AccessReview.objects.exists()


def test_a_number_that_could_be_a_my_number_is_refused_and_not_echoed(admin_client):
    data = {"username": "echo", "last_name": "無", "role": "staff", **reference_post(reference_number="123456789018")}
    response = admin_client.post(url("user_create"), data)
    assert response.context["form"].errors["reference_number"]
    assert "123456789018" not in response.content.decode()
    assert not User.objects.filter(username="echo").exists()
