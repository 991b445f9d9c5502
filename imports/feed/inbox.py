"""The change feed's inbox: the resident-records system drops its daily change file into
``settings.FEED_INBOX_DIR`` (any name ending in ``.csv``; files still being written end in ``.part``,
``.tmp`` …), and ``feed_inbox_scan`` takes them in, in name order, through
``imports.feed.resident_feed_receive`` (source INBOX). The clinic inbox's rules and code
(imports.inbox): a file moves to ``settings.FEED_ARCHIVE_DIR`` only once it is stored and its feed file
committed; a refused one (a duplicate, an unreadable encoding …) moves to the inbox's ``rejected/`` folder
with a ``.reason.txt``; nothing is deleted; a scan holds a lock on the folder; a file stored by a scan
that stopped before moving it is archived by the next one.
"""

import hashlib
import logging
from pathlib import Path
from typing import Any

from django.conf import settings

from imports.inbox import (
    ARCHIVED,
    REJECTED,
    REJECTED_DIR_NAME,
    InboxOutcome,
    InboxSummary,
    _inbox_lock,
    _move,
    _reject,
    _waiting_files,
    inbox_system_user,
)
from imports.models import ImportSource, ResidentFeedFile

logger = logging.getLogger(__name__)

FEED_GUIDE = "異動データの様式は「異動データ ファイル仕様」（docs/resident-feed.md）にあります。"


def feed_inbox_dirs() -> tuple[Path, Path, Path]:
    inbox = Path(settings.FEED_INBOX_DIR)
    return inbox, Path(settings.FEED_ARCHIVE_DIR), inbox / REJECTED_DIR_NAME


def feed_inbox_scan(*, actor: Any = None) -> InboxSummary:
    """Take every waiting change file. ``actor`` is the operator; the scheduled job passes none and acts
    as the inactive ``system-inbox`` account. Errors other than a refusal propagate, leaving the file in
    the inbox for the next run."""
    inbox, archive, rejected = feed_inbox_dirs()
    for folder in (inbox, archive, rejected):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    summary = InboxSummary()
    with _inbox_lock(inbox) as acquired:
        if not acquired:
            summary.locked = True
            return summary
        waiting = _waiting_files(inbox)
        if waiting and actor is None:
            actor = inbox_system_user()
        for path in waiting:
            summary.outcomes.append(_take(path, actor=actor, archive=archive, rejected=rejected))
    return summary


def _take(path: Path, *, actor: Any, archive: Path, rejected: Path) -> InboxOutcome:
    from imports.feed import resident_feed_receive
    from imports.services.errors import ImportRefused

    name = path.name
    if not name.lower().endswith(".csv"):
        reason = "CSVファイル（拡張子 .csv）ではありません。"
        moved = _reject(path, rejected, reason, guide=FEED_GUIDE)
        return InboxOutcome(filename=name, result=REJECTED, moved_to=str(moved), reason=reason)
    data = path.read_bytes()
    earlier = ResidentFeedFile.objects.filter(sha256=hashlib.sha256(data).hexdigest(), source=ImportSource.INBOX,
                                              original_filename=name).first()
    if earlier is not None and not (archive / f"{earlier.pk}_{name}").exists():
        moved = _move(path, archive, f"{earlier.pk}_{name}")
        return InboxOutcome(filename=name, result=ARCHIVED, moved_to=str(moved), import_id=earlier.pk,
                            reason="stored by an earlier scan")
    try:
        feed_file = resident_feed_receive(actor=actor, filename=name, data=data, source=ImportSource.INBOX)
    except ImportRefused as exc:
        reason = " ".join(exc.messages)
        moved = _reject(path, rejected, reason, guide=FEED_GUIDE)
        logger.warning("feed inbox: file refused, moved to %s", moved.name)
        return InboxOutcome(filename=name, result=REJECTED, moved_to=str(moved), reason=reason)
    moved = _move(path, archive, f"{feed_file.pk}_{name}")
    return InboxOutcome(filename=name, result=ARCHIVED, moved_to=str(moved), import_id=feed_file.pk)
