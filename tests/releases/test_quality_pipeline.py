"""A pipeline, with its API token, posts smoke and performance results for staging, then asks
the deployment gate about production and reads the ``quality_gates`` check."""

from releases import quality
from releases.models import QualityGate


def quality_check(client, version="1.4.2"):
    response = client.post(
        "/api/v1/gate/",
        {"service": "payments-api", "version": version, "environment": "production"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    return next(c for c in response.json()["checks"] if c["code"] == "quality_gates")


def test_the_pipeline_posts_results_and_the_gate_reads_them(
    api_client, pipeline, alice, approved_release, environments
):
    gate = QualityGate(
        environment=environments["staging"],
        name="Staging exit",
        criteria=[
            {"metric": "smoke_failed", "op": "==", "threshold": 0},
            {"metric": "p95_latency_ms", "op": "<=", "threshold": 300},
            {"metric": "error_rate_percent", "op": "<=", "threshold": 0.5},
        ],
        min_load_ratio=0.8,
    )
    quality.save_gate(gate, alice)
    client = api_client(pipeline)

    def post(**data):
        payload = {"service": "payments-api", "version": "1.4.2", "environment": "staging"}
        response = client.post("/api/v1/test-results/", {**payload, **data}, format="json")
        assert response.status_code == 201, response.json()

    check = quality_check(client)
    assert not check["passed"]
    assert "waiting for smoke results" in check["message"]

    post(suite="smoke", status="passed", passed=24)
    post(
        suite="performance",
        status="passed",
        metrics={"p95_latency_ms": 380, "error_rate_percent": 0.2},
        load_ratio=0.85,
    )
    check = quality_check(client)
    assert not check["passed"]
    assert "p95 latency 380 ms, but the gate needs p95 latency ≤ 300 ms" in check["message"]

    post(
        suite="performance",
        status="passed",
        metrics={"p95_latency_ms": 240, "error_rate_percent": 0.2},
        load_ratio=0.6,
    )
    check = quality_check(client)
    assert not check["passed"]
    assert "load shortfall" in check["message"]

    post(
        suite="performance",
        status="passed",
        metrics={"p95_latency_ms": 240, "error_rate_percent": 0.2},
        load_ratio=0.9,
    )
    check = quality_check(client)
    assert check["passed"], check["message"]
    assert "Exit criteria met in Staging: 3 of 3 pass" in check["message"]
