"""The overdue-retrospective reminder job (governance.jobs_changes)."""

from datetime import timedelta

from django.utils import timezone

from governance import change_types, jobs_changes
from governance.jobs_changes import notify_overdue_retrospectives_task
from governance.models import Retrospective
from releasemgr.models import JobRun, Notification
from tests.factories import ReleaseFactory


def _overdue(author, owner, manager):
    release = ReleaseFactory(author=author, owner=owner, change_type="emergency")
    retro = change_types.open_retrospective(release, manager)
    Retrospective.objects.filter(pk=retro.pk).update(due_at=timezone.now() - timedelta(hours=2))
    return retro


def test_owner_and_author_are_told_once_however_often_the_job_runs(dave, alice):
    retro = _overdue(dave, alice, alice)
    change_types.open_retrospective(ReleaseFactory(author=dave, change_type="emergency"), alice)

    first = jobs_changes.run()
    second = jobs_changes.run()

    assert first == "1 overdue retrospectives, 2 notifications sent"
    assert second == "1 overdue retrospectives, 0 notifications sent"
    notes = Notification.objects.filter(kind="retrospective_overdue")
    assert sorted(n.user.username for n in notes) == ["alice", "dave"]
    assert all(n.link == retro.get_absolute_url() for n in notes)


def test_a_completed_retrospective_is_not_reminded(dave, alice):
    retro = _overdue(dave, alice, alice)
    change_types.complete_retrospective(retro, alice, "Done late.")

    assert jobs_changes.run().startswith("0 overdue")
    assert not Notification.objects.exists()


def test_the_task_records_its_run(dave, alice):
    _overdue(dave, alice, alice)

    notify_overdue_retrospectives_task.apply()

    run = JobRun.objects.get(name="overdue_retrospectives")
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.detail.startswith("1 overdue retrospectives")
