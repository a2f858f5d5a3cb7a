"""End to end in a real browser: a freeze on the calendar, an exception requested from the
release's Schedule tab, approved by a CAB member, and the gate letting the release through.

alice (release manager) opens the release calendar and sees the quarter-end freeze; the
gate keeps dave's approved payments release waiting until the freeze ends. She requests an
exception from the release page and logs out. carol (CAB member) opens the pending
exception and approves it. alice sees it approved and in force, and the gate (asked over
the API from her browser session) now passes `freeze_window` with `exception_applied`.
Screenshots of every step land in test-artifacts/.
"""

import re
from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from releasemgr.roles import CAB_MEMBER, DEVELOPER, RELEASE_MANAGER
from releases.models import GateDecision
from scheduling.models import FreezeException
from tests.conftest import PASSWORD, make_user
from tests.factories import (
    EnvironmentFactory,
    FreezeWindowFactory,
    ReleaseFactory,
    ServiceFactory,
    TeamFactory,
)
from tests.releases import builders

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base_url, username):
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("user-menu")).to_have_text(username)


def log_out(page):
    page.get_by_test_id("user-menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def wait_for_tab(page, name):
    """The tab is shown once Bootstrap's fade has finished (screenshots before it are blank)."""
    page.wait_for_function(
        "n => { const el = document.getElementById(n + '-pane');"
        " return el && el.classList.contains('show') && getComputedStyle(el).opacity === '1'; }",
        arg=name,
    )


def ask_gate(page, base_url) -> dict:
    """POST /api/v1/gate/ from the signed-in browser session (session auth needs the CSRF token)."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{base_url}/api/v1/gate/",
        data={"service": "payments-api", "version": "1.4.2", "environment": "dev"},
        headers={"X-CSRFToken": csrf, "Referer": f"{base_url}/"},
    )
    assert response.status == 200, response.text()
    return response.json()


def checks(answer) -> dict[str, bool]:
    return {c["code"]: c["passed"] for c in answer["checks"]}


def test_release_manager_gets_a_freeze_exception_approved_by_a_cab_member(
    live_server, page, screenshot
):
    make_user("alice", RELEASE_MANAGER)
    carol = make_user("carol", CAB_MEMBER)
    erin = make_user("erin", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    team = TeamFactory(slug="payments", name="Payments")
    payments = ServiceFactory(slug="payments-api", name="Payments API", team=team)
    for order, slug in enumerate(["dev", "test", "staging", "production"], start=1):
        EnvironmentFactory(
            slug=slug, name=slug.title(), order=order, is_production=slug == "production"
        )
    release = builders.approve(
        ReleaseFactory(
            author=dave, name="Payments 1.4.2", version="1.4.2", services=[(payments, "1.4.2")]
        ),
        dave,
        erin,
    )
    now = timezone.now().replace(second=0, microsecond=0)
    freeze = FreezeWindowFactory(
        name="Quarter-end freeze",
        reason="Finance closes the books: no changes.",
        start=now - timedelta(hours=1),
        end=now + timedelta(days=2),
    )
    base = live_server.url
    key = release.key

    # alice opens the release calendar and sees the freeze on it.
    log_in(page, base, "alice")
    page.goto(f"{base}/calendar/")
    freeze_item = page.locator("[data-testid='cal-item'][data-kind='freeze']").filter(
        has_text="Quarter-end freeze"
    )
    expect(freeze_item.first).to_be_visible()
    screenshot("01-calendar-shows-the-freeze")
    freeze_item.first.click()
    expect(page.get_by_role("heading", name=re.compile("Quarter-end freeze"))).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/freezes/{freeze.pk}/$"))
    screenshot("02-freeze-window")

    # The gate keeps the approved release waiting until the freeze ends.
    before = ask_gate(page, base)
    assert before["status"] == "waiting"
    assert checks(before)["freeze_window"] is False
    assert datetime.fromisoformat(before["retry_after"]) == freeze.end

    # She opens the release's Schedule tab and requests an exception for the freeze.
    page.goto(f"{base}/releases/{key}/")
    page.get_by_role("tab", name="Schedule").click()
    wait_for_tab(page, "schedule")
    panel = page.get_by_test_id("exception-panel")
    blocking = panel.get_by_test_id("blocking-windows")
    expect(blocking).to_contain_text("Quarter-end freeze")
    expect(blocking).to_contain_text("active now")
    screenshot("03-schedule-tab")
    blocking.get_by_role("link", name="Request exception").click()

    expect(page.get_by_role("heading", name="Request a freeze exception")).to_be_visible()
    expect(page.get_by_label("Release")).to_have_value(key)
    expect(page.get_by_label("Window")).to_have_value(str(freeze.pk))
    page.get_by_label("Justification").fill(
        "Card payments fail for EU customers; the fix cannot wait for the books to close."
    )
    page.locator("#id_risk").fill(
        "One service behind a feature flag; rollback by redeploying 1.4.1 in five minutes."
    )
    page.get_by_label("Risk level").select_option("high")
    screenshot("04-request-form")
    page.get_by_role("button", name="Request exception").click()

    title = page.get_by_test_id("exception-title")
    expect(title).to_contain_text(key)
    expect(title.locator("[data-status]").first).to_have_attribute("data-status", "pending")
    expect(page.get_by_test_id("requester")).to_contain_text("alice")
    # She may not decide her own request; the page says why.
    decide_panel = page.get_by_test_id("decide-panel")
    expect(decide_panel).to_contain_text("The requester cannot decide their own exception.")
    expect(decide_panel.get_by_role("button", name="Approve exception")).to_have_count(0)
    screenshot("05-requested-pending")
    exception = FreezeException.objects.get()
    assert (exception.release_id, exception.window_id) == (release.pk, freeze.pk)
    assert exception.requested_by.username == "alice"
    assert exception.risk_level == "high"
    log_out(page)

    # carol signs in, finds the pending exception in the queue and approves it.
    log_in(page, base, "carol")
    page.goto(f"{base}/exceptions/")
    expect(page.get_by_test_id("pending-count")).to_have_text("1 pending")
    row = page.get_by_test_id("exception-table").locator(f"tr[data-exception='{exception.pk}']")
    expect(row).to_contain_text(key)
    expect(row.locator("[data-status]").first).to_have_attribute("data-status", "pending")
    screenshot("06-carol-queue")
    row.get_by_role("link", name=f"#{exception.pk}").click()
    decide_panel = page.get_by_test_id("decide-panel")
    expect(decide_panel).to_contain_text("carol decides as cab_member")
    decide_panel.get_by_label("Comment").fill("Deploy in the quiet hours; watch error rates.")
    screenshot("07-before-approval")
    decide_panel.get_by_role("button", name="Approve exception").click()
    badge = page.get_by_test_id("exception-title").locator("[data-status]").first
    expect(badge).to_have_attribute("data-status", "approved")
    expect(badge).to_have_attribute("data-validity", "in_force")
    expect(page.get_by_role("alert").first).to_contain_text(f"Exception #{exception.pk} approved")
    expect(page.get_by_test_id("decision")).to_contain_text("carol")
    screenshot("08-approved")
    exception.refresh_from_db()
    assert (exception.status, exception.decided_by) == ("approved", carol)
    log_out(page)

    # alice sees it approved on her release, and the gate now lets the release through.
    log_in(page, base, "alice")
    page.goto(f"{base}/releases/{key}/#schedule")
    wait_for_tab(page, "schedule")
    exceptions_table = page.get_by_test_id("release-exceptions")
    expect(exceptions_table).to_contain_text("Approved · in force")
    expect(page.get_by_test_id("blocking-windows")).to_contain_text(f"Exception #{exception.pk}")
    screenshot("09-alice-sees-it-approved")

    after = ask_gate(page, base)
    assert after["status"] == "allowed", after
    assert checks(after)["freeze_window"] is True
    assert checks(after)["exception_applied"] is True
    applied = next(c for c in after["checks"] if c["code"] == "exception_applied")
    assert f"Exception #{exception.pk} approved by carol" in applied["message"]
    assert after["retry_after"] is None

    # The recorded gate decision shows it too.
    page.goto(f"{base}/gate/{after['decision_id']}/")
    expect(page.locator("[data-code='exception_applied']")).to_contain_text(
        f"Exception #{exception.pk}"
    )
    screenshot("10-gate-decision-allowed")
    assert GateDecision.objects.get(pk=after["decision_id"]).allowed
