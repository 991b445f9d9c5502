"""State changes of the retention app: policies, legal holds, and purge reports from dry run to run.

The purge: ``purge_report_create`` lists what is due per class as of a day and freezes the ids into
batches (the dry-run report); ``purge_report_approve`` lets it run; ``purge_report_run`` deletes the
pending batches one short transaction at a time, each re-checking its ids (still due, not held now) and
marking itself done in the same transaction, with one business event per batch (counts and id ranges,
never personal data). A killed worker or a stop leaves the report resumable: the next run takes the
batches still pending, so the run deletes exactly the approved set, never more.
"""

import logging
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from auditlog.context import disable_auditlog
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.context import acting_as
from audit.events import AuditEvent
from audit.services import audit_event_record
from records.models import Resident
from retention import permissions
from retention.classes import DataClass, data_class, data_classes
from retention.holds import held_resident_ids_from_providers
from retention.models import (
    BatchStatus,
    LegalHold,
    PurgeBatch,
    PurgeItem,
    PurgeReport,
    ReportStatus,
    ReportTrigger,
    RetentionPolicy,
    RetentionPolicyChange,
)
from retention.rules import cutoff as cutoff_for
from retention.selectors import policy_years

logger = logging.getLogger(__name__)

RUNNABLE = (ReportStatus.APPROVED, ReportStatus.RUNNING, ReportStatus.STOPPED)


def _batch_size() -> int:
    return max(1, int(settings.RETENTION_BATCH_SIZE))


# --- Policies ----------------------------------------------------------------------------------------

def minimum_years_error(cls: DataClass, years: int) -> ValidationError | None:
    if years < cls.minimum_years:
        return ValidationError(
            {"years": _("%(label)sの保存年数は%(minimum)d年以上にしてください（法定の最低保存期間）。")
             % {"label": cls.label, "minimum": cls.minimum_years}},
            code="below_minimum",
        )
    return None


@transaction.atomic
def retention_policy_set(*, actor: Any, key: str, years: int, reason: str) -> RetentionPolicy:
    """Set the period of one class; never under the class's minimum (5 years for records, by law)."""
    if not permissions.can_change_policy(actor):
        raise PermissionDenied
    try:
        cls = data_class(key)
    except KeyError:
        raise ValidationError({"data_class": _("不明なデータ区分です。")}, code="unknown_class") from None
    error = minimum_years_error(cls, years)
    if error is not None:
        raise error
    if not reason.strip():
        raise ValidationError({"reason": _("変更理由を入力してください。")}, code="required")
    policy = RetentionPolicy.objects.select_for_update().filter(data_class=key).first()
    old = policy.years if policy is not None else cls.default_years
    if policy is None:
        policy = RetentionPolicy(data_class=key)
    policy.years = years
    policy.updated_by = actor
    policy.full_clean()
    policy.save()
    change = RetentionPolicyChange(policy=policy, old_years=old, new_years=years, reason=reason.strip(),
                                   changed_by=actor)
    change.full_clean()
    change.save()
    audit_event_record(event=AuditEvent.RETENTION_POLICY_CHANGED, actor=actor, target=policy,
                       data={"data_class": key, "old_years": old, "new_years": years})
    return policy


# --- Legal holds -------------------------------------------------------------------------------------

@transaction.atomic
def legal_hold_place(*, actor: Any, resident: Resident, reason: str, reference: str) -> LegalHold:
    if not permissions.can_place_hold(actor):
        raise PermissionDenied
    hold = LegalHold(resident=resident, reason=reason.strip(), reference=reference.strip(), placed_by=actor)
    hold.full_clean()
    hold.save()
    audit_event_record(event=AuditEvent.RETENTION_HOLD_PLACED, actor=actor, target=hold,
                       data={"resident": resident.pk, "reference": hold.reference})
    return hold


@transaction.atomic
def legal_hold_release(*, actor: Any, hold: LegalHold, reason: str) -> LegalHold:
    if not permissions.can_release_hold(actor):
        raise PermissionDenied
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if locked.released_at is not None:
        raise ValidationError(_("この保留は既に解除されています。"), code="already_released")
    if not reason.strip():
        raise ValidationError({"release_reason": _("解除理由を入力してください。")}, code="required")
    locked.released_at = timezone.now()
    locked.released_by = actor
    locked.release_reason = reason.strip()
    locked.full_clean()
    locked.save()
    audit_event_record(event=AuditEvent.RETENTION_HOLD_RELEASED, actor=actor, target=locked,
                       data={"resident": locked.resident_id})
    return locked


def held_resident_ids() -> set[int]:
    """Everyone who must not be purged now: administrators' holds and every registered provider."""
    return held_resident_ids_from_providers()


# --- Reports -----------------------------------------------------------------------------------------

def _freeze(item: PurgeItem, ids: Iterable[int]) -> tuple[int, int | None, int | None]:
    size = _batch_size()
    count, first, last, number = 0, None, None, 0
    pending: list[int] = []
    batches: list[PurgeBatch] = []

    def flush() -> None:
        nonlocal number
        number += 1
        batches.append(PurgeBatch(item=item, number=number, ids=list(pending)))
        pending.clear()
        if len(batches) >= 100:
            PurgeBatch.objects.bulk_create(batches)
            batches.clear()

    for pk in ids:
        first = pk if first is None else first
        last = pk
        count += 1
        pending.append(pk)
        if len(pending) >= size:
            flush()
    if pending:
        flush()
    PurgeBatch.objects.bulk_create(batches)
    return count, first, last


@transaction.atomic
def purge_report_create(*, actor: Any | None, as_of: date, trigger: str, keys: Sequence[str] | None = None,
                        automatic: bool = False) -> PurgeReport:
    """The dry run: what each class would lose as of ``as_of``, with the ids frozen into batches. Deletes
    nothing. ``keys`` limits the classes (default: all registered)."""
    if actor is not None and not permissions.can_create_report(actor):
        raise PermissionDenied
    classes = [c for c in data_classes() if keys is None or c.key in keys]
    report = PurgeReport(as_of=as_of, trigger=trigger, created_by=actor, automatic=automatic)
    report.full_clean()
    # No auditlog diff for the new row: writing it would lock the audit chain's head from here until this
    # (long: it reads every class) transaction commits, and every page view waits for that head. The
    # business event at the end records the creation with everything the diff would say, and more.
    with disable_auditlog():
        report.save()
    held = held_resident_ids()
    for position, cls in enumerate(classes, start=1):
        years = policy_years(key=cls.key)
        if years < cls.minimum_years:  # a policy stored before the minimum was raised: never go under it
            years = cls.minimum_years
        day = cutoff_for(as_of, years=years)
        item = PurgeItem.objects.create(report=report, position=position, data_class=cls.key, years=years,
                                        cutoff=day, count=0)
        count, first, last = _freeze(item, cls.due_ids(cutoff=day, held=held))
        related: dict[str, int] = {}
        if count:
            for batch_ids in PurgeBatch.objects.filter(item=item).values_list("ids", flat=True):
                for label, n in cls.related_counts(ids=batch_ids).items():
                    related[label] = related.get(label, 0) + n
        PurgeItem.objects.filter(pk=item.pk).update(count=count, first_id=first, last_id=last,
                                                    related_counts=related)
    audit_event_record(
        event=AuditEvent.RETENTION_REPORT_CREATED, actor=actor, target=report,
        data={"as_of": as_of.isoformat(), "trigger": trigger, "automatic": automatic,
              "items": list(report.items.values("data_class", "years", "count", "first_id", "last_id"))},
    )
    return report


def _enqueue_run(report_id: int) -> None:
    from retention.tasks import purge_report_run_task

    transaction.on_commit(lambda: purge_report_run_task.delay(report_id))


@transaction.atomic
def purge_report_approve(*, actor: Any, report: PurgeReport, note: str = "") -> PurgeReport:
    """An administrator's approval: from here the run deletes exactly the report's frozen batches."""
    if not permissions.can_approve_report(actor):
        raise PermissionDenied
    locked = PurgeReport.objects.select_for_update().get(pk=report.pk)
    if locked.status != ReportStatus.PROPOSED:
        raise ValidationError(_("承認待ちの報告だけを承認できます。"), code="not_proposed")
    locked.status = ReportStatus.APPROVED
    locked.approved_by = actor
    locked.approved_at = timezone.now()
    locked.approval_note = note.strip()
    locked.full_clean()
    locked.save()
    audit_event_record(event=AuditEvent.RETENTION_REPORT_APPROVED, actor=actor, target=locked,
                       data={"note": locked.approval_note})
    _enqueue_run(locked.pk)
    return locked


@transaction.atomic
def purge_report_reject(*, actor: Any, report: PurgeReport, note: str = "") -> PurgeReport:
    if not permissions.can_approve_report(actor):
        raise PermissionDenied
    locked = PurgeReport.objects.select_for_update().get(pk=report.pk)
    if locked.status != ReportStatus.PROPOSED:
        raise ValidationError(_("承認待ちの報告だけを却下できます。"), code="not_proposed")
    locked.status = ReportStatus.REJECTED
    locked.decided_by = actor
    locked.approval_note = note.strip()
    locked.full_clean()
    locked.save()
    audit_event_record(event=AuditEvent.RETENTION_REPORT_REJECTED, actor=actor, target=locked,
                       data={"note": locked.approval_note})
    return locked


@transaction.atomic
def purge_report_stop(*, actor: Any, report: PurgeReport) -> PurgeReport:
    """Ask the run to stop after the batch in progress (it commits or rolls back as a whole)."""
    if not permissions.can_approve_report(actor):
        raise PermissionDenied
    locked = PurgeReport.objects.select_for_update().get(pk=report.pk)
    if locked.status not in (ReportStatus.APPROVED, ReportStatus.RUNNING):
        raise ValidationError(_("実行待ちまたは消去中の報告だけを中断できます。"), code="not_running")
    locked.stop_requested = True
    locked.save(update_fields=["stop_requested", "updated_at"])
    return locked


@transaction.atomic
def purge_report_resume(*, actor: Any, report: PurgeReport) -> PurgeReport:
    """Continue a stopped (or interrupted) run with the batches still pending."""
    if not permissions.can_approve_report(actor):
        raise PermissionDenied
    locked = PurgeReport.objects.select_for_update().get(pk=report.pk)
    if locked.status not in RUNNABLE:
        raise ValidationError(_("中断・実行中の報告だけを再開できます。"), code="not_resumable")
    locked.stop_requested = False
    locked.save(update_fields=["stop_requested", "updated_at"])
    _enqueue_run(locked.pk)
    return locked


def _actor_of(report: PurgeReport) -> Any | None:
    return report.approved_by


def _run_batch(*, report: PurgeReport, batch_id: int, actor: Any | None) -> bool:
    """Delete one batch in one transaction; False when another worker already did it."""
    with transaction.atomic():
        batch = PurgeBatch.objects.select_for_update().select_related("item").get(pk=batch_id)
        if batch.status == BatchStatus.DONE:
            return False
        item = batch.item
        cls = data_class(item.data_class)
        ids: list[int] = list(batch.ids)
        outcome = cls.purge(ids=ids, cutoff=item.cutoff, held=held_resident_ids(), report_id=report.pk)
        batch.status = BatchStatus.DONE
        batch.deleted = outcome.deleted
        batch.skipped = outcome.skipped
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "deleted", "skipped", "finished_at"])
        locked_item = PurgeItem.objects.select_for_update().get(pk=item.pk)
        locked_item.deleted += outcome.deleted
        locked_item.skipped += outcome.skipped
        related = dict(locked_item.deleted_related)
        for label, n in outcome.related.items():
            related[label] = related.get(label, 0) + n
        locked_item.deleted_related = related
        locked_item.save(update_fields=["deleted", "skipped", "deleted_related"])
        # Last: the audit chain's head stays locked from here until the commit.
        audit_event_record(
            event=AuditEvent.RETENTION_PURGE_BATCH, actor=actor, target=report,
            data={"data_class": item.data_class, "batch": batch.number, "first_id": ids[0] if ids else None,
                  "last_id": ids[-1] if ids else None, "deleted": outcome.deleted, "skipped": outcome.skipped,
                  "related": outcome.related},
        )
    return True


def purge_report_run(*, report_id: int) -> PurgeReport:
    """Run (or resume) an approved report: every pending batch, in order, each in its own transaction.
    Stops between batches when an administrator asked to; safe to call again at any point."""
    with transaction.atomic():
        report = PurgeReport.objects.select_for_update().get(pk=report_id)
        if report.status == ReportStatus.COMPLETED:
            return report
        if report.status not in RUNNABLE:
            raise ValidationError(_("承認されていない報告は実行できません。"), code="not_approved")
        if report.stop_requested:
            return _stop(report)
        report.status = ReportStatus.RUNNING
        report.started_at = report.started_at or timezone.now()
        report.save(update_fields=["status", "started_at", "updated_at"])
    actor = _actor_of(report)
    pending = list(
        PurgeBatch.objects.filter(item__report=report, status=BatchStatus.PENDING)
        .order_by("item__position", "number").values_list("pk", flat=True)
    )
    with acting_as(actor):
        for batch_id in pending:
            if PurgeReport.objects.filter(pk=report.pk, stop_requested=True).exists():
                with transaction.atomic():
                    return _stop(PurgeReport.objects.select_for_update().get(pk=report.pk))
            _run_batch(report=report, batch_id=batch_id, actor=actor)
        with transaction.atomic():
            report = PurgeReport.objects.select_for_update().get(pk=report.pk)
            if report.status == ReportStatus.COMPLETED:
                return report
            if PurgeBatch.objects.filter(item__report=report, status=BatchStatus.PENDING).exists():
                return report  # another worker is still on it
            report.status = ReportStatus.COMPLETED
            report.finished_at = timezone.now()
            report.save(update_fields=["status", "finished_at", "updated_at"])
            audit_event_record(
                event=AuditEvent.RETENTION_PURGE_COMPLETED, actor=actor, target=report,
                data={"items": list(report.items.values("data_class", "count", "deleted", "skipped"))},
            )
    return report


def _stop(report: PurgeReport) -> PurgeReport:
    report.status = ReportStatus.STOPPED
    report.stop_requested = False
    report.save(update_fields=["status", "stop_requested", "updated_at"])
    audit_event_record(event=AuditEvent.RETENTION_PURGE_STOPPED, actor=_actor_of(report), target=report,
                       data={"pending_batches": PurgeBatch.objects.filter(
                           item__report=report, status=BatchStatus.PENDING).count()})
    return report


# --- The monthly job ---------------------------------------------------------------------------------

def purge_schedule_run(*, as_of: date) -> list[PurgeReport]:
    """The monthly beat job: a dry-run report of the classes that need an administrator's approval, and
    for the classes in settings.RETENTION_AUTO_CLASSES a report approved by that setting and run now."""
    auto = set(settings.RETENTION_AUTO_CLASSES)
    keys = [c.key for c in data_classes()]
    unknown = auto - set(keys)
    if unknown:
        raise ValueError(f"RETENTION_AUTO_CLASSES names unknown classes: {sorted(unknown)}")
    reports: list[PurgeReport] = []
    manual = [k for k in keys if k not in auto]
    if manual:
        reports.append(purge_report_create(actor=None, as_of=as_of, trigger=ReportTrigger.SCHEDULE, keys=manual))
    if auto:
        with transaction.atomic():
            report = purge_report_create(actor=None, as_of=as_of, trigger=ReportTrigger.SCHEDULE,
                                         keys=[k for k in keys if k in auto], automatic=True)
            report.status = ReportStatus.APPROVED
            report.approved_at = timezone.now()
            report.approval_note = "RETENTION_AUTO_CLASSES"
            report.full_clean()
            report.save()
            audit_event_record(event=AuditEvent.RETENTION_REPORT_APPROVED, actor=None, target=report,
                               data={"note": report.approval_note, "automatic": True})
            _enqueue_run(report.pk)
        reports.append(report)
    return reports


# --- The certificate ---------------------------------------------------------------------------------

def certificate_record(*, actor: Any, report: PurgeReport, file_format: str) -> None:
    audit_event_record(event=AuditEvent.RETENTION_CERTIFICATE_ISSUED, actor=actor, target=report,
                       data={"format": file_format})
