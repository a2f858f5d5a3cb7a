"""End to end in a real browser, on the demo data: a release manager opens a post-mortem from
the Metrics menu, is refused a factor that blames a person (and told why), sees the overdue
action on the dashboard, accepts the checklist proposals into a new version and sees the
Checklist panel of a deployment. Screenshots land in test-artifacts/."""

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from metrics.models import ChecklistRun, ChecklistTemplate, PostMortem
from releasemgr.roles import RELEASE_MANAGER
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_post_mortem_and_checklist_refinement(live_server, page, screenshot):
    call_command("seed_demo", verbosity=0)
    make_user("alice", RELEASE_MANAGER)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_test_id("overdue-postmortem-actions")).to_contain_text("owner developer")
    page.get_by_test_id("overdue-postmortem-actions").screenshot(
        path=str(screenshot("00-dashboard").with_name("00-dashboard-panel.png"))
    )

    page.get_by_test_id("metrics-menu").click()
    page.get_by_role("link", name="Post-mortems", exact=True).click()
    expect(page.get_by_test_id("postmortem-table")).to_be_visible()
    screenshot("01-list")
    pm = PostMortem.objects.filter(status="draft").first()
    page.goto(f"{live_server.url}{pm.get_absolute_url()}")
    form = page.get_by_test_id("factor-form")
    form.get_by_label("Description").fill("The deployer forgot to run the migration")
    form.get_by_role("button", name="Add factor").click()
    expect(page.get_by_test_id("factor-form")).to_contain_text("post-mortems are blameless")
    screenshot("02-refused-factor")

    template = ChecklistTemplate.objects.get(slug="production-deployment")
    page.goto(f"{live_server.url}{template.get_absolute_url()}")
    expect(page.get_by_test_id("proposals")).to_contain_text("pm-db-migration")
    screenshot("03-proposals")
    page.get_by_role("button", name="Accept the ticked proposals").click()
    expect(page.get_by_test_id("version-3")).to_be_visible()
    screenshot("04-accepted")
    assert template.versions.count() == 3

    run = ChecklistRun.objects.order_by("pk").first()
    page.goto(f"{live_server.url}{run.get_absolute_url()}")
    expect(page.get_by_test_id("checklist-panel")).to_contain_text("rollback plan was rehearsed")
    page.get_by_test_id("checklist-panel").screenshot(
        path=str(screenshot("05-deployment").with_name("05-checklist-panel.png"))
    )
