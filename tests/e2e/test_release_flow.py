"""End to end in a real browser: dave drafts and submits a release, carol approves it.

Everything happens through the pages a person uses: the login form, the
release form, the action buttons, the log-out menu, the dashboard and the
release list. Screenshots of every step land in test-artifacts/.
"""

import re

import pytest
from playwright.sync_api import expect

from releasemgr.roles import CAB_MEMBER, DEVELOPER
from releases.models import Release
from tests.conftest import PASSWORD, make_user
from tests.factories import ServiceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_text(username)


def log_out(page):
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_developer_submits_a_release_and_cab_member_approves_it(live_server, page, screenshot):
    make_user("dave", DEVELOPER)
    make_user("carol", CAB_MEMBER)
    team = TeamFactory(slug="payments", name="Payments")
    ServiceFactory(slug="payments-api", name="Payments API", team=team, customer_facing=True)
    base = live_server.url

    # dave signs in through the login form.
    page.goto(f"{base}/login/")
    screenshot("01-login")
    log_in(page, base, "dave")
    screenshot("02-dave-dashboard")

    # He creates a release from the dashboard, shipping payments-api 1.4.2.
    page.get_by_role("link", name="New release").click()
    expect(page.get_by_role("heading", name="New release")).to_be_visible()
    page.get_by_label("Name").fill("Payments 1.4.2")
    page.get_by_label("Version").fill("1.4.2")
    page.get_by_label("Rollback plan").fill("Redeploy payments-api 1.4.1.")
    services = page.get_by_test_id("services-formset")
    services.locator("select[name='services-0-service']").select_option(label="Payments API")
    services.locator("input[name='services-0-version']").fill("1.4.2")
    screenshot("03-release-form")
    page.get_by_role("button", name="Create release").click()

    title = page.get_by_test_id("release-title")
    expect(title).to_contain_text("Payments 1.4.2")
    expect(title.locator("[data-state]")).to_have_attribute("data-state", "draft")
    expect(page.get_by_test_id("overview")).to_contain_text("Payments API")
    release = Release.objects.get(name="Payments 1.4.2")
    assert release.author.username == "dave"
    assert [(rs.service.slug, rs.version) for rs in release.release_services.all()] == [
        ("payments-api", "1.4.2")
    ]
    key = release.key
    expect(page).to_have_url(re.compile(rf"/releases/{key}/$"))
    screenshot("04-draft-created")

    # He submits it for approval; he may not approve his own release.
    actions = page.get_by_test_id("release-actions")
    actions.get_by_role("button", name="Submit for approval").click()
    expect(title.locator("[data-state]")).to_have_attribute("data-state", "submitted")
    expect(actions.get_by_role("button", name="Approve")).to_have_count(0)
    screenshot("05-submitted")
    log_out(page)
    screenshot("06-logged-out")

    # carol signs in and finds it waiting for her on the dashboard.
    log_in(page, base, "carol")
    pending = page.get_by_test_id("pending-approvals")
    expect(pending).to_contain_text(key)
    expect(pending).to_contain_text("You may approve")
    screenshot("07-carol-dashboard")
    pending.get_by_role("link", name="Review").click()
    expect(page.get_by_test_id("release-title")).to_contain_text(key)

    # She approves it with a comment.
    actions = page.get_by_test_id("release-actions")
    actions.get_by_label("Comment (optional)").fill("Rollback plan is fine.")
    screenshot("08-before-approval")
    actions.get_by_role("button", name="Approve").click()
    title = page.get_by_test_id("release-title")
    expect(title.locator("[data-state]")).to_have_attribute("data-state", "approved")
    expect(page.get_by_role("alert").first).to_contain_text(f"{key} is now approved")
    screenshot("09-approved")
    release.refresh_from_db()
    assert release.state == "approved"
    assert [(a.approver.username, a.decision) for a in release.approvals.all()] == [
        ("carol", "approved")
    ]

    # The dashboard shows it approved, ready to ship.
    page.get_by_role("link", name="Dashboard").click()
    upcoming = page.get_by_test_id("upcoming-deployments")
    row = upcoming.get_by_role("row").filter(has_text=key)
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "approved")
    expect(
        page.get_by_test_id("state-counts").locator("[data-state='approved'] .count")
    ).to_have_text("1")
    expect(page.get_by_test_id("pending-approvals")).not_to_contain_text(key)
    screenshot("10-dashboard-approved")

    # And so does the release list.
    page.get_by_role("navigation").get_by_role("link", name="Releases").click()
    row = page.get_by_test_id("release-table").get_by_role("row").filter(has_text=key)
    expect(row).to_contain_text("Payments 1.4.2")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "approved")
    screenshot("11-release-list")
