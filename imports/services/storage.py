"""The received file at rest: encrypted (records.crypto.encrypt_blob, the My Number keys) in the default
storage under ``imports/<yyyy>/<mm>/<uuid>.bin``; read back only by the import services, which check it
against the SHA-256 taken on receipt."""

import hashlib
import uuid
from typing import Protocol

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from imports.models import ClinicImport
from records.crypto import decrypt_blob, encrypt_blob


class StoredFile(Protocol):
    """What reading a stored file needs: a clinic import or a resident change file (imports.feed)."""

    pk: int
    stored_file: str
    sha256: str


class StoredFileCorrupted(Exception):
    """The stored file no longer matches the SHA-256 recorded when it was received."""


def import_file_store(*, data: bytes) -> str:
    """Encrypt and store ``data``; returns the storage name."""
    today = timezone.localdate()
    name = f"imports/{today:%Y}/{today:%m}/{uuid.uuid4().hex}.bin"
    return default_storage.save(name, ContentFile(encrypt_blob(data)))


def import_file_delete(*, name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)


def import_file_read(*, clinic_import: ClinicImport | StoredFile) -> bytes:
    """The bytes exactly as received. Raises StoredFileCorrupted if they do not hash to the recorded
    SHA-256, records.crypto.DecryptionError if no configured key opens them."""
    with default_storage.open(clinic_import.stored_file, "rb") as handle:
        data = decrypt_blob(handle.read())
    if hashlib.sha256(data).hexdigest() != clinic_import.sha256:
        raise StoredFileCorrupted(f"import {clinic_import.pk}: stored file does not match its SHA-256")
    return data
