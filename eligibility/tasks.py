"""Celery tasks of eligibility. Thin: ids in, the service does the work.

acks_late: a worker that dies mid-extraction leaves the message unacknowledged, the broker hands it out
again, and the service, finding the run still RUNNING with nothing stored, starts it over. Only database
connection trouble is retried; every other exception propagates (the run is marked failed first).
"""

from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), max_retries=3, retry_backoff=10,
             retry_backoff_max=300)
def extraction_run_task(run_id: int) -> str:
    from eligibility.services import extraction_run_execute

    return str(extraction_run_execute(run_id=run_id).status)
