"""Celery tasks of the retention app. Thin: ids in, the service does the work.

The run acknowledges late (with the settings' reject-on-worker-lost): a worker killed mid-purge leaves the
message unacknowledged, the broker hands it out again, and the service resumes with the batches still
pending — each batch is done or not done as a whole, so the resumed run deletes exactly the rest.
"""

from celery import shared_task
from django.db import OperationalError


@shared_task(name="retention.purge_run", acks_late=True, autoretry_for=(OperationalError,), max_retries=3,
             retry_backoff=10, retry_backoff_max=300)
def purge_report_run_task(report_id: int) -> str:
    from retention.services import purge_report_run

    return str(purge_report_run(report_id=report_id).status)


@shared_task(name="retention.monthly")
def purge_schedule_task() -> list[int]:
    """Monthly (django-celery-beat, retention/migrations): the dry-run report to approve, and the run of
    the classes allowed to go automatically."""
    from django.utils import timezone

    from retention.services import purge_schedule_run

    return [report.pk for report in purge_schedule_run(as_of=timezone.localdate())]
