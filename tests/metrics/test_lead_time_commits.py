"""Lead time for changes from the commits a deployment ships (native and imported).

Each commit row keeps ``first_shipped_at`` (the first successful production deployment of its
service containing the sha), so these tests check that it follows the history as records
arrive out of order, are rolled back, or come from a pipeline's ``commits``.
"""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from metrics.dora import dora
from metrics.history import import_lines
from metrics.models.history import CommitRecord, DeploymentRecord
from metrics.periods import Filters
from releases import lifecycle
from releases.models import Deployment
from releases.views.deployments import commit_rows
from tests.releases import builders

pytestmark = pytest.mark.django_db

SHA_A = "a" * 40
SHA_B = "b" * 40


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def line(ext, status, finished, commits, environment="production"):
    return json.dumps(
        {
            "kind": "deployment",
            "external_id": ext,
            "service": "payments-api",
            "environment": environment,
            "version": ext,
            "finished_at": finished,
            "status": status,
            "commits": [{"sha": s, "authored_at": a} for s, a in commits],
        }
    )


@pytest.fixture
def catalog(payments, environments):
    return payments


def shipped(sha):
    return set(CommitRecord.objects.filter(sha=sha).values_list("first_shipped_at", flat=True))


def test_first_shipped_follows_a_success_that_arrives_in_a_later_import(catalog):
    # A failed attempt first, then (another file) staging, then the production success.
    import_lines([line("d1", "failed", "2026-05-02T10:00:00Z", [(SHA_A, "2026-05-01T10:00:00Z")])])
    assert shipped(SHA_A) == {None}
    import_lines(
        [
            line(
                "d2",
                "succeeded",
                "2026-05-02T12:00:00Z",
                [(SHA_A, "2026-05-01T10:00:00Z")],
                "staging",
            ),
            line("d3", "succeeded", "2026-05-03T10:00:00Z", [(SHA_A, "2026-05-01T10:00:00Z")]),
        ]
    )
    # Every copy of the commit (failed, staging, production) knows when it first shipped.
    assert shipped(SHA_A) == {utc("2026-05-03T10:00:00")}
    # An earlier production success imported later still wins.
    import_lines(
        [line("d0", "succeeded", "2026-05-01T20:00:00Z", [(SHA_A, "2026-05-01T10:00:00Z")])]
    )
    assert shipped(SHA_A) == {utc("2026-05-01T20:00:00")}

    # Lead time counts the commit once (d0, d1 and d3 are production records in the period):
    # 10 h from authoring to the first production success.
    figures = dora(Filters(since=utc("2026-05-01").date(), until=utc("2026-05-04").date()))
    assert figures["lead_time_hours"] == {"median": 10.0, "p90": 10.0}


def test_the_same_sha_in_two_services_is_two_commits(catalog):
    from tests.factories import ServiceFactory

    ServiceFactory(slug="ledger", team=catalog.team)
    other = json.loads(
        line("l1", "succeeded", "2026-05-05T10:00:00Z", [(SHA_A, "2026-05-01T10:00:00Z")])
    )
    other["service"] = "ledger"
    import_lines(
        [
            line("p1", "succeeded", "2026-05-02T10:00:00Z", [(SHA_A, "2026-05-01T10:00:00Z")]),
            json.dumps(other),
        ]
    )
    assert dict(CommitRecord.objects.values_list("service__slug", "first_shipped_at")) == {
        "payments-api": utc("2026-05-02T10:00:00"),
        "ledger": utc("2026-05-05T10:00:00"),
    }
    figures = dora(Filters(since=utc("2026-05-01").date(), until=utc("2026-05-06").date()))
    # 24 h and 96 h: median 60, p90 = 24 + 0.9 * 72 = 88.8.
    assert figures["lead_time_hours"] == {"median": 60.0, "p90": 88.8}


def test_a_pipeline_sends_commits_and_the_production_success_gives_their_lead_time(
    api_client, pipeline, approved_release, env_list, bob, alice
):
    client = api_client(pipeline)
    # Promote through the earlier environments without commits.
    builders.promote_through(approved_release, env_list[:-1], bob)
    builders.ready_for_production(approved_release)
    authored = "2026-11-20T09:00:00Z"
    response = client.post(
        "/api/v1/deployments/",
        {
            "release": approved_release.key,
            "environment": "production",
            "commits": [
                {"sha": SHA_A, "authored_at": authored, "service": "payments-api"},
                {"sha": SHA_B, "authored_at": authored},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [c["sha"] for c in body["commits"]] == [SHA_A, SHA_B]
    deployment = Deployment.objects.get(pk=body["id"])
    assert [row["shipped_at"] for row in commit_rows(deployment)] == [None, None]  # declared

    lifecycle.record_event(deployment, bob, type="succeeded")
    deployment.refresh_from_db()
    record = DeploymentRecord.objects.get(deployment=deployment)
    assert sorted(record.commits.values_list("sha", flat=True)) == [SHA_A, SHA_B]
    assert shipped(SHA_A) == {deployment.finished_at}
    expected = round(
        (deployment.finished_at - utc("2026-11-20T09:00:00")).total_seconds() / 3600, 1
    )
    assert {row["lead_hours"] for row in commit_rows(deployment)} == {expected}

    # The deployment page lists them with their lead time.
    from django.test import Client

    web = Client()
    web.force_login(alice)
    page = web.get(reverse("deployment_detail", args=[deployment.pk])).content.decode()
    assert SHA_A[:10] in page and f"{expected} h" in page

    # Rolled back: the commits are no longer shipped (no other production success has them).
    lifecycle.record_event(deployment, bob, type="rolled_back")
    assert shipped(SHA_A) == {None}


@pytest.mark.parametrize(
    "commits, message",
    [
        ([{"sha": "not-a-sha", "authored_at": "2026-11-20T09:00:00Z"}], "SHA"),
        ([{"sha": SHA_A, "authored_at": "yesterday"}], "Datetime"),
        ([{"sha": SHA_A, "authored_at": "2026-11-20T09:00:00Z", "service": "ledger"}], "ledger"),
        ("a1b2c3d", "list"),
    ],
)
def test_bad_commits_are_refused_and_nothing_starts(
    api_client, pipeline, approved_release, environments, commits, message
):
    response = api_client(pipeline).post(
        "/api/v1/deployments/",
        {"release": approved_release.key, "environment": "dev", "commits": commits},
        format="json",
    )
    assert response.status_code == 400
    assert message.lower() in json.dumps(response.json()).lower()
    assert not Deployment.objects.exists()


def test_the_cli_reads_a_git_range(tmp_path):
    import subprocess

    from releasemgr.cli import CliError, git_commits

    def git(*args):
        subprocess.run(
            ["git", "-C", str(tmp_path), *args],
            check=True,
            capture_output=True,
            env={
                "GIT_AUTHOR_DATE": "2026-11-20T09:00:00+01:00",
                "GIT_COMMITTER_DATE": "2026-11-20T09:00:00+01:00",
                "GIT_AUTHOR_NAME": "t",
                "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t",
                "GIT_COMMITTER_EMAIL": "t@example.com",
                "HOME": str(tmp_path),
                "PATH": "/usr/bin:/bin",
            },
        )

    git("init", "-q")
    for n in range(3):
        git("commit", "-q", "--allow-empty", "-m", f"c{n}")
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        commits = git_commits("HEAD~2..HEAD", "payments-api")
        with pytest.raises(CliError, match="no-such-ref"):
            git_commits("no-such-ref..HEAD")
    finally:
        os.chdir(cwd)
    assert len(commits) == 2
    assert all(len(c["sha"]) == 40 and c["service"] == "payments-api" for c in commits)
    assert commits[0]["authored_at"] == "2026-11-20T09:00:00+01:00"
