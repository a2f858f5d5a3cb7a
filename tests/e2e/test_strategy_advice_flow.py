"""A deployer picks an environment on the deploy form, sees the strategy advice update
(htmx), deploys a canary with adjusted steps and finds strategy, advice and change record on
the deployment page."""

import pytest
from playwright.sync_api import expect

from releases.models import Deployment
from tests.e2e.test_release_flow import log_in
from tests.releases.test_strategy import monitored, set_band

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_deployer_sees_the_advice_and_deploys_a_canary(
    live_server, page, screenshot, approved_release, environments, payments, bob
):
    set_band(approved_release, "high")
    monitored(payments, environments["dev"])
    base = live_server.url
    log_in(page, base, "bob")

    page.goto(f"{base}{approved_release.get_absolute_url()}")
    page.get_by_role("tab", name="Deployments").click()
    form = page.get_by_test_id("deploy-form")
    expect(form.get_by_test_id("strategy-advice")).to_contain_text("Choose an environment")
    form.get_by_label("Environment").select_option("dev")
    expect(form.get_by_test_id("strategy-advice")).to_contain_text("Advised for Dev: Canary")
    expect(form.get_by_label("Strategy")).to_have_value("canary")
    expect(form.get_by_label("Canary steps")).to_have_value("5:30, 25:30, 50:30, 100:0")
    screenshot("01-advice")

    form.get_by_label("Canary steps").fill("10:20, 100")
    form.get_by_role("button", name="Ask the gate and deploy").click()

    strategy = page.get_by_test_id("deployment-strategy")
    expect(strategy).to_contain_text("as advised")
    expect(page.get_by_test_id("canary-steps")).to_contain_text("10% of traffic, hold 20 min")
    expect(page.get_by_test_id("change-record")).to_contain_text("decision #")
    screenshot("02-deployment")
    assert Deployment.objects.get().canary_steps[0] == {"percent": 10, "hold_minutes": 20}


def test_a_deployer_deploys_with_the_advised_rolling_strategy_in_one_click(
    live_server, page, screenshot, approved_release, environments, payments, bob
):
    """Without monitoring a canary is not advised: the form offers no canary steps, and the
    advised strategy deploys as it is (a pre-filled steps field used to refuse it silently)."""
    set_band(approved_release, "low")
    base = live_server.url
    log_in(page, base, "bob")

    page.goto(f"{base}{approved_release.get_absolute_url()}")
    page.get_by_role("tab", name="Deployments").click()
    form = page.get_by_test_id("deploy-form")
    form.get_by_label("Environment").select_option("dev")
    expect(form.get_by_test_id("strategy-advice")).to_contain_text("Advised for Dev")
    advised = form.get_by_label("Strategy").input_value()
    assert advised != "canary"
    expect(form.get_by_label("Canary steps")).to_have_value("")
    form.get_by_role("button", name="Ask the gate and deploy").click()

    expect(page.get_by_test_id("deployment-strategy")).to_contain_text("as advised")
    screenshot("01-deployed")
    assert Deployment.objects.get().strategy == advised


def test_canary_steps_with_another_strategy_are_refused_with_the_error_shown(
    live_server, page, approved_release, environments, payments, bob
):
    set_band(approved_release, "low")
    base = live_server.url
    log_in(page, base, "bob")

    page.goto(f"{base}{approved_release.get_absolute_url()}")
    page.get_by_role("tab", name="Deployments").click()
    form = page.get_by_test_id("deploy-form")
    form.get_by_label("Environment").select_option("dev")
    expect(form.get_by_test_id("strategy-advice")).to_contain_text("Advised for Dev")
    form.get_by_label("Strategy").select_option("rolling")
    form.get_by_label("Canary steps").fill("5:10, 100")
    form.get_by_role("button", name="Ask the gate and deploy").click()

    form = page.get_by_test_id("deploy-form")
    expect(form).to_contain_text("Canary steps apply only to the canary strategy")
    # The advice still loads, and the typed values stay with their error.
    expect(form.get_by_test_id("strategy-advice")).to_contain_text("Advised for Dev")
    expect(form).to_contain_text("Canary steps apply only to the canary strategy")
    expect(form.get_by_label("Canary steps")).to_have_value("5:10, 100")
    assert not Deployment.objects.exists()
