"""Test settings: the dev defaults plus a fast password hasher and eager Celery that propagates errors.
DATABASE_URL from the environment selects PostgreSQL (CI) instead of SQLite."""

import os

os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from koshigaya_vax.settings.dev import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
LANGUAGE_CODE = "ja"
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}  # noqa: F405
# auditlog's own migrations create auditlog_logentry although AUDITLOG_LOGENTRY_MODEL swaps it for
# audit.AuditLogEntry. flush (after every transactional test) skips swapped models, and PostgreSQL then
# refuses to truncate django_content_type and accounts_user, which that unused table references. Built
# from the models instead, auditlog contributes no table to the test database.
MIGRATION_MODULES = {"auditlog": None}

# The audit log refuses TRUNCATE on PostgreSQL (audit/migrations/0002); the test runner flushes tables
# between transactional tests, so test connections alone may.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c koshigaya.audit_allow_truncate=on"  # noqa: F405
