"""A real Celery worker process on the test database, for job tests.

Redis when REDIS_URL is set (CI); otherwise the filesystem broker in a folder of
its own. Each worker reads a private queue, so no other worker on this machine
(another test run, `make run`) takes its messages to a different database.
"""

import contextlib
import os
import subprocess
import sys
import time
import uuid

from django.conf import settings
from django.db import connection

from releasemgr.celery import app as celery_app


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return (
        f"postgres://{db['USER'] or ''}{password}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


class Worker:
    def __init__(self, process, queue, transport_options):
        self.process = process
        self.queue = queue
        self.transport_options = transport_options

    def send(self, task, times: int = 1) -> None:
        with celery_app.connection_for_write(transport_options=self.transport_options) as conn:
            for _ in range(times):
                task.apply_async(connection=conn, queue=self.queue)

    def wait_until(self, condition, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            assert self.process.poll() is None, self.process.stdout.read().decode()[-2000:]
            time.sleep(0.5)
        raise AssertionError(f"The worker did not get there within {timeout} s")


@contextlib.contextmanager
def real_worker(tmp_path):
    env = dict(os.environ, DATABASE_URL=_database_url())
    transport_options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS)
    if not settings.REDIS_URL:
        for sub in ("in", "processed", "control"):
            (tmp_path / sub).mkdir()
        env["CELERY_BROKER_DIR"] = str(tmp_path)
        transport_options.update(
            data_folder_in=str(tmp_path / "in"),
            data_folder_out=str(tmp_path / "in"),
            processed_folder=str(tmp_path / "processed"),
            control_folder=str(tmp_path / "control"),
        )
    queue = f"test-{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "releasemgr",
            "worker",
            "--pool=solo",
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            queue,
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield Worker(process, queue, transport_options)
    finally:
        process.terminate()
        process.wait(timeout=20)
        if settings.REDIS_URL:  # leave nothing of the private queue in the shared Redis
            with celery_app.connection_for_write() as conn:
                conn.default_channel.client.delete(queue, f"_kombu.binding.{queue}")
