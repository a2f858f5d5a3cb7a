"""End to end in a real browser: a developer opens Delivery performance from the Metrics menu
over the worked example of docs/metrics.md, sees the figures and the trend charts drawn,
opens the rows behind MTTR. Screenshots land in test-artifacts/."""

import pytest
from playwright.sync_api import expect

from releasemgr.roles import DEVELOPER
from tests.conftest import PASSWORD, make_user
from tests.metrics.dora_history import SINCE, UNTIL, build

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_delivery_page_figures_trend_and_drill_down(live_server, page, screenshot):
    make_user("dave", DEVELOPER)
    build()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("dave")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("metrics-menu").click()
    page.get_by_role("link", name="Delivery performance: DORA trends, release success").click()
    expect(page.get_by_test_id("delivery-filters")).to_be_visible()

    page.get_by_label("From (UTC, inclusive)").fill(SINCE)
    page.get_by_label("Until (UTC, exclusive)").fill(UNTIL)
    page.get_by_test_id("delivery-apply").click()
    expect(page.get_by_test_id("dp-frequency")).to_contain_text("2.5")
    expect(page.get_by_test_id("dp-cfr")).to_have_text("50%")
    page.wait_for_function("() => window.Chart && Chart.getChart('chart-frequency')")
    data = page.evaluate("() => Chart.getChart('chart-frequency').data.datasets[0].data")
    assert data == [3.0, 2.0]
    screenshot("01-figures")

    page.get_by_test_id("dp-mttr").click()
    expect(page.get_by_test_id("delivery-detail")).to_contain_text("101.0")
    screenshot("02-mttr-rows")
