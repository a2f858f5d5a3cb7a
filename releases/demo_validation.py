"""Demo quality gates and test results (run by ``seed_demo``; idempotent).

Staging's exit criteria: smoke tests all pass; p95 latency ≤ 300 ms and error rate ≤ 0.5 % at
≥ 80 % of production load (with an accepted assumption for shorter runs). Production: smoke
tests after a deployment. Every demo release that reached staging gets passing staging results
(so its production deployment is not stopped by a missing result), and the draft release a
performance run at 60 % load that passes only under the assumption. Development has no gates,
so the README's gate examples for dev are unchanged. Kept last in ``DEMO_AREAS``: releases that
later areas promote to production would otherwise wait for staging results.
"""

from releases import quality
from releases.choices import DeploymentStatus
from releases.models import Deployment, QualityGate, Release

STAGING = [
    {"metric": "smoke_failed", "op": "==", "threshold": 0},
    {"metric": "p95_latency_ms", "op": "<=", "threshold": 300},
    {"metric": "error_rate_percent", "op": "<=", "threshold": 0.5},
]
PRODUCTION = [{"metric": "smoke_failed", "op": "==", "threshold": 0}]
ASSUMPTION = (
    "Staging runs 4 of production's 10 nodes; latency at 60-80 % of the load was linear "
    "in the last three capacity tests."
)


def demo(users: dict, envs: dict) -> None:
    manager, reporter = users.get("release_manager"), users.get("deployer")
    staging, production = envs.get("staging"), envs.get("production")
    if QualityGate.objects.exists() or None in (manager, reporter, staging, production):
        return
    quality.save_gate(
        QualityGate(
            environment=staging,
            name="Staging exit criteria",
            description="What a release must show in staging before production.",
            criteria=STAGING,
            min_load_ratio=0.8,
            load_assumption=ASSUMPTION,
        ),
        manager,
        "demo",
    )
    quality.save_gate(
        QualityGate(
            environment=production,
            name="Production smoke",
            description="Smoke tests right after a production deployment.",
            criteria=PRODUCTION,
        ),
        manager,
        "demo",
    )
    deployed = Deployment.objects.filter(status=DeploymentStatus.SUCCEEDED).select_related(
        "release", "environment"
    )
    for deployment in deployed.order_by("finished_at", "pk"):
        release, env = deployment.release, deployment.environment
        if env.pk == staging.pk:
            _report(release, env, reporter, p95=212, load=0.85)
        elif env.pk == production.pk:
            quality.report_result(release, env, reporter, suite="smoke", status="passed", passed=18)
    draft = Release.objects.filter(state="draft").order_by("pk").first()
    if draft is not None:
        _report(draft, staging, reporter, p95=268, load=0.6)


def _report(release, environment, user, *, p95: float, load: float) -> None:
    quality.report_result(
        release, environment, user, suite="smoke", status="passed", passed=42, kind="pytest"
    )
    quality.report_result(
        release,
        environment,
        user,
        suite="performance",
        kind="k6",
        status="passed",
        metrics={"p95_latency_ms": p95, "error_rate_percent": 0.2, "throughput_rps": 850},
        load_ratio=load,
        passed=3,
    )
