"""The stalled-deployment job: idempotent, recorded, and run by a real Celery worker."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.models import JobRun
from releases import lifecycle
from releases.choices import EventType
from releases.models import Deployment
from releases.stalls import STALL_MARKER, flag_stalled_deployments
from releases.tasks import flag_stalled_deployments_task
from tests.celery_worker import real_worker
from tests.factories import ReleaseFactory, ServiceFactory


def _running_deployment(dave, carol, pipeline, environments, started_hours_ago):
    service = ServiceFactory()
    release = ReleaseFactory(author=dave, services=[(service, "1.0.0")])
    lifecycle.submit(release, dave)
    lifecycle.approve(release, carol)
    deployment, _ = lifecycle.start_deployment(release, environments["dev"], pipeline)
    Deployment.objects.filter(pk=deployment.pk).update(
        started_at=timezone.now() - timedelta(hours=started_hours_ago)
    )
    return deployment


@pytest.mark.django_db
def test_a_quiet_deployment_is_flagged_once_however_often_the_job_runs(
    dave, carol, pipeline, environments
):
    stalled = _running_deployment(dave, carol, pipeline, environments, started_hours_ago=7)

    assert flag_stalled_deployments() == 1
    assert flag_stalled_deployments() == 0

    warnings = stalled.events.filter(type=EventType.LOG, message__startswith=STALL_MARKER)
    assert warnings.count() == 1


@pytest.mark.django_db
def test_a_recent_deployment_is_not_flagged(dave, carol, pipeline, environments):
    recent = _running_deployment(dave, carol, pipeline, environments, started_hours_ago=1)

    assert flag_stalled_deployments() == 0
    assert not recent.events.filter(message__startswith=STALL_MARKER).exists()


@pytest.mark.django_db
def test_each_run_of_the_task_is_recorded_with_its_outcome(dave, carol, pipeline, environments):
    _running_deployment(dave, carol, pipeline, environments, started_hours_ago=8)

    flag_stalled_deployments_task.apply()

    run = JobRun.objects.get(name="flag_stalled_deployments")
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.detail == "1 deployment(s) flagged"
    assert run.finished_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_job_from_the_broker(dave, carol, pipeline, environments, tmp_path):
    """Redis when REDIS_URL is set (CI), the filesystem broker otherwise."""
    stalled = _running_deployment(dave, carol, pipeline, environments, started_hours_ago=9)
    with real_worker(tmp_path) as worker:
        worker.send(flag_stalled_deployments_task)
        worker.wait_until(lambda: JobRun.objects.filter(status=JobRun.Status.SUCCEEDED).exists())
    run = JobRun.objects.get(name="flag_stalled_deployments")
    assert run.status == JobRun.Status.SUCCEEDED
    assert stalled.events.filter(message__startswith=STALL_MARKER).count() == 1
