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


FEED_INBOX_SCAN_TASK = "imports.feed_inbox_scan"


@shared_task(name=FEED_INBOX_SCAN_TASK)
def feed_inbox_scan_task() -> dict[str, Any]:
    """The daily scan of the resident change feed's inbox (imports/migrations/0004_feed_inbox_schedule:
    01:30 Asia/Tokyo). Thin: the work is imports.feed.inbox.feed_inbox_scan."""
    from imports.feed.inbox import feed_inbox_scan

    return feed_inbox_scan(actor=None).as_dict()
