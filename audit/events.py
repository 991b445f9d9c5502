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
    # --- Resident change feed, residents' rights, protection flag (#7): add below ---
    FEED_RECEIVED = "feed.received", _("異動データの受付")
    FEED_DUPLICATE_REFUSED = "feed.duplicate_refused", _("異動データの重複拒否")
    FEED_APPLIED = "feed.applied", _("異動データの反映")
    FEED_FAILED = "feed.failed", _("異動データの取込失敗")
    FEED_NON_RESIDENT_REGISTERED = "feed.non_resident_registered", _("住登外者の登録")
    FEED_JUKINET_QUERIED = "feed.jukinet_queried", _("住基ネットへの本人確認情報の照会")
    # --- Retention and purges (#8): add below ---
    RETENTION_POLICY_CHANGED = "retention.policy_changed", _("保存期間の変更")
    RETENTION_HOLD_PLACED = "retention.hold_placed", _("消去保留の設定")
    RETENTION_HOLD_RELEASED = "retention.hold_released", _("消去保留の解除")
    RETENTION_REPORT_CREATED = "retention.report_created", _("消去対象の抽出（試行）")
    RETENTION_REPORT_APPROVED = "retention.report_approved", _("消去の承認")
    RETENTION_REPORT_REJECTED = "retention.report_rejected", _("消去の却下")
    RETENTION_PURGE_BATCH = "retention.purge_batch", _("消去の実行（バッチ）")
    RETENTION_PURGE_STOPPED = "retention.purge_stopped", _("消去の中断")
    RETENTION_PURGE_COMPLETED = "retention.purge_completed", _("消去の完了")
    RETENTION_CERTIFICATE_ISSUED = "retention.certificate_issued", _("消去証明の出力")
