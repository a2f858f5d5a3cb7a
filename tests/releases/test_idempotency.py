"""Idempotency-Key on pipeline POSTs: same key and body → same answer; other body → 422."""

import pytest

from releasemgr.idempotency import fingerprint
from releasemgr.models import IdempotentRequest
from releases.models import Deployment, DeploymentEvent, GateDecision

URL = "/api/v1/deployments/"


@pytest.fixture
def ci(api_client, pipeline):
    return api_client(pipeline)


def test_the_fingerprint_ignores_key_order_and_spacing():
    assert fingerprint({"a": 1, "b": [1, 2]}) == fingerprint({"b": [1, 2], "a": 1})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})


def test_a_repeated_start_with_the_same_body_gets_the_same_answer_and_no_second_record(
    ci, approved_release, environments
):
    body = {"release": approved_release.key, "environment": "dev", "commit": "abcdef1"}

    first = ci.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="run-7")
    again = ci.post(URL, {**body}, format="json", HTTP_IDEMPOTENCY_KEY="run-7")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert Deployment.objects.count() == 1
    stored = IdempotentRequest.objects.get()
    assert stored.endpoint == "deployments" and stored.status_code == 201
    assert stored.fingerprint == fingerprint(body)


def test_the_same_key_with_a_different_body_is_422_and_writes_nothing(
    ci, approved_release, environments
):
    ci.post(
        URL,
        {"release": approved_release.key, "environment": "dev"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="run-8",
    )
    gate_answers = GateDecision.objects.count()

    other = ci.post(
        URL,
        {"release": approved_release.key, "environment": "dev", "commit": "abcdef1"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="run-8",
    )

    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert "already used for a different request body" in other.json()["detail"]
    assert Deployment.objects.count() == 1
    assert GateDecision.objects.count() == gate_answers
    assert IdempotentRequest.objects.count() == 1


def test_a_refused_start_is_not_stored_so_a_retry_asks_the_gate_again(
    ci, approved_release, environments
):
    body = {"release": approved_release.key, "environment": "production"}

    first = ci.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="run-9")
    again = ci.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="run-9")

    assert (first.status_code, again.status_code) == (409, 409)
    assert not IdempotentRequest.objects.exists()
    # Every gate answer is kept, even though the requests wrote nothing else.
    assert GateDecision.objects.filter(purpose="deployment").count() == 2
    assert not Deployment.objects.exists()


def test_keys_belong_to_their_caller(api_client, pipeline, bob, approved_release, environments):
    body = {"release": approved_release.key, "environment": "dev"}
    api_client(pipeline).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    # bob's identical key is his own request: the gate sees the pipeline's deployment running.
    response = api_client(bob).post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 409
    assert Deployment.objects.count() == 1


def test_an_overlong_key_is_400(ci, approved_release, environments):
    response = ci.post(
        URL,
        {"release": approved_release.key, "environment": "dev"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k" * 101,
    )
    assert response.status_code == 400
    assert not Deployment.objects.exists()


def test_a_repeated_event_is_recorded_once(ci, approved_release, environments):
    deployment = ci.post(URL, {"release": approved_release.key, "environment": "dev"}).json()
    url = f"{URL}{deployment['id']}/events/"
    event = {"type": "node", "target": "web-1", "status": "ok", "message": "up"}

    first = ci.post(url, event, format="json", HTTP_IDEMPOTENCY_KEY="ev-1")
    again = ci.post(url, event, format="json", HTTP_IDEMPOTENCY_KEY="ev-1")
    other = ci.post(url, {**event, "target": "web-2"}, format="json", HTTP_IDEMPOTENCY_KEY="ev-1")

    assert (first.status_code, again.status_code, other.status_code) == (201, 201, 422)
    assert again.json() == first.json()
    assert DeploymentEvent.objects.count() == 1


def test_the_same_event_key_on_another_deployment_is_another_request(
    ci, approved_release, environments
):
    deployment = ci.post(URL, {"release": approved_release.key, "environment": "dev"}).json()
    url = f"{URL}{deployment['id']}/events/"
    ci.post(url, {"type": "succeeded"}, format="json", HTTP_IDEMPOTENCY_KEY="final")
    second = ci.post(URL, {"release": approved_release.key, "environment": "test"}).json()

    response = ci.post(
        f"{URL}{second['id']}/events/",
        {"type": "succeeded"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="final",
    )

    assert response.status_code == 201
    assert DeploymentEvent.objects.count() == 2
