"""End to end in a real browser: a pipeline posts a failing smoke result for staging through
the API with its token; alice (release manager) opens the release's Validation tab and sees
the failed quality gate, the criterion that failed and the result; the gate (asked by the
pipeline) keeps the release out of production with ``quality_gates`` failing. Screenshots land
in test-artifacts/.
"""

import json

import pytest
from playwright.sync_api import expect

from releasemgr.models import ApiToken
from releasemgr.roles import CAB_MEMBER, DEVELOPER, PIPELINE, RELEASE_MANAGER
from releases import quality
from releases.models import QualityGate, TestResult
from tests.conftest import PASSWORD, make_user
from tests.factories import EnvironmentFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("user-menu")).to_have_text(username)


def wait_for_tab(page, name):
    page.wait_for_function(
        "n => { const el = document.getElementById(n + '-pane');"
        " return el && el.classList.contains('show') && getComputedStyle(el).opacity === '1'; }",
        arg=name,
    )


def test_release_manager_sees_a_failed_quality_gate_after_a_pipeline_posts_a_failing_result(
    live_server, page, screenshot
):
    alice = make_user("alice", RELEASE_MANAGER)
    erin = make_user("erin", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    pipeline = make_user("pipeline", PIPELINE)
    team = TeamFactory(slug="payments", name="Payments")
    payments = ServiceFactory(slug="payments-api", name="Payments API", team=team)
    envs = {
        slug: EnvironmentFactory(
            slug=slug, name=slug.title(), order=order, is_production=slug == "production"
        )
        for order, slug in enumerate(["dev", "test", "staging", "production"], start=1)
    }
    release = builders.approve(
        ReleaseFactory(
            author=dave, name="Payments 1.4.2", version="1.4.2", services=[(payments, "1.4.2")]
        ),
        dave,
        erin,
    )
    quality.save_gate(
        QualityGate(
            environment=envs["staging"],
            name="Staging exit criteria",
            criteria=[{"metric": "smoke_failed", "op": "==", "threshold": 0}],
        ),
        alice,
    )
    _token, key = ApiToken.issue(pipeline, "CI")
    base = live_server.url
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}

    # The pipeline posts a failing smoke run for staging, by service and version.
    posted = page.request.post(
        f"{base}/api/v1/test-results/",
        headers=headers,
        data=json.dumps(
            {
                "service": "payments-api",
                "version": "1.4.2",
                "environment": "staging",
                "suite": "smoke",
                "status": "failed",
                "passed": 39,
                "failed": 3,
                "pipeline_url": "https://ci.example.com/payments/812",
            }
        ),
    )
    assert posted.status == 201, posted.text()
    assert TestResult.objects.get().release == release

    # alice opens the release's Validation tab and sees the failed gate and why.
    log_in(page, base, "alice")
    page.goto(f"{base}/releases/{release.key}/")
    page.get_by_role("tab", name="Validation").click()
    wait_for_tab(page, "validation")
    panel = page.get_by_test_id("quality-gates")
    staging = panel.locator("[data-environment='staging']")
    expect(staging.get_by_test_id("quality-failed")).to_be_visible()
    expect(staging).to_contain_text("Staging exit criteria")
    expect(staging).to_contain_text(
        "Smoke tests failed 3, but the gate needs Smoke tests failed = 0"
    )
    expect(staging).to_contain_text("39 passed · 3 failed")
    screenshot("01-validation-tab-shows-the-failed-gate")

    # The gate, asked by the pipeline, keeps the release out of production for that reason.
    answer = page.request.post(
        f"{base}/api/v1/gate/",
        headers=headers,
        data=json.dumps(
            {"service": "payments-api", "version": "1.4.2", "environment": "production"}
        ),
    ).json()
    check = next(c for c in answer["checks"] if c["code"] == "quality_gates")
    assert answer["status"] == "prevented"
    assert check["passed"] is False
    assert "Smoke tests failed 3" in check["message"]
