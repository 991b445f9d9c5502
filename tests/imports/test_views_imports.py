"""The import pages: who reaches which page (anonymous, no second factor, staff, the import's own clinic,
another clinic, auditor, administrator, no role), the upload end to end, refused files as form errors, the
list scoped to the clinic, each import's page with its history, progress and row errors."""

import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from audit.models import AuditLogEntry
from imports.models import ClinicImport, ImportSource, ImportStatus
from records.models import RecordSource, VaccinationRecord
from tests.factories import UserFactory
from tests.imports.surfaces import World, csv_file, import_with_errors, make_world, receive, row_for

UPLOAD_URL = reverse("imports:upload")
LIST_URL = reverse("imports:list")


@pytest.fixture
def world(db) -> World:
    return make_world()


def good_file(world: World, clinic=None, *, people=None, remark: str = "") -> bytes:
    clinic = clinic or world.clinic_a
    return csv_file([row_for(p, clinic, 備考1=remark) for p in (people or world.people[:2])])


def upload(client: Client, data: bytes, *, name: str = "2025-11.csv", billing_month: str = "2025-11", **extra):
    return client.post(UPLOAD_URL, {"billing_month": billing_month,
                                    "file": SimpleUploadedFile(name, data, content_type="text/csv"), **extra})


# --- permission matrix ---------------------------------------------------------------------------

PAGES = {
    # name: (url builder, who may: staff, own clinic, other clinic, auditor)
    "list": (lambda imp: LIST_URL, (200, 200, 200, 200)),
    "upload": (lambda imp: UPLOAD_URL, (200, 200, 200, 403)),
    "detail": (lambda imp: reverse("imports:detail", args=[imp.pk]), (200, 200, 404, 200)),
    "progress": (lambda imp: reverse("imports:progress", args=[imp.pk]), (200, 200, 404, 200)),
    "error_csv": (lambda imp: reverse("imports:error_csv", args=[imp.pk]), (200, 200, 404, 403)),
}


@pytest.fixture
def finished(world) -> ClinicImport:
    return import_with_errors(world)


@pytest.mark.parametrize("page", sorted(PAGES))
class TestPermissionMatrix:
    def url(self, page, finished) -> str:
        return PAGES[page][0](finished)

    def test_anonymous_is_sent_to_sign_in(self, page, finished):
        response = Client().get(self.url(page, finished))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))

    def test_without_second_factor_is_sent_to_otp(self, page, finished, world, client_for):
        response = client_for(world.clinic_a_user, verified=False).get(self.url(page, finished))
        assert response.status_code == 302 and response["Location"] == reverse("accounts:otp_verify")

    @pytest.mark.parametrize("who", ["staff", "own_clinic", "other_clinic", "auditor"])
    def test_roles(self, page, finished, world, client_for, who):
        user = {"staff": world.staff, "own_clinic": world.clinic_a_user, "other_clinic": world.clinic_b_user,
                "auditor": world.auditor}[who]
        expected = PAGES[page][1][["staff", "own_clinic", "other_clinic", "auditor"].index(who)]
        assert client_for(user).get(self.url(page, finished)).status_code == expected

    def test_administrator_is_refused(self, page, finished, world, client_for):
        assert client_for(world.administrator).get(self.url(page, finished)).status_code == 403

    def test_a_user_without_role_is_refused(self, page, finished, client_for):
        assert client_for(UserFactory()).get(self.url(page, finished)).status_code == 403

    def test_a_clinic_user_without_a_clinic_sees_no_import(self, page, finished, client_for):
        user = UserFactory(with_role=Role.CLINIC)
        expected = {"list": 200, "upload": 200}.get(page, 404)
        response = client_for(user).get(self.url(page, finished))
        assert response.status_code == expected
        if page == "list":
            assert list(response.context["page"].object_list) == []


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.ADMINISTRATOR])
def test_roles_that_may_not_upload_cannot_post_a_file(world, client_for, role):
    user = world.auditor if role == Role.AUDITOR else world.administrator
    response = upload(client_for(user), good_file(world), clinic=world.clinic_a.pk)
    assert response.status_code == 403
    assert not ClinicImport.objects.exists()


# --- upload ----------------------------------------------------------------------------------------


class TestUpload:
    def test_a_clinic_uploads_and_the_rows_are_committed(self, world, client_for, django_capture_on_commit_callbacks):
        client = client_for(world.clinic_a_user)
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, good_file(world), billing_month="令和7年11月")
        clinic_import = ClinicImport.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("imports:detail", args=[clinic_import.pk])
        assert clinic_import.status == ImportStatus.COMMITTED
        assert (clinic_import.clinic, clinic_import.source, clinic_import.uploaded_by) == (
            world.clinic_a, ImportSource.CLINIC_UPLOAD, world.clinic_a_user)
        assert clinic_import.billing_month == date(2025, 11, 1)
        assert (clinic_import.rows_total, clinic_import.rows_committed, clinic_import.rows_error) == (2, 2, 0)
        records = VaccinationRecord.objects.filter(source_import=clinic_import)
        assert {r.resident for r in records} == {p.resident for p in world.people[:2]}
        assert all(r.source == RecordSource.CLINIC_IMPORT for r in records)
        page = client.get(response["Location"]).content.decode()
        assert "登録完了" in page and "import-progress" not in page

    def test_a_clinic_cannot_send_for_another_clinic(self, world, client_for, django_capture_on_commit_callbacks):
        """The clinic field is not offered to clinic users; one posted anyway is ignored."""
        client = client_for(world.clinic_a_user)
        assert "clinic" not in client.get(UPLOAD_URL).context["form"].fields
        with django_capture_on_commit_callbacks(execute=True):
            upload(client, good_file(world), clinic=world.clinic_b.pk)
        assert ClinicImport.objects.get().clinic == world.clinic_a

    def test_staff_choose_the_clinic(self, world, client_for, django_capture_on_commit_callbacks):
        client = client_for(world.staff)
        response = upload(client, good_file(world, world.clinic_b))
        assert response.status_code == 200
        assert "clinic" in response.context["form"].errors
        assert not ClinicImport.objects.exists()
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, good_file(world, world.clinic_b), clinic=world.clinic_b.pk)
        clinic_import = ClinicImport.objects.get()
        assert response.status_code == 302
        assert (clinic_import.clinic, clinic_import.source, clinic_import.uploaded_by) == (
            world.clinic_b, ImportSource.STAFF_UPLOAD, world.staff)
        assert clinic_import.status == ImportStatus.COMMITTED and clinic_import.rows_committed == 2

    @pytest.mark.parametrize("month", ["2025-11", "202511", "2025/11", "令和7年11月", "R7.11", "Ｒ７．１１"])
    def test_every_year_month_form_is_accepted(self, world, client_for, month):
        response = upload(client_for(world.clinic_a_user), good_file(world), billing_month=month)
        assert response.status_code == 302
        assert ClinicImport.objects.get().billing_month == date(2025, 11, 1)

    @pytest.mark.parametrize("month", ["", "2025-13", "令和0年1月", "11月"])
    def test_a_bad_billing_month_is_a_form_error(self, world, client_for, month):
        response = upload(client_for(world.clinic_a_user), good_file(world), billing_month=month)
        assert response.status_code == 200
        assert "billing_month" in response.context["form"].errors
        assert not ClinicImport.objects.exists()

    def test_the_same_file_twice_is_refused_naming_the_earlier_import(self, world, client_for):
        client = client_for(world.clinic_a_user)
        data = good_file(world)
        upload(client, data)
        earlier = ClinicImport.objects.get()
        response = upload(client, data, name="again.csv")
        assert response.status_code == 200
        errors = response.context["form"].errors["file"]
        assert any(f"#{earlier.pk}" in e for e in errors)
        html = response.content.decode()
        assert reverse("imports:detail", args=[earlier.pk]) in html
        assert ClinicImport.objects.count() == 1

    def test_a_duplicate_of_another_clinics_import_links_nothing(self, world, client_for):
        """Staff sent clinic B's file; the same bytes from clinic A are refused without a link to B's import."""
        data = good_file(world, world.clinic_b)
        upload(client_for(world.staff), data, clinic=world.clinic_b.pk)
        earlier = ClinicImport.objects.get()
        response = upload(client_for(world.clinic_a_user), data)
        assert response.status_code == 200 and response.context["form"].errors["file"]
        assert reverse("imports:detail", args=[earlier.pk]) not in response.content.decode()
        assert ClinicImport.objects.count() == 1

    def test_a_utf16_file_is_refused_in_japanese(self, world, client_for):
        data = good_file(world).decode("utf-8").encode("utf-16")
        response = upload(client_for(world.clinic_a_user), data)
        assert response.status_code == 200
        [message] = response.context["form"].errors["file"]
        assert "UTF-16" in message
        assert not ClinicImport.objects.exists()

    def test_an_empty_file_is_refused(self, world, client_for):
        response = upload(client_for(world.clinic_a_user), b"")
        assert response.status_code == 200 and response.context["form"].errors["file"]
        assert not ClinicImport.objects.exists()

    def test_a_file_over_the_limit_is_refused(self, world, client_for, settings):
        settings.IMPORT_MAX_BYTES = 100
        response = upload(client_for(world.clinic_a_user), good_file(world))
        assert response.status_code == 200
        assert "大きすぎ" in " ".join(response.context["form"].errors["file"])
        assert not ClinicImport.objects.exists()

    def test_the_form_suggests_the_month_just_ended(self, world, client_for):
        form = client_for(world.clinic_a_user).get(UPLOAD_URL).context["form"]
        suggested = form.initial["billing_month"]
        assert suggested.day == 1 and suggested < timezone.localdate().replace(day=1)

    def test_a_clinic_user_without_a_clinic_cannot_upload(self, world, client_for):
        response = upload(client_for(UserFactory(with_role=Role.CLINIC)), good_file(world))
        assert response.status_code == 200
        assert response.context["form"].non_field_errors()
        assert not ClinicImport.objects.exists()


# --- list ------------------------------------------------------------------------------------------


class TestList:
    def test_a_clinic_sees_only_its_own_imports(self, world, client_for):
        own = receive(actor=world.staff, clinic=world.clinic_a, data=good_file(world))
        other = receive(actor=world.staff, clinic=world.clinic_b, data=good_file(world, world.clinic_b))
        response = client_for(world.clinic_a_user).get(LIST_URL)
        assert list(response.context["page"].object_list) == [own]
        assert reverse("imports:detail", args=[other.pk]) not in response.content.decode()

    @pytest.mark.parametrize("who", ["staff", "auditor"])
    def test_staff_and_auditors_see_every_clinic(self, world, client_for, who):
        first = receive(actor=world.staff, clinic=world.clinic_a, data=good_file(world))
        second = receive(actor=world.staff, clinic=world.clinic_b, data=good_file(world, world.clinic_b))
        user = world.staff if who == "staff" else world.auditor
        response = client_for(user).get(LIST_URL)
        assert list(response.context["page"].object_list) == [second, first]
        assert world.clinic_b.name in response.content.decode()


# --- detail ----------------------------------------------------------------------------------------


class TestDetail:
    def test_history_results_and_row_errors(self, world, client_for):
        clinic_import = import_with_errors(world)
        response = client_for(world.clinic_a_user).get(reverse("imports:detail", args=[clinic_import.pk]))
        html = response.content.decode()
        assert clinic_import.sha256 in html and "errors.csv" in html
        assert world.staff.username in html  # who sent it
        for moment in (clinic_import.created_at, clinic_import.started_at, clinic_import.finished_at):
            assert moment is not None
        assert (clinic_import.rows_committed, clinic_import.rows_error) == (2, 2)
        errors = list(response.context["errors"].object_list)
        assert {(e.row_number, e.column) for e in errors} >= {(4, "個人番号"), (5, "委託料")}
        assert "エラー行をCSVでダウンロード" in html
        assert reverse("imports:error_csv", args=[clinic_import.pk]) in html
        # Messages never repeat the values sent.
        assert world.people[2].my_number[:11] not in html
        assert "HYPERLINK" not in html

    def test_auditors_see_the_history_but_not_the_row_errors(self, world, client_for):
        clinic_import = import_with_errors(world)
        response = client_for(world.auditor).get(reverse("imports:detail", args=[clinic_import.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert response.context["errors"] is None
        assert clinic_import.sha256 in html
        assert reverse("imports:error_csv", args=[clinic_import.pk]) not in html
        assert "個人番号の検査用数字" not in html

    def test_the_page_view_is_recorded(self, world, client_for):
        clinic_import = import_with_errors(world)
        client_for(world.clinic_a_user).get(reverse("imports:detail", args=[clinic_import.pk]))
        entry = AuditLogEntry.objects.filter(action=AuditLogEntry.Action.ACCESS, object_pk=str(clinic_import.pk),
                                             actor=world.clinic_a_user).get()
        assert entry.additional_data["view"] == "imports:detail"

    def test_row_errors_are_paginated(self, world, client_for):
        rows = [row_for(world.people[0], world.clinic_a, 性別="3", 備考1=str(n)) for n in range(130)]
        clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file(rows))
        assert clinic_import.rows_error == 130
        client = client_for(world.staff)
        url = reverse("imports:detail", args=[clinic_import.pk])
        first = list(client.get(url).context["errors"].object_list)
        second = list(client.get(url, {"page": 2}).context["errors"].object_list)
        assert len(first) == 100 and len(second) == 30
        assert first[0].row_number == 2 and second[-1].row_number == 131
        assert client.get(url, {"page": "x"}).status_code == 200

    def test_a_failed_import_shows_why(self, world, client_for):
        clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=b"a,b,c\r\n1,2,3\r\n")
        assert clinic_import.status == ImportStatus.FAILED
        html = client_for(world.staff).get(reverse("imports:detail", args=[clinic_import.pk])).content.decode()
        assert "失敗" in html and "見出し" in html

    def test_an_import_in_progress_shows_the_bar_and_polls(self, world, client_for):
        from imports.services import clinic_import_receive

        # Received, not yet processed (its on-commit processing never runs in this test).
        clinic_import = clinic_import_receive(actor=world.staff, clinic=world.clinic_a, billing_month=date(2025, 11, 1),
                                              filename="x.csv", data=good_file(world), source=ImportSource.STAFF_UPLOAD)
        client = client_for(world.clinic_a_user)
        html = client.get(reverse("imports:detail", args=[clinic_import.pk])).content.decode()
        assert 'id="import-progress"' in html
        assert reverse("imports:progress", args=[clinic_import.pk]) in html
        assert "<script>" in html and "fetch(" in html
        assert 'id="refresh-link"' in html  # works without JavaScript too
        assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from elsewhere
        progress = client.get(reverse("imports:progress", args=[clinic_import.pk])).json()
        assert progress["in_progress"] is True and progress["status"] == "received"
        assert progress["rows_total"] == 2 and progress["rows_validated"] == 0 and progress["percent"] == 0

    def test_progress_of_a_validating_import(self, world, client_for):
        clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=good_file(world))
        ClinicImport.objects.filter(pk=clinic_import.pk).update(status=ImportStatus.VALIDATING, rows_total=200,
                                                                rows_validated=50)
        progress = client_for(world.staff).get(reverse("imports:progress", args=[clinic_import.pk])).json()
        assert progress == {
            "status": "validating", "status_label": "検証中", "in_progress": True, "rows_total": 200,
            "rows_validated": 50, "percent": 25, "rows_committed": 2, "rows_duplicate": 0, "rows_error": 0,
        }

    def test_progress_of_a_committed_import(self, world, client_for):
        clinic_import = import_with_errors(world)
        progress = client_for(world.clinic_a_user).get(reverse("imports:progress", args=[clinic_import.pk])).json()
        assert progress["in_progress"] is False and progress["status"] == "committed" and progress["percent"] == 100
        assert (progress["rows_committed"], progress["rows_duplicate"], progress["rows_error"]) == (2, 0, 2)

    def test_an_unknown_import_is_404(self, world, client_for):
        assert client_for(world.staff).get(reverse("imports:detail", args=[999])).status_code == 404


def test_the_navigation_offers_imports_to_clinics_and_tokens_to_administrators(world, client_for):
    clinic_html = client_for(world.clinic_a_user).get(LIST_URL).content.decode()
    assert f'href="{LIST_URL}"' in clinic_html
    admin_html = client_for(world.administrator).get(reverse("imports:token_list")).content.decode()
    assert f'href="{reverse("imports:token_list")}"' in admin_html
    assert f'href="{LIST_URL}"' not in admin_html
