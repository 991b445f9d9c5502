"""The scheduled inbox scan (django-celery-beat, see imports/migrations/0002_inbox_schedule: monthly on the
11th at 02:00 Asia/Tokyo, editable in the admin). Thin: the work is imports.inbox.inbox_scan.

Celery autodiscovers only ``tasks`` modules; imports.apps.ImportsConfig.ready() imports this one so the
worker knows the task."""

from typing import Any

from celery import shared_task

INBOX_SCAN_TASK = "imports.inbox_scan"


@shared_task(name=INBOX_SCAN_TASK)
def inbox_scan_task() -> dict[str, Any]:
    from imports.inbox import inbox_scan

    return inbox_scan(actor=None).as_dict()
