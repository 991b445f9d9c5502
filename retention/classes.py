"""The data-class registry: everything the retention purge can delete, one class per kind of data.

A class knows its default and minimum period, how to list the ids due as of a cutoff (ascending, held
persons left out), and how to delete one batch of those ids inside the caller's transaction — checking
each id again first (still due, not held now), so that a batch deletes at most what the report froze and
never anything that became protected since. Apps built later (linkage results, notice PDFs) register
their own class from their ``ready()`` with ``register_data_class``.

Deletions here use plain SQL DELETEs: the ORM's delete would send auditlog's signals and write one diff
per row with every field (names, addresses) into the log. The purge instead records one business event
per batch with counts and id ranges (retention.services).
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from django.db import connection, models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from retention.models import LEGAL_MINIMUM_YEARS, RECORDS_CLASS

ID_CHUNK = 500  # ids per IN (...) list on SQLite (its variable limit); PostgreSQL takes a batch at once


@dataclass
class BatchOutcome:
    deleted: int = 0
    skipped: int = 0
    related: dict[str, int] = field(default_factory=dict)


class DataClass(Protocol):
    key: str
    default_years: int
    minimum_years: int

    @property
    def label(self) -> Promise | str: ...

    @property
    def unit(self) -> Promise | str: ...

    @property
    def start_label(self) -> Promise | str:
        """What the period counts from."""

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        """Ids due (start < cutoff) and not concerning a held person, ascending."""

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        """Rows deleted along with these units, by kind (for the report and the certificate)."""

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        """Delete those of ``ids`` still due and not held, in the caller's transaction."""


_registry: dict[str, DataClass] = {}


def register_data_class(data_class: DataClass) -> None:
    """Register (or replace, so ``ready()`` may run twice) a class; purges run classes in registration
    order."""
    _registry[data_class.key] = data_class


def data_classes() -> list[DataClass]:
    return list(_registry.values())


def data_class(key: str) -> DataClass:
    return _registry[key]


# --- Helpers -----------------------------------------------------------------------------------------

def chunks(ids: Sequence[int], size: int | None = None) -> Iterator[Sequence[int]]:
    if size is None:
        size = ID_CHUNK if connection.vendor == "sqlite" else max(len(ids), 1)
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def delete_rows(model: type[models.Model], column: str, ids: Sequence[int]) -> int:
    """``DELETE FROM <model> WHERE <column> IN ids``, without signals; returns the rows deleted."""
    if not ids:
        return 0
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    deleted = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # one statement, the ids as one array parameter
            cursor.execute(f"DELETE FROM {table} WHERE {quote(column)} = ANY(%s)", [list(ids)])  # noqa: S608
            return int(cursor.rowcount)
        for part in chunks(ids):
            placeholders = ", ".join(["%s"] * len(part))
            cursor.execute(f"DELETE FROM {table} WHERE {quote(column)} IN ({placeholders})", list(part))  # noqa: S608
            deleted += cursor.rowcount
    return deleted


def count_rows(model: type[models.Model], field_name: str, ids: Sequence[int]) -> int:
    return sum(model._default_manager.filter(**{f"{field_name}__in": part}).count() for part in chunks(ids))


def start_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- Vaccination records and resident records ------------------------------------------------------------

class PersonRecords:
    """A person with everything recorded about them: the resident record, its vaccination records,
    residency history, released holds and any other row that refers to the resident or to one of those
    rows (found from the models' relations by ``dependents_walk``, so tables added by later apps are
    deleted with the person, not left dangling; SET_NULL legal records stay without the link)."""

    key = RECORDS_CLASS
    label = _("接種記録・宛名")
    unit = _("人")
    start_label = _("最終接種日と転出日・死亡日のうち遅い日")
    default_years = 20
    minimum_years = LEGAL_MINIMUM_YEARS

    def _due(self, cutoff: date) -> Any:
        from records.models import ResidencyStatus, Resident, VaccinationRecord

        recent = VaccinationRecord.objects.filter(resident=OuterRef("pk"), vaccinated_on__gte=cutoff)
        # records.rules is the pure form of this (retention.rules.person_retention_start).
        return (
            Resident.objects.filter(residency_status__in=[ResidencyStatus.MOVED_OUT, ResidencyStatus.DECEASED])
            .filter(Q(moved_out_on__isnull=False) | Q(died_on__isnull=False))
            .filter(Q(moved_out_on__isnull=True) | Q(moved_out_on__lt=cutoff))
            .filter(Q(died_on__isnull=True) | Q(died_on__lt=cutoff))
            .exclude(Exists(recent))
        )

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        for pk in self._due(cutoff).order_by("pk").values_list("pk", flat=True).iterator(chunk_size=10_000):
            if pk not in held:
                yield pk

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        from records.models import Resident

        related: dict[str, int] = {}
        dependents_walk(Resident, list(ids), stack=(Resident,), related=related, execute=False, seen={})
        return related

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        from records.models import Resident

        candidates = [pk for pk in ids if pk not in held]
        # Lock the people first: a vaccination record added concurrently waits for this transaction (its
        # foreign key needs the row), or, if it committed before, the check below sees it.
        locked: list[int] = []
        for part in chunks(candidates):
            locked += Resident.objects.select_for_update().filter(pk__in=part).values_list("pk", flat=True)
        still_due: list[int] = []
        for part in chunks(sorted(locked)):
            still_due += self._due(cutoff).filter(pk__in=part).values_list("pk", flat=True)
        still_due.sort()
        related: dict[str, int] = {}
        dependents_walk(Resident, still_due, stack=(Resident,), related=related, execute=True, seen={})
        deleted = delete_rows(Resident, "id", still_due)
        return BatchOutcome(deleted=deleted, skipped=len(ids) - deleted, related=related)


# --- The walk over everything that refers to a person ----------------------------------------------------

UNLINKED = " (link removed)"  # suffix of the count of kept rows whose link was emptied


def reverse_relations(model: type[models.Model]) -> list[Any]:
    """Every one-to-many and one-to-one relation pointing at ``model``, hidden ones (``related_name="+"``)
    included: ``_meta.related_objects`` leaves those out, and they are exactly the copies kept elsewhere."""
    return [
        f for f in model._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]


def is_kept_record(model: type[models.Model]) -> bool:
    """A record that outlives the person by design: it refers to the resident with SET_NULL (linkage
    provision records, rights tickets and requests, protection changes). Its other nullable links into
    the person's data are emptied too rather than the record deleted."""
    from records.models import Resident

    return any(
        f.many_to_one and f.related_model is Resident and getattr(f.remote_field, "on_delete", None) is models.SET_NULL
        for f in model._meta.concrete_fields if f.is_relation
    )


def null_rows(model: type[models.Model], column: str, ids: Sequence[int]) -> int:
    """``UPDATE <model> SET <column> = NULL WHERE <column> IN ids``, without signals."""
    if not ids:
        return 0
    quote = connection.ops.quote_name
    table, col = quote(model._meta.db_table), quote(column)
    updated = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"UPDATE {table} SET {col} = NULL WHERE {col} = ANY(%s)", [list(ids)])  # noqa: S608
            return int(cursor.rowcount)
        for part in chunks(ids):
            placeholders = ", ".join(["%s"] * len(part))
            cursor.execute(f"UPDATE {table} SET {col} = NULL WHERE {col} IN ({placeholders})", list(part))  # noqa: S608
            updated += cursor.rowcount
    return updated


def dependents_walk(model: type[models.Model], ids: list[int], *, stack: tuple[type[models.Model], ...],
                    related: dict[str, int], execute: bool, seen: dict[str, set[int]]) -> None:
    """Depth first over the rows referring to ``ids`` of ``model``: leaves are deleted before the rows
    they refer to. A SET_NULL link, a nullable link from a kept record (``is_kept_record``) and a nullable
    link back into a model already being deleted (a ticket replacing a ticket) are emptied instead. With
    ``execute`` False nothing changes and ``related`` gets the counts the purge would report; ``seen`` holds
    the rows already counted per model, so a row reached by two paths (a notice item through its ticket
    and through its resident) is counted once."""
    if not ids:
        return
    for relation in reverse_relations(model):
        child: type[models.Model] = relation.related_model
        fk = relation.field
        if fk.target_field != model._meta.pk:
            raise ValueError(f"{child._meta.label}.{fk.name} does not refer to the primary key")
        label = child._meta.label
        nullable = bool(fk.null)
        if relation.on_delete is models.SET_NULL or (nullable and (child in stack or is_kept_record(child))):
            n = null_rows(child, str(fk.column), ids) if execute else count_rows(child, fk.name, ids)
            if n:
                related[label + UNLINKED] = related.get(label + UNLINKED, 0) + n
            continue
        if child in stack:
            raise ValueError(f"{label}.{fk.name} forms a cycle of non-nullable links")
        child_ids: list[int] = []
        for part in chunks(ids):
            child_ids += child._base_manager.filter(**{f"{fk.name}__in": part}).values_list("pk", flat=True)
        done = seen.setdefault(label, set())
        child_ids = sorted(set(child_ids) - done)
        done.update(child_ids)
        dependents_walk(child, child_ids, stack=(*stack, child), related=related, execute=execute, seen=seen)
        n = delete_rows(child, str(child._meta.pk.column), child_ids) if execute else len(child_ids)
        related[label] = related.get(label, 0) + n


# --- Linkage results --------------------------------------------------------------------------------------

class LinkageResults:
    """Query results received from other bodies (issue #6), encrypted at rest. linkage's daily job deletes
    them LINKAGE_RESULT_RETENTION_DAYS after receipt; this class puts them in the retention report and the
    deletion certificate, and deletes through that same service (``linkage_result_purge``: one auditlog
    deletion entry per result and its own ``linkage.result_purged`` event), so a result the daily job
    missed (job disabled, worker down) is purged at the latest by the policy's period. A result is due
    when received before the cut-off and past linkage's own period; results of a held person stay. The
    exchange and its provision record stay (only the result data goes)."""

    key = "linkage_results"
    label = _("情報連携の照会結果")
    unit = _("件")
    start_label = _("照会結果の受領日")
    default_years = 1
    minimum_years = 1

    def _due(self, cutoff: date, held: set[int]) -> Any:
        from django.conf import settings

        from linkage.models import LinkageResult

        linkage_expiry = timezone.now() - timedelta(days=settings.LINKAGE_RESULT_RETENTION_DAYS)
        qs = LinkageResult.objects.filter(received_at__lt=min(start_of_day(cutoff), linkage_expiry))
        if held:
            qs = qs.exclude(resident_id__in=held)
        return qs

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        yield from self._due(cutoff, held).order_by("pk").values_list("pk", flat=True).iterator(chunk_size=10_000)

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        return {}

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        from audit.context import current_context
        from linkage.services.purge import linkage_result_purge

        still_due: list[int] = []
        for part in chunks(ids):
            still_due += self._due(cutoff, held).filter(pk__in=part).values_list("pk", flat=True)
        deleted = 0
        for part in chunks(still_due):
            deleted += linkage_result_purge(actor=current_context().get("actor"), ids=part)
        return BatchOutcome(deleted=deleted, skipped=len(ids) - deleted)


# --- Uploaded import files ------------------------------------------------------------------------------

class ImportFiles:
    """The clinic CSV as received (encrypted in storage). The import's metadata, SHA-256 (which still
    refuses the same file twice) and row counts stay; only the file goes and ``stored_file`` is emptied.
    A file that produced records of a held person stays."""

    key = "import_files"
    label = _("取込ファイル（受信したCSV）")
    unit = _("ファイル")
    start_label = _("取込の完了日")
    default_years = 1
    minimum_years = 1

    def _due(self, cutoff: date, held: set[int]) -> Any:
        from imports.models import ClinicImport, ImportStatus
        from records.models import VaccinationRecord

        qs = ClinicImport.objects.filter(
            status__in=[ImportStatus.COMMITTED, ImportStatus.FAILED], finished_at__lt=start_of_day(cutoff),
        ).exclude(stored_file="")
        if held:
            qs = qs.exclude(Exists(VaccinationRecord.objects.filter(source_import=OuterRef("pk"),
                                                                    resident_id__in=held)))
        return qs

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        yield from self._due(cutoff, held).order_by("pk").values_list("pk", flat=True).iterator(chunk_size=10_000)

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        return {}

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        from imports.models import ClinicImport
        from imports.services.storage import import_file_delete

        imports = list(self._due(cutoff, held).select_for_update().filter(pk__in=ids).only("pk", "stored_file"))
        # Files first, then the column: a worker killed in between leaves the column naming a file that
        # is gone, and the resumed batch (import_file_delete ignores a missing file) empties it.
        for clinic_import in imports:
            import_file_delete(name=clinic_import.stored_file)
        done = [clinic_import.pk for clinic_import in imports]
        deleted = 0
        for part in chunks(done):
            deleted += ClinicImport.objects.filter(pk__in=part).update(stored_file="", updated_at=timezone.now())
        return BatchOutcome(deleted=deleted, skipped=len(ids) - deleted)


# --- Row-error details -------------------------------------------------------------------------------

class ImportRowErrors:
    """The per-row error details of an import (row number, column, message); the import keeps its
    counts. Once gone, the import's error list and error CSV are empty."""

    key = "import_row_errors"
    label = _("取込エラー行の詳細")
    unit = _("行")
    start_label = _("取込の完了日")
    default_years = 1
    minimum_years = 1

    def _due(self, cutoff: date) -> Any:
        from imports.models import ImportRowError

        return ImportRowError.objects.filter(clinic_import__finished_at__lt=start_of_day(cutoff))

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        yield from self._due(cutoff).order_by("pk").values_list("pk", flat=True).iterator(chunk_size=10_000)

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        return {}

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        from imports.models import ImportRowError

        still_due: list[int] = []
        for part in chunks(ids):
            still_due += self._due(cutoff).filter(pk__in=part).values_list("pk", flat=True)
        deleted = delete_rows(ImportRowError, "id", still_due)
        return BatchOutcome(deleted=deleted, skipped=len(ids) - deleted)


# --- Audit entries ------------------------------------------------------------------------------------

class AuditEntries:
    """The audit log's own entries, identified by ``seq``. The only sanctioned deletion of the append-only
    log: the chain keeps a checkpoint for every deleted range (audit.purge) and still verifies. Entries
    about a held person (their own, their records' and their residency periods') stay."""

    key = "audit_entries"
    label = _("監査ログ")
    unit = _("件")
    start_label = _("記録日時")
    default_years = 30
    minimum_years = LEGAL_MINIMUM_YEARS

    def _due(self, cutoff: date, held: set[int]) -> Any:
        from audit.events import AuditEvent
        from audit.models import AuditLogEntry
        from audit.selectors import audit_entries_about_residents_q

        # The records of earlier audit purges vouch for their checkpoints (audit.purge): kept for good.
        qs = AuditLogEntry.objects.filter(timestamp__lt=start_of_day(cutoff)).exclude(
            action=AuditLogEntry.Action.EVENT, event=AuditEvent.AUDIT_ENTRIES_PURGED
        )
        if held:
            # A held person's entries stay: their own, their records' (deleted ones too) and their periods'.
            qs = qs.exclude(audit_entries_about_residents_q(resident_ids=held))
        return qs

    def due_ids(self, *, cutoff: date, held: set[int]) -> Iterator[int]:
        yield from self._due(cutoff, held).order_by("seq").values_list("seq", flat=True).iterator(chunk_size=10_000)

    def related_counts(self, *, ids: Sequence[int]) -> dict[str, int]:
        return {}

    def purge(self, *, ids: Sequence[int], cutoff: date, held: set[int], report_id: int) -> BatchOutcome:
        from audit.purge import audit_entries_purge

        still_due: list[int] = []
        for part in chunks(ids):
            still_due += self._due(cutoff, held).filter(seq__in=part).values_list("seq", flat=True)
        ranges = audit_entries_purge(seqs=still_due, purge_report_id=report_id)
        deleted = sum(r.entries for r in ranges)
        return BatchOutcome(deleted=deleted, skipped=len(ids) - deleted,
                            related={"checkpoints": len(ranges)})


def register_builtin_classes() -> None:
    for builtin in (PersonRecords(), LinkageResults(), ImportRowErrors(), ImportFiles(), AuditEntries()):
        register_data_class(builtin)
