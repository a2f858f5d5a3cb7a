"""``make backup`` / ``make restore FILE=``: a backup restored into a scratch PostgreSQL
database whose decision log verifies; a file that is not a backup refused with the database
unchanged; a restored database with a tampered decision reported as broken (exit 1).

The commands run as real processes (``manage.py backup_db`` / ``restore_db``, what the Makefile
calls) against real databases: the test database and a scratch one made and dropped here."""

import copy
import os
import subprocess
import sys
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import DecisionRecord
from tests.celery_worker import _database_url

POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
TABLE = DecisionRecord._meta.db_table


def _url_for(database: str) -> str:
    parts = urlsplit(_database_url())
    return urlunsplit(parts._replace(path=f"/{database}"))


def _manage(*args, database_url: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "BACKUP_DIR": str(tmp_path / "backups"),
            "RELEASEMGR_VAR_DIR": str(tmp_path / "var"),
        },
        capture_output=True,
        text=True,
        timeout=300,
    )


def _admin_connection():
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(
        dbname="postgres",
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
    )
    conn.autocommit = True
    return conn


@pytest.fixture
def scratch_database():
    """An empty database of our own, dropped at the end."""
    name = f"jobs_restore_{uuid.uuid4().hex[:12]}"
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _fingerprint(database: str):
    """What a restore would change: the tables there and the decision log's rows."""
    db = settings.DATABASES["default"]
    with (
        psycopg2.connect(
            dbname=database,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        tables = cursor.fetchone()[0]
        cursor.execute(f"SELECT to_regclass('public.{TABLE}') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return tables, None
        cursor.execute(f"SELECT sequence, outcome, entry_hash FROM {TABLE} ORDER BY sequence")
        return tables, cursor.fetchall()


def _decisions(n=4):
    for i in range(n):
        decision_log.append(DecisionKind.APPROVAL, "approved", f"entry {i}")


def _backup(tmp_path):
    done = _manage("backup_db", database_url=_database_url(), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    path = tmp_path / "backups" / done.stdout.strip().rsplit("/", 1)[-1]
    assert done.stdout.strip() == str(path)
    assert path.name.startswith("releasemgr-") and path.name.endswith("Z.dump")
    return path


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL")
@pytest.mark.postgres
def test_a_backup_restored_into_another_database_has_a_decision_log_that_verifies(
    tmp_path, scratch_database
):
    _decisions()
    path = _backup(tmp_path)

    done = _manage(
        "restore_db", str(path), database_url=_url_for(scratch_database), tmp_path=tmp_path
    )

    assert done.returncode == 0, done.stderr
    assert f"into database {scratch_database}" in done.stdout
    assert "Decision log: intact (4 entries verified)" in done.stdout
    _, rows = _fingerprint(scratch_database)
    assert [r[0] for r in rows] == [1, 2, 3, 4]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL")
@pytest.mark.postgres
@pytest.mark.parametrize(
    "content",
    [
        b"this is not a backup\n",
        b"PGDMP but truncated",
        b"-- PostgreSQL database dump\nSELECT 1;\n",
    ],
    ids=["text", "truncated", "plain-sql"],
)
def test_a_file_that_is_not_a_backup_is_refused_and_nothing_changes(
    tmp_path, scratch_database, content
):
    _decisions(2)
    restored = _manage(
        "restore_db",
        str(_backup(tmp_path)),
        database_url=_url_for(scratch_database),
        tmp_path=tmp_path,
    )
    assert restored.returncode == 0, restored.stderr
    before = _fingerprint(scratch_database)
    garbage = tmp_path / "garbage.dump"
    garbage.write_bytes(content)

    done = _manage(
        "restore_db", str(garbage), database_url=_url_for(scratch_database), tmp_path=tmp_path
    )

    assert done.returncode == 1
    assert f"{garbage} is not a pg_dump custom-format archive" in done.stderr
    assert "nothing was changed" in done.stderr
    assert _fingerprint(scratch_database) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL")
@pytest.mark.postgres
def test_a_missing_file_is_refused(tmp_path, scratch_database):
    done = _manage(
        "restore_db",
        str(tmp_path / "nope.dump"),
        database_url=_url_for(scratch_database),
        tmp_path=tmp_path,
    )
    assert done.returncode == 1
    assert "does not exist or is not a file; nothing was changed" in done.stderr
    assert _fingerprint(scratch_database) == (0, None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not POSTGRES, reason="needs PostgreSQL")
@pytest.mark.postgres
def test_a_restored_database_with_a_tampered_decision_reports_the_broken_chain(
    tmp_path, scratch_database
):
    _decisions(3)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {TABLE} SET outcome = 'rejected' WHERE sequence = 2")
    path = _backup(tmp_path)

    done = _manage(
        "restore_db", str(path), database_url=_url_for(scratch_database), tmp_path=tmp_path
    )

    assert done.returncode == 1
    assert "Decision log: BROKEN" in done.stderr
    assert "#2 altered" in done.stderr
    assert "does not verify" in done.stderr


def test_backup_says_it_is_for_postgresql_when_the_database_is_sqlite(settings, tmp_path):
    databases = copy.deepcopy(settings.DATABASES)
    databases["default"]["ENGINE"] = "django.db.backends.sqlite3"
    settings.DATABASES = databases

    with pytest.raises(CommandError, match="are for PostgreSQL"):
        call_command("backup_db", "--output-dir", str(tmp_path))
    assert not any(tmp_path.iterdir())
