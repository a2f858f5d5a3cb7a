"""End to end in a real browser: a person locks themselves out at the sign-in form, an
administrator finds them on the Sign-ins page and unlocks them, and they can sign in again."""

import pytest
from django.contrib.auth.models import User

from releasemgr.models_harden import LoginAttempt, LoginOutcome
from releasemgr.roles import RELEASE_MANAGER
from tests.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def sign_in(page, url, username, password):
    page.goto(f"{url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_administrator_unlocks_a_locked_out_colleague(live_server, browser, screenshot, page):
    make_user("alice", RELEASE_MANAGER)
    User.objects.create_superuser("root", "root@example.com", PASSWORD)
    colleague = browser.new_context()
    alice = colleague.new_page()
    for _ in range(5):
        sign_in(alice, live_server.url, "alice", "not-her-password")
    assert "Too many failed sign-in attempts" in alice.content()

    sign_in(page, live_server.url, "root", PASSWORD)
    page.wait_for_url(f"{live_server.url}/")
    page.get_by_test_id("user-menu").click()
    page.get_by_role("link", name="Sign-ins").click()
    page.wait_for_url("**/security/sign-ins/")
    row = page.locator('[data-testid="locked-usernames"] tr[data-username="alice"]')
    assert "5" in row.inner_text()
    screenshot("01-locked")

    row.get_by_role("button", name="Unlock").click()
    page.wait_for_url("**/security/sign-ins/")
    assert "alice is unlocked" in page.content()
    assert page.locator('tr[data-username="alice"]').count() == 0
    page.get_by_label("Outcome").select_option("unlocked")
    page.get_by_role("button", name="Filter").click()
    attempts = page.get_by_test_id("signin-attempts")
    assert "Unlocked by an administrator" in attempts.inner_text()
    assert "root" in attempts.inner_text()
    screenshot("02-unlocked")

    sign_in(alice, live_server.url, "alice", PASSWORD)
    alice.wait_for_url(f"{live_server.url}/")
    assert LoginAttempt.objects.filter(username="alice").latest("at").outcome == (
        LoginOutcome.SUCCEEDED
    )
    colleague.close()
