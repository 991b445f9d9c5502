"""First sign-in: enrolling the authenticator (QR code as inline SVG), backup codes shown once and kept
only hashed, regeneration."""

import re

from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import BackupCode, BackupCodeDevice
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import current_code, enrol_totp, issue_backup_codes, password_step, reaches_desk

CODE_RE = re.compile(r"<li>([2-9a-z]{5}-[2-9a-z]{5})</li>")


def start_enrolment(user) -> Client:
    client = Client()
    response = password_step(client, user.username)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_setup")
    return client


def test_first_sign_in_enrols_an_authenticator_end_to_end(clinic_user):
    client = start_enrolment(clinic_user)

    page = client.get(reverse("accounts:otp_setup"))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    body = page.content.decode()
    assert "後で登録する" not in body  # enrolment cannot be skipped before any second factor
    assert re.search(r'<div class="qr"[^>]*><svg[^>]*xmlns="http://www.w3.org/2000/svg"', body)
    assert "<script" not in body
    device = TOTPDevice.objects.get(user=clinic_user)
    assert device.confirmed is False
    found = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', body)
    assert found is not None
    secret = found.group(1).replace(" ", "")
    from base64 import b32decode

    assert b32decode(secret) == device.bin_key
    # reloading keeps the same pending secret
    client.get(reverse("accounts:otp_setup"))
    assert TOTPDevice.objects.filter(user=clinic_user).count() == 1

    response = client.post(reverse("accounts:otp_setup"), {"otp_token": current_code(device)})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:backup_codes")
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.session[DEVICE_ID_SESSION_KEY] == device.persistent_id

    shown = client.get(reverse("accounts:backup_codes"))
    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    codes = CODE_RE.findall(shown.content.decode())
    assert len(codes) == settings.BACKUP_CODE_COUNT == len(set(codes))
    assert BackupCode.objects.filter(device__user=clinic_user).count() == settings.BACKUP_CODE_COUNT

    # shown once: the second visit no longer has them, and the session does not keep them
    again = client.get(reverse("accounts:backup_codes"))
    assert CODE_RE.findall(again.content.decode()) == []
    for session in Session.objects.all():
        decoded = str(session.get_decoded())
        assert not any(code in decoded for code in codes)

    assert AuditLogEntry.objects.filter(event=AuditEvent.OTP_DEVICE_ENROLLED, actor=clinic_user).count() == 1
    assert AuditLogEntry.objects.filter(event=AuditEvent.BACKUP_CODES_ISSUED, actor=clinic_user).count() == 1
    assert reaches_desk(client)

    # the next sign-in asks for a code, and one of the new backup codes works
    client.post(reverse("accounts:logout"))
    next_time = Client()
    assert password_step(next_time, clinic_user.username)["Location"] == reverse("accounts:otp_verify")
    response = next_time.post(reverse("accounts:otp_verify"), {"otp_token": codes[0]})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")


def test_wrong_code_does_not_confirm_the_device(clinic_user):
    client = start_enrolment(clinic_user)
    client.get(reverse("accounts:otp_setup"))
    device = TOTPDevice.objects.get(user=clinic_user)
    wrong = str((int(current_code(device)) + 1) % 1_000_000).zfill(6)
    response = client.post(reverse("accounts:otp_setup"), {"otp_token": wrong})
    assert response.status_code == 200
    assert "確認コードが正しくありません" in response.content.decode()
    device.refresh_from_db()
    assert device.confirmed is False
    assert not BackupCodeDevice.objects.filter(user=clinic_user).exists()
    assert not reaches_desk(client)


def test_enrolment_code_must_be_six_digits(clinic_user):
    client = start_enrolment(clinic_user)
    response = client.post(reverse("accounts:otp_setup"), {"otp_token": "12ab"})
    assert "6桁の数字を入力してください" in response.content.decode()


def test_enrolment_accepts_a_code_with_a_space(clinic_user):
    client = start_enrolment(clinic_user)
    client.get(reverse("accounts:otp_setup"))
    code = current_code(TOTPDevice.objects.get(user=clinic_user))
    response = client.post(reverse("accounts:otp_setup"), {"otp_token": f"{code[:3]} {code[3:]}"})
    assert response.status_code == 302


def test_a_user_with_an_authenticator_cannot_enrol_another_with_the_password_alone(clinic_user):
    enrol_totp(clinic_user)
    client = Client()
    password_step(client, clinic_user.username)
    response = client.get(reverse("accounts:otp_setup"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_verify")
    assert TOTPDevice.objects.filter(user=clinic_user).count() == 1


def test_a_user_with_backup_codes_only_must_use_one_before_enrolling(clinic_user):
    issue_backup_codes(clinic_user)
    client = Client()
    assert password_step(client, clinic_user.username)["Location"] == reverse("accounts:otp_verify")
    response = client.get(reverse("accounts:otp_setup"))
    assert response["Location"] == reverse("accounts:otp_verify")
    assert not TOTPDevice.objects.filter(user=clinic_user).exists()


def test_backup_codes_are_stored_hashed(clinic_user):
    codes = issue_backup_codes(clinic_user)
    stored = list(BackupCode.objects.filter(device__user=clinic_user).values_list("code_hash", flat=True))
    assert len(stored) == len(codes)
    for code in codes:
        bare = code.replace("-", "")
        assert all(code not in value and bare not in value for value in stored)
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in stored)


def test_verified_user_can_regenerate_backup_codes(clinic_user, client_for):
    old = issue_backup_codes(clinic_user)
    client = client_for(clinic_user)
    page = client.get(reverse("accounts:backup_codes"))
    assert "未使用のバックアップコードは 10 個です" in page.content.decode()

    response = client.post(reverse("accounts:backup_codes"))
    assert response.status_code == 302
    new = CODE_RE.findall(client.get(reverse("accounts:backup_codes")).content.decode())
    assert len(new) == settings.BACKUP_CODE_COUNT
    assert not set(new) & set(old)
    device = BackupCodeDevice.objects.get(user=clinic_user)
    assert device.verify_token(new[0]) is True
    device.throttle_reset()
    assert device.verify_token(old[1]) is False
    assert AuditLogEntry.objects.filter(event=AuditEvent.BACKUP_CODES_ISSUED, actor=clinic_user).count() == 1


def test_backup_codes_page_needs_the_second_factor(clinic_user, client_for):
    client = client_for(clinic_user, verified=False)
    assert client.get(reverse("accounts:backup_codes"))["Location"] == reverse("accounts:otp_verify")
    response = client.post(reverse("accounts:backup_codes"))
    assert response["Location"] == reverse("accounts:otp_verify")
    assert not BackupCodeDevice.objects.filter(user=clinic_user).exists()
