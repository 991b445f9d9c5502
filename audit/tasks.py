"""Celery tasks of the audit app: thin wrappers around services."""

from celery import shared_task


@shared_task(name="audit.verify_chain")
def audit_chain_verify_task() -> dict[str, object]:
    """Nightly (django-celery-beat, see audit/migrations/0003): walk the chain and record the result."""
    from audit.services import audit_chain_verify_record

    report = audit_chain_verify_record()
    return {"checked": report.checked, "ok": report.ok, "first_broken_seq": report.first_broken_seq}
