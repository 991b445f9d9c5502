"""Who reaches the auditor's desk: auditors, and nobody else (administrators included); the selectors
refuse other actors too; and the city's switch AUDITOR_CAN_VIEW_RESIDENTS decides whether auditors may
also open resident pages."""

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role, sync_role_permissions
from audit import reports, selectors
from audit.permissions import AUDITOR_PERMISSIONS, RESIDENT_READ_PERMISSIONS
from audit.reports import InspectionPeriod
from tests.audit.test_desk_helpers import jst, make_entries, view_entry
from tests.factories import ResidentFactory

pytestmark = pytest.mark.django_db

GET_PAGES = [
    ("audit:entry_list", False),
    ("audit:entry_detail", True),
    ("audit:resident_history", True),
    ("audit:user_history", True),
    ("audit:self_inspection", False),
]
POST_ACTIONS = ["audit:entry_export_csv", "audit:entry_export_pdf", "audit:self_inspection_pdf", "audit:chain_verify"]


@pytest.fixture
def subject(staff_user):
    resident = ResidentFactory(address_number="8000000001")
    entry = make_entries([view_entry(staff_user, resident, jst(2025, 6, 2, 10, 0))])[0]
    return {"audit:entry_detail": entry.pk, "audit:resident_history": resident.pk,
            "audit:user_history": staff_user.pk}


def url(name: str, takes_pk: bool, subject: dict) -> str:
    return reverse(name, args=[subject[name]]) if takes_pk else reverse(name)


def test_auditor_uses_every_page(auditor_user, client_for, subject):
    client = client_for(auditor_user)
    for name, takes_pk in GET_PAGES:
        response = client.get(url(name, takes_pk, subject))
        assert response.status_code == 200, name
    assert client.post(reverse("audit:entry_export_csv"), {"username": "staff1"}).status_code == 200
    assert client.post(reverse("audit:entry_export_pdf"), {"username": "staff1"}).status_code == 200
    assert client.post(reverse("audit:self_inspection_pdf"), {"fiscal_year": "2025"}).status_code == 200
    assert client.post(reverse("audit:chain_verify")).status_code == 302


def test_the_desk_appears_in_the_auditors_menu(auditor_user, staff_user, client_for):
    link = f'href="{reverse("audit:entry_list")}"'
    assert link in client_for(auditor_user).get(reverse("audit:self_inspection")).content.decode()
    assert link not in client_for(staff_user).get(reverse("records:resident_search")).content.decode()


@pytest.mark.parametrize("role_fixture", ["staff_user", "clinic_user", "admin_user"])
def test_other_roles_are_refused_everywhere(role_fixture, request, client_for, subject):
    client = client_for(request.getfixturevalue(role_fixture))
    for name, takes_pk in GET_PAGES:
        assert client.get(url(name, takes_pk, subject)).status_code == 403, name
    for name in POST_ACTIONS:
        assert client.post(reverse(name), {"fiscal_year": "2025"}).status_code == 403, name


def test_exports_are_post_only(auditor_user, client_for):
    client = client_for(auditor_user)
    for name in POST_ACTIONS:
        assert client.get(reverse(name)).status_code == 405, name


@pytest.mark.parametrize("role_fixture", ["staff_user", "clinic_user", "admin_user"])
def test_selectors_and_services_refuse_other_actors(role_fixture, request):
    actor = request.getfixturevalue(role_fixture)
    criteria = selectors.AuditSearchCriteria()
    calls = [
        lambda: selectors.audit_entry_search(actor=actor, criteria=criteria),
        lambda: selectors.audit_entry_page(actor=actor, criteria=criteria),
        lambda: selectors.audit_entry_get(actor=actor, pk=1),
        lambda: selectors.audit_resident_get(actor=actor, pk=1),
        lambda: selectors.audit_user_get(actor=actor, pk=actor.pk),
        lambda: reports.audit_entries_export_csv(actor=actor, criteria=criteria),
        lambda: reports.audit_entries_export_pdf(actor=actor, criteria=criteria),
        lambda: reports.self_inspection_build(actor=actor, period=InspectionPeriod.fiscal_year(2025)),
        lambda: reports.self_inspection_pdf(actor=actor, period=InspectionPeriod.fiscal_year(2025)),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()


def test_only_the_auditor_group_holds_the_desk_permissions():
    for role in Role:
        perms = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.all()}
        if role == Role.AUDITOR:
            assert perms >= AUDITOR_PERMISSIONS
        else:
            assert not perms & AUDITOR_PERMISSIONS, role


def fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no cached permissions


def test_auditors_read_no_resident_by_default(auditor_user, client_for, settings):
    assert settings.AUDITOR_CAN_VIEW_RESIDENTS is False
    resident = ResidentFactory()
    client = client_for(auditor_user)
    assert client.get(reverse("records:resident_detail", args=[resident.pk])).status_code == 403
    assert client.get(reverse("records:resident_search")).status_code == 403
    assert not fresh(auditor_user).has_perm("records.view_resident")


def test_the_city_may_let_auditors_read_residents(auditor_user, staff_user, client_for, settings):
    resident = ResidentFactory(name="草加 次郎")
    settings.AUDITOR_CAN_VIEW_RESIDENTS = True
    sync_role_permissions()  # what every migrate does
    auditor = fresh(auditor_user)
    assert all(auditor.has_perm(p) for p in RESIDENT_READ_PERMISSIONS)
    assert not auditor.has_perm("records.change_vaccinationrecord")  # read only, still
    client = client_for(auditor)
    response = client.get(reverse("records:resident_detail", args=[resident.pk]))
    assert response.status_code == 200 and "草加 次郎" in response.content.decode()
    assert client.get(reverse("records:record_create", args=[resident.pk])).status_code == 403
    # Other roles are untouched by the switch.
    assert not fresh(staff_user).has_perm("audit.view_auditlogentry")
    # And switched off again, the next sync takes the grant back.
    settings.AUDITOR_CAN_VIEW_RESIDENTS = False
    sync_role_permissions()
    assert not fresh(auditor_user).has_perm("records.view_resident")
    assert client_for(fresh(auditor_user)).get(
        reverse("records:resident_detail", args=[resident.pk])
    ).status_code == 403


def test_the_setting_is_read_from_the_environment(monkeypatch):
    import importlib

    import koshigaya_vax.settings.base as base

    monkeypatch.setenv("AUDITOR_CAN_VIEW_RESIDENTS", "1")
    assert importlib.reload(base).AUDITOR_CAN_VIEW_RESIDENTS is True
    monkeypatch.delenv("AUDITOR_CAN_VIEW_RESIDENTS")
    assert importlib.reload(base).AUDITOR_CAN_VIEW_RESIDENTS is False
