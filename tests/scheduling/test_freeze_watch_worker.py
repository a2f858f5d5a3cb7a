"""The freeze check runs on a real Celery worker (Redis when REDIS_URL is set, as in CI)."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from releasemgr.celery import app as celery_app
from releasemgr.models import JobRun, Notification
from scheduling import patching
from scheduling.tasks import freeze_check_task
from tests.scheduling.patching_support import vulnerability


def _worker_env(tmp_path):
    """Environment for a worker on the test database, with a broker nobody else reads.

    Without REDIS_URL the filesystem broker gets a folder of its own, so a
    `make run` worker on this machine cannot take the message.
    """
    db = connection.settings_dict
    env = dict(os.environ)
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
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or ''}{password}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        )
    return env, transport_options


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_freeze_check_twice_and_notifies_once(olivia, payments, tmp_path):
    # A transactional test starts from a flushed database: seed the SLAs the migration adds.
    patching.ensure_policies()
    overdue = vulnerability([payments], cvss="9.8", discovered_hours_ago=60)
    env, transport_options = _worker_env(tmp_path)
    # A queue of its own: on a shared Redis, no other worker (another test run, `make run`)
    # takes these messages to a different database.
    queue = f"freeze-check-test-{uuid.uuid4().hex}"
    worker = subprocess.Popen(
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
        with celery_app.connection_for_write(transport_options=transport_options) as conn:
            freeze_check_task.apply_async(connection=conn, queue=queue)
            freeze_check_task.apply_async(connection=conn, queue=queue)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            done = JobRun.objects.filter(name="freeze_check", status=JobRun.Status.SUCCEEDED)
            if done.count() >= 2:
                break
            assert worker.poll() is None, worker.stdout.read().decode()[-2000:]
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        if settings.REDIS_URL:  # leave nothing of the private queue in the shared Redis
            with celery_app.connection_for_write() as conn:
                conn.default_channel.client.delete(queue, f"_kombu.binding.{queue}")
    runs = list(JobRun.objects.filter(name="freeze_check").order_by("started_at", "pk"))
    assert [r.status for r in runs] == [JobRun.Status.SUCCEEDED] * 2
    assert sorted(r.detail.split(" ")[0] for r in runs) == ["0", "1"]
    reminder = Notification.objects.get()
    assert reminder.user == olivia
    assert reminder.kind == "patch_overdue"
    assert overdue.cve_id in reminder.message
