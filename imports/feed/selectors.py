"""Reads of resident change files and their row errors, on behalf of an actor."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from imports.models import ResidentFeedFile, ResidentFeedRowError
from imports.permissions import can_view_feed, can_view_feed_row_errors


def resident_feed_list(*, actor: Any) -> QuerySet[ResidentFeedFile]:
    """Every change file, newest first (staff and auditors alike: the files are the city's own)."""
    if not can_view_feed(actor):
        raise PermissionDenied
    return ResidentFeedFile.objects.select_related("uploaded_by")


def resident_feed_get(*, actor: Any, pk: int) -> ResidentFeedFile:
    return resident_feed_list(actor=actor).get(pk=pk)


def resident_feed_row_error_list(*, actor: Any, feed_file: ResidentFeedFile) -> QuerySet[ResidentFeedRowError]:
    """Row errors in row order (row, column, code, Japanese message: never a cell's value)."""
    if not can_view_feed_row_errors(actor):
        raise PermissionDenied
    return feed_file.row_errors.order_by("row_number", "id")
