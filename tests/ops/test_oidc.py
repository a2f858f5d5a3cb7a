"""Single sign-on (issue 8): OpenID Connect against a provider served by the test on loopback.

The browser's part is the Django test client; whenever the app redirects to the provider the
test fetches that URL over real HTTP and takes the provider's redirect back to the app. The
app's own calls (discovery, token, JWKS, userinfo) go over real HTTP too; nothing is mocked.
"""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from releasemgr.models_oidc import SSOIdentity
from releasemgr.roles import CAB_MEMBER, DEPLOYER, DEVELOPER, RELEASE_MANAGER
from releasemgr.sso import DEACTIVATED_MESSAGE, NO_ROLE_MESSAGE, TOKEN_REFUSED_MESSAGE
from releasemgr.sso_config import oidc_settings, parse_group_role_map
from tests.conftest import PASSWORD, make_user
from tests.ops.oidc_stub import oidc_provider
from tests.ops.servers import closed_port

User = get_user_model()

ALICE = {
    "sub": "idp-0001",
    "preferred_username": "alice.sso",
    "email": "alice@example.com",
    "email_verified": True,
    "given_name": "Alice",
    "family_name": "Archer",
    "groups": ["release-managers", "everyone"],
}


def configure(settings, env: dict) -> None:
    """Apply the settings a deployment with ``env`` gets (the same parser settings.py uses)."""
    for name, value in oidc_settings(env).items():
        setattr(settings, name, value)
    backends = ["django.contrib.auth.backends.ModelBackend"]
    if settings.OIDC_ENABLED:
        backends.insert(0, "releasemgr.sso.OIDCBackend")
        if not settings.OIDC_ALLOW_LOCAL_LOGIN:
            backends.remove("django.contrib.auth.backends.ModelBackend")
    settings.AUTHENTICATION_BACKENDS = backends


@pytest.fixture
def provider(settings, db):
    with oidc_provider() as stub:
        configure(settings, stub.env())
        yield stub


def _provider_get(url: str) -> str:
    """GET on the provider, not following its redirect: the Location it sends back."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}")
        response = conn.getresponse()
        response.read()
        assert response.status == 302, response.status
        return response.getheader("Location")
    finally:
        conn.close()


def sign_in_with_sso(client, provider, claims: dict, next_url: str = ""):
    """Click "Sign in with Stub IdP" as the person ``claims`` describe; the last app page."""
    provider.next_claims = claims
    url = reverse("oidc_authentication_init") + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    for _ in range(10):
        if response.status_code != 302:
            return response
        location = response["Location"]
        if location.startswith(provider.base_url):
            back = urlsplit(_provider_get(location))
            assert back.netloc == "testserver"
            location = f"{back.path}?{back.query}"
        response = client.get(location)
    raise AssertionError("too many redirects")


def roles_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def test_login_page_offers_the_provider_next_to_local_accounts(client, provider):
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Stub IdP" in page
    assert 'name="password"' in page


def test_release_manager_group_signs_in_as_a_release_manager(client, provider):
    page = sign_in_with_sso(client, provider, ALICE)

    assert page.status_code == 200
    assert page.wsgi_request.user.is_authenticated
    user = User.objects.get(username="alice.sso")
    assert (user.email, user.first_name, user.last_name) == ("alice@example.com", "Alice", "Archer")
    assert not user.has_usable_password()
    assert roles_of(user) == {RELEASE_MANAGER}
    # The release manager's pages open; the code was exchanged with our secret and PKCE.
    assert client.get(reverse("service_create")).status_code == 200
    (token_request,) = provider.token_requests
    assert token_request["code_verifier"]
    identity = SSOIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (provider.issuer, "idp-0001")
    assert identity.claimed_groups == ["release-managers", "everyone"]
    assert identity.roles_from_idp == [RELEASE_MANAGER]
    (row,) = identity.history.all()
    assert row.history_change_reason == "SSO sign-in (new user): roles +release_manager"


def test_next_page_is_kept_through_the_provider(client, provider):
    page = sign_in_with_sso(client, provider, ALICE, next_url=reverse("service_create"))
    assert page.status_code == 200
    assert page.wsgi_request.path == reverse("service_create")


def test_cab_group_gets_cab_member_not_release_manager_pages(client, provider):
    sign_in_with_sso(client, provider, {**ALICE, "sub": "idp-0002", "groups": ["cab"]})
    user = User.objects.get(sso_identity__subject="idp-0002")
    assert roles_of(user) == {CAB_MEMBER}
    assert client.get(reverse("service_create")).status_code == 403


def test_one_group_can_map_to_two_roles_and_keycloak_paths_match(client, provider):
    sign_in_with_sso(client, provider, {**ALICE, "groups": ["/ops"]})
    assert roles_of(User.objects.get(username="alice.sso")) == {DEPLOYER, DEVELOPER}


def test_unknown_groups_are_refused_and_create_nobody(client, provider):
    page = sign_in_with_sso(client, provider, {**ALICE, "groups": ["marketing", "everyone"]})

    assert page.wsgi_request.path == reverse("login")
    assert NO_ROLE_MESSAGE in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    assert not User.objects.exists()
    assert not SSOIdentity.objects.exists()


def test_no_groups_claim_at_all_is_refused(client, provider):
    claims = {k: v for k, v in ALICE.items() if k != "groups"}
    page = sign_in_with_sso(client, provider, claims)
    assert NO_ROLE_MESSAGE in page.content.decode()
    assert not User.objects.exists()


def test_default_role_lets_unknown_groups_in_with_that_role(client, settings, db):
    with oidc_provider() as stub:
        configure(settings, stub.env(OIDC_DEFAULT_ROLE="auditor"))
        page = sign_in_with_sso(client, stub, {**ALICE, "groups": ["marketing"]})
    assert page.wsgi_request.user.is_authenticated
    assert roles_of(User.objects.get(username="alice.sso")) == {"auditor"}


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ("audience", "Audience doesn't match"),
        ("expired", "Signature has expired"),
        ("signature", "Signature verification failed"),
        ("issuer", "Invalid issuer"),
        ("nonce", "Nonce verification failed"),
    ],
)
def test_a_bad_id_token_is_refused_and_creates_nobody(client, provider, caplog, spoil, reason):
    provider.spoil = spoil
    page = sign_in_with_sso(client, provider, ALICE)

    assert "SSO sign-in refused: " in caplog.text and reason in caplog.text

    assert page.wsgi_request.path == reverse("login")
    assert TOKEN_REFUSED_MESSAGE in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    assert not User.objects.exists()
    assert not SSOIdentity.objects.exists()


def test_second_sign_in_with_changed_groups_updates_roles(client, provider):
    sign_in_with_sso(client, provider, ALICE)
    user = User.objects.get(username="alice.sso")
    # Granted by hand in between: IdP-managed users get exactly the mapped roles.
    user.groups.add(*make_user("helper", DEPLOYER).groups.all())
    client.logout()

    page = sign_in_with_sso(client, provider, {**ALICE, "groups": ["cab"], "given_name": "Al"})

    assert page.wsgi_request.user == user
    user.refresh_from_db()
    assert roles_of(user) == {CAB_MEMBER}
    assert user.first_name == "Al"
    assert client.get(reverse("service_create")).status_code == 403
    identity = user.sso_identity
    assert identity.roles_from_idp == [CAB_MEMBER]
    reasons = list(identity.history.order_by("history_id").values_list("history_change_reason"))
    assert reasons == [
        ("SSO sign-in (new user): roles +release_manager",),
        ("SSO sign-in: roles +cab_member, -deployer, -release_manager",),
    ]
    assert User.objects.filter(sso_identity__isnull=False).count() == 1


def test_existing_local_account_is_linked_by_verified_email(client, provider):
    alice = make_user("alice", DEVELOPER)
    alice.email = "Alice@Example.com"
    alice.save()

    sign_in_with_sso(client, provider, ALICE)

    assert SSOIdentity.objects.get().user == alice
    assert roles_of(alice) == {RELEASE_MANAGER}
    assert User.objects.count() == 1


def test_unverified_email_never_takes_over_a_local_account(client, provider):
    alice = make_user("alice", DEVELOPER)
    alice.email = "alice@example.com"
    alice.save()

    sign_in_with_sso(client, provider, {**ALICE, "email_verified": False})

    identity = SSOIdentity.objects.get()
    assert identity.user != alice
    assert roles_of(alice) == {DEVELOPER}


def test_username_taken_by_someone_else_gets_a_suffix_and_is_sanitised(client, provider):
    make_user("alice.sso")
    sign_in_with_sso(client, provider, {**ALICE, "email_verified": False})
    bob = {**ALICE, "sub": "idp-9", "preferred_username": "Bob Smith/<x>", "email": "b@x.org"}
    sign_in_with_sso(client, provider, bob)
    assert set(SSOIdentity.objects.values_list("user__username", flat=True)) == {
        "alice.sso-2",
        "Bob-Smith-x",
    }


def test_deactivated_local_user_matching_the_identity_is_refused(client, provider):
    alice = make_user("alice", DEVELOPER)
    alice.email = "alice@example.com"
    alice.is_active = False
    alice.save()

    page = sign_in_with_sso(client, provider, ALICE)

    assert DEACTIVATED_MESSAGE in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    alice.refresh_from_db()
    assert not alice.is_active
    assert roles_of(alice) == {DEVELOPER}
    assert not SSOIdentity.objects.exists()


def test_deactivated_sso_user_is_refused_at_the_next_sign_in(client, provider):
    sign_in_with_sso(client, provider, ALICE)
    User.objects.filter(username="alice.sso").update(is_active=False)
    client.logout()

    page = sign_in_with_sso(client, provider, {**ALICE, "groups": ["cab"]})

    assert DEACTIVATED_MESSAGE in page.content.decode()
    assert not page.wsgi_request.user.is_authenticated
    assert roles_of(User.objects.get(username="alice.sso")) == {RELEASE_MANAGER}
    assert SSOIdentity.objects.get().history.count() == 1


def test_callback_without_a_started_sign_in_is_refused(client, provider):
    page = client.get(reverse("oidc_authentication_callback") + "?code=x&state=y", follow=True)
    assert page.wsgi_request.path == reverse("login")
    assert TOKEN_REFUSED_MESSAGE in page.content.decode()
    assert not User.objects.exists()


def test_provider_refusing_the_sign_in_is_shown(client, provider):
    client.get(reverse("oidc_authentication_init"))
    page = client.get(
        reverse("oidc_authentication_callback") + "?error=access_denied&state=x", follow=True
    )
    assert "Stub IdP did not sign you in (access_denied)" in page.content.decode()


def test_provider_down_is_a_message_and_local_accounts_still_work(client, settings, db):
    configure(
        settings,
        {
            "OIDC_RP_CLIENT_ID": "releasemgr",
            "OIDC_RP_CLIENT_SECRET": "s",
            "OIDC_OP_DISCOVERY_URL": f"http://127.0.0.1:{closed_port()}/.well-known/x",
            "OIDC_GROUP_ROLE_MAP": "rm=release_manager",
        },
    )
    page = client.get(reverse("oidc_authentication_init"), follow=True)
    assert page.wsgi_request.path == reverse("login")
    assert "could not be reached" in page.content.decode()

    make_user("alice", RELEASE_MANAGER)
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("service_create")).status_code == 200


def test_without_oidc_nothing_changes(client, settings, db):
    configure(settings, {})
    assert settings.AUTHENTICATION_BACKENDS == ["django.contrib.auth.backends.ModelBackend"]
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with" not in page
    assert client.get(reverse("oidc_authentication_init")).status_code == 404
    assert (
        client.get(reverse("oidc_authentication_callback") + "?code=x&state=y").status_code == 404
    )


def test_local_login_can_be_turned_off(client, settings, db):
    with oidc_provider() as stub:
        configure(settings, stub.env(OIDC_ALLOW_LOCAL_LOGIN="false"))
        page = client.get(reverse("login")).content.decode()
        assert "Sign in with Stub IdP" in page
        assert 'name="password"' not in page
        make_user("alice", RELEASE_MANAGER)
        client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
        assert not client.get(reverse("login")).wsgi_request.user.is_authenticated
        assert sign_in_with_sso(client, stub, ALICE).wsgi_request.user.is_authenticated


def test_password_sign_in_is_not_taken_for_an_sso_callback(client, provider):
    make_user("alice", RELEASE_MANAGER)
    response = client.post(
        reverse("login") + "?code=x&state=y", {"username": "alice", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert provider.token_requests == []


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_RP_CLIENT_ID": "x"}, "OIDC_RP_CLIENT_SECRET is required"),
        (
            {"OIDC_RP_CLIENT_ID": "x", "OIDC_RP_CLIENT_SECRET": "y"},
            "OIDC needs OIDC_OP_DISCOVERY_URL or OIDC_OP_AUTHORIZATION_ENDPOINT",
        ),
        (
            {
                "OIDC_RP_CLIENT_ID": "x",
                "OIDC_RP_CLIENT_SECRET": "y",
                "OIDC_OP_DISCOVERY_URL": "https://idp/.well-known/openid-configuration",
                "OIDC_RP_SIGN_ALGO": "none",
            },
            "OIDC_RP_SIGN_ALGO='none' is not one of",
        ),
        ({"OIDC_ALLOW_LOCAL_LOGIN": "perhaps"}, "is not a boolean"),
    ],
)
def test_bad_configuration_fails_loudly(env, message):
    with pytest.raises(ImproperlyConfigured, match=message.replace("(", r"\(")):
        oidc_settings(env)


def test_group_role_map_syntax():
    assert parse_group_role_map(" a=release_manager, a=cab_member ,b/c=auditor,") == {
        "a": ["release_manager", "cab_member"],
        "b/c": ["auditor"],
    }
    with pytest.raises(ImproperlyConfigured, match="is not <idp group>=<role>"):
        parse_group_role_map("release-managers")


def test_unknown_role_in_the_map_is_a_system_check_error(settings):
    from releasemgr.sso_config import check_oidc_roles

    settings.OIDC_ENABLED = True
    settings.OIDC_GROUP_ROLE_MAP = {"rm": ["release_manager"], "x": ["wizard"]}
    settings.OIDC_DEFAULT_ROLE = ""
    (error,) = check_oidc_roles()
    assert error.id == "releasemgr.E801"
    assert "wizard" in error.msg


def test_admin_shows_last_sso_sign_in_and_its_history(client, provider):
    sign_in_with_sso(client, provider, ALICE)
    client.logout()
    user = User.objects.get(username="alice.sso")
    root = User.objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(root)

    page = client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert "Last SSO sign-in / roles from the identity provider" in page
    assert "roles from the IdP: release_manager" in page
    assert "groups claimed: release-managers, everyone" in page
    history = client.get(
        reverse("admin:releasemgr_ssoidentity_history", args=[user.sso_identity.pk])
    ).content.decode()
    assert "SSO sign-in (new user): roles +release_manager" in history
    local = client.get(reverse("admin:auth_user_change", args=[root.pk])).content.decode()
    assert "Never signed in through single sign-on" in local
