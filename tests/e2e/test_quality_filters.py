"""End to end in a real browser: the quality page reads the filters every metrics page reads
(the shared form, metrics.periods): an auditor narrows it to one domain and sees the chart and
table change, then types a period that ends before it starts and gets the message, no chart.
Screenshots land in test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics.models import DeploymentRecord, ReleaseQualityScore
from releasemgr.roles import AUDITOR
from tests.conftest import PASSWORD, make_user
from tests.factories import EnvironmentFactory, ReleaseFactory, ServiceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def scored(service, prod, version, days_ago, score):
    at = timezone.now() - timedelta(days=days_ago)
    release = ReleaseFactory(version=version)
    DeploymentRecord.objects.create(
        release=release,
        service=service,
        team=service.team,
        environment=prod,
        is_production=True,
        version=version,
        status="succeeded",
        finished_at=at,
    )
    ReleaseQualityScore.objects.create(
        release=release, score=score, components=[], deployed_at=at, computed_at=at
    )


def test_quality_page_filters_by_domain_and_refuses_a_reversed_period(
    live_server, page, screenshot
):
    make_user("audrey", AUDITOR)
    prod = EnvironmentFactory(slug="prod", is_production=True)
    pay = ServiceFactory(slug="pay", team=TeamFactory(slug="payments"), domain="payments")
    web = ServiceFactory(slug="web", team=TeamFactory(slug="storefront"), domain="storefront")
    scored(pay, prod, "1.0", 20, 60)
    scored(pay, prod, "1.1", 10, 80)
    scored(web, prod, "2.0", 12, 100)

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("audrey")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{live_server.url}/metrics/quality/")
    expect(page.get_by_test_id("quality-average")).to_have_text("80.0")  # (60 + 80 + 100) / 3
    expect(page.get_by_test_id("quality-table").locator("tbody tr")).to_have_count(3)
    page.wait_for_function("() => window.Chart && Chart.getChart('quality-chart')")
    screenshot("01-all")

    page.get_by_label("Domain").select_option("payments")
    page.get_by_test_id("quality-apply").click()
    expect(page.get_by_test_id("quality-average")).to_have_text("70.0")
    expect(page.get_by_test_id("quality-selection")).to_contain_text("domain payments")
    expect(page.get_by_test_id("quality-table").locator("tbody tr")).to_have_count(2)
    page.wait_for_function("() => window.Chart && Chart.getChart('quality-chart')")
    screenshot("02-payments")

    page.get_by_label("From (UTC, inclusive)").fill("2026-11-10")
    page.get_by_label("Until (UTC, exclusive)").fill("2026-11-01")
    page.get_by_test_id("quality-apply").click()
    expect(page.get_by_test_id("quality-errors")).to_contain_text(
        "The period ends (2026-11-01) before it starts (2026-11-10)"
    )
    expect(page.locator("#quality-chart")).to_have_count(0)
    expect(page.get_by_label("Domain")).to_have_value("payments")  # what was chosen is kept
    screenshot("03-reversed-period")
