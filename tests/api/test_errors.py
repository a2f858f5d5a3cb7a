"""Errors a script can act on: the status code, a readable detail, and nothing half-written."""

import pytest

from releases.models import GateDecision, Release, ScopeItem
from tests.factories import ReleaseFactory
from tests.releases import builders


def test_an_unknown_release_is_404_with_a_detail(api_client, audrey, db):
    response = api_client(audrey).get("/api/v1/releases/REL-1900-0001/")

    assert response.status_code == 404
    assert response.json()["detail"]


def test_a_refused_transition_is_409_with_code_detail_and_the_failed_check(
    api_client, carol, draft_release
):
    body = api_client(carol).post(f"/api/v1/releases/{draft_release.key}/approve/").json()

    assert body["code"] == "illegal_transition"
    assert body["detail"].startswith(f"Cannot approve {draft_release.key}: it is draft")
    assert body["checks"] == [
        {"code": "state", "passed": False, "message": f"{draft_release.key} is draft."}
    ]


def test_a_segregation_refusal_is_403_and_names_the_rule(api_client, alice, carol, payments):
    own = ReleaseFactory(author=carol, services=[(payments, "2.0.0")])
    builders.submit(own, alice)

    response = api_client(carol).post(f"/api/v1/releases/{own.key}/approve/")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_permitted"
    assert "segregation_of_duties" in [c["code"] for c in body["checks"] if not c["passed"]]


def test_deleting_a_release_the_gate_has_answered_about_is_409_protected(
    api_client, alice, pipeline, draft_release, environments
):
    # The pipeline asked about the draft's version: that answer is audit evidence.
    api_client(pipeline).post(
        "/api/v1/gate/", {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    )

    response = api_client(alice).delete(f"/api/v1/releases/{draft_release.key}/")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "protected"
    assert body["detail"] == "Cannot delete: other records still refer to it."
    assert Release.objects.filter(pk=draft_release.pk).exists()
    assert draft_release.release_services.count() == 1
    assert GateDecision.objects.filter(release=draft_release).count() == 1


def test_a_body_that_is_not_json_is_400(api_client, dave, db):
    response = api_client(dave).post(
        "/api/v1/releases/", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]
    assert not Release.objects.exists()


def test_a_method_an_endpoint_does_not_have_is_405(api_client, pipeline, db):
    response = api_client(pipeline).get("/api/v1/gate/")

    assert response.status_code == 405


def test_adding_scope_to_a_submitted_release_is_409_and_writes_nothing(
    api_client, paula, submitted_release
):
    response = api_client(paula).post(
        "/api/v1/scope-items/", {"release": submitted_release.key, "title": "Late addition"}
    )

    assert response.status_code == 409
    assert "withdraw it first" in response.json()["detail"]
    assert not ScopeItem.objects.exists()


def test_deferring_scope_without_a_reason_is_400(api_client, paula, draft_release):
    response = api_client(paula).post(
        "/api/v1/scope-items/",
        {"release": draft_release.key, "title": "Refunds", "decision": "deferred"},
    )

    assert response.status_code == 400
    assert response.json()["rationale"] == ["Say why the item is deferred or removed."]
    assert not ScopeItem.objects.exists()


@pytest.mark.parametrize("page", ["0", "99", "abc"])
def test_a_page_that_does_not_exist_is_404(api_client, audrey, draft_release, page):
    assert api_client(audrey).get("/api/v1/releases/", {"page": page}).status_code == 404


def test_the_database_is_usable_after_a_refused_deployment_in_the_same_transaction(
    api_client, pipeline, submitted_release, environments
):
    # A refused deployment keeps its GateDecision; the error handler must not poison the
    # caller's transaction (the test's, here; a management command's or task's elsewhere).
    response = api_client(pipeline).post(
        "/api/v1/deployments/", {"release": submitted_release.key, "environment": "dev"}
    )

    assert response.status_code == 409
    assert GateDecision.objects.filter(purpose="deployment").count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/releases/REL%00X/quality/",
        "/api/v1/releases/REL%00X/risk/",
        "/api/v1/releases/REL%00X/policy/",
        "/api/v1/releases/REL X/rollback/",
    ],
)
def test_a_release_key_with_characters_no_key_has_answers_404_not_a_server_error(
    api_client, alice, path
):
    # PostgreSQL refuses NUL bytes in a query: such keys must never reach the database.
    response = api_client(alice).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
