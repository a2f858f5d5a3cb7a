"""The migrations build a working database from nothing, as `make run` and a deployment do.

`make test` creates its test databases from the models (``--no-migrations``: the migration
history takes minutes to replay per database and per xdist worker), and ``make check`` runs
``makemigrations --check`` so the models and the migrations cannot differ. This test is what
still replays every migration, data migrations included, into a fresh database of the same
engine as the suite (PostgreSQL in CI), then loads the demo data into it.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def _run(args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture
def fresh_database_url(tmp_path):
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    import psycopg2

    name = f"migrations_{uuid.uuid4().hex[:12]}"
    admin = dict(
        dbname="postgres",
        user=db["USER"] or "postgres",
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )
    if db.get("PASSWORD"):
        admin["password"] = db["PASSWORD"]
    conn = psycopg2.connect(**admin)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        yield f"postgres://{admin['user']}{password}@{admin['host']}:{admin['port']}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


def test_every_migration_applies_to_an_empty_database_and_the_demo_loads(
    fresh_database_url, tmp_path
):
    env = dict(
        os.environ,
        DATABASE_URL=fresh_database_url,
        RELEASEMGR_VAR_DIR=str(tmp_path / "var"),
        CELERY_TASK_ALWAYS_EAGER="true",
    )
    migrated = _run(["migrate", "--noinput"], env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    # Nothing left unapplied, and the models need no migration the files do not have.
    check = _run(["migrate", "--check"], env)
    assert check.returncode == 0, check.stdout[-2000:] + check.stderr[-2000:]
    demo = _run(["seed_demo"], env)
    assert demo.returncode == 0, demo.stderr[-3000:]
