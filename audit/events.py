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
    ACCESS_DENIED = "access.denied", _("アクセス拒否")
    MY_NUMBER_REVEALED = "records.my_number_revealed", _("個人番号の表示")
    EXPORT_MADE = "export.made", _("データの持ち出し（エクスポート）")
    REPORT_GENERATED = "audit.report_generated", _("監査報告の作成")
    USER_CREATED = "admin.user_created", _("利用者の登録")
    USER_DEACTIVATED = "admin.user_deactivated", _("利用者の停止（退職等）")
    USER_REACTIVATED = "admin.user_reactivated", _("利用者の再開")
    ROLE_GRANTED = "admin.role_granted", _("権限の付与")
    ROLE_REVOKED = "admin.role_revoked", _("権限の取消")
    OTP_DEVICE_RESET = "admin.otp_reset", _("二要素認証の初期化")
    ACCESS_REVIEWED = "admin.access_reviewed", _("アクセス権の定期確認")
    API_TOKEN_ISSUED = "admin.api_token_issued", _("APIトークンの発行")
    API_TOKEN_REVOKED = "admin.api_token_revoked", _("APIトークンの失効")
    IMPORT_RECEIVED = "import.received", _("取込ファイルの受付")
    IMPORT_DUPLICATE_REFUSED = "import.duplicate_refused", _("取込ファイルの重複拒否")
    IMPORT_COMMITTED = "import.committed", _("取込の確定")
    IMPORT_FAILED = "import.failed", _("取込の失敗")
    API_TOKEN_USED = "api.token_used", _("APIトークンの利用")
    # --- Eligibility and notices (#5): add below ---
    # --- Linkage (#6): add below ---
    LINKAGE_CODE_ACQUIRED = "linkage.code_acquired", _("情報提供用個人識別符号の取得")
    LINKAGE_QUERY_SENT = "linkage.query_sent", _("情報照会の送信")
    LINKAGE_QUERY_REFUSED = "linkage.query_refused", _("情報照会の拒否（提供許可証なし）")
    LINKAGE_QUERY_FAILED = "linkage.query_failed", _("情報照会の失敗")
    LINKAGE_RESULT_RECEIVED = "linkage.result_received", _("照会結果の受領")
    LINKAGE_RESULT_REGISTERED = "linkage.result_registered", _("照会結果の転入前接種登録")
    LINKAGE_RESULT_PURGED = "linkage.result_purged", _("照会結果の自動削除")
    LINKAGE_INBOUND_RECEIVED = "linkage.inbound_received", _("他団体からの情報照会の受信")
    LINKAGE_PROVISION_HELD = "linkage.provision_held", _("情報提供の確認待ち")
    LINKAGE_PROVISION_APPROVED = "linkage.provision_approved", _("情報提供の承認")
    LINKAGE_PROVISION_SENT = "linkage.provision_sent", _("情報提供の送信")
    LINKAGE_PROVISION_REFUSED = "linkage.provision_refused", _("情報提供の拒否")
    # --- Resident change feed, residents' rights, protection flag (#7): add below ---
    # --- Retention and purges (#8): add below ---
