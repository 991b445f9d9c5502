"""Developer / demo settings: the embedded default (`make run`). SQLite under var/, tasks in-process,
and clearly-labelled throwaway keys so nothing needs configuring on a fresh machine."""

import os

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "insecure-dev-only-secret-key-never-use-in-production-000000000")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
# 32 zero-ish bytes, urlsafe base64: usable for demo data only; production refuses to start without keys.
os.environ.setdefault("MY_NUMBER_KEYS", "ZGV2LW9ubHktbXktbnVtYmVyLWtleS0wMDAwMDAwMDA=")
os.environ.setdefault("MY_NUMBER_INDEX_KEY", "dev-only-blind-index-key")
# Throwaway X25519 key of the linkage client (dev and tests only; the mock server learns its public key).
os.environ.setdefault("LINKAGE_PRIVATE_KEYS", "GDEuuNB-cNwIalLeidkClzgrczNgojq9utc96j4B6lg=")
os.environ.setdefault("KVAX_VAR_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "var"))
os.environ.setdefault(
    "DATABASE_URL",
    "sqlite:///" + os.path.abspath(os.path.join(os.environ["KVAX_VAR_DIR"], "db.sqlite3")),
)

from koshigaya_vax.settings.base import *  # noqa: F403
