"""Writing business events into the audit log. Services call these inside their own transaction."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models, transaction

from audit.chain import (
    HEAD_PK,
    BatchEntry,
    ChainReport,
    EntryBatch,
    EntryRow,
    chain_and_copy_batch,
    chain_and_copy_rows,
    chain_and_insert,
    chain_verify,
    json_text,
)
from audit.context import current_context
from audit.events import AuditEvent
from audit.models import AuditChainHead, AuditLogEntry


def audit_event_record(
    *,
    event: AuditEvent,
    actor: Any | None,
    target: models.Model | None = None,
    data: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> AuditLogEntry:
    """Record one business event. ``target`` is the object concerned (the user for sign-in events);
    ``data`` must hold no personal data beyond identifiers (never a My Number)."""
    context = current_context()
    subject = target if target is not None else actor
    if subject is None:
        raise ValueError("an audit event needs a target or an actor")
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditLogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(subject),
        object_pk=str(subject.pk),
        object_id=subject.pk if isinstance(subject.pk, int) else None,
        object_repr=str(subject),
        action=AuditLogEntry.Action.EVENT,
        event=event,
        actor=actor_obj,
        remote_addr=remote_addr or context.get("remote_addr"),
        additional_data=data or None,
    )


def audit_chain_verify_record(*, actor: Any | None = None) -> ChainReport:
    """Verify the whole chain and record the outcome as a business event (nightly, and on demand)."""
    report = chain_verify()
    target = actor if actor is not None else AuditChainHead.objects.get(pk=HEAD_PK)
    audit_event_record(
        event=AuditEvent.AUDIT_CHAIN_VERIFIED if report.ok else AuditEvent.AUDIT_CHAIN_BROKEN,
        actor=actor,
        target=target,
        data={"checked": report.checked, "ok": report.ok, "first_broken_seq": report.first_broken_seq,
              "reason": report.reason},
    )
    return report


# From this many entries on, PostgreSQL takes the row path (audit.chain.chain_and_copy_rows): a detail
# page's single access entry, a 50-row search list and a 100,000-row import alike.
BULK_ROWS_THRESHOLD = 1


def audit_entries_bulk_create(
    *,
    actor: Any | None,
    action: int,
    objects: Sequence[models.Model],
    changes: Callable[[models.Model], dict[str, Any] | None] | None = None,
    additional_data: dict[str, Any] | None = None,
    remote_addr: str | None = None,
) -> int:
    """One entry per object, all chained and inserted in one batch: for writes done in bulk (imports,
    purges: ``bulk_create``/``update`` send no auditlog signals) and for lists shown to a user. The
    caller's transaction holds the chain head from here until it ends, so call this last.

    ``changes(obj)`` builds each entry's field diff in auditlog's shape (``{"field": [old, new]}``);
    it must never include a My Number.
    """
    if not objects:
        return 0
    context = current_context()
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    address = remote_addr or context.get("remote_addr")
    content_types: dict[type, int] = {}
    if connection.vendor == "postgresql" and len(objects) >= BULK_ROWS_THRESHOLD:
        data_text = json_text(additional_data)
        rows = []
        for obj in objects:
            model = type(obj)
            if model not in content_types:
                content_types[model] = ContentType.objects.get_for_model(model).pk
            rows.append(EntryRow(
                content_type_id=content_types[model], object_pk=str(obj.pk),
                object_id=obj.pk if isinstance(obj.pk, int) else None, object_repr=str(obj), action=action,
                changes=json_text(changes(obj)) if changes is not None else None,
                actor_id=actor_obj.pk if actor_obj is not None else None,
                remote_addr=None if address is None else str(address), additional_data=data_text,
            ))
        chain_and_copy_rows(rows)
        return len(rows)
    entries = []
    for obj in objects:
        model = type(obj)
        if model not in content_types:
            content_types[model] = ContentType.objects.get_for_model(model).pk
        entries.append(AuditLogEntry(
            content_type_id=content_types[model],
            object_pk=str(obj.pk),
            object_id=obj.pk if isinstance(obj.pk, int) else None,
            object_repr=str(obj),
            action=action,
            changes=changes(obj) if changes is not None else None,
            actor=actor_obj,
            remote_addr=address,
            additional_data=additional_data,
        ))
    chain_and_insert(entries)
    return len(entries)



def audit_entries_bulk_write(
    *, actor: Any | None, action: int, model: type[models.Model], entries: Iterable[BatchEntry], count: int,
    additional_data: dict[str, Any] | None = None,
) -> int:
    """One entry per ``(object_pk, object_id, object_repr, changes)`` of objects of ``model`` (``count`` of
    them; ``entries`` may be a generator, consumed once while the entries are written), chained and
    inserted in one batch — audit_entries_bulk_create for callers that write many objects of one model and
    already hold each entry's parts as text (``changes`` as audit.chain.json_text of a dict with sorted
    keys, never a My Number): no model instances, no JSON round trip. The diff is kept as that text in
    ``changes_text`` (``changes`` NULL; ``entry.changes_dict`` reads it). ``additional_data`` (identifiers
    only, e.g. the file that made the writes) goes into every entry. Same rules: inside the caller's
    transaction, called last (the chain head stays locked until it ends)."""
    if count <= 0:
        return 0
    context = current_context()
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    address = context.get("remote_addr")
    content_type_id = ContentType.objects.get_for_model(model).pk
    if connection.vendor == "postgresql":
        chain_and_copy_batch(
            EntryBatch(content_type_id=content_type_id, action=action,
                       actor_id=actor_obj.pk if actor_obj is not None else None,
                       remote_addr=None if address is None else str(address),
                       additional_data=json_text(additional_data) if additional_data else None),
            entries, count,
        )
        return count
    written = [
        AuditLogEntry(
            content_type_id=content_type_id, object_pk=object_pk, object_id=object_id, object_repr=object_repr,
            action=action, changes=None, changes_text=changes or "", actor=actor_obj,
            remote_addr=address, additional_data=additional_data or None,
        )
        for object_pk, object_id, object_repr, changes in entries
    ]
    if len(written) != count:
        raise ValueError(f"audit_entries_bulk_write: {len(written)} entries given, {count} announced")
    chain_and_insert(written)
    return count

class AuditBatch:
    """Business events and read-access entries of one request, collected and written as one chained insert
    at the end of the caller's transaction instead of one chained write each (the chain head is locked
    once). Each entry is the one ``audit_event_record`` / ``audit_access_record`` would have written."""

    def __init__(self) -> None:
        self.entries: list[AuditLogEntry] = []
        context = current_context()
        self._remote_addr = context.get("remote_addr")

    def _entry(self, *, actor: Any, subject: models.Model, action: int, event: str = "",
               data: dict[str, Any] | None = None) -> None:
        self.entries.append(AuditLogEntry(
            content_type=ContentType.objects.get_for_model(subject), object_pk=str(subject.pk),
            object_id=subject.pk if isinstance(subject.pk, int) else None, object_repr=str(subject),
            action=action, event=event,
            actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
            remote_addr=self._remote_addr, additional_data=data or None,
        ))

    def event(self, *, event: AuditEvent, actor: Any, target: models.Model, data: dict[str, Any]) -> None:
        self._entry(actor=actor, subject=target, action=AuditLogEntry.Action.EVENT, event=event, data=data)

    def access(self, *, actor: Any, objects: Sequence[models.Model], view: str, permission: str) -> None:
        if not settings.AUDIT_ACCESS_LOGGING:
            return
        for obj in objects:
            self._entry(actor=actor, subject=obj, action=AuditLogEntry.Action.ACCESS,
                        data={"view": view, "permission": permission})

    def write(self) -> None:
        chain_and_insert(self.entries)
        self.entries = []


def audit_access_record(
    *,
    actor: Any,
    objects: Sequence[models.Model],
    view: str,
    permission: str,
    purpose: str = "",
    remote_addr: str | None = None,
) -> int:
    """Read access: one ACCESS entry per object shown — a detail page one, a list one per row — saying
    what was shown (``view``) and why it was reachable (``permission``, and ``purpose`` when the user
    gave one, e.g. for revealing a My Number). Writes nothing when settings.AUDIT_ACCESS_LOGGING is off
    (only the benchmark does that)."""
    if not settings.AUDIT_ACCESS_LOGGING:
        return 0
    data = {"view": view, "permission": permission}
    if purpose:
        data["purpose"] = purpose
    return audit_entries_bulk_create(
        actor=actor, action=AuditLogEntry.Action.ACCESS, objects=objects, additional_data=data,
        remote_addr=remote_addr,
    )


def audit_chain_verify_request(*, actor: Any) -> None:
    """Queue a verification of the whole chain on an auditor's request; it runs as the nightly job's
    task (minutes over millions of entries, longer than a request may take) and records its result with
    the auditor as actor. Enqueued once the caller's transaction commits."""
    from audit.tasks import audit_chain_verify_task

    actor_id = actor.pk
    transaction.on_commit(lambda: audit_chain_verify_task.delay(actor_id=actor_id))
