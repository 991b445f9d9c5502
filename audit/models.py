"""The one audit log: django-auditlog's entry model, swapped in so that field diffs, read accesses and
business events all live in one table (AUDITLOG_LOGENTRY_MODEL), each entry chained to the one before
by a hash (audit.chain)."""

from typing import Any

from auditlog.models import AbstractLogEntry
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.utils.translation import gettext_lazy as _

from audit.events import AuditEvent


def deleted_resident_expression() -> Cast:
    """The resident id a diff names (``changes["resident"][0]``, the old value in a deletion's diff) as
    text: the expression of audit_deleted_resident_idx, and what queries must compare to use it."""
    return Cast(KeyTextTransform("0", KeyTransform("resident", "changes")), output_field=models.TextField())


class AuditLogEntry(AbstractLogEntry):
    class Action(AbstractLogEntry.Action):
        EVENT = 10
        choices = (*AbstractLogEntry.Action.choices, (EVENT, _("業務イベント")))

    # Single-column indexes that the composite indexes below already cover are dropped (auditlog adds
    # them by default): each costs every insert — a 100,000-row import writes 100,000 entries — and no
    # query needs them.
    action = models.PositiveSmallIntegerField(choices=Action.choices, verbose_name=_("操作"))
    object_pk = models.CharField(max_length=255, verbose_name=_("対象のID"))
    object_id = models.BigIntegerField(blank=True, null=True, verbose_name=_("対象のID（数値）"))
    cid = models.CharField(max_length=255, blank=True, null=True, verbose_name=_("相関ID"))  # noqa: DJ001 - auditlog stores None
    # Indexed only where it is set (audit_event_time_idx): most entries are diffs and accesses.
    event = models.CharField(_("業務イベント"), max_length=40, choices=AuditEvent.choices, blank=True)
    # The chain's inputs must never change under it: users and content types are never deleted while an
    # entry names them (auditlog's defaults would null or cascade them) — PROTECT, which Django enforces
    # before any delete. No database constraint: an append-only log must not depend on the rows it names,
    # and a constraint costs a per-row check on every insert (two per entry: 1.3 s per 100,000 entries,
    # as many as one clinic import writes). Accounts are deactivated, never deleted (accounts.services).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, blank=True, null=True,
                              related_name="+", verbose_name=_("操作者"), db_index=False, db_constraint=False)
    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("対象の種類"), db_index=False, db_constraint=False)
    seq = models.BigIntegerField(_("連番"), unique=True, editable=False)
    prev_hash = models.CharField(_("直前のハッシュ"), max_length=64, editable=False)
    entry_hash = models.CharField(_("ハッシュ"), max_length=64, editable=False)

    class Meta(AbstractLogEntry.Meta):
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        ordering = ["-seq"]
        # The auditor's desk (audit.permissions): beyond reading, exporting the log, the self-inspection
        # report and verifying the chain on demand are separate grants.
        permissions = [
            ("export_auditlogentry", _("監査ログを出力できる")),
            ("view_audit_report", _("維持管理点検の報告を閲覧できる")),
            ("verify_audit_chain", _("監査ログの連鎖を検証できる")),
        ]
        indexes = [
            models.Index(fields=["actor", "timestamp"], name="audit_actor_time_idx"),
            models.Index(fields=["content_type", "object_pk", "timestamp"], name="audit_object_time_idx"),
            models.Index(fields=["action", "timestamp"], name="audit_action_time_idx"),
            # Business events by code and time (the auditor's search, the self-inspection report). Partial:
            # diffs and read accesses, nearly every entry, never touch it.
            models.Index(fields=["event", "timestamp"], condition=Q(action=10),  # Action.EVENT
                         name="audit_event_time_idx"),
            # The resident a deletion's diff names: the auditor's search by resident finds the records
            # deleted from that resident (audit.selectors) without reading every deletion entry.
            models.Index(deleted_resident_expression(), condition=Q(action=AbstractLogEntry.Action.DELETE),
                         name="audit_deleted_resident_idx"),
        ]

    def save(self, *args: Any, **kwargs: Any) -> None:
        """New entries join the chain; an existing entry is never saved again."""
        if not self._state.adding:
            raise ValueError("audit log entries are append-only")
        from audit.chain import chain_and_insert

        chain_and_insert([self])


class AuditChainHead(models.Model):
    """The single row holding the end of the chain. Writers lock it (SELECT ... FOR UPDATE), so entries
    are chained one transaction at a time and the chain never forks."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("監査ログ連鎖の末尾")

    def __str__(self) -> str:
        return f"audit chain head #{self.last_seq}"


class AuditChainCheckpoint(models.Model):
    """A range of the chain deleted by the retention purge (issue #8), the only sanctioned deletion.

    It keeps what the deleted entries contributed to the chain: ``prev_hash`` is the hash the first deleted
    entry was chained to, ``last_hash`` the hash of the last deleted entry, which the next remaining entry
    names as its ``prev_hash``. audit.chain.chain_verify accepts a gap in ``seq`` only when checkpoints
    cover it exactly and link up with the hashes on either side. Append-only like the log itself."""

    first_seq = models.BigIntegerField(_("最初の連番"), unique=True)
    last_seq = models.BigIntegerField(_("最後の連番"), unique=True)
    prev_hash = models.CharField(_("直前のハッシュ"), max_length=64)
    last_hash = models.CharField(_("最後のハッシュ"), max_length=64)
    entries = models.PositiveIntegerField(_("件数"))
    # Which approved purge deleted the range (retention.PurgeReport id; no FK: audit knows no retention).
    purge_report_id = models.BigIntegerField(_("消去報告"), null=True, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("監査ログ消去の記録点")
        verbose_name_plural = _("監査ログ消去の記録点")
        ordering = ["first_seq"]
        constraints = [
            models.CheckConstraint(condition=Q(last_seq__gte=models.F("first_seq")) & Q(first_seq__gte=1),
                                   name="audit_checkpoint_range"),
            models.CheckConstraint(condition=Q(entries=models.F("last_seq") - models.F("first_seq") + 1),
                                   name="audit_checkpoint_entries"),
        ]

    def __str__(self) -> str:
        return f"audit checkpoint #{self.first_seq}–#{self.last_seq}"
