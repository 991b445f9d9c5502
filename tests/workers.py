"""Real Celery workers for the tests that kill one mid-task (PostgreSQL and Redis): start, SIGKILL, wait,
and stop a worker at a known point of its transaction by holding a table lock from a session of the test's
own."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Model

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The test database, as a URL for a worker process or a session of the test's own."""
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def start_worker(name: str, media: Path, log: Path, *, broker_url: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "koshigaya_vax.settings.dev",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker_url,
        "MEDIA_ROOT": str(media),
        "KVAX_VAR_DIR": str(media),
        "DEBUG": "0",
    }
    command = [sys.executable, "-m", "celery", "-A", "koshigaya_vax", "worker", "--concurrency=1", "--pool=prefork",
               "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO", "-n", f"{name}@%h"]
    # A session of its own, so SIGKILL reaches the worker and its pool process and nothing else.
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def hold_table(model: type[Model]) -> Any:
    """A session of the test's own holding the model's table in SHARE mode until it rolls back: reads go on,
    but any INSERT, COPY or UPDATE of the table waits for it — so a worker is stopped inside the transaction
    that writes it, however fast it runs."""
    import psycopg

    holder = psycopg.connect(database_url())
    holder.execute(f"LOCK TABLE {connection.ops.quote_name(model._meta.db_table)} IN SHARE MODE")
    return holder


def write_waiting(model: type[Model], statement: str = "") -> bool:
    """Whether a session waits for a lock in a statement (starting with ``statement``, if given) that names
    the model's table."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock' AND query LIKE %s AND query LIKE %s",
                       [f"{statement}%", f"%{table}%"])
        return bool(cursor.fetchone()[0])
