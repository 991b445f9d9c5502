"""Residents' rights (seed V): reception tickets (受付票) for every inquiry and request, the disclosure,
correction and suspension-of-use requests hanging off them, and the history of the protection flag
(支援措置). Everything here changes only through rights.services, which writes the business events.

Residents are referred to with SET_NULL: a closed request must not stop the retention purge of a
person (open requests hold the person through rights.selectors.rights_held_resident_ids); the
address number is copied onto each request so the ticket still says whom it was about.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel


class Channel(models.TextChoices):
    COUNTER = "counter", _("窓口")
    PHONE = "phone", _("電話")
    MAIL = "mail", _("郵送")


# Seed V 1②: disclosure, correction and suspension requests need an identity document and a written
# form; requests by telephone or FAX are not accepted (the requester cannot be identified).
REQUEST_CHANNELS = (Channel.COUNTER, Channel.MAIL)


class TicketKind(models.TextChoices):
    INQUIRY = "inquiry", _("問合せ")
    DISCLOSURE = "disclosure", _("開示請求")
    CORRECTION = "correction", _("訂正請求")
    SUSPENSION = "suspension", _("利用停止請求")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("対応中")
    CLOSED = "closed", _("完了")


class RequesterRelation(models.TextChoices):
    SELF = "self", _("本人")
    AGENT = "agent", _("代理人")
    OTHER = "other", _("その他")


class ReceptionTicket(BaseModel):
    """受付票: who asked, how, about whom, what was asked and answered, by whom (seed V 2②)."""

    kind = models.CharField(_("種別"), max_length=20, choices=TicketKind.choices)
    channel = models.CharField(_("受付方法"), max_length=20, choices=Channel.choices)
    received_on = models.DateField(_("受付日"))
    requester_name = models.CharField(_("申出者氏名"), max_length=100)
    requester_relation = models.CharField(_("本人との関係"), max_length=20, choices=RequesterRelation.choices,
                                          default=RequesterRelation.SELF)
    requester_contact = models.CharField(_("申出者連絡先"), max_length=100, blank=True)
    resident = models.ForeignKey("records.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="reception_tickets", verbose_name=_("対象者"))
    resident_address_number = models.CharField(_("対象者の宛名番号"), max_length=15, blank=True)
    subject = models.TextField(_("問合せ・請求の内容"), max_length=2000)
    answer = models.TextField(_("回答・対応"), max_length=2000, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("受付者"))
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    null=True, blank=True, verbose_name=_("対応者"))
    closed_at = models.DateTimeField(_("完了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("受付票")
        verbose_name_plural = _("受付票")
        ordering = ["-received_on", "-id"]
        indexes = [models.Index(fields=["kind", "status", "received_on"], name="rights_ticket_kind_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=TicketKind.INQUIRY) | Q(channel__in=[c.value for c in REQUEST_CHANNELS]),
                name="rights_request_counter_or_mail",
            ),
            models.CheckConstraint(
                condition=~Q(status=TicketStatus.CLOSED) | Q(closed_at__isnull=False),
                name="rights_ticket_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        # The number only: this string is the audit entries' object name.
        return f"受付票 {self.number}"

    @property
    def number(self) -> str:
        """受付番号: the receiving year and the id (``2026-000123``)."""
        return f"{self.received_on:%Y}-{self.pk or 0:06d}"


class IdentityDocument(models.TextChoices):
    # The type of document seen, never its number or a copy (the My Number card's number above all).
    DRIVER_LICENSE = "driver_license", _("運転免許証")
    MY_NUMBER_CARD = "my_number_card", _("個人番号カード（番号は記録しない）")
    PASSPORT = "passport", _("旅券")
    RESIDENCE_CARD = "residence_card", _("在留カード・特別永住者証明書")
    DISABILITY_CERTIFICATE = "disability_certificate", _("身体障害者手帳等")
    HEALTH_INSURANCE = "health_insurance", _("資格確認書・健康保険証（2点提示）")
    OTHER = "other", _("その他")


class HandoverMethod(models.TextChoices):
    COUNTER = "counter", _("窓口で交付")
    MAIL = "mail", _("郵送で送付")


class DisclosureStatus(models.TextChoices):
    RECEIVED = "received", _("受付")
    GENERATED = "generated", _("開示文書作成済み")
    HANDED_OVER = "handed_over", _("交付済み")


class CorrectionStatus(models.TextChoices):
    RECEIVED = "received", _("受付")
    ACCEPTED = "accepted", _("訂正済み")
    REJECTED = "rejected", _("訂正しない")


class SuspensionStatus(models.TextChoices):
    RECEIVED = "received", _("受付")
    GRANTED = "granted", _("利用停止中")
    REJECTED = "rejected", _("利用停止しない")
    LIFTED = "lifted", _("利用停止解除")


class RightsRequest(BaseModel):
    """What the three requests share: their ticket, the person, and the identity check (seed V 1②)."""

    ticket = models.OneToOneField(ReceptionTicket, on_delete=models.PROTECT, related_name="%(class)s",
                                  verbose_name=_("受付票"))
    resident = models.ForeignKey("records.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("対象者"))
    identity_document = models.CharField(_("本人確認書類"), max_length=30, choices=IdentityDocument.choices)
    identity_note = models.CharField(_("本人確認の補足"), max_length=200, blank=True,
                                     help_text=_("代理人の委任状・法定代理人の資格書類など。書類の番号は記録しません。"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self._meta.verbose_name} #{self.pk}"


class DisclosureRequest(RightsRequest):
    """開示請求: the disclosure document is generated (each generation a DisclosureDocument) and handed over."""

    status = models.CharField(_("状態"), max_length=20, choices=DisclosureStatus.choices,
                              default=DisclosureStatus.RECEIVED)
    handover_method = models.CharField(_("交付方法"), max_length=20, choices=HandoverMethod.choices, blank=True)
    handed_over_on = models.DateField(_("交付日"), null=True, blank=True)
    handed_over_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                       null=True, blank=True, verbose_name=_("交付者"))
    handed_over_document = models.ForeignKey("DisclosureDocument", on_delete=models.PROTECT, related_name="+",
                                             null=True, blank=True, verbose_name=_("交付した文書"))

    class Meta:
        verbose_name = _("開示請求")
        verbose_name_plural = _("開示請求")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=DisclosureStatus.HANDED_OVER)
                | (Q(handed_over_on__isnull=False) & ~Q(handover_method="") & Q(handed_over_document__isnull=False)),
                name="rights_disclosure_handover_complete",
            ),
        ]


class DisclosureDocument(BaseModel):
    """One generation of the disclosure document. The PDF itself is not kept (it would be one more copy
    of everything held about the person); its SHA-256 says which document was handed over."""

    request = models.ForeignKey(DisclosureRequest, on_delete=models.PROTECT, related_name="documents",
                                verbose_name=_("開示請求"))
    generated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("作成者"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    access_entries = models.PositiveIntegerField(_("記載した利用記録の件数"))
    records = models.PositiveIntegerField(_("記載した接種記録の件数"))

    class Meta:
        verbose_name = _("開示文書")
        verbose_name_plural = _("開示文書")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"開示文書 #{self.pk}"


class CorrectionRequest(RightsRequest):
    """訂正請求 of a vaccination record held here. The resident's basic items come from the
    resident-records system and are corrected there (the change feed brings the correction)."""

    record = models.ForeignKey("records.VaccinationRecord", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+", verbose_name=_("対象の接種記録"))
    record_ref = models.PositiveIntegerField(_("対象の接種記録番号"), null=True, blank=True)
    requested_change = models.TextField(_("訂正を求める内容"), max_length=2000)
    status = models.CharField(_("状態"), max_length=20, choices=CorrectionStatus.choices,
                              default=CorrectionStatus.RECEIVED)
    decision_reason = models.TextField(_("決定の理由"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("決定者"))
    decided_at = models.DateTimeField(_("決定日時"), null=True, blank=True)
    applied_change = models.CharField(_("実施した訂正"), max_length=400, blank=True,
                                      help_text=_("訂正した項目（または削除）。変更前後の値は監査記録にあります。"))

    class Meta:
        verbose_name = _("訂正請求")
        verbose_name_plural = _("訂正請求")
        constraints = [
            models.CheckConstraint(
                condition=Q(status=CorrectionStatus.RECEIVED)
                | (~Q(decision_reason="") & Q(decided_at__isnull=False)),
                name="rights_correction_decision_has_reason",
            ),
        ]


class SuspensionRequest(RightsRequest):
    """利用停止請求: while granted the person's Resident.use_suspended is set (rights.services only)."""

    grounds = models.TextField(_("請求の理由"), max_length=2000)
    status = models.CharField(_("状態"), max_length=20, choices=SuspensionStatus.choices,
                              default=SuspensionStatus.RECEIVED)
    decision_reason = models.TextField(_("決定の理由"), max_length=2000, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("決定者"))
    decided_at = models.DateTimeField(_("決定日時"), null=True, blank=True)
    lift_reason = models.TextField(_("解除の理由"), max_length=2000, blank=True)
    lifted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  null=True, blank=True, verbose_name=_("解除者"))
    lifted_at = models.DateTimeField(_("解除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("利用停止請求")
        verbose_name_plural = _("利用停止請求")
        constraints = [
            models.CheckConstraint(
                condition=Q(status=SuspensionStatus.RECEIVED)
                | (~Q(decision_reason="") & Q(decided_at__isnull=False)),
                name="rights_suspension_decision_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status=SuspensionStatus.LIFTED) | (~Q(lift_reason="") & Q(lifted_at__isnull=False)),
                name="rights_suspension_lift_has_reason",
            ),
        ]


class ProtectionAction(models.TextChoices):
    SET = "set", _("設定")
    CLEAR = "clear", _("解除")


class ProtectionChange(BaseModel):
    """One setting or clearing of Resident.is_protected (支援措置 / DV等), by an administrator, with the
    reason and the reference of the decision (e.g. the 支援措置申出書 number of the resident-records
    division)."""

    resident = models.ForeignKey("records.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="protection_changes", verbose_name=_("対象者"))
    resident_address_number = models.CharField(_("対象者の宛名番号"), max_length=15)
    action = models.CharField(_("操作"), max_length=10, choices=ProtectionAction.choices)
    reason = models.CharField(_("理由"), max_length=500)
    reference = models.CharField(_("根拠文書の番号等"), max_length=100)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("操作者"))

    class Meta:
        verbose_name = _("支援措置フラグの変更")
        verbose_name_plural = _("支援措置フラグの変更")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason="") & ~Q(reference=""), name="rights_protection_reasoned"),
        ]

    def __str__(self) -> str:
        return f"支援措置フラグの変更 #{self.pk}"
