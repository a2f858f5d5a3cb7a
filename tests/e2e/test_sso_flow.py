"""End to end in a real browser: "Sign in with <provider>" through the loopback OIDC provider
stub and back, signed in as a release manager; an unknown group comes back to the sign-in page
with the reason."""

import pytest
from django.contrib.auth import get_user_model

from releasemgr.roles import RELEASE_MANAGER
from releasemgr.sso import NO_ROLE_MESSAGE
from tests.ops.oidc_stub import oidc_provider
from tests.ops.test_oidc import ALICE, configure

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_the_provider_in_a_browser(live_server, settings, page, screenshot):
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(f"{page.url}: {m.text}"))
    with oidc_provider() as provider:
        configure(settings, provider.env())
        provider.next_claims = {**ALICE, "groups": ["marketing"]}
        page.goto(f"{live_server.url}/login/")
        screenshot("01-login-page")
        page.get_by_role("link", name="Sign in with Stub IdP").click()
        page.wait_for_url(f"{live_server.url}/login/")
        assert NO_ROLE_MESSAGE in page.content()
        screenshot("02-unknown-group-refused")
        assert not get_user_model().objects.exists()

        provider.next_claims = ALICE
        page.get_by_role("link", name="Sign in with Stub IdP").click()
        page.wait_for_url(f"{live_server.url}/")
        screenshot("03-signed-in")
    user = get_user_model().objects.get(username="alice.sso")
    assert set(user.groups.values_list("name", flat=True)) == {RELEASE_MANAGER}
    assert errors == []
