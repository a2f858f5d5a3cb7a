"""The late-defect escalation job: blocking defects shortly before the planned start are
escalated to the release owner and the service owners, once, however often the job runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import jobs_defects
from governance.jobs_defects import escalate_defects_task
from governance.models import Defect
from releasemgr.models import JobRun, Notification
from releasemgr.roles import PRODUCT_OWNER
from tests.conftest import make_user
from tests.factories import ReleaseFactory
from tests.governance.defects_support import accept, defect
from tests.releases import builders


@pytest.fixture
def soon(dave, carol, payments):
    """dave's approved payments release, planned in two days; sam owns payments-api."""
    sam = make_user("sam", PRODUCT_OWNER)
    payments.owners.add(sam)
    release = ReleaseFactory(
        author=dave,
        services=[(payments, "2.0.0")],
        planned_start=timezone.now() + timedelta(days=2),
    )
    return builders.approve(release, dave, carol), sam


def notes(kind="defect_escalated"):
    return Notification.objects.filter(kind=kind)


@pytest.mark.django_db
def test_a_blocking_defect_near_the_date_is_escalated_once_to_owner_and_service_owners(soon, dave):
    release, sam = soon
    found = defect(release, dave, reference="PAY-812")

    first = jobs_defects.run()
    second = jobs_defects.run()

    assert (first.escalated, first.notifications) == (1, 2)
    assert (second.escalated, second.notifications) == (0, 0)
    assert sorted(notes().values_list("user__username", flat=True)) == ["dave", "sam"]
    note = notes().get(user=sam)
    assert "'Refund rounds half-cents down' is still open" in note.message
    assert release.key in note.message and note.link == found.get_absolute_url()
    found.refresh_from_db()
    assert found.escalated_at is not None
    assert found.history.first().history_change_reason.startswith("escalated")


@pytest.mark.django_db
def test_far_away_releases_low_severities_and_accepted_defects_are_not_escalated(
    soon, dave, paula, payments
):
    release, _sam = soon
    defect(release, dave, severity="medium")
    accepted = defect(release, dave, title="Accepted")
    accept(release, [accepted], paula)
    later = builders.approve(
        ReleaseFactory(
            author=dave,
            services=[(payments, "3.0.0")],
            planned_start=timezone.now() + timedelta(days=10),
        ),
        dave,
        make_user("cara", "cab_member"),
    )
    defect(later, dave, title="Later")

    assert jobs_defects.run().escalated == 0
    assert not notes().exists()


@pytest.mark.django_db
def test_the_escalation_window_comes_from_settings(soon, dave, settings):
    release, _sam = soon
    defect(release, dave)
    settings.DEFECT_ESCALATION_DAYS = 1

    assert jobs_defects.run().escalated == 0
    settings.DEFECT_ESCALATION_DAYS = 3
    assert jobs_defects.run().escalated == 1


@pytest.mark.django_db
def test_the_task_records_its_run(soon, dave):
    release, _sam = soon
    defect(release, dave)

    escalate_defects_task.apply()

    run = JobRun.objects.get(name="defect_escalation")
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.detail.startswith("1 defects escalated")


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_escalation_twice_and_notifies_once(soon, dave, tmp_path):
    from tests.celery_worker import real_worker

    release, _sam = soon
    found = defect(release, dave)
    with real_worker(tmp_path) as worker:
        worker.send(escalate_defects_task, times=2)
        worker.wait_until(
            lambda: JobRun.objects.filter(
                name="defect_escalation", status=JobRun.Status.SUCCEEDED
            ).count()
            >= 2
        )
    runs = list(JobRun.objects.filter(name="defect_escalation").order_by("started_at", "pk"))
    assert sorted(r.detail.split(" ")[0] for r in runs) == ["0", "1"]
    assert notes().count() == 2
    assert Defect.objects.get(pk=found.pk).escalated_at is not None
