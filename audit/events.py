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
    CAMPAIGN_CREATED = "eligibility.campaign_created", _("接種事業の作成")
    CAMPAIGN_RULE_VERSIONED = "eligibility.rule_versioned", _("対象者規則の新しい版")
    PRIORITY_GROUP_GRANTED = "eligibility.priority_group_granted", _("優先接種グループの登録")
    PRIORITY_GROUP_REVOKED = "eligibility.priority_group_revoked", _("優先接種グループの取消")
    ELIGIBILITY_MATCHED = "eligibility.matched", _("対象者確認の突合")
    ELIGIBILITY_DECIDED = "eligibility.decided", _("対象者判定")
    EXTRACTION_STARTED = "eligibility.extraction_started", _("対象者抽出の開始")
    EXTRACTION_FINISHED = "eligibility.extraction_finished", _("対象者抽出の完了")
    EXTRACTION_FAILED = "eligibility.extraction_failed", _("対象者抽出の失敗")
    WHAT_IF_PREVIEWED = "eligibility.what_if_previewed", _("規則変更の影響確認")
    NOTICE_BATCH_ISSUED = "eligibility.batch_issued", _("通知バッチの発行（接種券番号の採番）")
    NOTICE_HOLD_RELEASED = "eligibility.protected_released", _("支援措置対象者への送付（職員判断）")
    TICKET_REISSUED = "eligibility.ticket_reissued", _("接種券の再発行")
    NOTICE_PDF_GENERATED = "eligibility.pdf_generated", _("通知PDFの作成")
    NOTICE_CSV_GENERATED = "eligibility.csv_generated", _("通知CSVの作成")
    CERTIFICATE_ISSUED = "eligibility.certificate_issued", _("接種済証の発行")
    # --- Linkage (#6): add below ---
    # --- Resident change feed, residents' rights, protection flag (#7): add below ---
    # --- Retention and purges (#8): add below ---
