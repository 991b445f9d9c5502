"""The one sanctioned deletion from the append-only audit log: the retention purge (issue #8).

On PostgreSQL the log's trigger refuses DELETE unless the transaction has set
``SET LOCAL koshigaya.audit_purge = 'on'`` (audit/migrations/0002). The deleted entries leave
AuditChainCheckpoint rows behind — one per run of consecutive ``seq`` — holding the hashes on either
side of the gap, so that chain_verify still proves that nothing else went missing or changed. Each
checkpoint is also vouched for by an AUDIT_ENTRIES_PURGED event written into the chain in the same
transaction (never purged itself): a checkpoint without its event — one slipped in to cover entries
deleted some other way — fails chain_verify, so covering a deletion means rewriting the chain after it.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connection, transaction

from audit.chain import checkpoint_voucher
from audit.context import current_context
from audit.events import AuditEvent
from audit.models import AuditChainCheckpoint, AuditLogEntry
from audit.services import audit_event_record


@dataclass(frozen=True)
class PurgedRange:
    first_seq: int
    last_seq: int
    entries: int


def _runs(rows: Sequence[tuple[int, int, str, str]]) -> list[list[tuple[int, int, str, str]]]:
    runs: list[list[tuple[int, int, str, str]]] = []
    for row in rows:
        if runs and runs[-1][-1][1] + 1 == row[1]:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def audit_entries_purge(*, seqs: Sequence[int], purge_report_id: int | None = None) -> list[PurgedRange]:
    """Delete the audit entries with these sequence numbers (those already gone are ignored, so a resumed
    purge may repeat a batch) and record a checkpoint for each run of consecutive ``seq``. A run that
    continues a range already purged extends the chain of checkpoints; it never rewrites one.

    Runs in the caller's transaction (one batch of the purge); the head of the chain is never touched: the
    newest entries are never purged (the caller's cut-off lies decades back), and chain_verify checks the
    head against the last entry present or the last checkpoint."""
    if not seqs:
        return []
    with transaction.atomic():
        rows = list(
            AuditLogEntry.objects.filter(seq__in=seqs).order_by("seq")
            .values_list("pk", "seq", "prev_hash", "entry_hash")
        )
        if not rows:
            return []
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL koshigaya.audit_purge = 'on'")
        ranges: list[PurgedRange] = []
        checkpoints = []
        for run in _runs(rows):
            checkpoints.append(AuditChainCheckpoint.objects.create(
                first_seq=run[0][1], last_seq=run[-1][1], prev_hash=run[0][2], last_hash=run[-1][3],
                entries=len(run), purge_report_id=purge_report_id,
            ))
            ranges.append(PurgedRange(run[0][1], run[-1][1], len(run)))
        AuditLogEntry.objects.filter(pk__in=[row[0] for row in rows]).delete()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL koshigaya.audit_purge = 'off'")
        for checkpoint in checkpoints:
            audit_event_record(event=AuditEvent.AUDIT_ENTRIES_PURGED, actor=current_context().get("actor"),
                               target=checkpoint, data=checkpoint_voucher(checkpoint))
    return ranges
