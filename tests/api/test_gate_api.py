"""POST /api/v1/gate/: the contract pipelines rely on (DESIGN.md "The deployment gate")."""

from datetime import datetime

import pytest

from releases.models import GateDecision
from scheduling.models import Region
from tests.factories import FreezeWindowFactory
from tests.releases import builders

URL = "/api/v1/gate/"
CONTRACT_KEYS = {"status", "allowed", "decision_id", "release", "checks", "retry_after"}


@pytest.fixture
def ci(api_client, pipeline):
    return api_client(pipeline)


def test_an_allowed_answer_has_exactly_the_contract_shape(ci, approved_release, environments):
    response = ci.post(URL, {"service": "payments-api", "version": "1.4.2", "environment": "dev"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONTRACT_KEYS
    assert body["status"] == "allowed"
    assert body["allowed"] is True
    assert body["release"] == approved_release.key
    assert body["retry_after"] is None
    assert body["checks"]
    for check in body["checks"]:
        assert {"code", "passed", "message"} <= set(check)
        assert isinstance(check["passed"], bool)
        assert check["message"]
    stored = GateDecision.objects.get(pk=body["decision_id"])
    assert stored.allowed
    assert stored.requested_by.username == "pipeline"


def test_a_waiting_answer_says_when_to_ask_again(ci, approved_release, environments):
    window = FreezeWindowFactory(name="Month-end close")

    body = ci.post(
        URL, {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    ).json()

    assert (body["status"], body["allowed"]) == ("waiting", False)
    assert datetime.fromisoformat(body["retry_after"]) == window.end
    freeze = next(c for c in body["checks"] if c["code"] == "freeze_window")
    assert freeze["passed"] is False
    assert "Month-end close" in freeze["message"]


def test_an_unknown_version_is_a_well_formed_question_answered_prevented(
    ci, payments, environments
):
    response = ci.post(
        URL, {"service": "payments-api", "version": "3.0.0", "environment": "production"}
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["allowed"], body["release"]) == ("prevented", False, None)
    assert body["checks"][0]["code"] == "release_found"
    assert GateDecision.objects.filter(pk=body["decision_id"]).exists()


def test_the_author_is_prevented_from_production_through_the_api(
    api_client, dave, approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)

    body = (
        api_client(dave)
        .post(URL, {"service": "payments-api", "version": "1.4.2", "environment": "production"})
        .json()
    )

    assert body["status"] == "prevented"
    assert [c["code"] for c in body["checks"] if not c["passed"]] == ["segregation_of_duties"]


def test_the_region_is_recorded_with_the_answer(ci, approved_release, environments):
    Region.objects.create(code="eu-west", name="EU West", timezone="Europe/Dublin")
    body = ci.post(
        URL,
        {"service": "payments-api", "version": "1.4.2", "environment": "dev", "region": "eu-west"},
    ).json()

    assert GateDecision.objects.get(pk=body["decision_id"]).region == "eu-west"


def test_an_unknown_region_is_a_400_and_nothing_is_recorded(ci, approved_release, environments):
    response = ci.post(
        URL,
        {"service": "payments-api", "version": "1.4.2", "environment": "dev", "region": "mars"},
    )

    assert response.status_code == 400
    assert "region" in response.json()
    assert not GateDecision.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service": "ghost-api", "version": "1.4.2", "environment": "dev"}, "service"),
        ({"service": "payments-api", "version": "banana", "environment": "dev"}, "version"),
        ({"service": "payments-api", "version": "1.4.2"}, "environment"),
        ({"service": "payments-api", "version": "1.4.2", "environment": "moon"}, "environment"),
        ({"version": "1.4.2", "environment": "dev"}, "service"),
    ],
    ids=[
        "unknown service",
        "bad version",
        "missing environment",
        "unknown environment",
        "no service",
    ],
)
def test_a_malformed_question_is_400_with_field_errors_and_not_recorded(
    ci, approved_release, environments, body, field
):
    response = ci.post(URL, body)

    assert response.status_code == 400
    errors = response.json()
    assert field in errors
    assert errors[field][0]
    assert not GateDecision.objects.exists()


def test_a_bad_version_error_says_what_a_version_looks_like(ci, payments, environments):
    response = ci.post(URL, {"service": "payments-api", "version": "banana", "environment": "dev"})

    assert "1.4.2" in response.json()["version"][0]


def test_asking_without_a_token_is_401_and_not_recorded(api_client, payments, environments):
    response = api_client().post(
        URL, {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    )

    assert response.status_code == 401
    assert not GateDecision.objects.exists()


def test_a_cab_member_may_not_ask_the_gate(api_client, carol, payments, environments):
    response = api_client(carol).post(
        URL, {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    )

    assert response.status_code == 403
    assert not GateDecision.objects.exists()


def test_recorded_answers_are_listed_with_their_checks(ci, submitted_release, environments):
    decision_id = ci.post(
        URL, {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    ).json()["decision_id"]

    listed = ci.get("/api/v1/gate-decisions/", {"release": submitted_release.key}).json()

    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["id"] == decision_id
    assert row["status"] == "waiting"
    assert row["requested_by"] == "pipeline"
    assert [c["code"] for c in row["checks"]][:2] == ["release_found", "approved"]
