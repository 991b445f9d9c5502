"""Celery tasks of the imports app. Thin: ids in, the service does the work.

acks_late (and the settings' reject-on-worker-lost) means a message is acknowledged only once the task
has returned: if the worker dies mid-import, the broker hands the message out again and the service,
finding the import still VALIDATING, runs it again from the start. Only database connection trouble is
retried here; every other exception propagates.
"""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=10,
    retry_backoff_max=300,
)
def clinic_import_process_task(import_id: int) -> str:
    """Process one received import; returns its final status."""
    from imports.services import clinic_import_process

    return str(clinic_import_process(import_id=import_id).status)


@shared_task(
    acks_late=True,
    autoretry_for=(OperationalError,),
    max_retries=3,
    retry_backoff=10,
    retry_backoff_max=300,
)
def resident_feed_process_task(feed_id: int) -> str:
    """Process one received resident change file (imports.feed); returns its final status. A worker
    killed mid-file leaves it VALIDATING and untouched; the redelivered message runs it again."""
    from imports.feed import resident_feed_process

    return str(resident_feed_process(feed_id=feed_id).status)
