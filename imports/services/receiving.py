"""Receiving a clinic's monthly CSV: checked for size, duplicate bytes, encoding and row count, stored
unchanged (encrypted at rest) with its SHA-256, recorded as RECEIVED, and handed to the worker."""

import hashlib
from datetime import date
from typing import Any, NoReturn

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.roles import Role
from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.models import ClinicApiToken, ClinicImport, ImportSource, ImportStatus
from imports.services.errors import ImportRefused
from imports.services.parsing import MalformedCsv, count_records, decode_csv_bytes
from imports.services.storage import import_file_delete, import_file_store
from records.models import Clinic

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_ROWS = 200_000


def max_bytes() -> int:
    return int(getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def max_rows() -> int:
    return int(getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def may_import_for_clinic(actor: Any, clinic: Clinic) -> bool:
    """Whoever acts for one clinic (a clinic user, a clinic API token's user) imports for that clinic
    only; a clinic user without a clinic imports nothing. Role permissions are the views' business."""
    if actor is None:
        return True
    clinic_id = getattr(actor, "clinic_id", None)
    if clinic_id is not None or getattr(actor, "role", None) == Role.CLINIC:
        return clinic_id == clinic.pk
    return True


def _person(actor: Any) -> Any:
    """The user to name as uploader: a real account, never a token's stand-in user."""
    return actor if actor is not None and getattr(actor, "pk", None) is not None else None


def _duplicate_message(earlier: ClinicImport) -> str:
    received = timezone.localtime(earlier.created_at)
    return (f"同じファイルは既に受け付けています（取込 #{earlier.pk}、{received:%Y年%m月%d日 %H:%M}受付、"
            f"{earlier.clinic.code} {earlier.clinic.name}）。同じ内容を二重に登録することはできません。")


def _refuse_duplicate(
    *, actor: Any, earlier: ClinicImport, filename: str, clinic: Clinic, source: str
) -> NoReturn:
    """Record the refusal (in its own transaction: the caller's is about to end in an exception) and raise."""
    with transaction.atomic(), acting_as(_person(actor)):
        audit_event_record(
            event=AuditEvent.IMPORT_DUPLICATE_REFUSED, actor=_person(actor), target=earlier,
            data={"clinic": clinic.code, "source": source, "filename": filename[:255], "earlier_import": earlier.pk},
        )
    raise ImportRefused(_duplicate_message(earlier), code="duplicate_file", existing_import=earlier)


def clinic_import_receive(
    *,
    actor: Any,
    clinic: Clinic,
    billing_month: date,
    filename: str,
    data: bytes,
    source: ImportSource,
    api_token: ClinicApiToken | None = None,
) -> ClinicImport:
    """Take a file for ``clinic``'s ``billing_month`` and enqueue its processing.

    Order: size (before anything is hashed or stored), SHA-256 and the duplicate check, then the bytes
    are stored encrypted, then the encoding and row count are checked; a refused file is deleted again
    and never becomes an import. Raises ImportRefused (codes ``too_large``, ``duplicate_file`` — also
    recorded as IMPORT_DUPLICATE_REFUSED —, the encoding codes of ``decode_csv_bytes``,
    ``csv_malformed``, ``too_many_rows``) or PermissionDenied (another clinic's file, a revoked token or
    one of another clinic). ``actor`` is the person uploading, or the clinic token's user with
    ``api_token``; the records an import creates name the uploader, or for a token the administrator
    who issued it, as their creator.
    """
    if not may_import_for_clinic(actor, clinic):
        raise PermissionDenied("clinic users import for their own clinic only")
    if api_token is not None and (api_token.clinic_id != clinic.pk or not api_token.is_active):
        raise PermissionDenied("the API token does not stand for this clinic")
    uploader = _person(actor)
    if uploader is None and api_token is None:
        raise ValueError("an import needs the uploading user or the clinic API token it came with")
    limit = max_bytes()
    if len(data) > limit:
        raise ImportRefused(
            f"ファイルが大きすぎます（{len(data):,}バイト）。上限は{limit:,}バイト（{limit / 1024 / 1024:g}MB）です。"
            "ファイルを分けて送ってください。",
            code="too_large",
        )
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = ClinicImport.objects.select_related("clinic").filter(sha256=sha256).first()
    if earlier is not None:
        _refuse_duplicate(actor=actor, earlier=earlier, filename=filename, clinic=clinic, source=source)

    stored = import_file_store(data=data)
    try:
        decoded = decode_csv_bytes(data)
        try:
            rows = count_records(decoded.text)
        except MalformedCsv as exc:
            raise ImportRefused(exc.message, code="csv_malformed") from None
        if rows > max_rows():
            raise ImportRefused(
                f"行数が多すぎます（{rows:,}行）。1ファイルの上限は{max_rows():,}行です。ファイルを分けて送ってください。",
                code="too_many_rows",
            )
        clinic_import = _record_receipt(
            actor=uploader, clinic=clinic, billing_month=billing_month, filename=filename, size=len(data),
            sha256=sha256, stored=stored, encoding=decoded.encoding, rows=rows, source=source, api_token=api_token,
        )
    except IntegrityError:
        # The same bytes arrived at the same moment through another way in; the other one won.
        import_file_delete(name=stored)
        earlier = ClinicImport.objects.select_related("clinic").filter(sha256=sha256).first()
        if earlier is None:
            raise
        _refuse_duplicate(actor=actor, earlier=earlier, filename=filename, clinic=clinic, source=source)
    except BaseException:
        import_file_delete(name=stored)
        raise
    return clinic_import


@transaction.atomic
def _record_receipt(
    *, actor: Any, clinic: Clinic, billing_month: date, filename: str, size: int, sha256: str, stored: str,
    encoding: str, rows: int, source: str, api_token: ClinicApiToken | None,
) -> ClinicImport:
    clinic_import = ClinicImport(
        clinic=clinic, billing_month=billing_month.replace(day=1), source=source, uploaded_by=actor,
        api_token=api_token, original_filename=filename[:255], sha256=sha256, size_bytes=size,
        stored_file=stored, encoding=encoding, status=ImportStatus.RECEIVED, rows_total=rows,
    )
    clinic_import.full_clean(validate_unique=False)
    with acting_as(actor):
        clinic_import.save()
        audit_event_record(
            event=AuditEvent.IMPORT_RECEIVED, actor=actor, target=clinic_import,
            data={
                "clinic": clinic.code, "billing_month": clinic_import.billing_month.isoformat()[:7],
                "source": source, "filename": clinic_import.original_filename, "size": size, "sha256": sha256,
                "encoding": encoding, "rows": rows, "api_token": api_token.prefix if api_token else None,
            },
        )
    import_id = clinic_import.pk
    transaction.on_commit(lambda: _enqueue(import_id))
    return clinic_import


def _enqueue(import_id: int) -> None:
    from imports.tasks import clinic_import_process_task

    clinic_import_process_task.delay(import_id)
