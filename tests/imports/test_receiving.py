"""Receiving a clinic's file (imports.services.clinic_import_receive): stored unchanged, encrypted, with its
SHA-256 before anything else; duplicates, unreadable encodings, oversized files and other clinics' files
refused with a clear Japanese message and nothing kept."""

import base64
import codecs
import hashlib
import os
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.events import AuditEvent
from audit.models import AuditLogEntry
from imports.models import ClinicApiToken, ClinicImport, ImportSource, ImportStatus
from imports.services import ImportRefused, clinic_import_receive
from records.crypto import DecryptionError, decrypt_blob, encrypt_blob
from tests.imports.csvdata import BILLING_MONTH, csv_bytes, csv_text, row
from tests.imports.factories import import_setup, receive_file, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def setup():
    return import_setup()


def good_rows(setup, count=2):
    return [row(p.resident, my_number=p.my_number) for p in setup.people[:count]]


def events(code: str) -> list[AuditLogEntry]:
    return list(AuditLogEntry.objects.filter(event=code).order_by("seq"))


def refused(setup, data: bytes, **kwargs) -> ImportRefused:
    kwargs.setdefault("actor", setup.clinic_user)
    kwargs.setdefault("clinic", setup.clinic)
    with pytest.raises(ImportRefused) as excinfo:
        receive_file(data, **kwargs)
    return excinfo.value


def test_the_file_is_stored_unchanged_encrypted_with_its_hash(setup, media, django_capture_on_commit_callbacks):
    data = csv_bytes(good_rows(setup))
    with django_capture_on_commit_callbacks() as callbacks:
        clinic_import = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic, filename="11月分.csv")
    assert clinic_import.status == ImportStatus.RECEIVED
    assert clinic_import.sha256 == hashlib.sha256(data).hexdigest()
    assert clinic_import.size_bytes == len(data)
    assert clinic_import.uploaded_by == setup.clinic_user and clinic_import.original_filename == "11月分.csv"
    assert clinic_import.encoding == "utf-8" and clinic_import.rows_total == 2
    today = timezone.localdate()
    assert clinic_import.stored_file.startswith(f"imports/{today:%Y}/{today:%m}/")
    assert clinic_import.stored_file.endswith(".bin")
    [path] = stored_files(media)
    on_disk = path.read_bytes()
    assert data not in on_disk and setup.people[0].my_number.encode() not in on_disk  # encrypted at rest
    assert decrypt_blob(on_disk) == data  # ... and unchanged
    [received] = events(AuditEvent.IMPORT_RECEIVED)
    assert received.object_pk == str(clinic_import.pk) and received.actor == setup.clinic_user
    assert received.additional_data["sha256"] == clinic_import.sha256
    assert setup.people[0].my_number not in str(received.additional_data)
    assert len(callbacks) == 1  # processing is enqueued only once the receipt is committed


def test_the_stored_file_is_readable_under_a_rotated_key_list_and_only_under_it(setup, media, settings):
    old, new = (base64.urlsafe_b64encode(os.urandom(32)).decode() for _ in range(2))
    settings.MY_NUMBER_KEYS = [old]
    data = csv_bytes(good_rows(setup))
    receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)
    [path] = stored_files(media)
    settings.MY_NUMBER_KEYS = [new, old]
    assert decrypt_blob(path.read_bytes()) == data
    settings.MY_NUMBER_KEYS = [new]
    with pytest.raises(DecryptionError):
        decrypt_blob(path.read_bytes())
    tampered = bytearray(encrypt_blob(data))
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        decrypt_blob(bytes(tampered))


def test_the_enqueued_task_processes_the_import(setup, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        clinic_import = receive_file(csv_bytes(good_rows(setup)), actor=setup.clinic_user, clinic=setup.clinic)
    clinic_import.refresh_from_db()
    assert clinic_import.status == ImportStatus.COMMITTED and clinic_import.rows_committed == 2


@pytest.mark.parametrize(
    ("encoding", "bom", "newline", "expected"),
    [
        ("utf-8", False, "\r\n", "utf-8"),
        ("utf-8", True, "\r\n", "utf-8-sig"),
        ("utf-8", False, "\n", "utf-8"),
        ("cp932", False, "\r\n", "cp932"),
        ("cp932", False, "\n", "cp932"),
    ],
)
def test_encodings_and_line_endings_are_detected(setup, encoding, bom, newline, expected):
    rows = [row(setup.people[0].resident, 備考1="①㈱髙")]  # characters plain shift_jis does not have
    clinic_import = receive_file(csv_bytes(rows, encoding=encoding, bom=bom, newline=newline),
                                 actor=setup.staff, clinic=setup.clinic, source=ImportSource.STAFF_UPLOAD)
    assert clinic_import.encoding == expected and clinic_import.rows_total == 1


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda text: text.encode("utf-16"), "encoding_utf16"),  # with its BOM
        (lambda text: text.encode("utf-16-le"), "encoding_utf16"),  # without: every other byte is NUL
        (lambda text: text.encode("utf-8").replace(b"\r\n", b"\x00\r\n", 1), "nul_bytes"),
        (lambda text: codecs.BOM_UTF8 + text.encode("cp932"), "encoding_bom_mismatch"),
        (lambda text: text.encode("utf-8") + "コシガヤ\r\n".encode("cp932"), "encoding_mixed"),
        (lambda text: text.encode("cp932") + b"\x81\x20\r\n", "encoding_unknown"),
    ],
)
def test_unreadable_encodings_are_refused_and_nothing_is_kept(setup, media, make, code):
    data = make(csv_text([row(setup.people[0].resident, 備考1="越谷")]))
    refusal = refused(setup, data)
    assert refusal.code == code
    assert refusal.messages and all("UTF" in m or "文字" in m for m in refusal.messages)
    assert not ClinicImport.objects.exists() and stored_files(media) == []


def test_the_same_bytes_again_are_refused_naming_the_earlier_import(setup, media):
    data = csv_bytes(good_rows(setup))
    first = receive_file(data, actor=setup.clinic_user, clinic=setup.clinic)
    refusal = refused(setup, data, actor=setup.staff, source=ImportSource.STAFF_UPLOAD)
    assert refusal.code == "duplicate_file" and refusal.existing_import == first
    message = refusal.messages[0]
    assert f"#{first.pk}" in message and setup.clinic.code in message and setup.clinic.name in message
    assert f"{timezone.localtime(first.created_at):%Y年%m月%d日}" in message
    assert ClinicImport.objects.count() == 1 and len(stored_files(media)) == 1
    [event] = events(AuditEvent.IMPORT_DUPLICATE_REFUSED)
    assert event.object_pk == str(first.pk) and event.actor == setup.staff


def test_a_file_over_the_size_limit_is_refused_before_it_is_hashed_or_stored(setup, media, settings):
    settings.IMPORT_MAX_BYTES = 100
    data = csv_bytes(good_rows(setup))
    refusal = refused(setup, data)
    assert refusal.code == "too_large" and "上限は100バイト" in refusal.messages[0]
    assert stored_files(media) == [] and not ClinicImport.objects.exists()
    settings.IMPORT_MAX_BYTES = len(data)
    assert receive_file(data, actor=setup.clinic_user, clinic=setup.clinic).size_bytes == len(data)


def test_a_50_mb_file_is_refused_by_the_default_limit(setup, media):
    header = csv_bytes([], newline="\r\n")
    data = header + b"0" * (50 * 1024 * 1024 + 1 - len(header))
    refusal = refused(setup, data)
    assert refusal.code == "too_large" and "50MB" in refusal.messages[0]
    assert stored_files(media) == []


def test_too_many_rows_are_refused(setup, media, settings):
    settings.IMPORT_MAX_ROWS = 2
    refusal = refused(setup, csv_bytes(good_rows(setup, 3)))
    assert refusal.code == "too_many_rows" and "3行" in refusal.messages[0]
    assert stored_files(media) == []


def test_a_broken_quote_is_refused_with_the_row(setup, media, settings):
    text = csv_text(good_rows(setup, 1)) + '"' + "x" * 200_000 + "\r\n"
    refusal = refused(setup, text.encode())
    assert refusal.code == "csv_malformed" and "3行目" in refusal.messages[0]
    assert stored_files(media) == []


def test_clinic_users_receive_for_their_own_clinic_only(setup, media):
    with pytest.raises(PermissionDenied):
        receive_file(csv_bytes(good_rows(setup)), actor=setup.clinic_user, clinic=setup.other_clinic)
    assert stored_files(media) == []
    other = receive_file(csv_bytes(good_rows(setup)), actor=setup.staff, clinic=setup.other_clinic,
                         source=ImportSource.STAFF_UPLOAD)
    assert other.clinic == setup.other_clinic and other.uploaded_by == setup.staff


class TokenUser:
    """What the API hands the service for a clinic token: bound to a clinic, no person behind it."""

    pk = None
    is_authenticated = True

    def __init__(self, token: ClinicApiToken) -> None:
        self.clinic_id = token.clinic_id


def token_for(setup, clinic, **kwargs) -> ClinicApiToken:
    return ClinicApiToken.objects.create(clinic=clinic, name="レセコン連携", prefix="kvx_test", key_hash="0" * 64,
                                         created_by=setup.staff, **kwargs)


def test_a_clinic_token_import_names_the_token_and_no_person(setup):
    token = token_for(setup, setup.clinic)
    clinic_import = receive_file(csv_bytes(good_rows(setup)), actor=TokenUser(token), clinic=setup.clinic,
                                 source=ImportSource.API, api_token=token)
    assert clinic_import.uploaded_by is None and clinic_import.api_token == token


@pytest.mark.parametrize("problem", ["revoked", "other_clinic"])
def test_a_revoked_token_or_one_of_another_clinic_is_refused(setup, media, problem):
    if problem == "revoked":
        token = token_for(setup, setup.clinic, revoked_at=timezone.now())
    else:
        token = token_for(setup, setup.other_clinic)
    with pytest.raises(PermissionDenied):
        clinic_import_receive(actor=None, clinic=setup.clinic, billing_month=BILLING_MONTH, filename="a.csv",
                              data=csv_bytes(good_rows(setup)), source=ImportSource.API, api_token=token)
    assert stored_files(media) == []


def test_the_billing_month_is_kept_as_its_first_day(setup):
    clinic_import = receive_file(csv_bytes(good_rows(setup)), actor=setup.clinic_user, clinic=setup.clinic,
                                 billing_month=date(2025, 11, 20))
    assert clinic_import.billing_month == date(2025, 11, 1)
