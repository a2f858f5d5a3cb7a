"""``/api/v1/test-results/``, ``/api/v1/quality-gates/`` and ``/api/v1/releases/{key}/quality/``."""

import pytest

from releases.models import QualityGate, TestResult
from tests.factories import ReleaseFactory

SMOKE = [{"metric": "smoke_failed", "op": "==", "threshold": 0}]


def body(release, **extra):
    return {
        "release": release.key,
        "environment": "staging",
        "suite": "smoke",
        "status": "passed",
        "passed": 12,
        **extra,
    }


def test_a_pipeline_posts_a_result_by_release_key(
    api_client, pipeline, draft_release, environments
):
    response = api_client(pipeline).post(
        "/api/v1/test-results/", body(draft_release), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["release"] == draft_release.key
    assert response.json()["reported_by"] == "pipeline"
    assert TestResult.objects.get().history.first().history_user == pipeline


def test_a_pipeline_posts_a_result_by_service_and_version(
    api_client, pipeline, draft_release, environments
):
    data = body(draft_release, service="payments-api", version="1.4.2")
    del data["release"]

    response = api_client(pipeline).post("/api/v1/test-results/", data, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["release"] == draft_release.key
    assert response.json()["service"] == "payments-api"


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"environment": "mars"}, "environment", "No environment 'mars'"),
        ({"release": "REL-1999-0001"}, "release", "No release 'REL-1999-0001'"),
        ({"metrics": {"p95_latency_ms": "fast"}}, "metrics", "is not a number"),
        ({"metrics": {"p95_latency_ms": True}}, "metrics", "is not a number"),
        ({"metrics": [1, 2]}, "metrics", "must be an object"),
        ({"status": "green"}, "status", "not a valid choice"),
        ({"suite": "Smoke Tests!"}, "suite", "short lower-case name"),
        ({"failed": -1}, "failed", "greater than or equal to 0"),
        ({"service": "payments-api", "version": "9.9.9", "release": None}, "version", "No release"),
    ],
)
def test_bad_input_answers_400_naming_the_field_and_writes_nothing(
    api_client, pipeline, draft_release, environments, extra, field, words
):
    data = {k: v for k, v in {**body(draft_release), **extra}.items() if v is not None}

    response = api_client(pipeline).post("/api/v1/test-results/", data, format="json")

    assert response.status_code == 400
    assert words in " ".join(map(str, response.json()[field]))
    assert not TestResult.objects.exists()


def test_a_result_for_a_service_the_release_does_not_ship_is_refused(
    api_client, pipeline, draft_release, environments
):
    other = ReleaseFactory(name="Other", services=[])
    from tests.factories import ServiceFactory

    ServiceFactory(slug="search")
    data = body(draft_release, service="search")
    del other

    response = api_client(pipeline).post("/api/v1/test-results/", data, format="json")

    assert response.status_code == 400
    assert "does not ship search" in response.json()["service"][0]
    assert not TestResult.objects.exists()


def test_a_repeated_idempotency_key_returns_the_first_result(
    api_client, pipeline, draft_release, environments
):
    client = api_client(pipeline)
    first = client.post(
        "/api/v1/test-results/", body(draft_release), format="json", HTTP_IDEMPOTENCY_KEY="run-7"
    )
    again = client.post(
        "/api/v1/test-results/",
        body(draft_release, status="failed"),
        format="json",
        HTTP_IDEMPOTENCY_KEY="run-7",
    )

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["status"] == "passed"
    assert TestResult.objects.count() == 1


@pytest.mark.parametrize(
    ("persona", "code"), [("bob", 201), ("alice", 201), ("dave", 403), ("audrey", 403)]
)
def test_who_may_post_test_results(api_client, request, draft_release, environments, persona, code):
    user = request.getfixturevalue(persona)

    response = api_client(user).post("/api/v1/test-results/", body(draft_release), format="json")

    assert response.status_code == code


def test_results_are_filtered_by_release_environment_suite_and_status(
    api_client, pipeline, draft_release, environments
):
    client = api_client(pipeline)
    client.post("/api/v1/test-results/", body(draft_release), format="json")
    client.post(
        "/api/v1/test-results/",
        body(draft_release, suite="performance", status="failed", environment="test"),
        format="json",
    )

    def ids(query):
        response = client.get(f"/api/v1/test-results/?{query}")
        assert response.status_code == 200, response.json()
        return [r["suite"] for r in response.json()["results"]]

    assert ids(f"release={draft_release.key}") == ["performance", "smoke"]
    assert ids("environment=staging") == ["smoke"]
    assert ids("suite=performance") == ["performance"]
    assert ids("status=failed") == ["performance"]
    assert client.get("/api/v1/test-results/?environment=mars").status_code == 400


def test_the_release_manager_creates_a_gate_and_bad_criteria_are_refused(
    api_client, alice, environments
):
    client = api_client(alice)
    good = {"environment": "staging", "name": "Smoke", "criteria": SMOKE}
    bad = {
        "environment": "staging",
        "name": "Perf",
        "criteria": [{"metric": "speed", "op": "<=", "threshold": 300}],
    }

    created = client.post("/api/v1/quality-gates/", good, format="json")
    refused = client.post("/api/v1/quality-gates/", bad, format="json")

    assert created.status_code == 201, created.json()
    assert refused.status_code == 400
    assert "unknown metric 'speed'" in refused.json()["criteria"][0]
    assert list(QualityGate.objects.values_list("name", flat=True)) == ["Smoke"]


def test_a_developer_may_not_create_a_gate(api_client, dave, environments):
    response = api_client(dave).post(
        "/api/v1/quality-gates/",
        {"environment": "staging", "name": "Smoke", "criteria": SMOKE},
        format="json",
    )

    assert response.status_code == 403
    assert not QualityGate.objects.exists()


def test_the_release_quality_endpoint_evaluates_each_criterion(
    api_client, alice, pipeline, draft_release, environments
):
    QualityGate.objects.create(environment=environments["staging"], name="Smoke", criteria=SMOKE)
    api_client(pipeline).post(
        "/api/v1/test-results/", body(draft_release, status="failed", failed=2), format="json"
    )

    response = api_client(alice).get(
        f"/api/v1/releases/{draft_release.key}/quality/?environment=staging"
    )
    everywhere = api_client(alice).get(f"/api/v1/releases/{draft_release.key}/quality/")
    production = api_client(alice).get(
        f"/api/v1/releases/{draft_release.key}/quality/?environment=production"
    )

    assert response.status_code == 200
    row = response.json()["environments"][0]
    assert row["status"] == "failed"
    assert row["checks"][0]["data"]["verdict"] == "fail"
    assert [r["environment"] for r in everywhere.json()["environments"]] == ["staging"]
    assert production.json()["deploy_check"]["passed"] is False
    unknown = api_client(alice).get(f"/api/v1/releases/{draft_release.key}/quality/?environment=x")
    assert unknown.status_code == 400


def test_the_results_list_costs_the_same_queries_at_two_sizes(
    api_client, pipeline, draft_release, environments, django_assert_max_num_queries
):
    client = api_client(pipeline)

    def fill(count):
        for n in range(count):
            client.post("/api/v1/test-results/", body(draft_release, passed=n), format="json")

    fill(2)
    with django_assert_max_num_queries(5):
        assert client.get("/api/v1/test-results/").status_code == 200
    fill(10)
    with django_assert_max_num_queries(5):
        assert client.get("/api/v1/test-results/").status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/quality-gates/").status_code == 200
