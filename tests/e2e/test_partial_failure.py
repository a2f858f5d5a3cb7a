"""End to end in a real browser: a pipeline rolls a release out to three nodes and one fails, so
the deployment is partially failed; alice (release manager) opens the deployment page, sees the
targets table and clicks "Retry failed targets"; the pipeline (API, with its token) reports the
node succeeded; the page shows every target succeeded. Screenshots land in test-artifacts/.
"""

import json

import pytest
from playwright.sync_api import expect

from releasemgr.models import ApiToken
from releasemgr.roles import CAB_MEMBER, DEPLOYER, DEVELOPER, PIPELINE, RELEASE_MANAGER
from releases.models import Deployment
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


def test_release_manager_retries_the_failed_node_and_the_pipeline_finishes_it(
    live_server, page, screenshot
):
    make_user("alice", RELEASE_MANAGER)
    make_user("bob", DEPLOYER)
    erin = make_user("erin", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    pipeline = make_user("pipeline", PIPELINE)
    team = TeamFactory(slug="payments", name="Payments")
    payments = ServiceFactory(slug="payments-api", name="Payments API", team=team)
    dev = EnvironmentFactory(slug="dev", name="Dev", order=1, is_production=False)
    release = builders.approve(
        ReleaseFactory(
            author=dave, name="Payments 1.4.2", version="1.4.2", services=[(payments, "1.4.2")]
        ),
        dave,
        erin,
    )
    _token, key = ApiToken.issue(pipeline, "CI")
    base = live_server.url
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}

    def post(url, body):
        answer = page.request.post(f"{base}{url}", headers=headers, data=json.dumps(body))
        assert answer.status in (200, 201), answer.text()
        return answer.json()

    # The pipeline starts the deployment, declares three nodes and reports them: one fails.
    deployment = post("/api/v1/deployments/", {"release": release.key, "environment": dev.slug})
    events = f"/api/v1/deployments/{deployment['id']}/events/"
    post(events, {"type": "plan", "target": "web-1, web-2, web-3", "version": "1.4.1"})
    post(events, {"type": "node", "target": "web-1", "status": "ok"})
    post(events, {"type": "node", "target": "web-2", "status": "ok"})
    post(
        events,
        {"type": "node", "target": "web-3", "status": "failed", "message": "probe timed out"},
    )
    assert Deployment.objects.get(pk=deployment["id"]).status == "partially_failed"

    # alice sees which node runs which version, and the three choices.
    log_in(page, base, "alice")
    page.goto(f"{base}/deployments/{deployment['id']}/")
    targets = page.get_by_test_id("targets")
    expect(targets.locator("[data-target='web-3']")).to_contain_text("Failed")
    expect(targets.locator("[data-target='web-3']")).to_contain_text("1.4.1")
    expect(targets.locator("[data-target='web-1']")).to_contain_text("1.4.2")
    expect(page.get_by_test_id("partial-banner")).to_contain_text("Partially failed")
    screenshot("01-partially-failed")

    page.get_by_role("button", name="Retry failed targets").click()
    expect(page.locator(".messages")).to_contain_text("Failed targets sent back to the pipeline")
    expect(targets.locator("[data-target='web-3']")).to_contain_text("Pending")
    expect(targets.locator("[data-target='web-3'] td").nth(4)).to_have_text("2")
    screenshot("02-retrying")

    # The pipeline re-runs the failed node; it succeeds, and the pipeline reports the end.
    post(events, {"type": "node", "target": "web-3", "status": "ok"})
    post(events, {"type": "succeeded"})

    page.reload()
    rows = targets.locator("tbody tr")
    expect(rows).to_have_count(3)
    for name in ("web-1", "web-2", "web-3"):
        expect(targets.locator(f"[data-target='{name}']")).to_contain_text("Succeeded")
    expect(page.locator("h1")).to_contain_text("Succeeded")
    expect(page.get_by_test_id("rollout-decisions")).to_contain_text("Retry failed targets")
    screenshot("03-all-targets-succeeded")


def test_a_failed_smoke_test_halts_staging_and_the_release_manager_overrides_it(
    live_server, page, screenshot
):
    make_user("alice", RELEASE_MANAGER)
    bob = make_user("bob", DEPLOYER)
    erin = make_user("erin", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    pipeline = make_user("pipeline", PIPELINE)
    team = TeamFactory(slug="payments", name="Payments")
    payments = ServiceFactory(slug="payments-api", name="Payments API", team=team)
    envs = [
        EnvironmentFactory(slug=slug, name=slug.title(), order=order, is_production=False)
        for order, slug in enumerate(["dev", "staging"], start=1)
    ]
    release = builders.approve(
        ReleaseFactory(
            author=dave, name="Payments 1.4.2", version="1.4.2", services=[(payments, "1.4.2")]
        ),
        dave,
        erin,
    )
    builders.promote_through(release, envs[:1], bob)
    staging = builders.deploy(release, envs[1], bob)
    _token, key = ApiToken.issue(pipeline, "CI")
    base = live_server.url
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}

    answer = page.request.post(
        f"{base}/api/v1/deployments/{staging.pk}/events/",
        headers=headers,
        data=json.dumps(
            {
                "type": "smoke",
                "status": "failed",
                "target": "checkout-e2e",
                "message": "HTTP 500 on /pay",
            }
        ),
    )
    assert answer.status == 201, answer.text()

    log_in(page, base, "alice")
    page.goto(f"{base}/deployments/{staging.pk}/")
    expect(page.locator("h1")).to_contain_text("Halted")
    halt = page.get_by_test_id("smoke-halt")
    expect(halt).to_contain_text("checkout-e2e")
    page.get_by_role("button", name="Override the halt").click()
    expect(page.locator(".messages")).to_contain_text("Give a reason")
    screenshot("01-halted-override-needs-a-reason")

    page.get_by_label("Why override the failed smoke test").fill("Known flaky test, PAY-88")
    page.get_by_role("button", name="Override the halt").click()
    expect(page.locator(".messages")).to_contain_text("Failed smoke tests overridden")
    expect(page.locator("h1")).to_contain_text("Running")
    expect(page.get_by_test_id("rollout-decisions")).to_contain_text("Known flaky test, PAY-88")
    screenshot("02-resumed-after-override")
