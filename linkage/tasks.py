"""Celery tasks of linkage. Thin: ids in, a service does the work, under the actor it names.

Scheduled (django-celery-beat, created by linkage/migrations/0002_schedules, editable in the admin):
inbound poll every 5 minutes, result purge daily at 03:30, code acquisition for residents without a code
nightly at 02:30 (Asia/Tokyo). The scheduled runs act as the inactive ``system-linkage`` account.
The client retries transient failures itself; a task does not retry on top of that (a failed exchange is
kept in its failed state, and the next run or a staff member sends it again).
"""

from typing import Any

from celery import shared_task
from django.contrib.auth import get_user_model

INBOUND_POLL_TASK = "linkage.inbound_poll"
RESULT_PURGE_TASK = "linkage.result_purge"
CODE_BATCH_TASK = "linkage.code_acquire_missing"


def _actor(actor_id: int | None) -> Any:
    from linkage.services.common import linkage_system_user

    return get_user_model().objects.get(pk=actor_id) if actor_id is not None else linkage_system_user()


@shared_task(name=INBOUND_POLL_TASK, acks_late=True)
def inbound_poll_task(actor_id: int | None = None) -> dict[str, Any]:
    from audit.context import acting_as
    from linkage.services.provision import inbound_poll

    actor = _actor(actor_id)
    with acting_as(actor):
        return inbound_poll(actor=actor).as_dict()


@shared_task(name=RESULT_PURGE_TASK, acks_late=True)
def result_purge_task(actor_id: int | None = None) -> int:
    from audit.context import acting_as
    from linkage.services.purge import linkage_result_purge

    actor = _actor(actor_id)
    with acting_as(actor):
        return linkage_result_purge(actor=actor)


@shared_task(name=CODE_BATCH_TASK, acks_late=True)
def code_acquire_missing_task(actor_id: int | None = None, limit: int | None = None) -> dict[str, Any]:
    from audit.context import acting_as
    from linkage.services.codes import provision_code_acquire_missing

    actor = _actor(actor_id)
    with acting_as(actor):
        return provision_code_acquire_missing(actor=actor, limit=limit).as_dict()


@shared_task(acks_late=True)
def query_send_task(exchange_id: int, actor_id: int) -> str:
    """Send one outbound query (queued by a staff member's request)."""
    from audit.context import acting_as
    from linkage.services.queries import linkage_query_send

    actor = _actor(actor_id)
    with acting_as(actor):
        return str(linkage_query_send(actor=actor, exchange_id=exchange_id).status)
