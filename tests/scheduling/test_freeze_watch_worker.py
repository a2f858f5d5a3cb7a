"""The freeze check runs on a real Celery worker (Redis when REDIS_URL is set, as in CI)."""

import pytest

from releasemgr.models import JobRun, Notification
from scheduling import patching
from scheduling.tasks import freeze_check_task
from tests.celery_worker import real_worker
from tests.scheduling.patching_support import vulnerability


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_freeze_check_twice_and_notifies_once(olivia, payments, tmp_path):
    # A transactional test starts from a flushed database: seed the SLAs the migration adds.
    patching.ensure_policies()
    overdue = vulnerability([payments], cvss="9.8", discovered_hours_ago=60)
    with real_worker(tmp_path) as worker:
        worker.send(freeze_check_task, times=2)
        worker.wait_until(
            lambda: JobRun.objects.filter(
                name="freeze_check", status=JobRun.Status.SUCCEEDED
            ).count()
            >= 2
        )
    runs = list(JobRun.objects.filter(name="freeze_check").order_by("started_at", "pk"))
    assert [r.status for r in runs] == [JobRun.Status.SUCCEEDED] * 2
    assert sorted(r.detail.split(" ")[0] for r in runs) == ["0", "1"]
    reminder = Notification.objects.get()
    assert reminder.user == olivia
    assert reminder.kind == "patch_overdue"
    assert overdue.cve_id in reminder.message
