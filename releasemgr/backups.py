"""Backing up and restoring the PostgreSQL database (``make backup``, ``make restore FILE=``).

A backup is ``pg_dump --format=custom`` of the ``DATABASE_URL`` database. A restore first
checks the file with ``pg_restore --list`` (a file that is not such an archive is refused and
nothing is touched), then restores it with ``--clean --if-exists --single-transaction`` (all or
nothing), then walks the decision log's hash chain (``governance.decision_log.verify``): a
restored database whose decision log does not verify is reported as broken.

PostgreSQL only: the SQLite file of ``make run`` is copied by hand (docs/operations.md).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connections


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why and what to do."""


def _database() -> dict:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise BackupError(
            "make backup / make restore are for PostgreSQL (set DATABASE_URL=postgres://...). "
            "The SQLite database of make run is one file: stop make run and copy "
            f"{db['NAME']} (see docs/operations.md)."
        )
    return db


def _pg_args(db: dict) -> tuple[list[str], dict[str, str]]:
    """Connection arguments and environment for pg_dump/pg_restore (password via PGPASSWORD,
    never on the command line)."""
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(
            f"{command[0]} is not installed (it comes with the PostgreSQL client tools, "
            "e.g. apt-get install postgresql-client)."
        ) from exc


def backup(directory: Path | None = None, now: datetime | None = None) -> Path:
    """Dump the database to ``<directory>/releasemgr-<UTC timestamp>.dump``; returns the path."""
    db = _database()
    directory = Path(directory or settings.BACKUP_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"releasemgr-{stamp}.dump"
    partial = target.with_suffix(".dump.part")
    args, env = _pg_args(db)
    result = _run(["pg_dump", "--format=custom", "--file", str(partial), *args], env)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.replace(target)  # a file named .dump is always a complete one
    return target


@dataclass
class Restored:
    file: Path
    database: str
    chain: dict

    @property
    def intact(self) -> bool:
        return bool(self.chain["intact"])

    def describe(self) -> str:
        head = f"Restored {self.file} into database {self.database}."
        if self.intact:
            return f"{head}\nDecision log: intact ({self.chain['entries']} entries verified)."
        lines = [f"{head}", f"Decision log: BROKEN ({self.chain['entries']} entries checked):"]
        lines += [f"  #{p['sequence']} {p['code']}: {p['message']}" for p in self.chain["problems"]]
        return "\n".join(lines)


def check_archive(path: Path) -> None:
    """Refuse anything ``pg_restore`` does not read as a custom-format archive."""
    _database()
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file; nothing was changed.")
    result = _run(["pg_restore", "--list", str(path)], dict(os.environ))
    if result.returncode != 0:
        why = result.stderr.strip().removeprefix("pg_restore: error: ")
        raise BackupError(
            f"{path} is not a pg_dump custom-format archive ({why}); nothing was changed."
        )


def restore(path: Path) -> Restored:
    """Replace the database's contents with the archive's, in one transaction, then verify the
    decision log's hash chain."""
    from governance import decision_log

    db = _database()
    path = Path(path)
    check_archive(path)
    connections.close_all()  # our own sessions must not hold locks the restore waits for
    args, env = _pg_args(db)
    result = _run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            *args,
            str(path),
        ],
        env,
    )
    if result.returncode != 0:
        raise BackupError(
            f"pg_restore failed and was rolled back, the database is unchanged: "
            f"{result.stderr.strip()}"
        )
    connections.close_all()
    return Restored(file=path, database=db["NAME"], chain=decision_log.verify().as_dict())
