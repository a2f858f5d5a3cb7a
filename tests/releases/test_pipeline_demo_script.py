"""docs/pipeline-demo.sh runs end to end against a live server with the seeded demo data."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from metrics.models import KpiSample
from releasemgr.models import ApiToken, IdempotentRequest
from releases.models import Deployment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db(transaction=True)
def test_the_pipeline_demo_script_ships_the_catalog_release_to_dev(live_server):
    call_command("seed_demo", stdout=StringIO())
    deployer = get_user_model().objects.get(username="deployer")
    _token, key = ApiToken.issue(deployer, "demo script")
    env = {
        **os.environ,
        "RELEASEMGR_URL": live_server.url,
        "RELEASEMGR_TOKEN": key,
        "PYTHON": sys.executable,
    }

    def run():
        return subprocess.run(
            ["bash", "docs/pipeline-demo.sh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    result = run()

    assert result.returncode == 0, result.stdout + result.stderr
    deployment = Deployment.objects.get(commit="3f9c2ab7e41d")
    assert deployment.release.release_services.filter(
        service__slug="catalog-service", version="3.1.0"
    ).exists()
    assert (deployment.environment.slug, deployment.status) == ("dev", "succeeded")
    assert deployment.started_by == deployer
    assert deployment.change_record is not None
    assert {e.type for e in deployment.events.all()} >= {"node", "smoke", "succeeded"}
    assert "Gate: allowed for catalog-service 3.1.0 → dev" in result.stdout
    assert "Advised strategy:" in result.stdout
    assert f"Deployment id: {deployment.pk}" in result.stdout
    assert "KPI catalog-service:http_5xx_rate = 0.21 recorded in dev." in result.stdout

    # Running it again changes nothing: the same answers come back for the same keys.
    events = deployment.events.count()
    again = run()
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Deployment id: {deployment.pk}" in again.stdout
    assert Deployment.objects.filter(commit="3f9c2ab7e41d").count() == 1
    assert deployment.events.count() == events
    # deploy, node, smoke, succeeded and the two KPI samples: each recorded once.
    assert IdempotentRequest.objects.filter(user=deployer).count() == 7
    assert KpiSample.objects.filter(source="pipeline-demo").count() == 2
