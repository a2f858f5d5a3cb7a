"""Shared personas and fixtures.

Personas (each a real user in a real role group):
- alice   release manager
- bob     deployer
- carol   CAB member; erin is a second CAB member
- dave    developer who authors releases
- olivia  compliance officer
- paula   product owner
- audrey  auditor (read-only)
- pipeline  CI/CD service account
- nobody  logged-in user with no role
"""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from releasemgr.models import ApiToken
from releasemgr.roles import (
    AUDITOR,
    CAB_MEMBER,
    COMPLIANCE_OFFICER,
    DEPLOYER,
    DEVELOPER,
    PIPELINE,
    PRODUCT_OWNER,
    RELEASE_MANAGER,
    sync_roles,
)
from tests.factories import (
    EnvironmentFactory,
    ReleaseFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)
from tests.releases import builders

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # Personas get real passwords; PBKDF2 would dominate the suite's run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def no_api_rate_limit(settings):
    # The suite's own API traffic is not rate limited, so query counts carry no throttle
    # queries; tests/ops/test_rate_limits.py sets a limit where it tests one.
    settings.API_RATE_LIMIT = "off"


def make_user(username: str, *roles: str):
    user = UserFactory(username=username)
    if roles:
        if not Group.objects.filter(name=roles[0]).exists():
            sync_roles()
        user.groups.add(*Group.objects.filter(name__in=roles))
    return user


@pytest.fixture
def alice(db):
    return make_user("alice", RELEASE_MANAGER)


@pytest.fixture
def bob(db):
    return make_user("bob", DEPLOYER)


@pytest.fixture
def carol(db):
    return make_user("carol", CAB_MEMBER)


@pytest.fixture
def erin(db):
    return make_user("erin", CAB_MEMBER)


@pytest.fixture
def dave(db):
    return make_user("dave", DEVELOPER)


@pytest.fixture
def olivia(db):
    return make_user("olivia", COMPLIANCE_OFFICER)


@pytest.fixture
def paula(db):
    return make_user("paula", PRODUCT_OWNER)


@pytest.fixture
def audrey(db):
    return make_user("audrey", AUDITOR)


@pytest.fixture
def pipeline(db):
    return make_user("pipeline", PIPELINE)


@pytest.fixture
def nobody(db):
    return make_user("nobody")


@pytest.fixture
def api_client():
    """An APIClient factory authenticated with a real hashed token: ``api_client(user)``."""

    def _make(user=None):
        client = APIClient()
        if user is not None:
            _token, key = ApiToken.issue(user, "test")
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return _make


@pytest.fixture
def environments(db):
    """dev → test → staging → production."""
    return {
        slug: EnvironmentFactory(
            slug=slug, name=slug.title(), order=order, is_production=slug == "production"
        )
        for order, slug in enumerate(["dev", "test", "staging", "production"], start=1)
    }


@pytest.fixture
def payments(db):
    team = TeamFactory(slug="payments", name="Payments")
    return ServiceFactory(slug="payments-api", name="Payments API", team=team, customer_facing=True)


@pytest.fixture
def draft_release(dave, payments):
    """A draft by dave shipping payments-api 1.4.2."""
    return ReleaseFactory(
        author=dave, name="Payments 1.4.2", version="1.4.2", services=[(payments, "1.4.2")]
    )


# Releases in each lifecycle state, reached through the lifecycle itself.


@pytest.fixture
def env_list(environments):
    """dev, test, staging, production in promotion order."""
    return [environments[slug] for slug in ("dev", "test", "staging", "production")]


@pytest.fixture
def submitted_release(draft_release, dave):
    return builders.submit(draft_release, dave)


@pytest.fixture
def approved_release(draft_release, dave, carol):
    return builders.approve(draft_release, dave, carol)


@pytest.fixture
def move_to(draft_release, dave, carol, alice, bob, env_list):
    """``move_to("deployed")`` brings dave's draft there through legal transitions."""

    def _move(state):
        return builders.in_state(
            state,
            draft_release,
            author=dave,
            approver=carol,
            manager=alice,
            deployer=bob,
            envs=env_list,
        )

    return _move
