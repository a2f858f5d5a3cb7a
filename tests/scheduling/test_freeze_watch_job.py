"""The periodic freeze check: (a) windows opening and closing, (b) planned releases a window now
blocks, (c) patch deadlines — each notifying exactly once however often the job runs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.models import JobRun, Notification
from releasemgr.roles import DEVELOPER
from scheduling import freeze_watch
from scheduling.models import FreezeException
from scheduling.tasks import freeze_check_task
from tests.conftest import make_user
from tests.factories import FreezeWindowFactory, ServiceFactory, TeamFactory
from tests.scheduling.patching_support import approved_release, vulnerability

pytestmark = pytest.mark.django_db


def _mine(user, kind=None):
    qs = Notification.objects.filter(user=user)
    return qs.filter(kind=kind) if kind else qs


# --- (a) windows opening and closing --------------------------------------------------------


def test_a_freeze_that_just_started_is_announced_once_to_owners_and_release_managers(
    alice, dave, carol, olivia, payments, environments
):
    now = timezone.now()
    release = approved_release(dave, carol, [payments], now + timedelta(days=3))
    devin = make_user("devin", DEVELOPER)
    other_service = ServiceFactory(team=TeamFactory())
    unrelated = approved_release(devin, carol, [other_service], now + timedelta(days=3))
    freeze = FreezeWindowFactory(
        name="Card network change", start=now - timedelta(minutes=2), end=now + timedelta(hours=6)
    )
    freeze.services.set([payments])

    first = freeze_watch.run(now)
    second = freeze_watch.run(now + timedelta(minutes=5))

    assert first.windows_opened == 1
    assert second.notifications == 0 and second.windows_opened == 0
    owner_note = _mine(dave, "window_opened").get()
    assert "'Card network change' is now in force" in owner_note.message
    assert release.key in owner_note.message
    assert owner_note.link == freeze.get_absolute_url()
    assert _mine(alice, "window_opened").count() == 1  # release managers hear of every freeze
    assert not _mine(devin, "window_opened").exists()  # owns a release the freeze does not cover
    assert not _mine(olivia, "window_opened").exists()
    assert unrelated.key not in _mine(alice).get().message


def test_a_freeze_that_just_ended_is_announced_as_lifted_once(
    alice, dave, carol, payments, environments
):
    now = timezone.now()
    approved_release(dave, carol, [payments], now + timedelta(days=3))
    freeze = FreezeWindowFactory(start=now - timedelta(days=2), end=now - timedelta(minutes=3))
    freeze.environments.set([environments["production"]])

    freeze_watch.run(now)
    freeze_watch.run(now + timedelta(minutes=1))

    lifted = _mine(dave, "window_closed").get()
    assert "was lifted" in lifted.message
    assert _mine(alice, "window_closed").count() == 1
    assert not _mine(dave, "window_opened").exists()  # it opened long before the look-back


def test_each_occurrence_of_a_recurring_freeze_is_announced(alice, environments):
    now = timezone.now().replace(second=0, microsecond=0)
    first_start = now - timedelta(days=7, minutes=1)
    FreezeWindowFactory(
        start=first_start, end=first_start + timedelta(hours=1), rrule="FREQ=WEEKLY"
    )

    freeze_watch.run(now)
    freeze_watch.run(now + timedelta(hours=1, minutes=2))
    freeze_watch.run(now + timedelta(hours=1, minutes=3))

    assert _mine(alice, "window_opened").count() == 1
    assert _mine(alice, "window_closed").count() == 1


def test_maintenance_windows_are_not_announced_as_freezes(alice):
    now = timezone.now()
    FreezeWindowFactory(kind="maintenance", start=now - timedelta(minutes=1))
    freeze_watch.run(now)
    assert not _mine(alice).exists()


# --- (b) planned releases a hard window now blocks ------------------------------------------


def test_a_newly_added_hard_freeze_over_a_planned_deployment_warns_its_owner_once(
    alice, dave, carol, payments, environments
):
    now = timezone.now()
    start = now + timedelta(days=10)
    release = approved_release(dave, carol, [payments], start)
    assert freeze_watch.run(now).releases_warned == 0

    freeze = FreezeWindowFactory(
        name="Year-end freeze",
        start=start - timedelta(days=1),
        end=start + timedelta(days=1),
        reason="Finance closes the books.",
    )
    freeze.environments.set([environments["production"]])
    first = freeze_watch.run(now)
    second = freeze_watch.run(now + timedelta(minutes=5))

    assert first.releases_warned == 1 and second.releases_warned == 0
    warning = _mine(dave, "release_blocked").get()
    assert "'Year-end freeze'" in warning.message
    assert release.key in warning.message
    assert "Finance closes the books." in warning.message
    assert "request a freeze exception" in warning.message
    assert warning.link == release.get_absolute_url()
    assert first.reasons[0].code == "freeze_window" and not first.reasons[0].passed


def test_the_warning_goes_to_the_release_owner(alice, dave, carol, payments, environments):
    now = timezone.now()
    start = now + timedelta(days=10)
    approved_release(dave, carol, [payments], start, owner=alice)
    FreezeWindowFactory(start=start - timedelta(hours=1), end=start + timedelta(hours=1))

    freeze_watch.run(now)

    assert _mine(alice, "release_blocked").count() == 1
    assert not _mine(dave, "release_blocked").exists()


@pytest.mark.parametrize(
    "window",
    [
        {"hardness": "soft"},
        {"kind": "maintenance"},
        {"allowed_change_types": ["normal"]},
        {"scoped_to_staging": True},
        {"scoped_to_other_service": True},
    ],
)
def test_windows_that_do_not_block_the_deployment_do_not_warn(
    dave, carol, payments, environments, window
):
    now = timezone.now()
    start = now + timedelta(days=10)
    approved_release(dave, carol, [payments], start)
    staging = window.pop("scoped_to_staging", False)
    other = window.pop("scoped_to_other_service", False)
    freeze = FreezeWindowFactory(
        start=start - timedelta(hours=1), end=start + timedelta(hours=1), **window
    )
    if staging:
        freeze.environments.set([environments["staging"]])
    if other:
        freeze.services.set([ServiceFactory()])

    freeze_watch.run(now)

    assert not _mine(dave, "release_blocked").exists()


def test_an_approved_exception_silences_the_warning(
    alice, dave, carol, erin, payments, environments
):
    now = timezone.now()
    start = now + timedelta(days=10)
    release = approved_release(dave, carol, [payments], start)
    freeze = FreezeWindowFactory(start=start - timedelta(hours=1), end=start + timedelta(hours=3))
    FreezeException.objects.create(
        release=release,
        window=freeze,
        justification="Regulator deadline",
        risk="low",
        requested_by=dave,
        decided_by=erin,
        status="approved",
        valid_from=start - timedelta(hours=1),
        valid_until=start + timedelta(hours=3),
    )

    freeze_watch.run(now)

    assert not _mine(dave, "release_blocked").exists()


def test_draft_releases_are_not_checked(dave, carol, payments, environments):
    from tests.factories import ReleaseFactory

    now = timezone.now()
    ReleaseFactory(
        author=dave, services=[(payments, "1.0.0")], planned_start=now + timedelta(days=2)
    )
    FreezeWindowFactory(start=now + timedelta(days=1), end=now + timedelta(days=3))

    freeze_watch.run(now)

    assert not _mine(dave, "release_blocked").exists()


# --- (c) patch deadlines --------------------------------------------------------------------


def test_at_risk_and_overdue_patches_remind_service_owners_and_compliance_once_per_state(
    alice, dave, olivia, payments
):
    payments.owners.set([dave])
    v = vulnerability([payments], cvss="9.8", discovered_hours_ago=40)  # at risk (last 12 h)
    vulnerability([payments], cvss="9.8", discovered_hours_ago=1)  # on track: no reminder

    now = timezone.now()
    assert freeze_watch.run(now).patch_reminders == 1
    assert freeze_watch.run(now + timedelta(minutes=5)).patch_reminders == 0
    at_risk = _mine(dave, "patch_at_risk").get()
    assert v.cve_id in at_risk.message and "No patch release is planned yet" in at_risk.message
    assert at_risk.link == v.get_absolute_url()
    assert _mine(olivia, "patch_at_risk").count() == 1
    assert not _mine(alice).exists()  # neither owner nor compliance officer

    later = now + timedelta(hours=9)  # past the 48 h due date
    assert freeze_watch.run(later).patch_reminders == 1
    assert freeze_watch.run(later + timedelta(minutes=5)).patch_reminders == 0
    assert _mine(dave, "patch_overdue").count() == 1
    assert _mine(olivia, "patch_overdue").count() == 1


def test_without_named_owners_the_services_team_is_reminded(olivia, payments, paula):
    payments.team.members.set([paula])
    vulnerability([payments], cvss="7.5", discovered_hours_ago=200)

    freeze_watch.run()

    assert _mine(paula, "patch_overdue").count() == 1


def test_patched_vulnerabilities_are_not_reminded(olivia, payments):
    vulnerability([payments], cvss="9.8", discovered_hours_ago=60, status="patched")
    vulnerability([payments], cvss="9.8", discovered_hours_ago=60, status="accepted")
    freeze_watch.run()
    assert not Notification.objects.exists()


# --- the task -------------------------------------------------------------------------------


def test_each_run_of_the_task_is_recorded_with_its_outcome(olivia, payments):
    vulnerability([payments], cvss="9.8", discovered_hours_ago=60)

    freeze_check_task.apply()
    freeze_check_task.apply()

    runs = list(JobRun.objects.filter(name="freeze_check").order_by("started_at", "pk"))
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[0].detail.startswith("1 notification(s)")
    assert "1 patch reminder(s)" in runs[0].detail
    assert runs[1].detail.startswith("0 notification(s)")
    assert Notification.objects.count() == 1


def test_the_job_is_scheduled_by_celery_beat(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["freeze-check"]
    assert entry["task"] == "scheduling.tasks.freeze_check_task"
    assert entry["schedule"] <= 15 * 60
