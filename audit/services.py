"""Writing business events into the audit log. Services call these inside their own transaction."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from audit.chain import HEAD_PK, ChainReport, chain_verify
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
