"""Processing a received file (imports.services.clinic_import_process) on whatever database the suite runs
on: every bad input gets a clear error, valid neighbours are committed, nothing is stored twice, and the
state machine makes processing safe to repeat."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.chain import chain_verify
from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import ClinicApiToken, ClinicImport, ImportRowError, ImportSource, ImportStatus
from imports.services import DUPLICATE, clinic_import_error_rows, clinic_import_process
from imports.services import processing as processing_module
from imports.services.storage import StoredFileCorrupted
from records.crypto import encrypt_blob
from records.models import RecordSource, Sex, VaccinationRecord
from tests.factories import VaccinationRecordFactory
from tests.imports.csvdata import BILLING_MONTH, csv_bytes, csv_text, row
from tests.imports.factories import import_file, import_setup, person, receive_file, residents_bulk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def setup():
    return import_setup()


def run(setup, data: bytes, **kwargs) -> ClinicImport:
    kwargs.setdefault("actor", setup.clinic_user)
    kwargs.setdefault("clinic", setup.clinic)
    return import_file(data, **kwargs)


def good(setup, index: int, **overrides) -> dict[str, str]:
    p = setup.people[index]
    return row(p.resident, my_number=p.my_number, **overrides)


def errors_of(clinic_import: ClinicImport) -> list[tuple[int, str, str]]:
    return [(e.row_number, e.column, e.code) for e in clinic_import.row_errors.order_by("row_number", "id")]


def record_entries():
    """CREATE entries of vaccination records."""
    content_type = ContentType.objects.get_for_model(VaccinationRecord)
    return AuditLogEntry.objects.filter(action=AuditLogEntry.Action.CREATE, content_type=content_type)


def assert_adds_up(clinic_import: ClinicImport) -> None:
    assert clinic_import.rows_total == (
        clinic_import.rows_committed + clinic_import.rows_duplicate + clinic_import.rows_error
    )
    assert VaccinationRecord.objects.filter(source_import=clinic_import).count() == clinic_import.rows_committed


# --- a good file --------------------------------------------------------------------------------------
def test_a_valid_file_is_committed_with_every_item_and_an_audit_entry_per_record(setup):
    data = csv_bytes([good(setup, 0), good(setup, 1, 備考1="基礎疾患あり", **{"LOT-NO": "cd34-567"})])
    clinic_import = run(setup, data)
    assert clinic_import.status == ImportStatus.COMMITTED
    assert (clinic_import.rows_total, clinic_import.rows_committed, clinic_import.rows_error) == (2, 2, 0)
    assert clinic_import.rows_validated == 2 and clinic_import.started_at and clinic_import.finished_at
    first, second = VaccinationRecord.objects.filter(source_import=clinic_import).order_by("id")
    assert first.resident == setup.people[0].resident and second.resident == setup.people[1].resident
    assert first.vaccinated_on == date(2025, 11, 10) and first.billing_month == BILLING_MONTH
    assert first.clinic == setup.clinic and first.vaccine == setup.vaccine
    assert first.dose_ml == Decimal("0.50") and first.fee_yen == 3520 and first.age_at_vaccination == 65
    assert second.lot_number == "CD34-567" and second.remarks1 == "基礎疾患あり"
    assert first.source == RecordSource.CLINIC_IMPORT and first.created_by is None and first.author == setup.clinic_user
    entries = record_entries()
    assert entries.count() == 2
    entry = entries.get(object_pk=str(first.pk))
    assert entry.actor == setup.clinic_user
    assert entry.changes_dict["source_import"] == ["None", str(clinic_import.pk)]
    assert entry.changes_dict["vaccinated_on"] == ["None", "2025-11-10"]
    assert entry.changes_dict["resident"] == ["None", str(setup.people[0].resident.pk)]
    assert setup.people[0].my_number not in entry.changes_text
    [committed] = AuditLogEntry.objects.filter(event=AuditEvent.IMPORT_COMMITTED)
    assert committed.object_pk == str(clinic_import.pk)
    assert committed.additional_data["rows_committed"] == 2 and committed.actor == setup.clinic_user
    assert chain_verify().ok


def test_a_cp932_file_with_a_bom_less_crlf_layout_is_committed(setup):
    data = csv_bytes([good(setup, 0, 備考1="①㈱髙")], encoding="cp932")
    clinic_import = run(setup, data)
    assert clinic_import.rows_committed == 1
    assert VaccinationRecord.objects.get(source_import=clinic_import).remarks1 == "①㈱髙"


# --- the file as a whole -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "code_text"),
    [
        (b"", "ファイルが空です"),
        (b"\r\n\r\n", "ファイルが空です"),
        (csv_bytes([]), "見出し行だけ"),
        (csv_text([], header=["宛名番号", "氏名", "接種日"]).encode() + b"1,2,3\r\n", "1行目の見出しが3列です"),
    ],
)
def test_whole_file_problems_fail_the_import_with_a_message(setup, data, code_text):
    clinic_import = run(setup, data)
    assert clinic_import.status == ImportStatus.FAILED and code_text in clinic_import.failure_message
    assert not VaccinationRecord.objects.exists() and not clinic_import.row_errors.exists()
    [failed] = AuditLogEntry.objects.filter(event=AuditEvent.IMPORT_FAILED)
    assert failed.object_pk == str(clinic_import.pk)


def test_a_wrong_header_names_the_column(setup):
    header = list(csv_text([]).strip().split(","))
    header[2] = "氏名"
    clinic_import = run(setup, csv_bytes([good(setup, 0)], header=header))
    assert clinic_import.status == ImportStatus.FAILED and "3列目は「氏名カナ」" in clinic_import.failure_message


def test_a_file_with_the_wrong_separator_fails_as_a_whole(setup):
    text = csv_text([good(setup, 0), good(setup, 1)])
    lines = text.split("\r\n")
    data = (lines[0] + "\r\n" + "\r\n".join(line.replace(",", ";") for line in lines[1:])).encode()
    clinic_import = run(setup, data)
    assert clinic_import.status == ImportStatus.FAILED and "どの行も列数" in clinic_import.failure_message
    assert clinic_import.rows_total == 2


# --- rows: errors never block valid neighbours ------------------------------------------------------
def test_missing_and_extra_columns_are_row_errors_and_neighbours_are_committed(setup):
    text = csv_text([good(setup, 0)]) + "1,2,3\r\n" + ",".join(["x"] * 22) + "\r\n" + csv_text([good(setup, 1)],
                                                                                             header=None)
    clinic_import = run(setup, text.encode())
    assert errors_of(clinic_import) == [(3, "", "column_count"), (4, "", "column_count")]
    assert clinic_import.rows_committed == 2 and clinic_import.rows_error == 2
    assert_adds_up(clinic_import)


def test_a_quoted_field_with_a_newline_is_one_row_and_rows_are_counted_as_a_spreadsheet_shows_them(setup):
    data = csv_bytes([good(setup, 0, 備考1="1行目\n2行目"), good(setup, 1, 性別="3"), good(setup, 2)])
    clinic_import = run(setup, data)
    assert errors_of(clinic_import) == [(3, "性別", "sex_invalid")]
    assert clinic_import.rows_total == 3 and clinic_import.rows_committed == 2
    record = VaccinationRecord.objects.get(source_import=clinic_import, resident=setup.people[0].resident)
    assert record.remarks1 == "1行目\n2行目"


def test_blank_lines_are_not_rows_but_keep_the_numbering(setup):
    text = csv_text([good(setup, 0)]) + "\r\n" + ",,,,,,,,,,,,,,,,,,,,\r\n" + csv_text([good(setup, 1, 性別="3")],
                                                                                      header=None)
    clinic_import = run(setup, text.encode())
    assert errors_of(clinic_import) == [(5, "性別", "sex_invalid")] and clinic_import.rows_total == 2


@pytest.mark.parametrize(
    ("overrides", "column", "code"),
    [
        ({"接種日": "2025/02/30"}, "接種日", "date_invalid_day"),
        ({"生年月日": "令和0年4月1日"}, "生年月日", "date_invalid_era_year"),
        ({"接種日": "R7.13.1"}, "接種日", "date_invalid_month"),
        ({"接種日": "2099-11-10", "請求年月": "2099-11"}, "接種日", "vaccinated_on_future"),
        ({"接種場所": "9999999999"}, "接種場所", "clinic_unknown"),
        ({"接種場所": "1100000002"}, "接種場所", "clinic_other"),
        ({"ワクチン": "ZZZ99"}, "ワクチン", "vaccine_unknown"),
        ({"接種時年齢": "64"}, "接種時年齢", "age_mismatch"),
        ({"委託料": "-100"}, "委託料", "fee_negative"),
    ],
)
def test_each_bad_cell_is_a_row_error_and_the_other_rows_are_committed(setup, overrides, column, code):
    clinic_import = run(setup, csv_bytes([good(setup, 0), good(setup, 1, **overrides), good(setup, 2)]))
    assert (3, column, code) in errors_of(clinic_import)
    assert clinic_import.status == ImportStatus.COMMITTED
    assert (clinic_import.rows_committed, clinic_import.rows_error) == (2, 1)
    assert_adds_up(clinic_import)


def test_a_vaccination_before_birth_is_an_error(setup):
    baby = person(address_number="600001", name_kana="アカチャン　イチ", birth_date=date(2025, 11, 20),
                  sex=Sex.MALE)
    clinic_import = run(setup, csv_bytes([row(baby.resident, 接種時年齢="0")]))
    assert errors_of(clinic_import) == [(2, "接種日", "vaccinated_on_before_birth")]


@pytest.mark.parametrize(
    ("birth", "vaccinated_on", "age"),
    [
        (date(1960, 11, 11), date(2025, 11, 10), "64"),  # the day before the 65th birthday
        (date(1960, 11, 10), date(2025, 11, 10), "65"),  # the birthday
        (date(2000, 2, 29), date(2025, 2, 28), "24"),  # 29 February birth, common year
        (date(2000, 2, 29), date(2025, 3, 1), "25"),
    ],
)
def test_age_around_a_birthday_and_29_february(setup, birth, vaccinated_on, age):
    someone = person(address_number="600002", name_kana="タンジョウ　ビ", birth_date=birth, sex=Sex.FEMALE)
    month = vaccinated_on.replace(day=1)
    off_by_one = str(int(age) + 1)
    rows = [row(someone.resident, vaccinated_on=vaccinated_on, 接種時年齢=age, 請求年月=f"{month:%Y-%m}"),
            row(someone.resident, vaccinated_on=vaccinated_on, 接種時年齢=off_by_one, 請求年月=f"{month:%Y-%m}",
                ワクチン="FLU01", 診察区分="2", 接種量="0", 接種医師名="", **{"LOT-NO": ""})]
    clinic_import = run(setup, csv_bytes(rows), billing_month=month)
    assert errors_of(clinic_import) == [(3, "接種時年齢", "age_mismatch")]
    assert clinic_import.rows_committed == 1


@pytest.mark.parametrize(
    ("my_number", "code"),
    [("12345678901", "my_number_length"), ("1234567890180", "my_number_length"),
     ("123456789019", "my_number_check_digit")],
)
def test_bad_my_numbers_are_row_errors_without_the_number(setup, my_number, code):
    clinic_import = run(setup, csv_bytes([row(setup.people[0].resident, my_number=my_number), good(setup, 1)]))
    [error] = clinic_import.row_errors.all()
    assert (error.row_number, error.column, error.code) == (2, "個人番号", code)
    assert my_number[:6] not in error.message
    assert clinic_import.rows_committed == 1


def test_full_width_digits_are_accepted(setup):
    to_full = str.maketrans("0123456789", "０１２３４５６７８９")
    p = setup.people[0]
    clinic_import = run(setup, csv_bytes([row(p.resident, my_number=p.my_number.translate(to_full),
                                              宛名番号=p.resident.address_number.translate(to_full),
                                              委託料="３５２０")]))
    assert clinic_import.rows_committed == 1 and not clinic_import.row_errors.exists()


def test_unknown_residents_are_errors_whichever_number_identifies_them(setup):
    unknown_number = "123456789018"
    rows = [
        row(setup.people[0].resident, 宛名番号="999999"),
        row(setup.people[1].resident, 宛名番号="", 個人番号=unknown_number),
        row(setup.people[2].resident, 宛名番号=setup.people[2].resident.address_number,
            個人番号=setup.people[0].my_number),
    ]
    clinic_import = run(setup, csv_bytes(rows))
    assert errors_of(clinic_import) == [
        (2, "宛名番号", "resident_unknown"), (3, "個人番号", "resident_unknown"), (4, "個人番号", "identity_conflict"),
    ]
    assert clinic_import.rows_committed == 0 and clinic_import.status == ImportStatus.COMMITTED


def test_identity_must_agree_and_the_error_names_fields_not_stored_values(setup):
    p0, p1 = setup.people[0], setup.people[1]
    rows = [
        row(p0.resident, my_number=p0.my_number, 氏名カナ="ベツジン　タロウ"),
        row(p1.resident, my_number=p1.my_number, 生年月日="1961-04-02", 性別="1", 接種時年齢="64"),
    ]
    clinic_import = run(setup, csv_bytes(rows))
    first, second = clinic_import.row_errors.order_by("row_number")
    assert (first.code, first.column, first.message) == ("identity_mismatch", "氏名カナ", "本人確認不一致（氏名カナ）")
    assert second.message == "本人確認不一致（生年月日・性別）"
    for error in (first, second):
        assert p0.resident.name_kana not in error.message and "1960" not in error.message
    assert clinic_import.rows_committed == 0


def test_kana_is_compared_after_normalising_width_spaces_and_small_kana(setup):
    someone = person(address_number="600003", name_kana="ジョウ　キョウコ", birth_date=date(1980, 5, 5),
                     sex=Sex.FEMALE)
    clinic_import = run(setup, csv_bytes([row(someone.resident, 氏名カナ="ｼﾞﾖｳ ｷﾖｳｺ")]))
    assert clinic_import.rows_committed == 1


def test_a_dose_before_moving_in_is_stored_with_its_place(setup):
    clinic_import = run(setup, csv_bytes([good(setup, 0, 転入前接種="1", 接種場所="さいたま市 ○○医院")]))
    record = VaccinationRecord.objects.get(source_import=clinic_import)
    assert record.before_move_in and record.clinic is None and record.place_text == "さいたま市 ○○医院"


@pytest.mark.parametrize("value", ['=HYPERLINK("http://example.com","x")', "+1+1", "-2+3", "@SUM(A1:A2)"])
def test_cells_beginning_like_formulas_are_stored_as_plain_data(setup, value):
    clinic_import = run(setup, csv_bytes([good(setup, 0, 備考1=value, 予診医師名=value)]))
    record = VaccinationRecord.objects.get(source_import=clinic_import)
    assert record.remarks1 == value and record.screening_doctor == value


# --- duplicates --------------------------------------------------------------------------------------
def test_the_same_row_twice_stores_one_record(setup):
    clinic_import = run(setup, csv_bytes([good(setup, 0), good(setup, 1), good(setup, 0, 備考1="再送")]))
    assert (clinic_import.rows_committed, clinic_import.rows_duplicate, clinic_import.rows_error) == (2, 1, 0)
    [duplicate] = clinic_import.row_errors.all()
    assert (duplicate.row_number, duplicate.code) == (4, DUPLICATE) and "2行目" in duplicate.message
    assert_adds_up(clinic_import)


def test_the_same_records_in_another_file_are_duplicates_not_stored_again(setup):
    first = run(setup, csv_bytes([good(setup, 0), good(setup, 1)]))
    second = run(setup, csv_bytes([good(setup, 0, 備考1="別ファイル"), good(setup, 1), good(setup, 2)]))
    assert (second.status, second.rows_committed, second.rows_duplicate) == (ImportStatus.COMMITTED, 1, 2)
    assert {e.code for e in second.row_errors.all()} == {DUPLICATE}
    assert VaccinationRecord.objects.count() == 3 and first.records.count() == 2
    assert_adds_up(second)


def test_an_event_entered_at_the_counter_is_a_duplicate_too(setup):
    VaccinationRecordFactory(resident=setup.people[0].resident, vaccine=setup.vaccine, clinic=setup.clinic)
    clinic_import = run(setup, csv_bytes([good(setup, 0)]))
    assert (clinic_import.rows_committed, clinic_import.rows_duplicate) == (0, 1)
    assert VaccinationRecord.objects.count() == 1


def test_a_record_committed_elsewhere_while_validating_is_a_duplicate(setup, monkeypatch):
    """Another import or a counter clerk stores the same event after this import has read the file: the
    commit finds it (on PostgreSQL in the INSERT itself, ON CONFLICT DO NOTHING) and counts a duplicate."""
    original = processing_module._commit

    def meanwhile(clinic_import, actor, outcome):
        VaccinationRecordFactory(resident=setup.people[1].resident, vaccine=setup.vaccine, clinic=setup.clinic)
        return original(clinic_import, actor, outcome)

    monkeypatch.setattr(processing_module, "_commit", meanwhile)
    clinic_import = run(setup, csv_bytes([good(setup, 0), good(setup, 1), good(setup, 2)]))
    assert (clinic_import.rows_committed, clinic_import.rows_duplicate) == (2, 1)
    assert errors_of(clinic_import) == [(3, "", DUPLICATE)]
    assert VaccinationRecord.objects.filter(resident=setup.people[1].resident).count() == 1
    assert_adds_up(clinic_import)


# --- the state machine --------------------------------------------------------------------------------
def test_processing_a_committed_import_again_changes_nothing(setup):
    clinic_import = run(setup, csv_bytes([good(setup, 0)]))
    entries = AuditLogEntry.objects.count()
    again = clinic_import_process(import_id=clinic_import.pk)
    assert again.status == ImportStatus.COMMITTED and again.finished_at == clinic_import.finished_at
    assert VaccinationRecord.objects.count() == 1 and AuditLogEntry.objects.count() == entries


def test_a_failed_import_stays_failed(setup):
    clinic_import = run(setup, b"")
    assert clinic_import_process(import_id=clinic_import.pk).status == ImportStatus.FAILED


def test_an_import_left_validating_by_a_dead_worker_is_run_again_from_the_start(setup):
    clinic_import = receive_file(csv_bytes([good(setup, 0), good(setup, 1)]), actor=setup.clinic_user,
                                 clinic=setup.clinic)
    ClinicImport.objects.filter(pk=clinic_import.pk).update(status=ImportStatus.VALIDATING, rows_validated=1)
    done = clinic_import_process(import_id=clinic_import.pk)
    assert done.status == ImportStatus.COMMITTED and done.rows_committed == 2 and done.rows_validated == 2
    assert VaccinationRecord.objects.count() == 2


def test_a_stored_file_that_was_altered_is_not_processed(setup, media):
    clinic_import = receive_file(csv_bytes([good(setup, 0)]), actor=setup.clinic_user, clinic=setup.clinic)
    other = encrypt_blob(csv_bytes([good(setup, 1)]))  # validly encrypted, but not the bytes received
    (media / clinic_import.stored_file).write_bytes(other)
    with pytest.raises(StoredFileCorrupted):
        clinic_import_process(import_id=clinic_import.pk)
    assert ClinicImport.objects.get(pk=clinic_import.pk).status == ImportStatus.VALIDATING
    assert not VaccinationRecord.objects.exists()


def test_progress_is_written_after_every_chunk(setup, monkeypatch):
    monkeypatch.setattr(processing_module, "CHUNK_ROWS", 1)
    clinic_import = receive_file(csv_bytes([good(setup, 0), good(setup, 1), good(setup, 2)]),
                                 actor=setup.clinic_user, clinic=setup.clinic)
    with CaptureQueriesContext(connection) as queries:
        clinic_import_process(import_id=clinic_import.pk)
    progress = [q["sql"] for q in queries if "rows_validated" in q["sql"] and q["sql"].startswith("UPDATE")]
    assert len(progress) >= 3


def test_a_clinic_token_import_names_the_issuer_as_creator_and_no_actor(setup):
    token = ClinicApiToken.objects.create(clinic=setup.clinic, name="連携", prefix="kvx_abcd", key_hash="1" * 64,
                                          created_by=setup.staff)
    clinic_import = receive_file(csv_bytes([good(setup, 0)]), actor=None, clinic=setup.clinic,
                                 source=ImportSource.API, api_token=token)
    clinic_import_process(import_id=clinic_import.pk)
    record = VaccinationRecord.objects.get(source_import=clinic_import)
    assert record.author == setup.staff == record.last_editor and record.created_by is None
    entry = record_entries().get(object_pk=str(record.pk))
    assert entry.actor is None


# --- the rows of the error CSV ------------------------------------------------------------------------
def test_error_rows_are_read_back_as_sent_without_duplicates(setup):
    p = setup.people
    rows = [good(setup, 0), good(setup, 1, 備考1="改行\nあり", 性別="3"), good(setup, 0),
            good(setup, 2, 委託料="-1", 個人番号="１２３")]
    clinic_import = run(setup, csv_bytes(rows, encoding="cp932"))
    found = clinic_import_error_rows(clinic_import=clinic_import)
    assert [number for number, _ in found] == [3, 5]
    assert found[0][1][18] == "改行\nあり" and found[0][1][4] == "3"
    assert found[1][1][1] == "１２３" and found[1][1][0] == p[2].resident.address_number
    assert ImportRowError.objects.filter(clinic_import=clinic_import, code=DUPLICATE).count() == 1


def test_no_error_rows_means_nothing_is_read(setup):
    clinic_import = run(setup, csv_bytes([good(setup, 0)]))
    assert clinic_import_error_rows(clinic_import=clinic_import) == []


# --- bounded queries ----------------------------------------------------------------------------------
def queries_for(setup, people) -> list[str]:
    data = csv_bytes([row(p.resident, my_number=p.my_number if i % 2 else "") for i, p in enumerate(people)])
    clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)
    with CaptureQueriesContext(connection) as queries:
        done = clinic_import_process(import_id=clinic_import.pk)
    assert done.rows_committed == len(people)
    return [q["sql"] for q in queries]


def test_queries_do_not_grow_with_the_number_of_rows(setup):
    people = residents_bulk(550)
    small = queries_for(setup, people[:50])
    large = queries_for(setup, people[50:])
    if connection.vendor != "postgresql":
        # SQLite caps the parameters of one statement, so Django splits bulk inserts into statements of a
        # few dozen rows; everything else (the lookups above all) must stay the same.
        small = [sql for sql in small if not sql.startswith("INSERT")]
        large = [sql for sql in large if not sql.startswith("INSERT")]
    assert abs(len(large) - len(small)) <= 2, (len(small), len(large))
    assert len(large) < 60


# --- audit entries written as text (imports.services.inserting) -----------------------------------------
def test_awkward_text_is_stored_as_sent_and_audited_like_auditlog_would(setup):
    """Cells with the characters COPY and JSON escape (backslash, tab, line breaks, quotes) go through the
    text the import formats itself: the record holds them unchanged, and each CREATE entry has the repr and
    the diff auditlog would have written for the record (less the empty values, the creation time and the
    updater, which the import has always left out), and joins the chain."""
    from auditlog.diff import model_instance_diff

    awkward = 'a\\b\tc\r\nd "q" \\N ①'
    data = csv_bytes([
        good(setup, 0, 備考1=awkward, 予診医師名="予診\t一郎", 接種医師名='接種 "次郎"\\'),
        good(setup, 1, 備考3="\\", 接種量="0.5"),
    ])
    clinic_import = run(setup, data)
    assert clinic_import.rows_committed == 2, errors_of(clinic_import)
    first, second = VaccinationRecord.objects.filter(source_import=clinic_import).order_by("id")
    assert first.remarks1 == awkward
    assert (first.screening_doctor, first.vaccinating_doctor) == ("予診\t一郎", '接種 "次郎"\\')
    assert second.remarks3 == "\\" and second.dose_ml == Decimal("0.5")
    for record in (first, second):
        entry = record_entries().get(object_pk=str(record.pk))
        assert entry.object_id == record.pk and entry.object_repr == str(record)
        expected = {name: [old, new] for name, (old, new) in model_instance_diff(None, record).items()
                    # auditlog lists a null foreign key as ["None", "None"] (no change; left out here)
                    if new != "" and name != "created_at" and [old, new] != ["None", "None"]}
        assert entry.changes_dict == expected
    assert chain_verify().ok
