"""End to end in a real browser: a developer requests a scope change on a release, the
product owner opens the release, declines it with a note on the Scope tab, and the tab then
shows it declined with the note. Screenshots of every step land in test-artifacts/."""

import pytest
from playwright.sync_api import expect

from releasemgr.roles import DEVELOPER, PRODUCT_OWNER
from releases.models import ScopeChangeRequest
from tests.conftest import make_user
from tests.e2e.test_freeze_exception_flow import log_in, log_out, wait_for_tab
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_product_owner_declines_a_scope_change_and_the_release_shows_it(
    live_server, page, screenshot
):
    dave = make_user("dave", DEVELOPER)
    make_user("paula", PRODUCT_OWNER)
    service = ServiceFactory(
        slug="payments-api", name="Payments API", team=TeamFactory(slug="payments")
    )
    release = ReleaseFactory(author=dave, name="Payments 1.5.0", services=[(service, "1.5.0")])
    base = live_server.url

    log_in(page, base, "dave")
    page.goto(f"{base}{release.get_absolute_url()}#scope")
    wait_for_tab(page, "scope")
    page.get_by_test_id("request-scope-change").click()
    page.get_by_label("Change", exact=False).first.select_option("add")
    page.get_by_label("Title").fill("Export statements to CSV")
    page.get_by_label("Reason").fill("Finance wants it for the quarter close.")
    page.get_by_label("Impact on the plan").fill("Two more days of regression testing.")
    page.get_by_label("Plan shift (days)").fill("2")
    screenshot("01-request-form")
    page.get_by_role("button", name="Request").click()
    wait_for_tab(page, "scope")
    change = ScopeChangeRequest.objects.get()
    expect(page.get_by_test_id(f"scope-change-{change.pk}")).to_contain_text("Pending")
    screenshot("02-requested")
    log_out(page)

    log_in(page, base, "paula")
    page.goto(f"{base}{release.get_absolute_url()}#scope")
    wait_for_tab(page, "scope")
    form = page.get_by_test_id(f"decide-{change.pk}")
    form.get_by_label("Note").fill("Not this release: it would push the go-live past month end.")
    screenshot("03-product-owner-deciding")
    form.get_by_role("button", name="Decline").click()
    wait_for_tab(page, "scope")
    row = page.get_by_test_id(f"scope-change-{change.pk}")
    expect(row).to_contain_text("Declined")
    expect(row).to_contain_text("by paula: Not this release")
    expect(page.get_by_test_id(f"decide-{change.pk}")).to_have_count(0)
    screenshot("04-declined")
    change.refresh_from_db()
    assert change.status == "declined" and not release.scope_items.exists()
