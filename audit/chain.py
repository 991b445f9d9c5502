"""Tamper evidence for the audit log.

Each entry carries ``seq`` (1, 2, 3, … without gaps), the previous entry's hash and its own hash:
``entry_hash = SHA-256(prev_hash + canonical(entry))``. Changing an entry breaks its hash; deleting or
reordering entries breaks the sequence or the link. Writers lock the single AuditChainHead row until
their transaction ends, so two transactions can never chain onto the same predecessor.

Every insert goes through ``chain_and_insert`` (model instances: AuditLogEntry.save, used by
django-auditlog and audit.services, and bulk writes on SQLite) or, on PostgreSQL, ``chain_and_copy_rows``
(plain rows by COPY: access lists and imports, from audit.services.audit_entries_bulk_create).
"""

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from json.encoder import encode_basestring as _json_str  # the encoder of json.dumps(ensure_ascii=False)
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import pre_save
from django.utils import timezone

from audit.events import AuditEvent
from audit.models import AuditChainCheckpoint, AuditChainHead, AuditLogEntry
from koshigaya_vax.pgcopy import COPY_NULL, copy_field, copy_text

GENESIS_HASH = "0" * 64
HEAD_PK = 1


def canonical(entry: AuditLogEntry) -> bytes:
    """The bytes an entry's hash covers: every field an auditor relies on, in a stable JSON form that
    survives a round trip through the database (timestamps in UTC to the microsecond)."""
    timestamp = entry.timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # Coerced to the types the database hands back (object_pk is a text column, for one).
    payload = [
        entry.seq, timestamp, int(entry.action), entry.event or "", entry.content_type_id, str(entry.object_pk),
        entry.object_id, entry.object_repr, entry.changes, entry.changes_text or "", entry.actor_id,
        None if entry.remote_addr is None else str(entry.remote_addr), entry.cid, entry.additional_data,
    ]
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def entry_hash(prev_hash: str, entry: AuditLogEntry) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical(entry)).hexdigest()


def _lock_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=HEAD_PK).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=HEAD_PK, defaults={"last_seq": 0, "last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=HEAD_PK)
    return head


def chain_and_insert(entries: Sequence[AuditLogEntry], *, batch_size: int = 5000) -> None:
    """Number, hash and insert ``entries`` in order, in the caller's transaction (or a new one).

    The head stays locked until that transaction ends: callers writing many entries should do so at
    the end of their transaction so other writers wait as little as possible.
    """
    if not entries:
        return
    with transaction.atomic():
        for entry in entries:
            # django-auditlog fills actor and remote address from its context in a pre_save receiver;
            # bulk_create sends no signals and the hash must cover them, so send it before hashing.
            pre_save.send(sender=AuditLogEntry, instance=entry, raw=False, using=None, update_fields=None)
        head = _lock_head()
        seq, prev = head.last_seq, head.last_hash
        for entry in entries:
            seq += 1
            entry.seq = seq
            entry.prev_hash = prev
            # JSON columns come back from the database as parsed JSON: hash what will be read back.
            entry.changes = _json_round_trip(entry.changes)
            entry.additional_data = _json_round_trip(entry.additional_data)
            entry.entry_hash = prev = entry_hash(prev, entry)
        AuditLogEntry.objects.bulk_create(entries, batch_size=batch_size)
        AuditChainHead.objects.filter(pk=HEAD_PK).update(last_seq=seq, last_hash=prev)


def _json_round_trip(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


@dataclass(frozen=True)
class ChainReport:
    checked: int
    ok: bool
    first_broken_seq: int | None = None
    reason: str = ""


def _entries_in_order(batch_size: int) -> Iterator[AuditLogEntry]:
    last = 0
    while True:
        batch = list(AuditLogEntry.objects.filter(seq__gt=last).order_by("seq")[:batch_size])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def _checkpoints() -> dict[int, AuditChainCheckpoint]:
    return {cp.first_seq: cp for cp in AuditChainCheckpoint.objects.order_by("first_seq")}


def _skip_purged(expected_seq: int, prev: str, until_seq: int | None,
                 checkpoints: dict[int, AuditChainCheckpoint]) -> tuple[int, str, str]:
    """Walk the checkpoints that cover the gap starting at ``expected_seq`` (up to ``until_seq``, the next
    entry present, or the end of the chain when None). Returns (next expected seq, the hash the next
    entry must name, "" or the reason the gap is not exactly covered)."""
    while expected_seq in checkpoints and (until_seq is None or expected_seq < until_seq):
        checkpoint = checkpoints[expected_seq]
        if until_seq is not None and checkpoint.last_seq >= until_seq:
            return expected_seq, prev, f"連番{until_seq}が消去済みの範囲の中にあります（消去記録の不一致）。"
        if checkpoint.prev_hash != prev:
            return expected_seq, prev, f"連番{expected_seq}からの消去記録が直前のハッシュと一致しません。"
        expected_seq, prev = checkpoint.last_seq + 1, checkpoint.last_hash
    return expected_seq, prev, ""


def checkpoint_voucher(checkpoint: AuditChainCheckpoint) -> dict[str, Any]:
    """What the AUDIT_ENTRIES_PURGED event written with a checkpoint records (audit.purge), and what
    chain_verify compares with the checkpoint."""
    return {"first_seq": checkpoint.first_seq, "last_seq": checkpoint.last_seq, "entries": checkpoint.entries,
            "prev_hash": checkpoint.prev_hash, "last_hash": checkpoint.last_hash,
            "purge_report": checkpoint.purge_report_id}


def _voucher_key(data: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(sorted(data.items()))


def chain_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the whole chain; name the first entry that does not fit. Read-only.

    A gap in ``seq`` is accepted only where the retention purge left checkpoints (AuditChainCheckpoint)
    that cover it exactly and link to the hashes on both sides, and each checkpoint must be vouched for by
    the AUDIT_ENTRIES_PURGED event the purge chained with it; ``checked`` counts the entries present."""
    head = AuditChainHead.objects.filter(pk=HEAD_PK).first()
    checkpoints = _checkpoints()
    expected_seq, prev = 1, GENESIS_HASH
    checked = 0
    vouched: set[tuple[Any, ...]] = set()
    for entry in _entries_in_order(batch_size):
        if entry.seq != expected_seq and checkpoints:
            expected_seq, prev, reason = _skip_purged(expected_seq, prev, entry.seq, checkpoints)
            if reason:
                return ChainReport(checked, False, expected_seq, reason)
        if entry.seq != expected_seq:
            return ChainReport(checked, False, expected_seq, f"連番{expected_seq}の記録が見つかりません（欠落）。")
        if entry.prev_hash != prev:
            return ChainReport(
                checked, False, entry.seq, f"連番{entry.seq}の直前ハッシュが一致しません（順序の改変）。"
            )
        if entry_hash(prev, entry) != entry.entry_hash:
            return ChainReport(checked, False, entry.seq, f"連番{entry.seq}の内容がハッシュと一致しません（改ざん）。")
        if entry.event == AuditEvent.AUDIT_ENTRIES_PURGED and isinstance(entry.additional_data, dict):
            vouched.add(_voucher_key(entry.additional_data))
        prev = entry.entry_hash
        expected_seq += 1
        checked += 1
    if checkpoints:
        expected_seq, prev, reason = _skip_purged(expected_seq, prev, None, checkpoints)
        if reason:
            return ChainReport(checked, False, expected_seq, reason)
        for checkpoint in checkpoints.values():
            if _voucher_key(checkpoint_voucher(checkpoint)) not in vouched:
                return ChainReport(
                    checked, False, checkpoint.first_seq,
                    f"連番{checkpoint.first_seq}〜{checkpoint.last_seq}の消去記録点に、対応する消去の記録が監査ログに"
                    "ありません（記録点の不正な追加）。",
                )
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != prev):
        return ChainReport(checked, False, expected_seq, "記録の末尾が連鎖の末尾と一致しません（末尾の削除）。")
    return ChainReport(checked, True)


# --- The bulk path: many entries without model instances (PostgreSQL) ----------------------------------

_DUMP = {"ensure_ascii": False, "sort_keys": True, "separators": (",", ":"), "default": str}


def json_text(value: Any) -> str | None:
    """A JSON column's value as the text that both the database and ``canonical`` will see."""
    return None if value is None else json.dumps(value, **_DUMP)  # type: ignore[arg-type]


@dataclass(slots=True)
class EntryRow:
    """One audit entry to be written in bulk: plain values, JSON columns already as text (json_text)."""

    content_type_id: int
    object_pk: str
    object_id: int | None
    object_repr: str
    action: int
    changes: str | None
    actor_id: int | None
    remote_addr: str | None
    additional_data: str | None
    event: str = ""


def _canonical_row(seq: int, timestamp: str, row: EntryRow, parts: dict[tuple[Any, ...], str]) -> bytes:
    """Exactly ``canonical()`` of the entry the row becomes once read back (tests/audit pin this): a JSON
    list is its elements' JSON joined by commas, so the pre-serialised JSON columns are spliced in, and
    the parts that repeat across a batch (``parts`` caches them) are serialised once."""
    middle_key = (timestamp, row.action, row.event, row.content_type_id)
    middle = parts.get(middle_key)
    if middle is None:
        middle = parts[middle_key] = json.dumps(list(middle_key), **_DUMP)[1:-1]  # type: ignore[arg-type]
    tail_key = (row.actor_id, row.remote_addr)
    tail = parts.get(tail_key)
    if tail is None:
        tail = parts[tail_key] = json.dumps([row.actor_id, row.remote_addr, None], **_DUMP)[1:-1]  # type: ignore[arg-type]
    obj = json.dumps([row.object_pk, row.object_id, row.object_repr], **_DUMP)[1:-1]  # type: ignore[arg-type]
    return f"[{seq},{middle},{obj},{row.changes or 'null'},\"\",{tail},{row.additional_data or 'null'}]".encode()


_ROW_COLUMNS = (
    "content_type_id", "object_pk", "object_id", "object_repr", "action", "changes", "changes_text", "actor_id",
    "remote_addr", "additional_data", "event", "timestamp", "seq", "prev_hash", "entry_hash",
)


_COPY_CHUNK = 2000  # lines sent to the server per write: it parses and indexes them while we hash the next


def _reserve(cursor: Any, count: int) -> tuple[int, str]:
    """Reserve ``count`` sequence numbers and read the chain's end in the statement that locks the head
    (one round trip; a page view writes one entry). Returns the last seq before them and its hash."""
    head_table = connections[DEFAULT_DB_ALIAS].ops.quote_name(AuditChainHead._meta.db_table)
    reserve = f"UPDATE {head_table} SET last_seq = last_seq + %s WHERE id = %s RETURNING last_seq, last_hash"  # noqa: S608
    cursor.execute(reserve, [count, HEAD_PK])
    reserved = cursor.fetchone()
    if reserved is None:  # no head row yet (an emptied database): create it, then reserve
        _lock_head()
        cursor.execute(reserve, [count, HEAD_PK])
        reserved = cursor.fetchone()
    return reserved[0] - count, reserved[1]


def _copy_statement() -> str:
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    column_of = {f.attname: f.column for f in AuditLogEntry._meta.concrete_fields}
    columns = ", ".join(quote(column_of[name]) for name in _ROW_COLUMNS)
    return f"COPY {quote(AuditLogEntry._meta.db_table)} ({columns}) FROM STDIN"


def _set_head_hash(cursor: Any, last_hash: str) -> None:
    head_table = connections[DEFAULT_DB_ALIAS].ops.quote_name(AuditChainHead._meta.db_table)
    cursor.execute(f"UPDATE {head_table} SET last_hash = %s WHERE id = %s", [last_hash, HEAD_PK])  # noqa: S608


def chain_and_copy_rows(rows: Sequence[EntryRow]) -> None:
    """Number, hash and COPY ``rows`` in order (PostgreSQL only), in the caller's transaction: the same
    chain as chain_and_insert, at a fraction of the cost per entry (no model instances, no signals, each
    JSON column serialised once). Callers resolve actor and remote address themselves."""
    if not rows:
        return
    now = timezone.now()
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    database = connections[DEFAULT_DB_ALIAS]
    with transaction.atomic(), database.cursor() as cursor:
        seq, prev = _reserve(cursor, len(rows))
        parts: dict[tuple[Any, ...], str] = {}
        with database.wrap_database_errors, cursor.copy(_copy_statement()) as copy:  # type: ignore[attr-defined]
            for row in rows:
                seq += 1
                digest = hashlib.sha256(prev.encode("ascii") + _canonical_row(seq, stamp, row, parts)).hexdigest()
                copy.write_row((
                    row.content_type_id, row.object_pk, row.object_id, row.object_repr, row.action, row.changes, "",
                    row.actor_id, row.remote_addr, row.additional_data, row.event, now, seq, prev, digest,
                ))
                prev = digest
        _set_head_hash(cursor, prev)


@dataclass(frozen=True, slots=True)
class EntryBatch:
    """What the entries of one bulk write share (an import's CREATE entries: type, action, actor, no
    address, no additional data); only the object and its changes differ from entry to entry."""

    content_type_id: int
    action: int
    actor_id: int | None
    remote_addr: str | None
    additional_data: str | None  # json_text
    event: str = ""


# One entry of a batch: object_pk, object_id, object_repr, changes (json_text, keys sorted, or None). The
# diff is stored as text in changes_text (changes stays NULL; auditlog's changes_dict reads it back with
# AUDITLOG_USE_TEXT_CHANGES_IF_JSON_IS_NOT_PRESENT): the database keeps the text instead of parsing every
# entry's diff into jsonb.
BatchEntry = tuple[str, int | None, str, str | None]


def chain_and_copy_batch(batch: EntryBatch, entries: Iterable[BatchEntry], count: int) -> None:
    """Number, hash and COPY ``count`` entries that share ``batch`` (PostgreSQL only), in the caller's
    transaction: the chain of chain_and_copy_rows with the work per entry cut to what differs — the
    canonical JSON (exactly ``canonical()`` of the entry read back; tests/audit pin it) and the COPY line
    are formatted from pre-serialised parts, and lines go to the server a chunk at a time, so PostgreSQL
    parses and indexes one chunk while the next is hashed. ``changes`` must be json_text of a dict whose
    keys are sorted (what ``canonical`` re-serialises); it is written to changes_text."""
    if count <= 0:
        return
    now = timezone.now()
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    middle = json.dumps([stamp, batch.action, batch.event, batch.content_type_id], **_DUMP)[1:-1]  # type: ignore[arg-type]
    tail = json.dumps([batch.actor_id, batch.remote_addr, None], **_DUMP)[1:-1]  # type: ignore[arg-type]
    additional = batch.additional_data or "null"
    head = f"{batch.content_type_id}\t"
    shared = (f"\t{copy_field(batch.actor_id)}\t{copy_field(batch.remote_addr)}"
              f"\t{copy_field(batch.additional_data)}\t{copy_text(batch.event)}\t{now.isoformat()}\t")
    action = f"\t{batch.action}\t"
    database = connections[DEFAULT_DB_ALIAS]
    sha256 = hashlib.sha256
    written = 0
    with transaction.atomic(), database.cursor() as cursor:
        seq, prev = _reserve(cursor, count)
        with database.wrap_database_errors, cursor.copy(_copy_statement()) as copy:  # type: ignore[attr-defined]
            lines: list[str] = []
            for object_pk, object_id, object_repr, changes in entries:
                seq += 1
                written += 1
                number = "null" if object_id is None else str(object_id)
                canonical_text = (f"[{seq},{middle},{_json_str(object_pk)},{number},{_json_str(object_repr)},"
                                  f"null,{_json_str(changes or '')},{tail},{additional}]")
                digest = sha256((prev + canonical_text).encode()).hexdigest()
                lines.append(
                    f"{head}{copy_text(object_pk)}\t{COPY_NULL if object_id is None else number}\t"
                    f"{copy_text(object_repr)}{action}{COPY_NULL}\t{copy_text(changes or '')}"
                    f"{shared}{seq}\t{prev}\t{digest}\n"
                )
                prev = digest
                if len(lines) == _COPY_CHUNK:
                    copy.write("".join(lines))
                    lines = []
            if lines:
                copy.write("".join(lines))
        if written != count:
            # The reserved numbers must all be used: a gap would read as a deleted entry.
            raise ValueError(f"chain_and_copy_batch: {written} entries given, {count} announced")
        _set_head_hash(cursor, prev)
