"""End to end in a real browser: the chair starts a meeting early (warned), votes on the page,
and the draft minutes follow that vote before closing; the auditor finds the evidence pack in
the release's Actions card; the policy version diff and a decision-log entry read as words.

Screenshots of every step land in test-artifacts/.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance import cab, policy
from governance.models import ApprovalRule, CabMeeting, DecisionRecord
from releasemgr.roles import AUDITOR, CAB_MEMBER, COMPLIANCE_OFFICER, DEVELOPER
from tests.conftest import make_user
from tests.e2e.test_cab_board import submitted
from tests.e2e.test_release_flow import log_in
from tests.factories import ServiceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_chair_starts_early_votes_and_closes_with_minutes_that_follow_the_vote(
    live_server, page, screenshot
):
    carol = make_user("carol", CAB_MEMBER)
    erin = make_user("erin", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    catalog = ServiceFactory(
        slug="catalog-service", name="Catalog Service", team=TeamFactory(slug="store")
    )
    ranking = submitted(dave, catalog, "Catalog search ranking", "3.1.0", days=3)
    meeting = CabMeeting(
        title="Weekly CAB", scheduled_at=timezone.now() + timedelta(days=2), chair=carol
    )
    cab.save_meeting(meeting, carol, [erin], creating=True)
    cab.add_item(meeting, ranking, carol)
    base = live_server.url

    # carol chairs; she starts the meeting two days early: allowed, with a warning.
    log_in(page, base, "carol")
    page.goto(f"{base}{meeting.get_absolute_url()}")
    page.get_by_role("button", name="Start meeting").click()
    expect(page.locator(".alert-warning")).to_contain_text("it starts early")
    expect(page.get_by_test_id("held-early")).to_be_visible()
    minutes = page.get_by_label("Minutes")
    expect(minutes).to_have_value(containing("no votes"))
    row = page.locator(f"tr[data-release='{ranking.key}']")
    expect(row.get_by_test_id("reject-rule")).to_contain_text("rejects the release at once")
    screenshot("01-started-early")

    # She votes approve with conditions on the page; the row and her draft minutes follow.
    row.get_by_placeholder("Conditions (with an approval)").fill("Deploy after 02:00.")
    row.get_by_role("button", name="Approve with conditions").click()
    expect(row).to_have_attribute("data-outcome", "approved")
    expect(row.get_by_test_id("row-notice")).to_contain_text(f"{ranking.key} is now approved.")
    expect(page.get_by_label("Minutes")).to_have_value(
        containing("carol: approve (conditions: Deploy after 02:00.)")
    )
    screenshot("02-voted-minutes-refreshed")

    # Closing at once records the minutes with her vote and the time it was really held.
    page.get_by_role("button", name="Close with these minutes").click()
    expect(page.get_by_test_id("minutes")).to_contain_text("Outcome: Approved")
    expect(page.get_by_test_id("minutes")).to_contain_text("(scheduled for")
    screenshot("03-closed")
    closed = CabMeeting.objects.get(pk=meeting.pk)
    assert "carol: approve (conditions: Deploy after 02:00.)" in closed.minutes
    assert not DecisionRecord.objects.filter(summary__contains="..").exists()


def test_the_auditor_reads_the_release_the_policy_diff_and_a_log_entry(
    live_server, page, screenshot
):
    make_user("audrey", AUDITOR)
    olivia = make_user("olivia", COMPLIANCE_OFFICER)
    make_user("carol", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER)
    rule = ApprovalRule(name="High risk", approvers=[{"group": CAB_MEMBER, "count": 2}])
    rule.save_with_reason("created", user=olivia)
    policy.publish(olivia, "olivia added “High risk”")
    rule.approvers = [{"group": CAB_MEMBER, "count": 3}]
    rule.change_types = ["normal", "emergency"]
    rule.touches = ["access_control"]
    rule.customer_facing = True
    rule.save_with_reason("stricter", user=olivia)
    version = policy.publish(olivia, "olivia edited “High risk”")
    catalog = ServiceFactory(
        slug="catalog-service", name="Catalog Service", team=TeamFactory(slug="store")
    )
    release = submitted(dave, catalog, "Catalog search ranking", "3.1.0", days=3)
    base = live_server.url
    log_in(page, base, "audrey")
    page.set_viewport_size({"width": 1400, "height": 900})

    # The release page: the Actions card offers the evidence pack; the header risk says "now".
    page.goto(f"{base}{release.get_absolute_url()}")
    actions = page.get_by_test_id("release-actions")
    expect(actions.get_by_test_id("evidence-pack-button")).to_be_visible()
    expect(actions).not_to_contain_text("No actions are open")
    expect(page.get_by_test_id("risk-when")).to_have_text("now")
    screenshot("01-release-for-the-auditor")
    actions.get_by_test_id("evidence-pack-button").click()
    expect(page.get_by_label("Release")).to_have_value(release.key)

    # The policy version diff reads as words.
    page.goto(f"{base}{version.get_absolute_url()}")
    diff = page.get_by_test_id("version-diff")
    expect(diff.locator("[data-field=approvers]")).to_have_text(
        "approvers: 2 × cab_member → 3 × cab_member"
    )
    expect(diff.locator("[data-field=change_types]")).to_have_text(
        "change types: any → normal, emergency"
    )
    expect(diff).not_to_contain_text("{'group'")
    screenshot("02-policy-version-diff")

    # A decision-log entry names its kind once, its summary without doubled punctuation.
    entry = DecisionRecord.objects.filter(summary__contains="published").order_by("sequence").last()
    page.goto(f"{base}{entry.get_absolute_url()}")
    expect(page.get_by_test_id("entry-kind")).to_have_text("Policy change")
    expect(page.locator("[data-testid=entry-title] + p")).to_have_text(
        f"Approval policy v{version.number} published: olivia edited “High risk”."
    )
    screenshot("03-decision-log-entry")


def containing(text):
    """A pattern for a textarea value that contains ``text`` (Playwright compares values)."""
    return re.compile(re.escape(text))
