"""Business events: a closed list with stable codes. Codes are stored in the log and read by auditors'
queries; never rename one, only add."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.TextChoices):
    SIGN_IN = "auth.sign_in", _("サインイン")
    SIGN_OUT = "auth.sign_out", _("サインアウト")
    SIGN_IN_FAILED = "auth.sign_in_failed", _("サインイン失敗")
    OTP_VERIFIED = "auth.otp_verified", _("二要素認証成功")
    OTP_FAILED = "auth.otp_failed", _("二要素認証失敗")
    OTP_DEVICE_ENROLLED = "auth.otp_enrolled", _("認証アプリ登録")
    BACKUP_CODES_ISSUED = "auth.backup_codes_issued", _("バックアップコード発行")
    SESSION_EXPIRED = "auth.session_expired", _("セッション期限切れ")
    MY_NUMBER_REKEYED = "records.my_number_rekeyed", _("個人番号の暗号鍵更新")
    AUDIT_CHAIN_VERIFIED = "audit.chain_verified", _("監査ログ検証（正常）")
    AUDIT_CHAIN_BROKEN = "audit.chain_broken", _("監査ログ検証（異常検出）")
