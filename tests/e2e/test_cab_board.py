"""End to end in a real browser: a CAB member votes on the CAB board's meeting; the author
of a release (a CAB member too) is refused when approving it (segregation of duties).

Screenshots of every step land in test-artifacts/.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from governance import cab
from governance.models import CabMeeting
from releasemgr.roles import CAB_MEMBER, DEVELOPER, RELEASE_MANAGER
from releases import lifecycle
from tests.conftest import make_user
from tests.e2e.test_release_flow import log_in, log_out
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def submitted(author, service, name, version, days):
    start = timezone.now() + timedelta(days=days)
    release = ReleaseFactory(
        author=author,
        name=name,
        version=version,
        services=[(service, version)],
        planned_start=start,
        planned_end=start + timedelta(hours=2),
    )
    return lifecycle.submit(release, author)


def test_cab_member_votes_on_the_board_and_the_author_is_refused(live_server, page, screenshot):
    alice = make_user("alice", RELEASE_MANAGER)
    carol = make_user("carol", CAB_MEMBER)
    dave = make_user("dave", DEVELOPER, CAB_MEMBER)
    team = TeamFactory(slug="storefront", name="Storefront")
    catalog = ServiceFactory(slug="catalog-service", name="Catalog Service", team=team)
    ranking = submitted(dave, catalog, "Catalog search ranking", "3.1.0", days=3)
    facets = submitted(dave, catalog, "Catalog facets", "3.2.0", days=10)
    meeting = CabMeeting(
        title="Weekly CAB", scheduled_at=timezone.now(), chair=alice, location="Room 4"
    )
    cab.save_meeting(meeting, alice, [carol, dave], creating=True)
    cab.add_item(meeting, ranking, alice)
    cab.start(meeting, alice)
    base = live_server.url

    # carol opens the CAB board from the Governance menu.
    log_in(page, base, "carol")
    page.get_by_role("button", name="Governance").click()
    page.get_by_test_id("governance-menu").get_by_role("link", name="CAB board").click()
    expect(page.get_by_role("heading", name="CAB board")).to_be_visible()
    awaiting = page.get_by_test_id("awaiting-me")
    expect(awaiting.locator(f"tr[data-release='{ranking.key}']")).to_contain_text("Weekly CAB")
    expect(awaiting.locator(f"tr[data-release='{facets.key}']")).to_contain_text("not on an agenda")
    screenshot("01-cab-board")

    # She opens the meeting and votes approve on the agenda item (htmx swaps the row).
    page.get_by_test_id("my-meetings").get_by_role("link", name="Weekly CAB").click()
    expect(page.get_by_test_id("meeting-title")).to_contain_text("In progress")
    row = page.locator(f"tr[data-release='{ranking.key}']")
    expect(row).to_have_attribute("data-outcome", "pending")
    screenshot("02-meeting-in-progress")
    row.get_by_placeholder("Comment (required to reject)").fill("Good test evidence.")
    row.get_by_role("button", name="Approve", exact=True).click()
    expect(row).to_have_attribute("data-outcome", "approved")
    expect(row.get_by_test_id("row-notice")).to_contain_text(f"{ranking.key} is now approved")
    expect(row.get_by_test_id("votes")).to_contain_text("carol")
    screenshot("03-voted")

    # The release shows Approved, with the CAB line linking back to the meeting.
    row.get_by_role("link", name=ranking.key).click()
    expect(page).to_have_url(re.compile(rf"/releases/{ranking.key}/"))
    title = page.get_by_test_id("release-title")
    expect(title.locator("[data-state]")).to_have_attribute("data-state", "approved")
    page.get_by_role("tab", name=re.compile("Approvals")).click()
    expect(page.get_by_test_id("cab-line")).to_contain_text("Weekly CAB")
    screenshot("04-release-approved")
    log_out(page)

    # dave, the author and also a CAB member, tries to approve his other release.
    log_in(page, base, "dave")
    page.goto(f"{base}/releases/{facets.key}/")
    actions = page.get_by_test_id("release-actions")
    # The Approve button is there but refused, with the segregation-of-duties reason.
    expect(actions.get_by_role("button", name="Approve")).to_be_disabled()
    expect(page.get_by_test_id("approve-refused")).to_contain_text("cannot approve")
    expect(page.get_by_test_id("release-title").locator("[data-state]")).to_have_attribute(
        "data-state", "submitted"
    )
    screenshot("05-author-refused")

    # On the board nothing awaits him: his own releases are not his to decide.
    page.goto(f"{base}/governance/cab/")
    expect(page.get_by_test_id("awaiting-me")).to_contain_text("Nothing awaits your decision")
    screenshot("06-author-board")
