"""The administrator's desk services: every action writes exactly its business events with the request
reference, in its transaction; the request reference is required; the lock-out guards hold."""

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import AccessReview, BackupCodeDevice, RoleGrant, RoleGrantAction, User, UserSession
from accounts.roles import Role
from accounts.selectors import UserQuery, access_review_rows, current_grants
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from tests.accounts.conftest import enrol_totp, issue_backup_codes
from tests.accounts.factories import events_since, last_seq, request_ref
from tests.conftest import sign_in
from tests.factories import ClinicFactory, UserFactory

pytestmark = pytest.mark.django_db

E = AuditEvent


def event_entries(seq: int) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(seq__gt=seq, action=AuditLogEntry.Action.EVENT).order_by("seq"))


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)


# --- create ---------------------------------------------------------------------------------------


def test_create_user_records_the_request_and_returns_a_one_time_password(admin_user):
    seq = last_seq()
    created = services.user_create(
        actor=admin_user, username="tanaka", role=Role.STAFF, last_name="田中", first_name="一郎",
        request_ref=request_ref(reference="越健推第7号", note="4月採用"),
    )
    user = fresh(created.user)
    assert user.role == Role.STAFF
    assert user.is_active and not user.is_staff and user.clinic is None
    assert user.check_password(created.initial_password)
    assert len(created.initial_password) >= 20
    entries = event_entries(seq)
    assert [e.event for e in entries] == [E.USER_CREATED, E.ROLE_GRANTED]
    for entry in entries:
        assert entry.actor == admin_user
        assert entry.object_pk == str(user.pk)
        assert entry.additional_data["division"] == "健康づくり推進課"
        assert entry.additional_data["reference"] == "越健推第7号"
        assert entry.additional_data["note"] == "4月採用"
        assert entry.additional_data["role"] == "staff"
    grant = RoleGrant.objects.get(user=user)
    assert (grant.role, grant.action, grant.reference_number, grant.performed_by) == (
        "staff", RoleGrantAction.GRANTED, "越健推第7号", admin_user)
    # The password is nowhere in the log, clear or otherwise.
    for entry in AuditLogEntry.objects.all():
        assert created.initial_password not in f"{entry.changes} {entry.additional_data} {entry.object_repr}"


def test_each_created_user_gets_a_different_password(admin_user):
    first = services.user_create(actor=admin_user, username="a1", role=Role.AUDITOR, request_ref=request_ref())
    second = services.user_create(actor=admin_user, username="a2", role=Role.AUDITOR, request_ref=request_ref())
    assert first.initial_password != second.initial_password


def test_new_user_has_no_second_factor(admin_user):
    created = services.user_create(actor=admin_user, username="newbie", role=Role.STAFF, request_ref=request_ref())
    assert not services.user_has_confirmed_device(user=created.user)


def test_clinic_user_needs_a_clinic_and_others_may_not_have_one(admin_user):
    with pytest.raises(ValidationError) as missing:
        services.user_create(actor=admin_user, username="c1", role=Role.CLINIC, request_ref=request_ref())
    assert "clinic" in missing.value.error_dict
    clinic = ClinicFactory()
    with pytest.raises(ValidationError) as extra:
        services.user_create(actor=admin_user, username="s1", role=Role.STAFF, clinic=clinic,
                             request_ref=request_ref())
    assert "clinic" in extra.value.error_dict
    assert not User.objects.filter(username__in=["c1", "s1"]).exists()
    created = services.user_create(actor=admin_user, username="c2", role=Role.CLINIC, clinic=clinic,
                                   request_ref=request_ref())
    assert fresh(created.user).clinic == clinic
    assert RoleGrant.objects.get(user=created.user).clinic == clinic
    entry = AuditLogEntry.objects.get(event=E.USER_CREATED, object_pk=str(created.user.pk))
    assert entry.additional_data["clinic"] == clinic.code


def test_administrator_gets_the_admin_site_flag(admin_user):
    created = services.user_create(actor=admin_user, username="admin2", role=Role.ADMINISTRATOR,
                                   request_ref=request_ref())
    assert fresh(created.user).is_staff is True


def test_duplicate_username_is_refused(admin_user, staff_user):
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin_user, username=staff_user.username, role=Role.STAFF,
                             request_ref=request_ref())
    assert "username" in exc.value.error_dict
    assert events_since(seq) == []


@pytest.mark.parametrize(("division", "reference", "field"), [
    ("", "越健推第1号", "requesting_division"),
    ("   ", "越健推第1号", "requesting_division"),
    ("健康づくり推進課", "", "reference_number"),
    ("健康づくり推進課", " \t", "reference_number"),
    ("健康づくり推進課", "123456789018", "reference_number"),  # a 12-digit run could be a My Number
    ("1234 5678 9018", "越健推第1号", "requesting_division"),
])
def test_the_request_reference_is_required_for_creation(admin_user, division, reference, field):
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.user_create(actor=admin_user, username="nobody", role=Role.STAFF,
                             request_ref=request_ref(division=division, reference=reference))
    assert field in exc.value.error_dict
    assert not User.objects.filter(username="nobody").exists()
    assert events_since(seq) == []


def test_only_a_user_manager_can_create(staff_user):
    with pytest.raises(PermissionDenied):
        services.user_create(actor=staff_user, username="x", role=Role.STAFF, request_ref=request_ref())


# --- deactivate / reactivate ----------------------------------------------------------------------


def test_deactivation_ends_every_session_and_token_at_once(admin_user, staff_user):
    first, second = sign_in(Client(), staff_user), sign_in(Client(), staff_user)
    other = sign_in(Client(), UserFactory(with_role=Role.STAFF))
    keys = {first.session.session_key, second.session.session_key}
    assert Session.objects.filter(session_key__in=keys).count() == 2
    Token.objects.create(user=staff_user)
    seq = last_seq()

    services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref(reference="越総人第9号"))

    assert fresh(staff_user).is_active is False
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert Session.objects.filter(session_key=other.session.session_key).exists()  # only theirs
    assert not UserSession.objects.filter(user=staff_user).exists()
    assert not Token.objects.filter(user=staff_user).exists()
    [entry] = event_entries(seq)
    assert entry.event == E.USER_DEACTIVATED
    assert (entry.actor, entry.object_pk) == (admin_user, str(staff_user.pk))
    assert entry.additional_data == {"division": "健康づくり推進課", "reference": "越総人第9号",
                                     "sessions_ended": 2, "api_tokens_deleted": 1}
    assert fresh(staff_user).role == Role.STAFF  # kept for a reactivation


def test_deactivation_needs_the_request_reference(admin_user, staff_user):
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref(reference=""))
    assert "reference_number" in exc.value.error_dict
    assert fresh(staff_user).is_active is True
    assert events_since(seq) == []


def test_an_administrator_cannot_deactivate_themselves(admin_user):
    UserFactory(with_role=Role.ADMINISTRATOR)  # another administrator exists: still refused
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.user_deactivate(actor=admin_user, user=admin_user, request_ref=request_ref())
    assert exc.value.code == "self_lockout"
    assert fresh(admin_user).is_active is True
    assert events_since(seq) == []


def test_the_last_active_administrator_cannot_be_deactivated(admin_user):
    root = UserFactory(username="root", is_superuser=True)  # holds every permission, is no administrator
    UserFactory(with_role=Role.ADMINISTRATOR, is_active=False)  # an inactive one does not count
    with pytest.raises(ValidationError) as exc:
        services.user_deactivate(actor=root, user=admin_user, request_ref=request_ref())
    assert exc.value.code == "last_administrator"
    assert fresh(admin_user).is_active is True


def test_one_administrator_may_deactivate_another(admin_user):
    other = UserFactory(with_role=Role.ADMINISTRATOR)
    services.user_deactivate(actor=admin_user, user=other, request_ref=request_ref())
    assert fresh(other).is_active is False


def test_deactivating_twice_is_refused(admin_user, staff_user):
    services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref())
    seq = last_seq()
    with pytest.raises(ValidationError):
        services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref())
    assert events_since(seq) == []


def test_reactivation(admin_user, staff_user):
    services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref())
    seq = last_seq()
    services.user_reactivate(actor=admin_user, user=staff_user, request_ref=request_ref(reference="越総人第10号"))
    assert fresh(staff_user).is_active is True
    [entry] = event_entries(seq)
    assert entry.event == E.USER_REACTIVATED
    assert entry.additional_data == {"role": "staff", "division": "健康づくり推進課", "reference": "越総人第10号"}
    with pytest.raises(ValidationError):
        services.user_reactivate(actor=admin_user, user=staff_user, request_ref=request_ref())


def test_reactivation_needs_the_request_reference(admin_user, staff_user):
    services.user_deactivate(actor=admin_user, user=staff_user, request_ref=request_ref())
    with pytest.raises(ValidationError):
        services.user_reactivate(actor=admin_user, user=staff_user, request_ref=request_ref(division=""))
    assert fresh(staff_user).is_active is False


# --- roles ----------------------------------------------------------------------------------------


def test_granting_a_role_to_a_user_without_one(admin_user):
    user = UserFactory(username="norole")
    seq = last_seq()
    services.role_grant(actor=admin_user, user=user, role=Role.AUDITOR, request_ref=request_ref(reference="R-1"))
    assert fresh(user).role == Role.AUDITOR
    [entry] = event_entries(seq)
    assert entry.event == E.ROLE_GRANTED
    assert entry.additional_data == {"role": "auditor", "clinic": None, "division": "健康づくり推進課",
                                     "reference": "R-1"}
    assert RoleGrant.objects.filter(user=user, role="auditor", action=RoleGrantAction.GRANTED,
                                    reference_number="R-1").count() == 1


def test_granting_another_role_replaces_the_current_one_under_the_same_request(admin_user, staff_user):
    seq = last_seq()
    services.role_grant(actor=admin_user, user=staff_user, role=Role.AUDITOR, request_ref=request_ref(reference="R-2"))
    user = fresh(staff_user)
    assert user.role == Role.AUDITOR
    assert [g.name for g in user.groups.all()] == ["auditor"]
    entries = event_entries(seq)
    assert [(e.event, e.additional_data["role"]) for e in entries] == [
        (E.ROLE_REVOKED, "staff"), (E.ROLE_GRANTED, "auditor")]
    assert all(e.additional_data["reference"] == "R-2" for e in entries)
    assert list(RoleGrant.objects.filter(user=user).order_by("pk").values_list("role", "action")) == [
        ("staff", "revoked"), ("auditor", "granted")]


def test_moving_a_clinic_user_and_clearing_the_clinic(admin_user, clinic_user):
    old_clinic = clinic_user.clinic
    new_clinic = ClinicFactory()
    services.role_grant(actor=admin_user, user=clinic_user, role=Role.CLINIC, clinic=new_clinic,
                        request_ref=request_ref())
    assert fresh(clinic_user).clinic == new_clinic
    with pytest.raises(ValidationError):  # the same clinic again is nothing to grant
        services.role_grant(actor=admin_user, user=clinic_user, role=Role.CLINIC, clinic=new_clinic,
                            request_ref=request_ref())
    services.role_grant(actor=admin_user, user=clinic_user, role=Role.STAFF, request_ref=request_ref())
    user = fresh(clinic_user)
    assert (user.role, user.clinic) == (Role.STAFF, None)
    revoked = RoleGrant.objects.filter(user=user, action=RoleGrantAction.REVOKED).order_by("pk")
    assert [g.clinic for g in revoked] == [old_clinic, new_clinic]


def test_granting_the_role_already_held_is_refused(admin_user, staff_user):
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.role_grant(actor=admin_user, user=staff_user, role=Role.STAFF, request_ref=request_ref())
    assert "role" in exc.value.error_dict
    assert events_since(seq) == []


def test_granting_administrator_sets_and_revoking_clears_the_admin_site_flag(admin_user, staff_user):
    services.role_grant(actor=admin_user, user=staff_user, role=Role.ADMINISTRATOR, request_ref=request_ref())
    assert fresh(staff_user).is_staff is True
    services.role_revoke(actor=admin_user, user=staff_user, request_ref=request_ref())
    user = fresh(staff_user)
    assert (user.role, user.is_staff) == (None, False)


def test_revoking_a_role(admin_user, clinic_user):
    clinic = clinic_user.clinic
    seq = last_seq()
    services.role_revoke(actor=admin_user, user=clinic_user, request_ref=request_ref(reference="R-3"))
    user = fresh(clinic_user)
    assert (user.role, user.clinic) == (None, None)
    [entry] = event_entries(seq)
    assert entry.event == E.ROLE_REVOKED
    assert entry.additional_data == {"role": "clinic", "clinic": clinic.code, "division": "健康づくり推進課",
                                     "reference": "R-3"}
    with pytest.raises(ValidationError):  # nothing left to revoke
        services.role_revoke(actor=admin_user, user=clinic_user, request_ref=request_ref())


@pytest.mark.parametrize("action", ["grant", "revoke"])
def test_role_changes_need_the_request_reference(admin_user, staff_user, action):
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        if action == "grant":
            services.role_grant(actor=admin_user, user=staff_user, role=Role.AUDITOR,
                                request_ref=request_ref(division="", reference=""))
        else:
            services.role_revoke(actor=admin_user, user=staff_user, request_ref=request_ref(division="", reference=""))
    assert {"requesting_division", "reference_number"} <= set(exc.value.error_dict)
    assert fresh(staff_user).role == Role.STAFF
    assert events_since(seq) == []
    assert not RoleGrant.objects.exists()


def test_an_administrator_cannot_revoke_their_own_administrator_role(admin_user):
    UserFactory(with_role=Role.ADMINISTRATOR)
    seq = last_seq()
    with pytest.raises(ValidationError) as exc:
        services.role_revoke(actor=admin_user, user=admin_user, request_ref=request_ref())
    assert exc.value.code == "self_lockout"
    with pytest.raises(ValidationError):  # nor swap it for another role
        services.role_grant(actor=admin_user, user=admin_user, role=Role.STAFF, request_ref=request_ref())
    assert fresh(admin_user).role == Role.ADMINISTRATOR
    assert events_since(seq) == []


def test_the_last_active_administrator_keeps_the_role(admin_user):
    root = UserFactory(username="root", is_superuser=True)
    for call in (
        lambda: services.role_revoke(actor=root, user=admin_user, request_ref=request_ref()),
        lambda: services.role_grant(actor=root, user=admin_user, role=Role.STAFF, request_ref=request_ref()),
    ):
        with pytest.raises(ValidationError) as exc:
            call()
        assert exc.value.code == "last_administrator"
    assert fresh(admin_user).role == Role.ADMINISTRATOR


def test_an_inactive_administrators_role_can_be_revoked(admin_user):
    retired = UserFactory(with_role=Role.ADMINISTRATOR)
    services.user_deactivate(actor=admin_user, user=retired, request_ref=request_ref())
    services.role_revoke(actor=admin_user, user=retired, request_ref=request_ref())
    assert fresh(retired).role is None


# --- second factor --------------------------------------------------------------------------------


def test_otp_reset_removes_every_device_and_session(admin_user, staff_user):
    enrol_totp(staff_user)
    issue_backup_codes(staff_user)
    client = sign_in(Client(), staff_user)
    key = client.session.session_key
    seq = last_seq()
    services.otp_devices_reset(actor=admin_user, user=staff_user, request_ref=request_ref(reference="R-4"))
    assert not TOTPDevice.objects.filter(user=staff_user).exists()
    assert not BackupCodeDevice.objects.filter(user=staff_user).exists()
    assert not services.user_has_confirmed_device(user=staff_user)
    assert not Session.objects.filter(session_key=key).exists()
    [entry] = event_entries(seq)
    assert entry.event == E.OTP_DEVICE_RESET
    assert entry.additional_data == {"division": "健康づくり推進課", "reference": "R-4",
                                     "devices_removed": {"totp": 1, "backup_code": 1}, "sessions_ended": 1}


def test_an_administrator_cannot_reset_their_own_second_factor(admin_user):
    enrol_totp(admin_user)
    with pytest.raises(ValidationError):
        services.otp_devices_reset(actor=admin_user, user=admin_user, request_ref=request_ref())
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_otp_reset_needs_the_request_reference(admin_user, staff_user):
    enrol_totp(staff_user)
    with pytest.raises(ValidationError):
        services.otp_devices_reset(actor=admin_user, user=staff_user, request_ref=request_ref(reference=""))
    assert TOTPDevice.objects.filter(user=staff_user).exists()


@pytest.mark.parametrize("call", [
    lambda actor, user: services.user_deactivate(actor=actor, user=user, request_ref=request_ref()),
    lambda actor, user: services.user_reactivate(actor=actor, user=user, request_ref=request_ref()),
    lambda actor, user: services.role_grant(actor=actor, user=user, role=Role.AUDITOR, request_ref=request_ref()),
    lambda actor, user: services.role_revoke(actor=actor, user=user, request_ref=request_ref()),
    lambda actor, user: services.otp_devices_reset(actor=actor, user=user, request_ref=request_ref()),
    lambda actor, user: services.access_review_record(actor=actor, users=[user]),
])
@pytest.mark.parametrize("role", [Role.STAFF, Role.CLINIC, Role.AUDITOR])
def test_other_roles_cannot_use_the_desk_services(call, role):
    actor = UserFactory(with_role=role, clinic=ClinicFactory() if role == Role.CLINIC else None)
    target = UserFactory(with_role=Role.STAFF)
    seq = last_seq()
    with pytest.raises(PermissionDenied):
        call(actor, target)
    assert events_since(seq) == []


# --- access review --------------------------------------------------------------------------------


def test_access_review_marks_the_users_and_records_them(admin_user, staff_user, clinic_user):
    seq = last_seq()
    review = services.access_review_record(actor=admin_user, users=[staff_user, clinic_user], note="異常なし")
    assert set(review.users.all()) == {staff_user, clinic_user}
    assert review.reviewer == admin_user
    [entry] = event_entries(seq)
    assert entry.event == E.ACCESS_REVIEWED
    assert entry.object_pk == str(review.pk)
    assert entry.additional_data == {"users": sorted([staff_user.pk, clinic_user.pk]), "count": 2,
                                     "note": "異常なし"}
    rows = {row.user.pk: row for row in access_review_rows(actor=admin_user)}
    assert rows[staff_user.pk].last_reviewed_at == review.created_at
    assert rows[staff_user.pk].last_reviewed_by == admin_user.username
    assert rows[admin_user.pk].last_reviewed_at is None


def test_access_review_needs_someone_to_review(admin_user):
    with pytest.raises(ValidationError):
        services.access_review_record(actor=admin_user, users=[])
    assert not AccessReview.objects.exists()


def test_access_review_rows_show_the_request_behind_the_current_role(admin_user):
    created = services.user_create(actor=admin_user, username="kato", role=Role.STAFF,
                                   request_ref=request_ref(reference="R-10"))
    services.role_grant(actor=admin_user, user=created.user, role=Role.AUDITOR,
                        request_ref=request_ref(reference="R-11"))
    [row] = access_review_rows(actor=admin_user, query=UserQuery(text="kato"))
    assert row.role == Role.AUDITOR
    assert row.grant is not None and row.grant.reference_number == "R-11"
    assert current_grants(users=[fresh(created.user)])[created.user.pk].reference_number == "R-11"


def test_dormant_accounts_are_flagged(admin_user, staff_user):
    from datetime import timedelta

    from django.utils import timezone

    User.objects.filter(pk=staff_user.pk).update(last_login=timezone.now() - timedelta(days=91))
    User.objects.filter(pk=admin_user.pk).update(last_login=timezone.now() - timedelta(days=89))
    rows = {row.user.pk: row for row in access_review_rows(actor=admin_user)}
    assert rows[staff_user.pk].dormant is True
    assert rows[admin_user.pk].dormant is False


def test_the_review_list_is_for_user_managers_only(staff_user):
    with pytest.raises(PermissionDenied):
        access_review_rows(actor=staff_user)
