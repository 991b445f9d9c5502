"""Acceptance 3: a raw copy of the database (the SQLite file, or `pg_dump`) holds no My Number in clear.

The demo residents' numbers are collected by decrypting what was stored, then searched for in the raw
bytes. Each test also checks that the dump really holds the residents (their ciphertexts and 宛名番号),
so an empty or wrong dump cannot pass.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from records.crypto import decrypt_my_number
from records.models import Resident
from records.rules.mynumber import is_valid_my_number

ROOT = Path(__file__).resolve().parent.parent
RESIDENTS = 200


def assert_no_clear_number(dump: bytes, rows: list[tuple[str, str]]) -> None:
    """``rows`` are (宛名番号, ciphertext) pairs as stored."""
    assert len(rows) == RESIDENTS
    numbers = {decrypt_my_number(ciphertext) for _address_number, ciphertext in rows}
    assert len(numbers) == RESIDENTS and all(is_valid_my_number(n) for n in numbers)
    for address_number, ciphertext in rows:
        assert address_number.encode() in dump, "the dump does not hold the residents at all"
        assert ciphertext.encode() in dump, "the dump does not hold the encrypted numbers"
    leaked = [n for n in numbers if n.encode("ascii") in dump or n.encode("utf-16-le") in dump]
    assert not leaked, f"{len(leaked)} My Numbers are stored in clear"


def test_sqlite_database_file_holds_no_clear_my_number(tmp_path):
    """`make run`'s set-up (migrate + seed_demo) on a file database, then the file's bytes."""
    database = tmp_path / "db.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update({
        "DJANGO_SETTINGS_MODULE": "koshigaya_vax.settings.dev",
        "DATABASE_URL": f"sqlite:///{database}",
        "KVAX_VAR_DIR": str(tmp_path / "var"),
    })
    for command in (["migrate", "--no-input"], ["seed_demo", "--residents", str(RESIDENTS)]):
        result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *command], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT address_number, my_number_ciphertext FROM records_resident").fetchall()
    dump = b"".join(path.read_bytes() for path in tmp_path.glob("db.sqlite3*"))  # with -wal/-journal
    assert_no_clear_number(dump, rows)


@pytest.mark.django_db(transaction=True)
def test_dump_of_the_test_database_holds_no_clear_my_number():
    """The database the suite runs on: `pg_dump` on PostgreSQL (CI), SQLite's own dump otherwise.
    Transactional, so the seeded rows are committed and visible to pg_dump's separate session."""
    call_command("seed_demo", residents=RESIDENTS, stdout=StringIO())
    rows = list(Resident.objects.values_list("address_number", "my_number_ciphertext"))
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        pg_dump = shutil.which("pg_dump")
        assert pg_dump, "pg_dump is needed to check the PostgreSQL dump"
        env = dict(os.environ)
        if settings.get("PASSWORD"):
            env["PGPASSWORD"] = settings["PASSWORD"]
        command = [pg_dump, "--no-owner", "--dbname", settings["NAME"]]
        for flag, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
            if settings.get(key):
                command += [flag, str(settings[key])]
        result = subprocess.run(command, env=env, capture_output=True, timeout=300)
        assert result.returncode == 0, result.stderr.decode(errors="replace")
        dump = result.stdout
    else:
        assert connection.vendor == "sqlite"
        connection.ensure_connection()
        dump = "\n".join(connection.connection.iterdump()).encode("utf-8")
    assert_no_clear_number(dump, rows)
