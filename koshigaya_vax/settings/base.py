"""Settings shared by every environment. Every value that differs between machines comes from the
environment; the environment-specific modules (dev, test, production) only decide defaults."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from koshigaya_vax.settings.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("KVAX_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", ",")

DATABASES = {"default": dj_database_url.parse(env_str("DATABASE_URL"), conn_max_age=60)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "koshigaya_vax.apps.KoshigayaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "auditlog",
    "axes",
    "django_celery_beat",
    "accounts",
    "records",
    "eligibility",
    "linkage",
    "imports",
    "audit",
    "rights",
    "retention",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "koshigaya_vax.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.SessionLifetimeMiddleware",
    "accounts.middleware.AccessPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "koshigaya_vax.urls"
WSGI_APPLICATION = "koshigaya_vax.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "accounts.context_processors.roles",
            ],
        },
    },
]

# --- Users, sign-in and sessions -------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "records:resident_search"
LOGOUT_REDIRECT_URL = "accounts:login"

# Idle sessions expire after SESSION_IDLE_MINUTES (the cookie age is renewed on every request);
# SessionLifetimeMiddleware also ends a session SESSION_ABSOLUTE_HOURS after sign-in, however busy.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_ABSOLUTE_LIFETIME = timedelta(hours=env_int("SESSION_ABSOLUTE_HOURS", 10))
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "越谷市 予防接種記録")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
BACKUP_CODE_COUNT = 10

# django-axes: lock the (username, address) pair, never a whole office behind one NAT address,
# and only for a while.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password", "otp_token"]
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- Internationalisation: Japanese first, English available -------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", "日本語"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

# --- Static files ------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# Clinic CSV inbox (imports.inbox): the contractor drops files here; a file moves to the archive only after
# the import has stored it, and a refused one to the inbox's "rejected" folder with the reason.
IMPORT_INBOX_DIR = Path(env_str("IMPORT_INBOX_DIR", str(VAR_DIR / "inbox")))
IMPORT_ARCHIVE_DIR = Path(env_str("IMPORT_ARCHIVE_DIR", str(VAR_DIR / "inbox-archive")))

# --- My Number protection ----------------------------------------------------------------------
# MY_NUMBER_KEYS: comma-separated urlsafe-base64 AES-256 keys; the first encrypts, all decrypt, so a key
# can be rotated by putting a new one first. MY_NUMBER_INDEX_KEY keys the HMAC blind index.
MY_NUMBER_KEYS = env_list("MY_NUMBER_KEYS")
MY_NUMBER_INDEX_KEY = env_str("MY_NUMBER_INDEX_KEY")

# --- Audit -------------------------------------------------------------------------------------
AUDITLOG_LOGENTRY_MODEL = "audit.AuditLogEntry"
AUDITLOG_DISABLE_REMOTE_ADDR = False
AUDITLOG_MASK_CALLABLE = "audit.masking.mask_completely"
# Entries written in bulk (an import's CREATE entries) keep their diff as text in changes_text, with
# changes left NULL: PostgreSQL then stores the text rather than parsing it into jsonb (1.1 s per 100,000
# entries). changes_dict — what every reader uses — falls back to it with this setting.
AUDITLOG_USE_TEXT_CHANGES_IF_JSON_IS_NOT_PRESENT = True
# The auditor's desk. Auditors read logs, not residents, unless the city decides otherwise (the group
# permissions are re-synced by every migrate). Self-inspection: office hours in Asia/Tokyo ("08:30-17:15";
# weekends are always outside them), the distinct residents a user may view in one day before the report
# flags it, and the days without sign-in after which an account counts as unused.
AUDITOR_CAN_VIEW_RESIDENTS = env_bool("AUDITOR_CAN_VIEW_RESIDENTS", False)
AUDIT_OFFICE_HOURS = env_str("AUDIT_OFFICE_HOURS", "08:30-17:15")
AUDIT_UNUSUAL_RESIDENTS_PER_DAY = env_int("AUDIT_UNUSUAL_RESIDENTS_PER_DAY", 200)
AUDIT_UNUSED_ACCOUNT_DAYS = env_int("AUDIT_UNUSED_ACCOUNT_DAYS", 90)
# Read-access entries (audit.services.audit_access_record). Deliberately not read from the environment:
# the city promises that every access is recorded, so this is only ever switched off in code, by the
# benchmark that measures what the logging costs (benchmarks/access_log_bench.py).
AUDIT_ACCESS_LOGGING = True

# --- API ---------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.DeclaredPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "koshigaya_vax.api.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "koshigaya-vax API",
    "DESCRIPTION": "越谷市 新型インフルエンザ等対策特別措置法による予防接種記録 API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["koshigaya_vax.api.expand_method_routes"],
}

# --- Celery ------------------------------------------------------------------------------------
# No broker configured means the embedded default: every task runs in-process, errors propagate.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Eligibility and notices (#5) ----------------------------------------------------------------
# Residents read per chunk by the target extraction (and the what-if preview); each chunk is three queries.
ELIGIBILITY_EXTRACTION_CHUNK = env_int("ELIGIBILITY_EXTRACTION_CHUNK", 20000)
# Notices per merged PDF of a batch (one page each), rendered on download: keep a chunk to seconds.
ELIGIBILITY_NOTICE_CHUNK_SIZE = env_int("ELIGIBILITY_NOTICE_CHUNK_SIZE", 100)

# --- Linkage: the intermediate server (#6) --------------------------------------------------------
# Where the intermediate server answers, and who we are on the network (全国地方公共団体コード).
LINKAGE_SERVER_URL = env_str("LINKAGE_SERVER_URL", "http://127.0.0.1:8765")
LINKAGE_BODY_CODE = env_str("LINKAGE_BODY_CODE", "112224")
# Our X25519 private keys (urlsafe base64 of 32 bytes), comma-separated, NEWEST FIRST: the first one's
# public key goes with every new query (answers are sealed for it), all of them are tried to decrypt.
# Empty = linkage unconfigured: every exchange fails closed (ImproperlyConfigured) before anything is sent.
LINKAGE_PRIVATE_KEYS = env_list("LINKAGE_PRIVATE_KEYS", "")
# Per-request timeout, attempts per call (transient failures only: connection errors, timeouts, 500,
# 502, 503, 504) and the first back-off (doubling), see linkage/client.py.
LINKAGE_TIMEOUT_SECONDS = env_int("LINKAGE_TIMEOUT_SECONDS", 10)
LINKAGE_MAX_ATTEMPTS = env_int("LINKAGE_MAX_ATTEMPTS", 3)
LINKAGE_RETRY_BACKOFF_MS = env_int("LINKAGE_RETRY_BACKOFF_MS", 500)
# Query results are deleted this many days after they arrive (seed III.6 risk 4 ③), by the beat job.
LINKAGE_RESULT_RETENTION_DAYS = env_int("LINKAGE_RESULT_RETENTION_DAYS", 7)
# Information items that carry the auto-response-disabled flag (自動応答不可フラグ): inbound queries for
# them always wait for staff confirmation. Comma-separated item codes.
LINKAGE_NO_AUTO_RESPONSE_ITEMS = env_list("LINKAGE_NO_AUTO_RESPONSE_ITEMS", "")

# --- Resident change feed and residents' rights (#7) ----------------------------------------------
# The change feed's inbox (imports.feed.inbox): the resident-records system drops its daily change file
# here; a stored file moves to the archive, a refused one to the inbox's "rejected" folder with the reason.
FEED_INBOX_DIR = Path(env_str("FEED_INBOX_DIR", str(VAR_DIR / "feed-inbox")))
FEED_ARCHIVE_DIR = Path(env_str("FEED_ARCHIVE_DIR", str(VAR_DIR / "feed-archive")))

# --- Retention and purges (#8) --------------------------------------------------------------------
# Data classes (retention.classes keys, comma-separated) whose monthly purge runs without an administrator's
# approval, e.g. "import_files,import_row_errors"; empty = every purge waits for approval. Ids per batch:
# each batch is one transaction, so this bounds how long a purge holds row locks and the audit chain head.
RETENTION_AUTO_CLASSES = env_list("RETENTION_AUTO_CLASSES", "")
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 1000)

# --- Logging: never personal data; see koshigaya_vax/logging.py -------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "koshigaya_vax.logging.RedactMyNumberFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools narrate every PDF at INFO; only their warnings are worth a line.
    "loggers": {name: {"level": "WARNING"} for name in ("weasyprint", "fontTools")},
}

ADMIN_URL = env_str("ADMIN_URL", "admin/")
_ = _  # gettext_lazy kept importable for settings overrides
