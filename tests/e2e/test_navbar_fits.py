"""End to end: the full menu (every dropdown, the bell, the user menu) fits in the window at
the laptop widths where it is shown expanded, so nothing spills off the dark bar."""

import pytest

from releasemgr.roles import RELEASE_MANAGER
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1200, 1280, 1440])
def test_the_menu_fits_the_window(live_server, browser, width):
    make_user("alice", RELEASE_MANAGER)
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")
        assert page.evaluate("document.documentElement.scrollWidth") == width
        menu = page.get_by_test_id("user-menu").bounding_box()
        assert menu["x"] + menu["width"] <= width
    finally:
        context.close()
