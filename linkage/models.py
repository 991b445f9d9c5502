"""Our side of the information-provision network: outbound queries (exchanges) and their results, inbound
queries waiting for an answer or a staff confirmation, and the provision records (情報提供等の記録).

Persons are linked by foreign key to records.Resident and travel as their information-provision code
(符号); no column here holds a My Number. Query results are stored encrypted at rest (the My Number keys'
blob encryption, records.crypto.encrypt_blob) and purged after LINKAGE_RESULT_RETENTION_DAYS.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel


class ExchangeStatus(models.TextChoices):
    PENDING = "pending", _("未送信")
    SENT = "sent", _("送信済み（応答待ち）")
    ANSWERED = "answered", _("応答受領")
    REFUSED = "refused", _("照会不可（提供許可証なし）")
    FAILED = "failed", _("失敗")


# pending → sent → answered | refused | failed; failed (and a sent one whose answer never came) may be
# sent again with the same idempotency key; answered and refused are final.
EXCHANGE_FINAL = frozenset({ExchangeStatus.ANSWERED, ExchangeStatus.REFUSED})
EXCHANGE_SENDABLE = frozenset({ExchangeStatus.PENDING, ExchangeStatus.SENT, ExchangeStatus.FAILED})


class Exchange(BaseModel):
    """One outbound query (情報照会) for one resident's vaccination history from one other body."""

    idempotency_key = models.CharField(_("冪等キー"), max_length=64, unique=True, editable=False)
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="linkage_exchanges",
                                 verbose_name=_("宛名"))
    provider_code = models.CharField(_("情報提供者（団体コード）"), max_length=6)
    provider_name = models.CharField(_("情報提供者"), max_length=100)
    business = models.CharField(_("事務"), max_length=50)
    item = models.CharField(_("特定個人情報の項目"), max_length=50)
    status = models.CharField(_("状態"), max_length=10, choices=ExchangeStatus.choices, default=ExchangeStatus.PENDING)
    permit_id = models.CharField(_("提供許可証番号"), max_length=64, blank=True)
    query_id = models.CharField(_("照会番号"), max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(_("送信回数"), default=0)
    failure_code = models.CharField(_("失敗理由"), max_length=50, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("照会者"))
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    answered_at = models.DateTimeField(_("応答日時"), null=True, blank=True)
    result_purged_at = models.DateTimeField(_("照会結果の削除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("情報照会")
        verbose_name_plural = _("情報照会")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="answered") | ~Q(permit_id=""), name="linkage_answered_has_permit",
            ),
        ]

    def __str__(self) -> str:
        return f"情報照会 #{self.pk} ({self.provider_code})"


class LinkageResult(BaseModel):
    """The decrypted answer to one exchange, re-encrypted at rest; at most one per exchange."""

    exchange = models.OneToOneField(Exchange, on_delete=models.PROTECT, related_name="result",
                                    verbose_name=_("情報照会"))
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("宛名"))
    payload_ciphertext = models.BinaryField(_("照会結果（暗号化）"), editable=False)
    dose_count = models.PositiveSmallIntegerField(_("接種件数"))
    received_at = models.DateTimeField(_("受領日時"), db_index=True)
    registered_at = models.DateTimeField(_("登録日時"), null=True, blank=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", verbose_name=_("登録者"))
    registered_count = models.PositiveSmallIntegerField(_("登録件数"), default=0)

    class Meta:
        verbose_name = _("照会結果")
        verbose_name_plural = _("照会結果")
        ordering = ["-received_at"]
        permissions = [("register_doses", _("照会結果を転入前接種として登録できる"))]

    def __str__(self) -> str:
        return f"照会結果 #{self.pk} (情報照会 #{self.exchange_id})"


class InboundStatus(models.TextChoices):
    AWAITING_CONFIRMATION = "awaiting", _("確認待ち")
    SENDING = "sending", _("送信待ち")
    PROVIDED = "provided", _("提供済み")
    REFUSED = "refused", _("提供せず（拒否）")
    FAILED = "failed", _("中間サーバーが応答を受け付けず")


class InboundDecision(models.TextChoices):
    AUTOMATIC = "automatic", _("自動応答")
    APPROVED = "approved", _("職員が承認")
    REFUSED_BY_STAFF = "refused", _("職員が拒否")
    NOT_PERMITTED = "not_permitted", _("照会許可リストにない照会")
    NOT_FOUND = "not_found", _("該当者なし")


class InboundQuery(BaseModel):
    """A query from another body about one of our residents, delivered by the intermediate server."""

    remote_id = models.CharField(_("受信番号"), max_length=64, unique=True)
    requester_code = models.CharField(_("情報照会者（団体コード）"), max_length=6)
    requester_name = models.CharField(_("情報照会者"), max_length=100)
    business = models.CharField(_("事務"), max_length=50)
    item = models.CharField(_("特定個人情報の項目"), max_length=50)
    information_provision_code = models.CharField(_("情報提供用個人識別符号"), max_length=64)
    permit_id = models.CharField(_("提供許可証番号"), max_length=64)
    reply_key = models.CharField(_("照会者の公開鍵"), max_length=64)
    received_at = models.DateTimeField(_("受信日時"))
    resident = models.ForeignKey("records.Resident", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="linkage_inbound", verbose_name=_("宛名"))
    status = models.CharField(_("状態"), max_length=10, choices=InboundStatus.choices)
    decision = models.CharField(_("判断"), max_length=15, choices=InboundDecision.choices, blank=True)
    hold_reasons = models.CharField(_("確認が必要な理由"), max_length=200, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("判断した職員"))
    decided_at = models.DateTimeField(_("判断日時"), null=True, blank=True)
    refusal_reason = models.CharField(_("拒否の理由"), max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(_("送信回数"), default=0)
    failure_code = models.CharField(_("送信失敗理由"), max_length=50, blank=True)
    answered_at = models.DateTimeField(_("応答日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("受信した情報照会")
        verbose_name_plural = _("受信した情報照会")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"受信照会 #{self.pk} ({self.requester_code})"

    @property
    def hold_reason_list(self) -> list[str]:
        return [r for r in self.hold_reasons.split(",") if r]


class RecordDirection(models.TextChoices):
    QUERY = "query", _("照会（当市→他団体）")
    PROVISION = "provision", _("提供（当市→照会元）")


class RecordOutcome(models.TextChoices):
    ANSWERED = "answered", _("応答受領")
    PROVIDED = "provided", _("提供")
    REFUSED = "refused", _("提供拒否")
    NOT_PERMITTED = "not_permitted", _("照会許可なし")
    NOT_FOUND = "not_found", _("該当者なし")
    FAILED = "failed", _("通信失敗")


class ProvisionRecord(models.Model):
    """情報提供等の記録: one row per query made or provision answered, whatever the outcome. Written by the
    linkage services only, never changed."""

    direction = models.CharField(_("区分"), max_length=10, choices=RecordDirection.choices)
    requester_code = models.CharField(_("情報照会者（団体コード）"), max_length=6)
    requester_name = models.CharField(_("情報照会者"), max_length=100)
    provider_code = models.CharField(_("情報提供者（団体コード）"), max_length=6)
    provider_name = models.CharField(_("情報提供者"), max_length=100)
    business = models.CharField(_("事務"), max_length=50)
    item = models.CharField(_("特定個人情報の項目"), max_length=50)
    resident = models.ForeignKey("records.Resident", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("宛名"))
    address_number = models.CharField(_("団体内宛名番号"), max_length=15, blank=True, db_index=True)
    permit_id = models.CharField(_("提供許可証番号"), max_length=64, blank=True)
    requested_at = models.DateTimeField(_("照会日時"))
    completed_at = models.DateTimeField(_("完了日時"), db_index=True)
    outcome = models.CharField(_("結果"), max_length=15, choices=RecordOutcome.choices)
    detail = models.CharField(_("詳細"), max_length=100, blank=True)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+", verbose_name=_("職員"))
    exchange = models.ForeignKey(Exchange, on_delete=models.PROTECT, null=True, blank=True, related_name="records",
                                 verbose_name=_("情報照会"))
    inbound = models.ForeignKey(InboundQuery, on_delete=models.PROTECT, null=True, blank=True,
                                related_name="records", verbose_name=_("受信した情報照会"))

    class Meta:
        verbose_name = _("情報提供等の記録")
        verbose_name_plural = _("情報提供等の記録")
        ordering = ["-completed_at", "-id"]
        permissions = [("export_provisionrecord", _("情報提供等の記録を出力できる"))]

    def __str__(self) -> str:
        return f"情報提供等の記録 #{self.pk} ({self.direction} {self.outcome})"
