"""Monthly clinic CSV imports: the file as received (stored encrypted, with the SHA-256 of the original
bytes), its processing state, the rows it could not take, and the per-clinic API tokens."""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.db import BaseModel


class ImportStatus(models.TextChoices):
    RECEIVED = "received", _("受付済み")
    VALIDATING = "validating", _("検証中")
    COMMITTED = "committed", _("登録完了")
    FAILED = "failed", _("失敗")


class ImportSource(models.TextChoices):
    CLINIC_UPLOAD = "clinic_upload", _("医療機関による画面アップロード")
    STAFF_UPLOAD = "staff_upload", _("職員による代理アップロード")
    API = "api", _("API")
    INBOX = "inbox", _("受信フォルダ")


class ClinicApiToken(BaseModel):
    """A clinic's API credential, issued and revoked by an administrator. Only a SHA-256 of the token is
    kept; ``prefix`` (its first characters) lets people tell tokens apart."""

    clinic = models.ForeignKey("records.Clinic", on_delete=models.PROTECT, related_name="api_tokens",
                               verbose_name=_("医療機関"))
    name = models.CharField(_("用途"), max_length=100)
    prefix = models.CharField(_("識別子"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("発行者"))
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, blank=True, verbose_name=_("失効者"))
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("医療機関APIトークン")
        verbose_name_plural = _("医療機関APIトークン")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.clinic.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ClinicImport(BaseModel):
    """One uploaded file. States: received -> validating -> committed | failed; moved under
    ``select_for_update`` so a second worker or a re-run can never commit twice."""

    clinic = models.ForeignKey("records.Clinic", on_delete=models.PROTECT, related_name="imports",
                               verbose_name=_("医療機関"))
    billing_month = models.DateField(_("請求年月"))
    source = models.CharField(_("受付経路"), max_length=20, choices=ImportSource.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("アップロード者"))
    api_token = models.ForeignKey(ClinicApiToken, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="imports", verbose_name=_("APIトークン"))
    original_filename = models.CharField(_("ファイル名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size_bytes = models.PositiveBigIntegerField(_("サイズ（バイト）"))
    # Path (relative to the default storage) of the file as received, encrypted at rest because it
    # holds My Numbers in clear; emptied when the retention purge deletes the file.
    stored_file = models.CharField(_("保管ファイル"), max_length=255, blank=True)
    encoding = models.CharField(_("文字コード"), max_length=20, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=ImportStatus.choices,
                              default=ImportStatus.RECEIVED, db_index=True)
    rows_total = models.PositiveIntegerField(_("行数"), default=0)
    rows_validated = models.PositiveIntegerField(_("検証済み行数"), default=0)
    rows_committed = models.PositiveIntegerField(_("登録行数"), default=0)
    rows_duplicate = models.PositiveIntegerField(_("重複行数"), default=0)
    rows_error = models.PositiveIntegerField(_("エラー行数"), default=0)
    failure_message = models.TextField(_("失敗の理由"), blank=True)
    started_at = models.DateTimeField(_("処理開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("処理終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("接種記録取込")
        verbose_name_plural = _("接種記録取込")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["clinic", "-created_at"], name="import_clinic_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ImportStatus.COMMITTED)
                | Q(rows_total=models.F("rows_committed") + models.F("rows_duplicate") + models.F("rows_error")),
                name="import_committed_rows_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"取込 #{self.pk} {self.original_filename}"

    @property
    def responsible_user(self) -> Any:
        """Who answers for the import's records: the uploader, or for a clinic's API token the administrator
        who issued it (the records' 登録者)."""
        if self.uploaded_by_id is not None:
            return self.uploaded_by
        if self.api_token_id is not None:
            return self.api_token.created_by  # type: ignore[union-attr]
        raise ValueError(f"import {self.pk} has neither an uploader nor an API token")


class ImportRowError(models.Model):
    """A row the import did not take, with the column and a Japanese message. ``row_number`` counts
    lines as a spreadsheet shows them: the header is row 1, the first record row 2. Never holds the
    row's values (they may include a My Number): the error CSV re-reads them from the stored file."""

    clinic_import = models.ForeignKey(ClinicImport, on_delete=models.CASCADE, related_name="row_errors",
                                      verbose_name=_("取込"))
    row_number = models.PositiveIntegerField(_("行番号"))
    column = models.CharField(_("項目"), max_length=20, blank=True)
    code = models.CharField(_("エラーコード"), max_length=40)
    message = models.CharField(_("内容"), max_length=300)

    class Meta:
        verbose_name = _("取込エラー行")
        verbose_name_plural = _("取込エラー行")
        ordering = ["clinic_import", "row_number", "id"]
        indexes = [models.Index(fields=["clinic_import", "row_number"], name="import_error_row_idx")]

    def __str__(self) -> str:
        return f"{self.row_number}行目 {self.column}: {self.code}"


# --- The resident change feed (異動データ, issue #7) --------------------------------------------------


class FeedStatus(models.TextChoices):
    RECEIVED = "received", _("受付済み")
    VALIDATING = "validating", _("検証中")
    APPLIED = "applied", _("反映完了")
    FAILED = "failed", _("失敗")


class ResidentFeedFile(BaseModel):
    """One change file of the resident-records system (docs/resident-feed.md), received like a clinic CSV
    (stored encrypted and unchanged, with the SHA-256 of the original bytes). States: received ->
    validating -> applied | failed, moved under ``select_for_update``; every valid row is applied in one
    transaction, so a file is either untouched or fully applied."""

    source = models.CharField(_("受付経路"), max_length=20, choices=ImportSource.choices)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", verbose_name=_("アップロード者"))
    original_filename = models.CharField(_("ファイル名"), max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    size_bytes = models.PositiveBigIntegerField(_("サイズ（バイト）"))
    stored_file = models.CharField(_("保管ファイル"), max_length=255, blank=True)
    encoding = models.CharField(_("文字コード"), max_length=20, blank=True)
    status = models.CharField(_("状態"), max_length=20, choices=FeedStatus.choices, default=FeedStatus.RECEIVED,
                              db_index=True)
    rows_total = models.PositiveIntegerField(_("行数"), default=0)
    rows_validated = models.PositiveIntegerField(_("検証済み行数"), default=0)
    rows_applied = models.PositiveIntegerField(_("反映行数"), default=0)
    rows_error = models.PositiveIntegerField(_("エラー行数"), default=0)
    residents_created = models.PositiveIntegerField(_("新規宛名数"), default=0)
    failure_message = models.TextField(_("失敗の理由"), blank=True)
    started_at = models.DateTimeField(_("処理開始日時"), null=True, blank=True)
    finished_at = models.DateTimeField(_("処理終了日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("異動データ取込")
        verbose_name_plural = _("異動データ取込")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=FeedStatus.APPLIED)
                | Q(rows_total=models.F("rows_applied") + models.F("rows_error")),
                name="feed_applied_rows_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"異動データ #{self.pk} {self.original_filename}"


class ResidentFeedRowError(models.Model):
    """A change the feed did not apply, with the column and a Japanese message; the row number counts
    the header as row 1. Never holds the row's values (names, My Numbers)."""

    feed_file = models.ForeignKey(ResidentFeedFile, on_delete=models.CASCADE, related_name="row_errors",
                                  verbose_name=_("異動データ取込"))
    row_number = models.PositiveIntegerField(_("行番号"))
    column = models.CharField(_("項目"), max_length=20, blank=True)
    code = models.CharField(_("エラーコード"), max_length=40)
    message = models.CharField(_("内容"), max_length=300)

    class Meta:
        verbose_name = _("異動データのエラー行")
        verbose_name_plural = _("異動データのエラー行")
        ordering = ["feed_file", "row_number", "id"]
        indexes = [models.Index(fields=["feed_file", "row_number"], name="feed_error_row_idx")]

    def __str__(self) -> str:
        return f"{self.row_number}行目 {self.column}: {self.code}"
