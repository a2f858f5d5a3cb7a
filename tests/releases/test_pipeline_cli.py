"""``python -m releasemgr.cli`` against a live server, in a subprocess, as a pipeline runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from metrics.models import Kpi, KpiSample
from releasemgr.models import ApiToken
from releases.models import Deployment, DeploymentEvent
from tests.releases import builders

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cli(live_server, pipeline):
    _token, key = ApiToken.issue(pipeline, "cli")

    def run(*args, token=key, url=None):
        env = {
            **os.environ,
            "RELEASEMGR_URL": url or live_server.url,
            "RELEASEMGR_TOKEN": token,
        }
        env.pop("RELEASEMGR_IDEMPOTENCY_KEY", None)
        return subprocess.run(
            [sys.executable, "-m", "releasemgr.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=60,
        )

    return run


def gate_args(env, version="1.4.2"):
    return ["gate", "--service", "payments-api", "--version", version, "--environment", env]


def test_gate_exits_0_when_allowed_and_prints_the_checks(cli, approved_release, environments):
    result = cli(*gate_args("dev"))

    assert result.returncode == 0, result.stderr
    assert "Gate: allowed for payments-api 1.4.2 → dev" in result.stdout
    assert "[ok  ] approved:" in result.stdout


def test_gate_exits_1_when_prevented(cli, approved_release, environments):
    result = cli(*gate_args("production"))

    assert result.returncode == 1
    assert "[FAIL] promotion_order:" in result.stdout


def test_gate_exits_2_while_waiting_after_the_wait(cli, submitted_release, environments):
    result = cli(*gate_args("dev"), "--wait", "1", "--interval", "1")

    assert result.returncode == 2
    assert result.stdout.count("Gate: waiting") == 2  # asked, waited, asked again
    assert "[FAIL] approved:" in result.stdout


def test_deploy_prints_the_id_and_a_retry_gets_the_same_deployment(
    cli, approved_release, environments
):
    args = [
        "deploy",
        "--release",
        approved_release.key,
        "--environment",
        "dev",
        "--commit",
        "abcdef12",
        "--pipeline-url",
        "https://ci.example.com/p/1",
        "--idempotency-key",
        "ci-run-1",
    ]

    first = cli(*args)
    again = cli(*args)

    deployment = Deployment.objects.get()
    assert first.returncode == again.returncode == 0, first.stderr
    assert first.stdout.strip() == again.stdout.strip() == str(deployment.pk)
    assert (deployment.commit, deployment.pipeline_url) == (
        "abcdef12",
        "https://ci.example.com/p/1",
    )


def test_deploy_exits_1_with_the_failing_checks_when_the_gate_refuses(
    cli, approved_release, environments
):
    result = cli("deploy", "--release", approved_release.key, "--environment", "production")

    assert result.returncode == 1
    assert "[FAIL] promotion_order:" in result.stderr
    assert not Deployment.objects.exists()


def test_deploy_sends_canary_steps(cli, approved_release, environments):
    result = cli(
        "deploy",
        "--release",
        approved_release.key,
        "--environment",
        "dev",
        "--strategy",
        "canary",
        "--canary-steps",
        "10:5, 100",
    )

    assert result.returncode == 0, result.stderr
    assert Deployment.objects.get().canary_steps == [
        {"percent": 10, "hold_minutes": 5},
        {"percent": 100, "hold_minutes": 0},
    ]


def test_event_reports_results_and_bad_input_exits_3(cli, approved_release, environments, bob):
    deployment = builders.deploy(approved_release, environments["dev"], bob)

    ok = cli(
        "event",
        "--deployment",
        str(deployment.pk),
        "--type",
        "node",
        "--target",
        "web-1",
        "--status",
        "ok",
    )
    bad = cli("event", "--deployment", str(deployment.pk), "--type", "explode")
    done = cli("event", "--deployment", str(deployment.pk), "--type", "succeeded")

    assert ok.returncode == 0 and "Recorded node web-1: ok." in ok.stdout
    assert bad.returncode == 3 and "HTTP 400" in bad.stderr and "type" in bad.stderr
    assert done.returncode == 0
    assert DeploymentEvent.objects.filter(deployment=deployment).count() == 2
    deployment.refresh_from_db()
    assert deployment.status == "succeeded"


def test_kpi_posts_a_sample(cli, environments, payments, alice):
    kpi = Kpi(service=payments, name="http_5xx_rate", kind="error_rate", unit="%")
    kpi.save_with_reason("test")

    result = cli(
        "kpi",
        "--service",
        "payments-api",
        "--kpi",
        "http_5xx_rate",
        "--environment",
        "dev",
        "--value",
        "0.4",
        "--unit",
        "%",
    )

    assert result.returncode == 0, result.stderr
    assert KpiSample.objects.get(kpi=kpi).value == 0.4


def test_advice_prints_the_advised_strategy(cli, approved_release, environments):
    result = cli("advice", "--release", approved_release.key, "--environment", "dev")

    assert result.returncode == 0, result.stderr
    assert "Advised strategy: rolling" in result.stdout


def test_usage_errors_and_missing_configuration_exit_3(cli, live_server, environments):
    assert cli("gate", "--service", "x").returncode == 3
    no_token = cli(*gate_args("dev"), token="")
    assert no_token.returncode == 3 and "RELEASEMGR_TOKEN" in no_token.stderr
    bad_token = cli(*gate_args("dev"), token="nope")
    assert bad_token.returncode == 3 and "HTTP 401" in bad_token.stderr
    unreachable = cli(*gate_args("dev"), url="http://127.0.0.1:9")
    assert unreachable.returncode == 3 and "Cannot reach" in unreachable.stderr
