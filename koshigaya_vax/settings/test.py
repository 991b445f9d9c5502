"""Test settings: the dev defaults plus a fast password hasher and eager Celery that propagates errors.
DATABASE_URL from the environment selects PostgreSQL (CI) instead of SQLite."""

import os

os.environ.setdefault("DATABASE_URL", "sqlite:///:memory:")

from koshigaya_vax.settings.dev import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
LANGUAGE_CODE = "ja"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
