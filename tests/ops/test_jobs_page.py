"""The Jobs page: release managers and administrators see every job's latest run and the run
history with failures' errors, filtered and paginated in a bounded number of queries; other
roles are refused; bad filters are a clear 400."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releasemgr import jobs_overview
from releasemgr.models import JobRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = reverse("job_run_list")


def _runs(n_jobs=3, per_job=4):
    now = timezone.now()
    for j in range(n_jobs):
        for i in range(per_job):
            failed = i == 0
            JobRun.objects.create(
                name=f"job_{j}",
                status=JobRun.Status.FAILED if failed else JobRun.Status.SUCCEEDED,
                started_at=now - timedelta(minutes=10 * i + j),
                finished_at=now - timedelta(minutes=10 * i + j) + timedelta(seconds=3),
                error=f"Traceback ...\nValueError: job_{j} broke" if failed else "",
                detail="" if failed else f"{i} things done",
                attempt=2 if failed else 1,
                hostname="worker-1@box",
            )


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize("persona", ["audrey", "dave", "bob", "carol", "nobody"])
def test_other_roles_may_not_see_the_jobs_page(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(URL).status_code == 403


def test_a_release_manager_sees_the_latest_run_of_each_job_and_failures_with_their_error(
    client, alice
):
    _runs()
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 200
    summary = [r for r in response.context["summary"] if r["name"].startswith("job_")]
    assert [row["name"] for row in summary] == ["job_0", "job_1", "job_2"]  # after known jobs
    assert all(row["runs"] == 4 and row["failed"] == 1 for row in summary)
    assert response.context["summary"][-1]["name"] == "job_2"
    assert summary[0]["latest"].status == JobRun.Status.FAILED  # i == 0 is the newest
    body = response.content.decode()
    assert "ValueError: job_1 broke" in body
    assert "worker-1@box" in body


def test_an_administrator_sees_the_page_and_the_navbar_link(client):
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(admin)
    response = client.get(URL)
    assert response.status_code == 200
    assert f'href="{URL}"' in response.content.decode()


def test_filters_by_job_and_status_and_since(client, alice):
    _runs()
    old = JobRun.objects.create(
        name="job_1", status=JobRun.Status.FAILED, started_at=timezone.now() - timedelta(days=9)
    )
    client.force_login(alice)

    failed = client.get(URL, {"job": "job_1", "status": "failed"}).context["page_obj"]
    assert {run.name for run in failed} == {"job_1"}
    assert {run.status for run in failed} == {"failed"}
    assert old in list(failed)

    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    recent = client.get(URL, {"job": "job_1", "status": "failed", "since": since})
    assert old not in list(recent.context["page_obj"])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "exploded"}, "Status must be one of running, succeeded, failed"),
        ({"since": "yesterday"}, "is not a date (YYYY-MM-DD)"),
        ({"job": "x" * 101}, "No job has a name that long"),
    ],
    ids=["status", "since", "job"],
)
def test_a_bad_filter_is_a_400_with_a_clear_message(client, alice, params, message):
    _runs(1, 1)
    client.force_login(alice)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert JobRun.objects.count() == 1


@pytest.mark.parametrize("size", [(2, 3), (8, 20)], ids=["small", "large"])
def test_the_page_takes_a_bounded_number_of_queries(
    client, alice, size, django_assert_max_num_queries
):
    _runs(*size)
    client.force_login(alice)
    client.get(URL)  # warm the session and permission caches
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert response.status_code == 200
    assert len(response.context["page_obj"]) == min(50, size[0] * size[1])


def test_pages_hold_fifty_runs(client, alice):
    _runs(3, 20)
    client.force_login(alice)
    second = client.get(URL, {"page": 2})
    assert len(second.context["page_obj"]) == 10
    assert "Page 2 of 2" in second.content.decode()


def test_every_job_is_listed_before_its_first_run_with_what_it_does_and_how_often(
    client, alice, settings
):
    client.force_login(alice)
    response = client.get(URL)
    rows = {row["name"]: row for row in response.context["summary"]}
    assert set(rows) == set(jobs_overview.JOBS)
    freeze = rows["freeze_check"]
    assert (freeze["label"], freeze["runs"], freeze["latest"]) == ("Freeze check", 0, None)
    assert freeze["every"] == settings.FREEZE_CHECK_SECONDS
    assert rows["build_evidence_pack"]["every"] is None  # started on demand
    body = response.content.decode()
    assert body.count("not run yet") == len(jobs_overview.JOBS)
    assert "Tells owners when a freeze window starts blocking" in body
    assert "on demand" in body
    assert "within 1 d of the scheduler's start" in body  # a daily job: not at once


def test_a_job_that_ran_shows_when_it_is_next_due(client, alice, settings):
    started = timezone.now() - timedelta(seconds=30)
    JobRun.objects.create(
        name="freeze_check",
        status=JobRun.Status.SUCCEEDED,
        started_at=started,
        finished_at=started + timedelta(seconds=2.5),
    )
    client.force_login(alice)
    response = client.get(URL)
    (freeze,) = [r for r in response.context["summary"] if r["name"] == "freeze_check"]
    assert freeze["next_due"] == started + timedelta(seconds=settings.FREEZE_CHECK_SECONDS)
    assert "2.5 s" in response.content.decode()  # the run's duration, not "0 minutes"


def test_the_catalogue_covers_every_scheduled_and_every_recorded_job(settings):
    """Adding a beat entry or a recorded job without describing it fails here."""
    from governance import jobs_changes, jobs_defects, jobs_evidence
    from metrics import jobs_kpis, jobs_postmortems, jobs_quality, jobs_rollups
    from releasemgr import signins
    from scheduling import freeze_watch

    described = {job.beat_entry for job in jobs_overview.JOBS.values() if job.beat_entry}
    assert described == set(settings.CELERY_BEAT_SCHEDULE)
    recorded = {
        m.JOB_NAME
        for m in (
            jobs_changes,
            jobs_defects,
            jobs_evidence,
            jobs_kpis,
            jobs_postmortems,
            jobs_quality,
            jobs_rollups,
            signins,
            freeze_watch,
        )
    } | {"flag_stalled_deployments", "delivery_sweep"}
    assert recorded == set(jobs_overview.JOBS)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (2.5, "2.5 s"),
        (42, "42 s"),
        (300, "5 min"),
        (125, "2 min 5 s"),
        (3900, "1 h 5 min"),
        (86400, "1 d"),
        (None, "—"),
    ],
)
def test_durations_read_as_people_say_them(seconds, shown):
    from releasemgr.templatetags.durations import duration

    assert duration(seconds) == shown
