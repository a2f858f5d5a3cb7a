"""Real Celery worker and beat processes for the job-reliability tests (Redis + PostgreSQL).

Each test gets a private queue (``CELERY_TASK_DEFAULT_QUEUE``), so beat sends there and only
its own workers read it; a short ``CELERY_VISIBILITY_TIMEOUT`` lets Redis hand a dead worker's
message to the next worker within seconds instead of an hour.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from releasemgr.celery import app as celery_app
from tests.celery_worker import _database_url

needs_redis_and_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL; run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis; set REDIS_URL=redis://..."),
]

VISIBILITY_TIMEOUT = 4


class Processes:
    """Start workers and beats sharing one private queue; kill or stop them all at the end."""

    def __init__(self, tmp_path, extra_env: dict[str, str] | None = None):
        self.tmp_path = tmp_path
        self.queue = f"test-{uuid.uuid4().hex}"
        self.env = dict(
            os.environ,
            DATABASE_URL=_database_url(),
            REDIS_URL=settings.REDIS_URL,
            CELERY_TASK_DEFAULT_QUEUE=self.queue,
            CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
            RELEASEMGR_VAR_DIR=str(tmp_path / "var"),
            **(extra_env or {}),
        )
        self.started: list[tuple[subprocess.Popen, object]] = []

    def _start(self, args: list[str], log_name: str) -> subprocess.Popen:
        log = open(self.tmp_path / log_name, "wb")  # noqa: SIM115 - closed in stop_all
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "releasemgr", *args],
            cwd=settings.BASE_DIR,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool children
        )
        self.started.append((process, log))
        return process

    def worker(self, name: str) -> subprocess.Popen:
        return self._start(
            [
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                f"--hostname={name}@%h",
                "-Q",
                self.queue,
            ],
            f"{name}.log",
        )

    def beat(self, name: str) -> subprocess.Popen:
        return self._start(
            [
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.tmp_path / (name + '-schedule')}",
                f"--pidfile={self.tmp_path / (name + '.pid')}",
            ],
            f"{name}.log",
        )

    def log(self, name: str) -> str:
        return (self.tmp_path / f"{name}.log").read_text(errors="replace")

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the process and its children (the prefork pool): no clean shutdown at all."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def send(self, task, args_list: list[tuple]) -> None:
        with celery_app.connection_for_write() as conn:
            for args in args_list:
                task.apply_async(args, connection=conn, queue=self.queue)

    def stop_all(self) -> None:
        for process, log in self.started:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    self.kill(process)
            log.close()
        with celery_app.connection_for_write() as conn:  # nothing left in the shared Redis
            conn.default_channel.client.delete(self.queue, f"_kombu.binding.{self.queue}")


@contextlib.contextmanager
def processes(tmp_path, extra_env=None):
    procs = Processes(tmp_path, extra_env)
    try:
        yield procs
    finally:
        procs.stop_all()


def wait_until(condition, timeout: float, what: str, interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout} s")
