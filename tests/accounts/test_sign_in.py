"""Password + second factor through the real views, the audit trail they leave, and sign-out."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY

from accounts.roles import Role
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import current_code, enrol_totp, issue_backup_codes, password_step, reaches_desk


def events(event: AuditEvent, **filters) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=event, **filters))


def test_sign_in_page_is_public_and_japanese(client):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    assert "サインイン" in response.content.decode()


def test_password_then_totp_code_signs_in(clinic_user, sign_in_with_code):
    device = enrol_totp(clinic_user)
    client, response = sign_in_with_code(clinic_user, current_code(device))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id
    assert reaches_desk(client)


def test_password_alone_does_not_verify(clinic_user):
    enrol_totp(clinic_user)
    client = Client()
    password_step(client, clinic_user.username)
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_verify")


def test_staff_lands_on_resident_search(staff_user, sign_in_with_code):
    device = enrol_totp(staff_user)
    client, _response = sign_in_with_code(staff_user, current_code(device))
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"] == "/residents/"


def test_administrator_lands_on_the_desk(admin_user, sign_in_with_code):
    device = enrol_totp(admin_user)
    client, _response = sign_in_with_code(admin_user, current_code(device))
    response = client.get(reverse("accounts:home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("manage:user_list")
    assert client.get(reverse("manage:user_list")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.parametrize(
    ("role", "desk"),
    [(Role.STAFF, "records:resident_search"), (Role.CLINIC, "imports:list"), (Role.AUDITOR, "audit:entry_list"),
     (Role.ADMINISTRATOR, "manage:user_list")],
)
def test_each_role_lands_on_its_desk(role, desk, client_for):
    from tests.factories import ClinicFactory, UserFactory

    user = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
    client = client_for(user)
    response = client.get(reverse("accounts:home"))
    assert (response.status_code, response["Location"]) == (302, reverse(desk))
    assert client.get(response["Location"]).status_code == 200


def test_user_without_a_role_is_told_why(client_for):
    from tests.factories import UserFactory

    response = client_for(UserFactory()).get(reverse("accounts:home"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "役割が割り当てられていない" in body
    assert reverse("accounts:backup_codes") in body


def test_wrong_password_is_refused_in_japanese(staff_user):
    response = password_step(Client(), staff_user.username, password="wrong-password-123")
    assert response.status_code == 200
    assert "ユーザー名またはパスワードが正しくありません" in response.content.decode()


def test_sign_in_with_backup_code(clinic_user, sign_in_with_code):
    enrol_totp(clinic_user)
    codes = issue_backup_codes(clinic_user)
    client, response = sign_in_with_code(clinic_user, codes[0])
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    assert reaches_desk(client)
    entry = events(AuditEvent.OTP_VERIFIED, actor=clinic_user)[0]
    assert entry.additional_data == {"device": "backup_code"}


def test_backup_code_works_once_only(clinic_user, sign_in_with_code):
    enrol_totp(clinic_user)
    codes = issue_backup_codes(clinic_user)
    _client, first = sign_in_with_code(clinic_user, codes[3])
    assert first.status_code == 302
    client, second = sign_in_with_code(clinic_user, codes[3])
    assert second.status_code == 200
    assert "確認コードが正しくありません" in second.content.decode()
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert not reaches_desk(client)


def test_backup_code_accepted_without_hyphen_or_case(clinic_user, sign_in_with_code):
    enrol_totp(clinic_user)
    code = issue_backup_codes(clinic_user)[0]
    _client, response = sign_in_with_code(clinic_user, code.replace("-", " ").upper())
    assert response.status_code == 302


def test_user_with_only_backup_codes_is_asked_to_enrol_after_using_one(clinic_user, sign_in_with_code):
    codes = issue_backup_codes(clinic_user)
    client, response = sign_in_with_code(clinic_user, codes[0])
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_setup")
    page = client.get(reverse("accounts:otp_setup"))
    assert page.status_code == 200
    assert "後で登録する" in page.content.decode()
    # already verified with the backup code: the rest of the system is open
    assert reaches_desk(client)


def test_wrong_otp_code_is_refused_and_audited(clinic_user, sign_in_with_code):
    device = enrol_totp(clinic_user)
    wrong = str((int(current_code(device)) + 500_000) % 1_000_000).zfill(6)
    client, response = sign_in_with_code(clinic_user, wrong)
    assert response.status_code == 200
    assert "確認コードが正しくありません" in response.content.decode()
    assert DEVICE_ID_SESSION_KEY not in client.session
    failed = events(AuditEvent.OTP_FAILED, actor=clinic_user)
    assert len(failed) == 1
    assert wrong not in str(failed[0].additional_data)


def test_throttled_device_shows_a_clear_message_even_for_the_right_code(clinic_user, sign_in_with_code):
    device = enrol_totp(clinic_user)
    device.throttling_failure_count = 6  # the next attempt is refused for 32 seconds
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    client, response = sign_in_with_code(clinic_user, current_code(device))
    assert response.status_code == 200
    assert "しばらく確認できません" in response.content.decode()
    assert DEVICE_ID_SESSION_KEY not in client.session
    assert events(AuditEvent.OTP_FAILED, actor=clinic_user)[0].additional_data["throttled"] is True


def test_otp_page_accepts_a_used_totp_code_only_once(clinic_user, sign_in_with_code):
    device = enrol_totp(clinic_user)
    code = current_code(device)
    _client, first = sign_in_with_code(clinic_user, code)
    assert first.status_code == 302
    device.refresh_from_db()
    device.throttle_reset()
    _client, again = sign_in_with_code(clinic_user, code)
    assert again.status_code == 200


def test_next_is_honoured_after_the_second_factor(clinic_user):
    device = enrol_totp(clinic_user)
    client = Client()
    password_step(client, clinic_user.username, next_url="/accounts/otp/backup-codes/")
    response = client.post(reverse("accounts:otp_verify"), {"otp_token": current_code(device)})
    assert response["Location"] == "/accounts/otp/backup-codes/"


def test_offsite_next_is_ignored(clinic_user):
    device = enrol_totp(clinic_user)
    client = Client()
    password_step(client, clinic_user.username, next_url="https://evil.example/steal")
    response = client.post(reverse("accounts:otp_verify"), {"otp_token": current_code(device)})
    assert response["Location"] == reverse("accounts:home")


def test_sign_in_and_out_leave_audit_events_naming_the_user(clinic_user, sign_in_with_code):
    device = enrol_totp(clinic_user)
    client, _response = sign_in_with_code(clinic_user, current_code(device), ip="10.1.2.3")
    sign_in = events(AuditEvent.SIGN_IN, actor=clinic_user)
    assert len(sign_in) == 1
    assert sign_in[0].object_repr == clinic_user.username
    assert len(events(AuditEvent.OTP_VERIFIED, actor=clinic_user)) == 1

    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    sign_out = events(AuditEvent.SIGN_OUT, actor=clinic_user)
    assert len(sign_out) == 1
    assert sign_out[0].object_repr == clinic_user.username
    assert not reaches_desk(client)


def test_failed_sign_in_is_audited_with_the_username_but_not_the_password(staff_user):
    password_step(Client(), staff_user.username, password="Wrong-Password-xyz", ip="10.9.9.9")
    failed = events(AuditEvent.SIGN_IN_FAILED)
    assert len(failed) == 1
    assert failed[0].object_repr == staff_user.username
    assert failed[0].object_pk == str(staff_user.pk)
    assert failed[0].additional_data == {"username": staff_user.username}
    assert failed[0].remote_addr == "10.9.9.9"
    assert "Wrong-Password-xyz" not in str(failed[0].additional_data)


def test_logout_via_get_is_refused(client_for, clinic_user):
    client = client_for(clinic_user)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert reaches_desk(client)


def test_logout_is_reachable_before_the_second_factor(client_for, clinic_user):
    client = client_for(clinic_user, verified=False)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


def test_signed_in_user_visiting_login_goes_home(client_for, clinic_user):
    response = client_for(clinic_user).get(reverse("accounts:login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")


def test_throttle_window_is_taken_from_the_device(clinic_user):
    # the message names the time the device will accept codes again
    device = enrol_totp(clinic_user)
    device.throttling_failure_count = 3
    device.throttling_failure_timestamp = timezone.now()
    device.save()
    client = Client()
    password_step(client, clinic_user.username)
    response = client.post(reverse("accounts:otp_verify"), {"otp_token": "000000"})
    until = timezone.localtime(device.throttling_failure_timestamp + timedelta(seconds=4))
    assert until.strftime("%H:%M:%S") in response.content.decode()


def test_passing_the_second_factor_gives_a_new_session_id(clinic_user):
    device = enrol_totp(clinic_user)
    client = Client()
    password_step(client, clinic_user.username)
    before = client.cookies["sessionid"].value
    client.post(reverse("accounts:otp_verify"), {"otp_token": current_code(device)})
    assert client.cookies["sessionid"].value != before
    assert reaches_desk(client)
