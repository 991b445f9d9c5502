"""Receiving a resident change file: the clinic import's rules and code (imports.services.receiving,
parsing, storage) — size first, then the SHA-256 and the duplicate check, the bytes stored encrypted and
unchanged, then the encoding and the row count — recorded as RECEIVED and handed to the worker."""

import hashlib
from typing import Any, NoReturn

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from imports.models import FeedStatus, ImportSource, ResidentFeedFile
from imports.services.errors import ImportRefused
from imports.services.parsing import MalformedCsv, count_records, decode_csv_bytes
from imports.services.receiving import max_bytes, max_rows
from imports.services.storage import import_file_delete, import_file_store


def _duplicate_message(earlier: ResidentFeedFile) -> str:
    received = timezone.localtime(earlier.created_at)
    return (f"同じファイルは既に受け付けています（異動データ #{earlier.pk}「{earlier.original_filename}」、"
            f"{received:%Y年%m月%d日 %H:%M}受付）。同じ異動を二重に反映することはできません。")


def _refuse_duplicate(*, actor: Any, earlier: ResidentFeedFile, filename: str, source: str) -> NoReturn:
    with transaction.atomic(), acting_as(actor):
        audit_event_record(
            event=AuditEvent.FEED_DUPLICATE_REFUSED, actor=actor, target=earlier,
            data={"source": source, "filename": filename[:255], "earlier_feed_file": earlier.pk},
        )
    raise ImportRefused(_duplicate_message(earlier), code="duplicate_file", existing_import=earlier)


def resident_feed_receive(*, actor: Any, filename: str, data: bytes, source: ImportSource) -> ResidentFeedFile:
    """Take a change file and enqueue its processing (once the transaction commits). Raises ImportRefused
    with the clinic import's codes (``too_large``, ``duplicate_file`` — also recorded as
    FEED_DUPLICATE_REFUSED —, the encoding codes, ``csv_malformed``, ``too_many_rows``); a refused file
    is deleted again and never becomes a feed file. ``actor`` is the uploading staff member or the
    inbox's system account."""
    if actor is None or getattr(actor, "pk", None) is None:
        raise ValueError("a change file needs the user who brought it in")
    limit = max_bytes()
    if len(data) > limit:
        raise ImportRefused(
            f"ファイルが大きすぎます（{len(data):,}バイト）。上限は{limit:,}バイト（{limit / 1024 / 1024:g}MB）です。"
            "ファイルを分けて送ってください。",
            code="too_large",
        )
    sha256 = hashlib.sha256(data).hexdigest()
    earlier = ResidentFeedFile.objects.filter(sha256=sha256).first()
    if earlier is not None:
        _refuse_duplicate(actor=actor, earlier=earlier, filename=filename, source=source)
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
        feed_file = _record_receipt(actor=actor, filename=filename, size=len(data), sha256=sha256, stored=stored,
                                    encoding=decoded.encoding, rows=rows, source=source)
    except IntegrityError:
        import_file_delete(name=stored)
        earlier = ResidentFeedFile.objects.filter(sha256=sha256).first()
        if earlier is None:
            raise
        _refuse_duplicate(actor=actor, earlier=earlier, filename=filename, source=source)
    except BaseException:
        import_file_delete(name=stored)
        raise
    return feed_file


@transaction.atomic
def _record_receipt(*, actor: Any, filename: str, size: int, sha256: str, stored: str, encoding: str, rows: int,
                    source: str) -> ResidentFeedFile:
    feed_file = ResidentFeedFile(
        source=source, uploaded_by=actor, original_filename=filename[:255], sha256=sha256, size_bytes=size,
        stored_file=stored, encoding=encoding, status=FeedStatus.RECEIVED, rows_total=rows,
    )
    feed_file.full_clean(validate_unique=False)
    with acting_as(actor):
        feed_file.save()
        audit_event_record(
            event=AuditEvent.FEED_RECEIVED, actor=actor, target=feed_file,
            data={"source": source, "filename": feed_file.original_filename, "size": size, "sha256": sha256,
                  "encoding": encoding, "rows": rows},
        )
    feed_id = feed_file.pk
    transaction.on_commit(lambda: _enqueue(feed_id))
    return feed_file


def _enqueue(feed_id: int) -> None:
    from imports.tasks import resident_feed_process_task

    resident_feed_process_task.delay(feed_id)
