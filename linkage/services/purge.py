"""Deleting expired query results (seed III.6 risk 4 ③: results are deleted automatically after a set
period). The exchange and its provision record stay; only the result data goes. Each deleted result
leaves a django-auditlog deletion entry, and the run one LINKAGE_RESULT_PURGED event with the count."""

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from linkage.models import Exchange, LinkageResult
from linkage.services.common import linkage_system_user


@transaction.atomic
def linkage_result_purge(*, actor: Any = None, ids: Collection[int] | None = None) -> int:
    """Delete every result received more than LINKAGE_RESULT_RETENTION_DAYS ago; returns how many.
    The scheduled job passes no actor and acts as the linkage system account. With ``ids`` (the
    retention purge's batch, retention.classes.LinkageResults) only those of them that are expired."""
    actor = actor or linkage_system_user()
    now = timezone.now()
    cutoff = now - timedelta(days=settings.LINKAGE_RESULT_RETENTION_DAYS)
    expired_qs = LinkageResult.objects.select_for_update().filter(received_at__lt=cutoff)
    if ids is not None:
        expired_qs = expired_qs.filter(pk__in=list(ids))
    expired = list(expired_qs.order_by("pk"))
    if not expired:
        return 0
    exchange_ids = [r.exchange_id for r in expired]
    with acting_as(actor):
        for result in expired:
            result.delete()  # one auditlog deletion entry each
    Exchange.objects.filter(pk__in=exchange_ids).update(result_purged_at=now)
    audit_event_record(
        event=AuditEvent.LINKAGE_RESULT_PURGED, actor=actor, target=actor,
        data={"count": len(expired), "exchange_ids": exchange_ids, "cutoff": cutoff.isoformat(),
              "retention_days": settings.LINKAGE_RESULT_RETENTION_DAYS},
    )
    return len(expired)
