"""Celery tasks of the audit app: thin wrappers around services."""

from celery import shared_task


@shared_task(name="audit.verify_chain")
def audit_chain_verify_task(actor_id: int | None = None) -> dict[str, object]:
    """Nightly (django-celery-beat, see audit/migrations/0003): walk the chain and record the result.
    Also queued by an auditor's button (``actor_id``; a 10-million-entry log takes minutes)."""
    from django.contrib.auth import get_user_model

    from audit.services import audit_chain_verify_record

    actor = get_user_model().objects.get(pk=actor_id) if actor_id is not None else None
    report = audit_chain_verify_record(actor=actor)
    return {"checked": report.checked, "ok": report.ok, "first_broken_seq": report.first_broken_seq}
