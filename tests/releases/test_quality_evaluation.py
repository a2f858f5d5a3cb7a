"""Quality gates: criteria validation, evaluation (pass / fail / missing / load shortfall) and
the deployment gate's ``quality_gates`` check."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from releasemgr.decisions import NotPermitted
from releases import gate, quality
from releases.models import QualityGate, TestResult

SMOKE = [{"metric": "smoke_failed", "op": "==", "threshold": 0}]
PERF = [
    {"metric": "p95_latency_ms", "op": "<=", "threshold": 300},
    {"metric": "error_rate_percent", "op": "<=", "threshold": 0.5},
]


def make_gate(environment, criteria, **kwargs):
    g = QualityGate(environment=environment, name=kwargs.pop("name", "Gate"), criteria=criteria)
    for key, value in kwargs.items():
        setattr(g, key, value)
    g.full_clean()
    g.save()
    return g


def post(release, environment, user, suite, status="passed", minutes_ago=0, **fields):
    result, created = quality.report_result(
        release, environment, user, suite=suite, status=status, **fields
    )
    if minutes_ago:
        TestResult.objects.filter(pk=result.pk).update(
            reported_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
    return result


def verdicts(decision):
    return [r.data["verdict"] for r in decision.reasons]


# --- criteria validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("criteria", "words"),
    [
        ([{"metric": "happiness", "op": "<=", "threshold": 1}], "unknown metric 'happiness'"),
        ([{"metric": "p95_latency_ms", "op": "=<", "threshold": 1}], "unknown operator '=<'"),
        ([{"metric": "p95_latency_ms", "op": "<=", "threshold": "300"}], "must be a number"),
        ([{"metric": "p95_latency_ms", "op": "<=", "threshold": True}], "must be a number"),
        ([{"metric": "p95_latency_ms", "op": "<=", "threshold": 3, "colour": 1}], "unknown keys"),
        ({"metric": "p95_latency_ms"}, "must be a list"),
        ([], "at least one exit criterion"),
    ],
)
def test_a_gate_with_bad_criteria_is_refused_with_a_clear_message(environments, criteria, words):
    g = QualityGate(environment=environments["staging"], name="Perf", criteria=criteria)

    with pytest.raises(ValidationError) as caught:
        g.full_clean()

    assert words in " ".join(caught.value.message_dict["criteria"])


def test_saving_a_gate_with_an_unknown_metric_writes_nothing(alice, environments):
    g = QualityGate(
        environment=environments["staging"],
        name="Perf",
        criteria=[{"metric": "vibes", "op": ">", "threshold": 1}],
    )

    with pytest.raises(quality.InvalidInput) as caught:
        quality.save_gate(g, alice)

    assert "unknown metric 'vibes'" in caught.value.message
    assert not QualityGate.objects.exists()


def test_a_developer_may_not_edit_quality_gates(dave, environments):
    g = QualityGate(environment=environments["staging"], name="Smoke", criteria=SMOKE)

    with pytest.raises(NotPermitted):
        quality.save_gate(g, dave)

    assert not QualityGate.objects.exists()


# --- evaluation ------------------------------------------------------------------------------


def test_no_results_yet_means_the_gate_waits_for_the_suite(draft_release, environments):
    make_gate(environments["staging"], SMOKE)

    decision = quality.evaluate(draft_release, environments["staging"])

    assert verdicts(decision) == ["missing"]
    assert decision.reasons[0].waits
    assert "waiting for smoke results" in decision.reasons[0].message


def test_passing_and_failing_smoke_results_pass_and_fail_the_criterion(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, SMOKE)
    post(draft_release, staging, pipeline, "smoke", "passed", passed=12, minutes_ago=10)
    assert verdicts(quality.evaluate(draft_release, staging)) == ["pass"]

    post(draft_release, staging, pipeline, "smoke", "failed", passed=11, failed=1)
    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["fail"]
    assert not decision.reasons[0].waits
    assert (
        "Smoke tests failed 1, but the gate needs Smoke tests failed = 0"
        in decision.reasons[0].message
    )


def test_only_the_latest_result_of_a_suite_counts(draft_release, environments, pipeline):
    staging = environments["staging"]
    make_gate(staging, SMOKE)
    post(draft_release, staging, pipeline, "smoke", "failed", failed=3, minutes_ago=30)
    post(draft_release, staging, pipeline, "smoke", "passed", passed=12)

    assert verdicts(quality.evaluate(draft_release, staging)) == ["pass"]


def test_results_of_another_environment_or_release_do_not_count(
    draft_release, environments, pipeline
):
    make_gate(environments["staging"], SMOKE)
    post(draft_release, environments["test"], pipeline, "smoke", "passed", passed=3)

    assert verdicts(quality.evaluate(draft_release, environments["staging"])) == ["missing"]


def test_a_performance_run_over_the_latency_threshold_fails_naming_the_value(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, PERF, min_load_ratio=0.8)
    metrics = {"p95_latency_ms": 420, "error_rate_percent": 0.2}
    post(draft_release, staging, pipeline, "performance", metrics=metrics, load_ratio=0.9)

    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["fail", "pass"]
    assert (
        "p95 latency 420 ms, but the gate needs p95 latency ≤ 300 ms" in decision.reasons[0].message
    )


def test_a_run_below_the_required_load_fails_as_a_load_shortfall(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, PERF, min_load_ratio=0.8)
    metrics = {"p95_latency_ms": 210, "error_rate_percent": 0.1}
    post(draft_release, staging, pipeline, "performance", metrics=metrics, load_ratio=0.5)

    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["fail", "fail"]
    assert "at 50% of production load: load shortfall, the gate needs ≥ 80%" in (
        decision.reasons[0].message
    )
    assert decision.reasons[0].data["shortfall"] == 0.5


def test_a_load_shortfall_with_an_accepted_assumption_passes_and_records_both(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    assumption = "Staging has half the nodes; latency scales linearly."
    make_gate(staging, PERF, min_load_ratio=0.8, load_assumption=assumption)
    metrics = {"p95_latency_ms": 210, "error_rate_percent": 0.1}
    post(draft_release, staging, pipeline, "performance", metrics=metrics, load_ratio=0.5)

    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["pass", "pass"]
    reason = decision.reasons[0]
    assert reason.data["shortfall"] == 0.5
    assert reason.data["assumption"] == assumption
    assert "below the 80% asked; accepted assumption: Staging has half the nodes" in reason.message


def test_a_run_that_reports_no_load_fails_a_gate_that_asks_for_one(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, PERF[:1], min_load_ratio=0.8)
    post(draft_release, staging, pipeline, "performance", metrics={"p95_latency_ms": 100})

    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["fail"]
    assert "unreported load" in decision.reasons[0].message


def test_a_result_without_the_metric_fails_the_criterion(draft_release, environments, pipeline):
    staging = environments["staging"]
    make_gate(staging, PERF[:1])
    post(draft_release, staging, pipeline, "performance", metrics={"throughput_rps": 900})

    decision = quality.evaluate(draft_release, staging)

    assert verdicts(decision) == ["fail"]
    assert "reports no p95 latency" in decision.reasons[0].message


def test_an_inactive_gate_is_not_evaluated(draft_release, environments):
    make_gate(environments["staging"], SMOKE, active=False)

    assert quality.evaluate(draft_release, environments["staging"]).reasons == []


# --- the deployment gate's check ---------------------------------------------------------------


def test_the_check_passes_saying_so_when_no_gates_apply(draft_release, environments):
    reason = quality.check_quality_gates(draft_release, environments["production"])

    assert reason.passed
    assert reason.code == "quality_gates"
    assert "No quality gates apply before Production" in reason.message


def test_the_check_for_production_uses_the_exit_criteria_of_staging(
    draft_release, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, SMOKE, name="Smoke")
    make_gate(environments["production"], SMOKE, name="Production smoke")

    waiting = quality.check_quality_gates(draft_release, environments["production"])
    assert not waiting.passed and waiting.waits
    assert "Smoke (Staging): waiting for smoke results" in waiting.message
    assert quality.check_quality_gates(draft_release, environments["staging"]).passed

    post(draft_release, staging, pipeline, "smoke", "failed", failed=2)
    failed = quality.check_quality_gates(draft_release, environments["production"])
    assert not failed.passed and not failed.waits

    post(draft_release, staging, pipeline, "smoke", "passed", passed=5)
    passed = quality.check_quality_gates(draft_release, environments["production"])
    assert passed.passed
    assert "Exit criteria met in Staging: 1 of 1 pass" in passed.message


def test_a_failed_staging_gate_prevents_a_production_deployment_at_the_gate(
    approved_release, payments, environments, pipeline
):
    staging = environments["staging"]
    make_gate(staging, SMOKE)
    post(approved_release, staging, pipeline, "smoke", "failed", failed=1)

    result = gate.ask(payments, "1.4.2", environments["production"], pipeline)

    check = next(c for c in result.checks if c["code"] == "quality_gates")
    assert result.status == "prevented"
    assert not check["passed"]
    assert "Smoke tests failed 1" in check["message"]


def test_a_missing_result_alone_makes_the_gate_wait(
    approved_release, payments, environments, pipeline
):
    make_gate(environments["dev"], SMOKE)

    result = gate.ask(payments, "1.4.2", environments["test"], pipeline)

    failing = [c["code"] for c in result.checks if not c["passed"]]
    assert "quality_gates" in failing
    assert result.status in ("waiting", "prevented")  # promotion order fails too
    assert quality.check_quality_gates(approved_release, environments["test"]).waits
