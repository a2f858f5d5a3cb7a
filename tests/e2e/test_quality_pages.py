"""End to end in a real browser: a compliance officer opens Release quality from the Metrics menu
(trend chart drawn, per-release table), then the approval threshold suggestions, and applies
one with a reason. Screenshots land in test-artifacts/."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from metrics import adaptive_policy
from metrics.models import ReleaseQualityScore
from releasemgr.roles import COMPLIANCE_OFFICER
from tests.conftest import PASSWORD, make_user
from tests.factories import EnvironmentFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.metrics.test_adaptive_policy import deployments

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_quality_trend_and_applying_a_suggestion(live_server, page, screenshot):
    make_user("olivia", COMPLIANCE_OFFICER)
    prod = EnvironmentFactory(slug="prod", is_production=True)
    pay = ServiceFactory(slug="pay", team=TeamFactory(slug="payments", name="Payments"))
    now = timezone.now()
    for week, score in enumerate([92, 75, 60, 88, 95]):
        at = now - timedelta(days=7 * (5 - week))
        ReleaseQualityScore.objects.create(
            release=ReleaseFactory(version=f"1.{week}"),
            score=score,
            components=[
                {
                    "code": "incidents",
                    "label": "Incidents",
                    "deducted": 100 - score,
                    "count": 1,
                    "cap": 50,
                    "message": "1 incident",
                }
            ],
            deployed_at=at,
            computed_at=at,
        )
    deployments(pay, prod, 20, failed=7)
    adaptive_policy.refresh()

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("olivia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("metrics-menu").click()
    page.get_by_role("link", name="Release quality").click()
    page.wait_for_function("() => window.Chart && Chart.getChart('quality-chart')")
    expect(page.get_by_test_id("quality-table")).to_contain_text("Incidents −40")
    screenshot("01-quality")

    page.get_by_test_id("metrics-menu").click()
    page.get_by_role("link", name="Approval threshold suggestions").click()
    expect(page.get_by_test_id("policy-suggestion")).to_contain_text("change failure rate 35.0 %")
    screenshot("02-suggestions")
    page.get_by_label("Reason").fill("Payments had 7 failed deployments out of 20")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".alert")).to_contain_text("the approval policy is now v1")
    screenshot("03-applied")
