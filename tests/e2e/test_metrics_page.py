"""End to end in a real browser: a developer opens the metrics page over two weeks of history,
sees the cards and the Chart.js charts drawn, filters by a team and sees the figures and the
charts' data change. Screenshots land in test-artifacts/."""

import pytest
from playwright.sync_api import expect

from releasemgr.roles import DEVELOPER
from tests.conftest import PASSWORD, make_user
from tests.factories import EnvironmentFactory
from tests.metrics.history_helpers import world
from tests.metrics.test_metrics_page import PERIOD, history

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_metrics_page_filters_by_team(live_server, page, screenshot):
    make_user("dave", DEVELOPER)
    envs = {
        slug: EnvironmentFactory(slug=slug, name=slug.title(), order=i, is_production=i == 2)
        for i, slug in enumerate(["staging", "production"], start=1)
    }
    history(world(envs))

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("metrics-menu").click()
    page.get_by_role("link", name="Deployments and incidents per week").click()
    expect(page.get_by_test_id("metrics-filters")).to_be_visible()

    page.get_by_label("From (UTC, inclusive)").fill(PERIOD["since"])
    page.get_by_label("Until (UTC, exclusive)").fill(PERIOD["until"])
    page.get_by_test_id("metrics-apply").click()
    expect(page.get_by_test_id("card-deployments")).to_have_text("6")
    charts = page.get_by_test_id("metrics-charts")
    expect(charts).to_have_attribute("data-deployments", "6")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-deployments')")
    stacked = page.evaluate(
        "() => Chart.getChart('chart-deployments').data.datasets.map(d => d.data)"
    )
    assert stacked == [[3, 1], [1, 0], [1, 0]]
    expect(page.get_by_test_id("correlation-text")).to_contain_text("too few to conclude")
    screenshot("01-all-teams")

    page.get_by_test_id("metrics-team").select_option("search")
    page.get_by_test_id("metrics-apply").click()
    expect(page.get_by_test_id("card-deployments")).to_have_text("1")
    expect(charts).to_have_attribute("data-deployments", "1")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-deployments')")
    stacked = page.evaluate(
        "() => Chart.getChart('chart-deployments').data.datasets.map(d => d.data)"
    )
    assert stacked == [[1, 0], [0, 0], [0, 0]]
    screenshot("02-team-search")
