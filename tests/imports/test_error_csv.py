"""The row-error CSV: the upload's own column layout plus 行番号・エラー項目・エラー内容, UTF-8 with BOM and
CRLF, formula-safe, only for the import's own clinic and staff, recorded as an export; and the round trip a
clinic makes with it (correct the rows, drop the error columns, upload them again)."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.csvformat import CSV_COLUMNS
from imports.error_csv import ERROR_COLUMNS, clinic_import_error_csv
from imports.models import ImportStatus
from tests.imports.surfaces import World, csv_file, import_with_errors, make_world, read_csv, receive, row_for


@pytest.fixture
def world(db) -> World:
    return make_world()


def download(client: Client, clinic_import) -> bytes:
    response = client.get(reverse("imports:error_csv", args=[clinic_import.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="import-{clinic_import.pk}-errors.csv"'
    assert "no-store" in response["Cache-Control"]
    return response.content


def test_layout_bom_and_line_endings(world, client_for):
    clinic_import = import_with_errors(world)
    content = download(client_for(world.clinic_a_user), clinic_import)
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.count(b"\r\n") == 3 and b"\n" not in content.replace(b"\r\n", b"")
    header, *rows = read_csv(content)
    assert header == [*CSV_COLUMNS, *ERROR_COLUMNS] == [*CSV_COLUMNS, "行番号", "エラー項目", "エラー内容"]
    assert [row[len(CSV_COLUMNS)] for row in rows] == ["4", "5"]  # the good rows 2 and 3 are not in it


def test_the_rows_are_as_sent_with_their_errors(world, client_for):
    clinic_import = import_with_errors(world)
    _header, wrong_check_digit, bad_fee = read_csv(download(client_for(world.staff), clinic_import))
    width = len(CSV_COLUMNS)
    sent_number = world.people[2].my_number[:11] + str((int(world.people[2].my_number[11]) + 1) % 10)
    assert wrong_check_digit[:width] == row_for(world.people[2], world.clinic_a, 個人番号=sent_number)
    assert wrong_check_digit[width + 1] == "個人番号"
    assert "検査用数字" in wrong_check_digit[width + 2]
    assert bad_fee[width + 1] == "委託料"
    assert bad_fee[width + 2].startswith("委託料: ")


def test_formula_like_cells_are_made_inert(world, client_for):
    rows = [row_for(world.people[n], world.clinic_a, 性別="3", 備考1=cell)
            for n, cell in enumerate(['=HYPERLINK("http://example.com")', "+81-3", "-1+1", "@SUM(A1)"])]
    clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file(rows))
    _header, *lines = read_csv(download(client_for(world.staff), clinic_import))
    remarks = [line[CSV_COLUMNS.index("備考1")] for line in lines]
    assert remarks == ["'=HYPERLINK(\"http://example.com\")", "'+81-3", "'-1+1", "'@SUM(A1)"]


def test_short_and_long_rows_keep_every_cell_and_aligned_error_columns(world, client_for):
    good = row_for(world.people[0], world.clinic_a)
    short = row_for(world.people[1], world.clinic_a)[:-2]
    long = [*row_for(world.people[2], world.clinic_a), "extra1", "extra2"]
    clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file([good, short, long]))
    assert clinic_import.rows_error == 2
    width = len(CSV_COLUMNS)
    _header, short_line, long_line = read_csv(download(client_for(world.staff), clinic_import))
    assert short_line[:width] == [*short, "", ""]
    assert short_line[width] == "3" and len(short_line) == width + 3
    assert long_line[:width] == long[:width]
    assert long_line[width] == "4" and long_line[width + 3:] == ["extra1", "extra2"]


def test_a_quoted_cell_with_a_newline_stays_one_row(world, client_for):
    row = row_for(world.people[0], world.clinic_a, 性別="3", 備考2="一行目\n二行目")
    clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file([row]))
    _header, line = read_csv(download(client_for(world.staff), clinic_import))
    assert line[CSV_COLUMNS.index("備考2")] == "一行目\n二行目"


def test_a_cp932_upload_comes_back_in_utf8(world, client_for):
    row = row_for(world.people[0], world.clinic_a, 性別="3", 予診医師名="髙橋 ①郎", 備考1="㈱越谷")
    clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file([row], encoding="cp932"))
    assert clinic_import.encoding == "cp932"
    _header, line = read_csv(download(client_for(world.staff), clinic_import))
    assert line[CSV_COLUMNS.index("予診医師名")] == "髙橋 ①郎" and line[CSV_COLUMNS.index("備考1")] == "㈱越谷"


def test_duplicates_are_not_errors_to_correct(world, client_for):
    row = row_for(world.people[0], world.clinic_a)
    clinic_import = receive(actor=world.staff, clinic=world.clinic_a, data=csv_file([row, row]))
    assert (clinic_import.rows_committed, clinic_import.rows_duplicate, clinic_import.rows_error) == (1, 1, 0)
    assert read_csv(download(client_for(world.staff), clinic_import)) == [[*CSV_COLUMNS, *ERROR_COLUMNS]]


def test_the_download_is_recorded_as_an_export_without_values(world, client_for):
    clinic_import = import_with_errors(world)
    download(client_for(world.clinic_a_user), clinic_import)
    [entry] = AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE)
    assert entry.actor == world.clinic_a_user and entry.object_pk == str(clinic_import.pk)
    assert entry.additional_data == {"kind": "import_error_rows", "rows": 2, "clinic": world.clinic_a.code}
    stored = json.dumps(list(AuditLogEntry.objects.values()), default=str, ensure_ascii=False)
    for person in world.people:
        assert person.my_number[:11] not in stored
    assert "HYPERLINK" not in stored


class TestOnlyOwn:
    def test_another_clinic_gets_404_and_nothing_is_recorded(self, world, client_for):
        clinic_import = import_with_errors(world)
        response = client_for(world.clinic_b_user).get(reverse("imports:error_csv", args=[clinic_import.pk]))
        assert response.status_code == 404
        assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()

    def test_auditors_get_403(self, world, client_for):
        clinic_import = import_with_errors(world)
        response = client_for(world.auditor).get(reverse("imports:error_csv", args=[clinic_import.pk]))
        assert response.status_code == 403

    @pytest.mark.parametrize("who", ["clinic_b_user", "auditor", "administrator"])
    def test_the_service_refuses_too(self, world, who):
        clinic_import = import_with_errors(world)
        with pytest.raises(PermissionDenied):
            clinic_import_error_csv(actor=getattr(world, who), clinic_import=clinic_import)
        assert not AuditLogEntry.objects.filter(event=AuditEvent.EXPORT_MADE).exists()


def test_the_corrected_rows_go_back_in_as_a_correction_file(world, client_for, django_capture_on_commit_callbacks):
    """What docs/clinic-csv.md tells clinics to do: correct the rows, delete the three error columns,
    upload the rows again."""
    clinic_import = import_with_errors(world)
    client = client_for(world.clinic_a_user)
    _header, *lines = read_csv(download(client, clinic_import))
    width = len(CSV_COLUMNS)
    corrected = []
    for line in lines:
        cells = dict(zip(CSV_COLUMNS, line[:width], strict=True))
        if cells["個人番号"] == world.people[2].my_number:
            raise AssertionError("the row should carry the number as sent, not the right one")
        if line[width + 1] == "個人番号":
            cells["個人番号"] = world.people[2].my_number
        if line[width + 1] == "委託料":
            cells["委託料"] = "3520"
            cells["備考1"] = cells["備考1"].removeprefix("'")
        corrected.append([cells[name] for name in CSV_COLUMNS])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:upload"), {
            "billing_month": "2025-11", "file": _upload("2025-11-correction.csv", csv_file(corrected)),
        })
    assert response.status_code == 302
    correction = clinic_import.__class__.objects.exclude(pk=clinic_import.pk).get()
    assert correction.status == ImportStatus.COMMITTED
    assert (correction.rows_total, correction.rows_committed, correction.rows_error) == (2, 2, 0)


def _upload(name: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_nothing_held_about_the_person_is_added(world, client_for):
    """The CSV repeats what was sent: the stored (right) My Number of the person whose row carried a wrong
    one is not in it, nor are the good rows' numbers."""
    clinic_import = import_with_errors(world)
    content = download(client_for(world.staff), clinic_import).decode("utf-8-sig")
    for person in (world.people[0], world.people[1], world.people[2]):
        assert person.my_number not in content
    assert world.people[3].my_number in content  # its row was sent with it and had another error
