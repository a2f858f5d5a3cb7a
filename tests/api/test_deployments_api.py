"""POST /api/v1/deployments/ and its events: what a pipeline does to ship a release."""

import pytest

from releases.models import Deployment, DeploymentEvent, GateDecision
from tests.releases import builders

URL = "/api/v1/deployments/"


def events_url(deployment_id):
    return f"{URL}{deployment_id}/events/"


@pytest.fixture
def ci(api_client, pipeline):
    return api_client(pipeline)


def test_the_pipeline_starts_a_deployment_of_an_approved_release(
    ci, approved_release, environments
):
    response = ci.post(
        URL,
        {
            "release": approved_release.key,
            "environment": "dev",
            "strategy": "canary",
            "pipeline_url": "https://ci.example.com/jobs/42",
            "commit": "0a1b2c3d",
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    deployment = Deployment.objects.get()
    assert body["id"] == deployment.pk
    assert body["release"] == approved_release.key
    assert body["environment"] == "dev"
    assert body["status"] == "running"
    assert body["strategy"] == "canary"
    assert body["started_by"] == "pipeline"
    assert body["gate_decision"] == str(deployment.gate_decision_id)
    approved_release.refresh_from_db()
    assert approved_release.state == "deploying"


def test_a_refused_deployment_is_409_with_the_failing_checks_and_the_refusal_is_kept(
    ci, submitted_release, environments
):
    response = ci.post(URL, {"release": submitted_release.key, "environment": "dev"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "gate_refused"
    assert body["status"] == "waiting"
    failing = [c["code"] for c in body["checks"] if not c["passed"]]
    assert failing == ["approved"]
    assert "approval" in body["detail"]
    assert not Deployment.objects.exists()
    refusal = GateDecision.objects.get(pk=body["decision_id"])
    assert (refusal.purpose, refusal.allowed, refusal.release) == (
        "deployment",
        False,
        submitted_release,
    )
    submitted_release.refresh_from_db()
    assert submitted_release.state == "submitted"


def test_a_deployment_during_a_freeze_is_refused_with_when_to_retry(
    ci, approved_release, environments
):
    from tests.factories import FreezeWindowFactory

    window = FreezeWindowFactory(name="Black Friday")

    response = ci.post(URL, {"release": approved_release.key, "environment": "dev"})

    assert response.status_code == 409
    assert response.json()["status"] == "waiting"
    assert response.json()["retry_after"] == window.end.isoformat()
    assert not Deployment.objects.exists()


def test_replaying_the_same_idempotency_key_returns_the_same_deployment(
    ci, approved_release, environments
):
    body = {"release": approved_release.key, "environment": "dev"}

    first = ci.post(URL, body, HTTP_IDEMPOTENCY_KEY="pipeline-run-991")
    again = ci.post(URL, body, HTTP_IDEMPOTENCY_KEY="pipeline-run-991")

    assert first.status_code == 201
    # The same answer: status code and body (see releasemgr/idempotency.py).
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Deployment.objects.count() == 1


def test_a_new_idempotency_key_is_a_new_request(ci, approved_release, environments):
    body = {"release": approved_release.key, "environment": "dev"}
    ci.post(URL, body, HTTP_IDEMPOTENCY_KEY="run-1")

    second = ci.post(URL, body, HTTP_IDEMPOTENCY_KEY="run-2")

    # A different key asks again, and the gate sees the first one still running.
    assert second.status_code == 409
    assert [c["code"] for c in second.json()["checks"] if not c["passed"]] == [
        "deployment_in_progress"
    ]
    assert Deployment.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"release": "REL-NOPE-0001", "environment": "dev"}, "release"),
        ({"environment": "dev"}, "release"),
        ({"release": None, "environment": "mars"}, "environment"),
        ({"release": None, "environment": "dev", "commit": "not-a-sha!"}, "commit"),
        ({"release": None, "environment": "dev", "strategy": "yolo"}, "strategy"),
    ],
)
def test_malformed_deployment_requests_are_400_and_write_nothing(
    ci, approved_release, environments, body, field
):
    if body.get("release", "") is None:
        body["release"] = approved_release.key

    response = ci.post(URL, body)

    assert response.status_code == 400
    assert field in response.json()
    assert not Deployment.objects.exists()
    assert not GateDecision.objects.filter(purpose="deployment").exists()


# --- events ------------------------------------------------------------------------------


@pytest.fixture
def staged(approved_release, bob, env_list):
    builders.promote_through(approved_release, env_list[:3], bob)
    return approved_release


def test_production_success_reported_by_the_pipeline_marks_the_release_deployed(
    ci, staged, environments
):
    started = ci.post(URL, {"release": staged.key, "environment": "production"})
    assert started.status_code == 201, started.json()
    deployment_id = started.json()["id"]

    node = ci.post(events_url(deployment_id), {"type": "node", "target": "eu-1", "status": "ok"})
    done = ci.post(events_url(deployment_id), {"type": "succeeded", "message": "all green"})

    assert node.status_code == 201
    assert done.status_code == 201
    assert done.json()["type"] == "succeeded"
    assert done.json()["actor"] == "pipeline"
    assert Deployment.objects.get(pk=deployment_id).status == "succeeded"
    staged.refresh_from_db()
    assert staged.state == "deployed"
    listed = ci.get(events_url(deployment_id)).json()
    assert [e["type"] for e in listed["results"]] == ["node", "succeeded"]


def test_a_production_rollback_marks_the_release_rolled_back(ci, staged, environments):
    deployment_id = ci.post(URL, {"release": staged.key, "environment": "production"}).json()["id"]

    response = ci.post(events_url(deployment_id), {"type": "rolled_back"})

    assert response.status_code == 201
    staged.refresh_from_db()
    assert staged.state == "rolled_back"


def test_reporting_success_twice_is_409_and_records_nothing(ci, approved_release, environments):
    deployment_id = ci.post(URL, {"release": approved_release.key, "environment": "dev"}).json()[
        "id"
    ]
    assert ci.post(events_url(deployment_id), {"type": "succeeded"}).status_code == 201

    again = ci.post(events_url(deployment_id), {"type": "succeeded"})

    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"
    assert "succeeded" in again.json()["detail"]
    assert DeploymentEvent.objects.filter(deployment_id=deployment_id).count() == 1


def test_an_unknown_event_type_is_400(ci, approved_release, environments):
    deployment_id = ci.post(URL, {"release": approved_release.key, "environment": "dev"}).json()[
        "id"
    ]

    response = ci.post(events_url(deployment_id), {"type": "exploded"})

    assert response.status_code == 400
    assert "type" in response.json()
    assert not DeploymentEvent.objects.exists()


def test_events_for_an_unknown_deployment_are_404(ci, db):
    assert ci.post(events_url(999999), {"type": "succeeded"}).status_code == 404


def test_deployments_are_listed_and_filtered_by_release_and_status(
    ci, approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:2], bob)
    builders.deploy(approved_release, env_list[2], bob)

    running = ci.get(URL, {"status": "running"}).json()
    by_release = ci.get(URL, {"release": approved_release.key}).json()

    assert [d["environment"] for d in running["results"]] == ["staging"]
    assert by_release["count"] == 3
