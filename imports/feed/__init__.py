"""The resident change feed (異動データ, issue #7): receiving a change file like a clinic CSV, applying its
changes to residents and their residency histories, and the inbox it arrives through. Callers import
from here."""

from imports.feed.applying import resident_feed_process
from imports.feed.receiving import resident_feed_receive

__all__ = ["resident_feed_process", "resident_feed_receive"]
