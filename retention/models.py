"""Retention policies per data class (with their history), administrators' legal holds, and purge reports.

A purge goes: dry-run report (what would go, by class, with the ids frozen into batches) -> approval by an
administrator (or automatic for the classes in settings.RETENTION_AUTO_CLASSES) -> run, batch by batch.
Each batch is deleted in its own short transaction that also marks the batch done, so a killed worker
leaves every batch either wholly done or wholly pending, and a resume deletes exactly the approved set.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel

# 予防接種法施行令 第6条の2: vaccination records are kept at least 5 years. No policy, form or service
# may go under it; the database refuses it too (constraint below).
LEGAL_MINIMUM_YEARS = 5
RECORDS_CLASS = "records"


class RetentionPolicy(BaseModel):
    """How long one data class (retention.classes) is kept, in years after the class's start date."""

    data_class = models.CharField(_("データ区分"), max_length=40, unique=True)
    years = models.PositiveSmallIntegerField(_("保存年数"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("最終更新者"))

    class Meta:
        verbose_name = _("保存期間")
        verbose_name_plural = _("保存期間")
        ordering = ["data_class"]
        constraints = [
            models.CheckConstraint(condition=Q(years__gte=1), name="retention_policy_at_least_a_year"),
            models.CheckConstraint(
                condition=~Q(data_class=RECORDS_CLASS) | Q(years__gte=LEGAL_MINIMUM_YEARS),
                name="retention_policy_records_legal_minimum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.data_class}: {self.years}"


class RetentionPolicyChange(models.Model):
    """One change of a policy: the history shown beside the form (the audit log has the diff too)."""

    policy = models.ForeignKey(RetentionPolicy, on_delete=models.PROTECT, related_name="changes",
                               verbose_name=_("保存期間"))
    old_years = models.PositiveSmallIntegerField(_("変更前"), null=True, blank=True)
    new_years = models.PositiveSmallIntegerField(_("変更後"))
    reason = models.CharField(_("変更理由"), max_length=200)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("変更者"))
    changed_at = models.DateTimeField(_("変更日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("保存期間の変更履歴")
        verbose_name_plural = _("保存期間の変更履歴")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.policy_id}: {self.old_years} -> {self.new_years}"


class LegalHold(BaseModel):
    """An administrator's hold on a person: while open, nothing of the person is purged."""

    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="legal_holds",
                                 verbose_name=_("宛名"))
    reason = models.CharField(_("理由"), max_length=200)
    reference = models.CharField(_("根拠文書・依頼番号"), max_length=100)
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("設定者"))
    released_at = models.DateTimeField(_("解除日時"), null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("解除者"))
    release_reason = models.CharField(_("解除理由"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("消去保留")
        verbose_name_plural = _("消去保留")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["resident"], condition=Q(released_at__isnull=True),
                                name="retention_open_hold_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(released_at__isnull=True, released_by__isnull=True, release_reason="")
                | (Q(released_at__isnull=False, released_by__isnull=False) & ~Q(release_reason="")),
                name="retention_hold_release_complete",
            ),
        ]

    def __str__(self) -> str:
        return f"消去保留 #{self.pk} (宛名 #{self.resident_id})"

    @property
    def is_open(self) -> bool:
        return self.released_at is None


class ReportStatus(models.TextChoices):
    PROPOSED = "proposed", _("承認待ち")
    APPROVED = "approved", _("承認済み（実行待ち）")
    RUNNING = "running", _("消去中")
    STOPPED = "stopped", _("中断")
    COMPLETED = "completed", _("完了")
    REJECTED = "rejected", _("却下")


class ReportTrigger(models.TextChoices):
    SCHEDULE = "schedule", _("定期実行")
    ADMINISTRATOR = "administrator", _("管理者の画面操作")
    COMMAND = "command", _("管理コマンド")


class PurgeReport(BaseModel):
    """A dry run as of one day, and once approved, the run that deletes exactly what it listed."""

    as_of = models.DateField(_("基準日"))
    trigger = models.CharField(_("作成契機"), max_length=20, choices=ReportTrigger.choices)
    status = models.CharField(_("状態"), max_length=20, choices=ReportStatus.choices, default=ReportStatus.PROPOSED,
                              db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("作成者"))
    automatic = models.BooleanField(_("自動承認"), default=False,
                                    help_text=_("RETENTION_AUTO_CLASSES の区分だけを含み、承認を待たずに実行します。"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("承認者"))
    approved_at = models.DateTimeField(_("承認日時"), null=True, blank=True)
    approval_note = models.CharField(_("承認時の備考"), max_length=200, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("却下者"))
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    stop_requested = models.BooleanField(_("中断の指示"), default=False)

    class Meta:
        verbose_name = _("消去報告")
        verbose_name_plural = _("消去報告")
        ordering = ["-created_at", "-id"]
        permissions = [("approve_purgereport", _("消去を承認・実行できる"))]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[ReportStatus.PROPOSED, ReportStatus.REJECTED])
                | Q(approved_at__isnull=False),
                name="retention_report_run_only_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"消去報告 #{self.pk} ({self.as_of.isoformat()})"


class PurgeItem(models.Model):
    """One data class within a report: how many units, the id range, and the progress of its batches."""

    report = models.ForeignKey(PurgeReport, on_delete=models.PROTECT, related_name="items",
                               verbose_name=_("消去報告"))
    position = models.PositiveSmallIntegerField(_("順序"))
    data_class = models.CharField(_("データ区分"), max_length=40)
    years = models.PositiveSmallIntegerField(_("保存年数"))
    cutoff = models.DateField(_("起算日がこの日より前のものが対象"))
    count = models.PositiveIntegerField(_("対象件数"))
    first_id = models.BigIntegerField(_("最初のID"), null=True, blank=True)
    last_id = models.BigIntegerField(_("最後のID"), null=True, blank=True)
    # Dependent rows deleted with the units (e.g. vaccination records with their residents): counts only.
    related_counts = models.JSONField(_("関連件数"), default=dict, blank=True)
    deleted = models.PositiveIntegerField(_("消去済み件数"), default=0)
    skipped = models.PositiveIntegerField(_("除外件数"), default=0,
                                          help_text=_("承認後に保留が設定された等、実行時に対象外となった件数"))
    deleted_related = models.JSONField(_("消去済み関連件数"), default=dict, blank=True)

    class Meta:
        verbose_name = _("消去報告の区分")
        verbose_name_plural = _("消去報告の区分")
        ordering = ["report", "position"]
        constraints = [
            models.UniqueConstraint(fields=["report", "data_class"], name="retention_item_one_per_class"),
        ]

    def __str__(self) -> str:
        return f"{self.report_id}/{self.data_class}: {self.count}"


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("未処理")
    DONE = "done", _("処理済み")


class PurgeBatch(models.Model):
    """A frozen slice of an item's ids, deleted in one transaction that also marks it done."""

    item = models.ForeignKey(PurgeItem, on_delete=models.PROTECT, related_name="batches",
                             verbose_name=_("消去報告の区分"))
    number = models.PositiveIntegerField(_("バッチ番号"))
    ids = models.JSONField(_("対象ID"))
    status = models.CharField(_("状態"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    deleted = models.PositiveIntegerField(_("消去件数"), default=0)
    skipped = models.PositiveIntegerField(_("除外件数"), default=0)
    finished_at = models.DateTimeField(_("処理日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("消去バッチ")
        verbose_name_plural = _("消去バッチ")
        ordering = ["item", "number"]
        constraints = [models.UniqueConstraint(fields=["item", "number"], name="retention_batch_number")]

    def __str__(self) -> str:
        return f"{self.item_id}#{self.number} {self.status}"
