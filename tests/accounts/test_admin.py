"""The OTP admin site: users with role and clinic, never a password hash or a device secret."""

from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import BackupCode, BackupCodeDevice, User
from accounts.roles import Role
from tests.accounts.conftest import enrol_totp, issue_backup_codes


def test_admin_requires_the_second_factor(admin_user, client_for):
    enrol_totp(admin_user)
    response = client_for(admin_user, verified=False).get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:otp_verify")


def test_other_roles_cannot_use_the_admin(staff_user, client_for):
    response = client_for(staff_user).get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_user_list_shows_role_clinic_and_active(admin_user, clinic_user, client_for):
    response = client_for(admin_user).get(reverse("admin:accounts_user_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert clinic_user.username in body
    assert str(Role.CLINIC.label) in body
    assert clinic_user.clinic.name in body


def test_user_change_page_never_shows_the_password_hash(admin_user, clinic_user, client_for):
    response = client_for(admin_user).get(reverse("admin:accounts_user_change", args=[clinic_user.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    algorithm, _rest = clinic_user.password.split("$", 1)
    assert clinic_user.password not in body
    assert f"{algorithm}$" not in body
    assert "設定済み" in body
    assert 'name="password"' not in body


def test_totp_device_key_is_hidden(admin_user, clinic_user, client_for):
    admin_user.is_superuser = True  # the TOTP device admin needs model permissions
    admin_user.save()
    device = enrol_totp(clinic_user)
    response = client_for(admin_user).get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert response.status_code == 200
    assert device.key not in response.content.decode()


def test_backup_code_devices_are_read_only_and_show_no_codes(admin_user, clinic_user, client_for):
    codes = issue_backup_codes(clinic_user)
    device = BackupCodeDevice.objects.get(user=clinic_user)
    client = client_for(admin_user)
    listing = client.get(reverse("admin:accounts_backupcodedevice_changelist"))
    assert listing.status_code == 200
    detail = client.get(reverse("admin:accounts_backupcodedevice_change", args=[device.pk]))
    assert detail.status_code == 200
    body = listing.content.decode() + detail.content.decode()
    hashes = BackupCode.objects.values_list("code_hash", flat=True)
    assert not any(code in body or code.replace("-", "") in body for code in codes)
    assert not any(value in body for value in hashes)
    assert 'name="_save"' not in detail.content.decode()
    assert client.get(reverse("admin:accounts_backupcodedevice_add")).status_code == 403
    assert client.post(reverse("admin:accounts_backupcodedevice_delete", args=[device.pk]),
                       {"post": "yes"}).status_code == 403
    assert BackupCode.objects.filter(device=device).count() == len(codes)


def test_user_pages_are_read_only_the_desk_changes_users(admin_user, client_for, db):
    target = User.objects.create_user(username="someone", password="x-very-long-password-1")
    client = client_for(admin_user)
    page = client.get(reverse("admin:accounts_user_change", args=[target.pk]))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    data = {"username": "renamed", "groups": [Group.objects.get(name=Role.ADMINISTRATOR).pk], "is_active": "on"}
    assert client.post(reverse("admin:accounts_user_change", args=[target.pk]), data).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    assert client.post(reverse("admin:accounts_user_delete", args=[target.pk]), {"post": "yes"}).status_code == 403
    target.refresh_from_db()
    assert (target.username, target.groups.count()) == ("someone", 0)
