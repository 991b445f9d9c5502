"""Campaigns (接種事業) with versioned target rules, priority groups given to residents, single checks with
their matching, stored decisions (never overwritten), extraction runs, notice batches and tickets."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel

ticket_number_validator = RegexValidator(r"^[0-9]{10}$", _("接種券番号は数字10桁です。"), "ticket_number")


class PriorityGroup(BaseModel):
    """A priority group (医療従事者, 基礎疾患を有する者 ...). Age-based priority (65歳以上) is a rule's age
    range, not a group."""

    code = models.CharField(_("コード"), max_length=30, unique=True,
                            validators=[RegexValidator(r"^[a-z0-9_]+$")])
    name = models.CharField(_("名称"), max_length=100)
    is_active = models.BooleanField(_("有効"), default=True)

    class Meta:
        verbose_name = _("優先接種グループ")
        verbose_name_plural = _("優先接種グループ")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class PriorityGroupMembership(BaseModel):
    """A resident's membership of a priority group, given from an application (申請) and revocable."""

    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="priority_groups",
                                 verbose_name=_("宛名"))
    group = models.ForeignKey(PriorityGroup, on_delete=models.PROTECT, related_name="memberships",
                              verbose_name=_("優先接種グループ"))
    application_reference = models.CharField(_("申請受付番号"), max_length=50)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("登録者"))
    revoked_at = models.DateTimeField(_("取消日時"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("取消者"))

    class Meta:
        verbose_name = _("優先接種グループ登録")
        verbose_name_plural = _("優先接種グループ登録")
        constraints = [
            models.UniqueConstraint(fields=["resident", "group"], condition=Q(revoked_at__isnull=True),
                                    name="priority_membership_one_active"),
        ]

    def __str__(self) -> str:
        return f"#{self.resident_id} {self.group_id}"


class Campaign(BaseModel):
    """A vaccination campaign. Its target rule lives in CampaignRule versions: a decision names the version
    it used, and editing a rule that already has decisions (or batches) creates a new version."""

    name = models.CharField(_("事業名"), max_length=100)
    period_start = models.DateField(_("接種期間（開始）"))
    period_end = models.DateField(_("接種期間（終了）"))
    ticket_type = models.PositiveSmallIntegerField(_("券種"), default=1,
                                                   validators=[MinValueValidator(0), MaxValueValidator(9)])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("作成者"))

    class Meta:
        verbose_name = _("接種事業")
        verbose_name_plural = _("接種事業")
        ordering = ["-period_start", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")),
                                   name="campaign_period_ordered"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValidationError({"period_end": _("接種期間の終了日が開始日より前です。")})

    @property
    def current_rule(self) -> "CampaignRule":
        return self.rules.order_by("-version").first()  # type: ignore[return-value]


class CampaignRule(BaseModel):
    """One version of a campaign's target rule. Never changed once a decision or batch uses it."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="rules",
                                 verbose_name=_("接種事業"))
    version = models.PositiveIntegerField(_("版"))
    reference_date = models.DateField(_("基準日"))
    vaccines = models.ManyToManyField("records.Vaccine", related_name="+", verbose_name=_("ワクチン"))
    min_age = models.PositiveSmallIntegerField(_("対象年齢（下限）"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("対象年齢（上限）"), null=True, blank=True)
    allow_non_residents = models.BooleanField(_("住登外者を対象に含める"), default=False)
    allow_later_move_in = models.BooleanField(_("基準日後の転入者を対象に含める"), default=False)
    priority_groups = models.ManyToManyField(PriorityGroup, blank=True, related_name="+",
                                             verbose_name=_("優先接種グループ（いずれかに該当）"))
    dose_number = models.PositiveSmallIntegerField(_("接種回（何回目）"), default=1, null=True, blank=True,
                                                   validators=[MinValueValidator(1), MaxValueValidator(9)],
                                                   help_text=_("空欄なら何回目かを問いません（上限と間隔のみ）。"))
    max_doses = models.PositiveSmallIntegerField(_("接種回数の上限"), null=True, blank=True)
    min_interval_days = models.PositiveIntegerField(_("前回接種からの最短間隔（日）"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("作成者"))

    class Meta:
        verbose_name = _("対象者規則")
        verbose_name_plural = _("対象者規則")
        ordering = ["campaign", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "version"], name="campaign_rule_version_unique"),
            models.CheckConstraint(condition=Q(min_age__isnull=True) | Q(max_age__isnull=True)
                                   | Q(max_age__gte=models.F("min_age")), name="campaign_rule_age_ordered"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id} v{self.version}"

    def clean(self) -> None:
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            raise ValidationError({"max_age": _("対象年齢の上限が下限より小さくなっています。")})


class CheckStatus(models.TextChoices):
    PENDING = "pending", _("確認待ち")
    CONFIRMED = "confirmed", _("本人確認済み")
    NO_MATCH = "no_match", _("該当者なし")


class EligibilityCheck(BaseModel):
    """One applicant checked by staff: the details as written on the application form (the My Number
    only as its blind index), and the resident staff confirmed as that person."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="checks",
                                 verbose_name=_("接種事業"))
    as_of = models.DateField(_("判定日"))
    name = models.CharField(_("氏名"), max_length=100, blank=True)
    name_kana = models.CharField(_("氏名の振り仮名"), max_length=100, blank=True)
    birth_date = models.DateField(_("生年月日"))
    sex = models.PositiveSmallIntegerField(_("性別"), null=True, blank=True)
    address = models.CharField(_("住所"), max_length=200, blank=True)
    address_number = models.CharField(_("団体内宛名番号"), max_length=15, blank=True)
    my_number_index = models.CharField(_("個人番号検索索引"), max_length=64, blank=True, editable=False)
    status = models.CharField(_("状態"), max_length=20, choices=CheckStatus.choices, default=CheckStatus.PENDING)
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", verbose_name=_("確認した宛名"))
    match_method = models.CharField(_("突合方法"), max_length=20, blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("確認者"))
    confirmed_at = models.DateTimeField(_("確認日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("対象者確認")
        verbose_name_plural = _("対象者確認")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"確認 #{self.pk}"


class DecisionSource(models.TextChoices):
    CHECK = "check", _("窓口確認")
    REEVALUATION = "reevaluation", _("再判定")


class EligibilityDecision(BaseModel):
    """A stored decision 対象 / 対象外 with its reasons, the rule version and the facts it was made on.
    Never updated: re-evaluating adds a new row, so the history stays."""

    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="eligibility_decisions",
                                 verbose_name=_("宛名"))
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="decisions",
                                 verbose_name=_("接種事業"))
    rule = models.ForeignKey(CampaignRule, on_delete=models.PROTECT, related_name="decisions",
                             verbose_name=_("規則の版"))
    as_of = models.DateField(_("判定日"))
    eligible = models.BooleanField(_("対象"))
    criteria = models.JSONField(_("判定項目"))
    facts = models.JSONField(_("判定に用いた事実"))
    source = models.CharField(_("判定の契機"), max_length=20, choices=DecisionSource.choices)
    applicant_check = models.ForeignKey(EligibilityCheck, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="decisions", verbose_name=_("対象者確認"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("判定者"))

    class Meta:
        verbose_name = _("対象者判定")
        verbose_name_plural = _("対象者判定")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["resident", "campaign"], name="decision_resident_campaign_idx")]

    def __str__(self) -> str:
        return f"判定 #{self.pk}"

    @property
    def failed_reasons(self) -> list[str]:
        return [c["reason"] for c in self.criteria if not c["passed"]]


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("待機中")
    RUNNING = "running", _("抽出中")
    DONE = "done", _("完了")
    FAILED = "failed", _("失敗")


class ExtractionRun(BaseModel):
    """対象者抽出: every resident evaluated against one rule version, producing one notice batch.
    Moves queued -> running -> done | failed under select_for_update, so it runs once."""

    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="runs", verbose_name=_("接種事業"))
    rule = models.ForeignKey(CampaignRule, on_delete=models.PROTECT, related_name="runs", verbose_name=_("規則の版"))
    status = models.CharField(_("状態"), max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    residents_total = models.PositiveIntegerField(_("対象人数（全体）"), default=0)
    residents_processed = models.PositiveIntegerField(_("処理済み人数"), default=0)
    targets = models.PositiveIntegerField(_("対象者数"), default=0)
    excluded_suspended = models.PositiveIntegerField(_("利用停止による除外"), default=0)
    held_protected = models.PositiveIntegerField(_("支援措置による送付保留"), default=0)
    counts_by_age_band = models.JSONField(_("年齢区分別の人数"), default=dict, blank=True)
    counts_by_priority_group = models.JSONField(_("優先接種グループ別の人数"), default=dict, blank=True)
    failure_message = models.TextField(_("失敗の理由"), blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("実行者"))
    started_at = models.DateTimeField(_("開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("対象者抽出")
        verbose_name_plural = _("対象者抽出")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"抽出 #{self.pk}"


class BatchStatus(models.TextChoices):
    DRAFT = "draft", _("発行前")
    ISSUED = "issued", _("発行済み")


class NoticeBatch(BaseModel):
    """The notices (接種券 and 勧奨通知) for the targets of one extraction run."""

    run = models.OneToOneField(ExtractionRun, on_delete=models.PROTECT, related_name="batch",
                               verbose_name=_("対象者抽出"))
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="batches",
                                 verbose_name=_("接種事業"))
    rule = models.ForeignKey(CampaignRule, on_delete=models.PROTECT, related_name="batches",
                             verbose_name=_("規則の版"))
    status = models.CharField(_("状態"), max_length=20, choices=BatchStatus.choices, default=BatchStatus.DRAFT)
    issued_on = models.DateField(_("発行日"), null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, verbose_name=_("発行者"))

    class Meta:
        verbose_name = _("通知バッチ")
        verbose_name_plural = _("通知バッチ")
        ordering = ["-created_at", "-id"]
        permissions = [("issue_noticebatch", _("通知バッチを発行できる"))]

    def __str__(self) -> str:
        return f"通知バッチ #{self.pk}"


class Ticket(BaseModel):
    """A vaccination ticket number (接種券番号): 10 digits, unique, one valid ticket per person, campaign
    and dose. Reissue (再発行) voids the old number and gives a new one."""

    number = models.CharField(_("接種券番号"), max_length=10, unique=True, validators=[ticket_number_validator])
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="tickets",
                                 verbose_name=_("宛名"))
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="tickets",
                                 verbose_name=_("接種事業"))
    dose_number = models.PositiveSmallIntegerField(_("接種回"))
    issued_on = models.DateField(_("発行日"))
    voided_at = models.DateTimeField(_("無効化日時"), null=True, blank=True)
    voided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, verbose_name=_("無効化した者"))
    void_reason = models.CharField(_("無効化の理由"), max_length=200, blank=True)
    replaces = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="replaced_by", verbose_name=_("再発行元"))

    class Meta:
        verbose_name = _("接種券")
        verbose_name_plural = _("接種券")
        ordering = ["-created_at", "-id"]
        permissions = [("reissue_ticket", _("接種券を再発行できる"))]
        constraints = [
            models.UniqueConstraint(fields=["resident", "campaign", "dose_number"],
                                    condition=Q(voided_at__isnull=True), name="ticket_one_valid_per_dose"),
        ]

    def __str__(self) -> str:
        return f"接種券 {self.number}"

    @property
    def is_valid(self) -> bool:
        return self.voided_at is None


class NoticeItem(models.Model):
    """One target in a batch. Residents under 支援措置 are held from mailing (``mail_held``) unless staff
    release them with a recorded reason."""

    batch = models.ForeignKey(NoticeBatch, on_delete=models.PROTECT, related_name="items",
                              verbose_name=_("通知バッチ"))
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("宛名"))
    dose_number = models.PositiveSmallIntegerField(_("接種回"))
    age = models.PositiveSmallIntegerField(_("基準日時点の年齢"))
    mail_held = models.BooleanField(_("送付保留"), default=False)
    hold_reason = models.CharField(_("保留の理由"), max_length=200, blank=True)
    release_reason = models.CharField(_("送付する理由（職員判断）"), max_length=200, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, verbose_name=_("送付を判断した者"))
    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("接種券"))

    class Meta:
        verbose_name = _("通知対象者")
        verbose_name_plural = _("通知対象者")
        ordering = ["batch", "id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "resident"], name="notice_item_once_per_batch"),
        ]

    def __str__(self) -> str:
        return f"#{self.batch_id}/{self.resident_id}"


class TicketNumberCounter(models.Model):
    """The last serial handed out. Locked (select_for_update) while a batch reserves its numbers, so two
    batches never share one."""

    last_serial = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("接種券番号の採番")
        verbose_name_plural = _("接種券番号の採番")

    def __str__(self) -> str:
        return f"{self.last_serial}"
