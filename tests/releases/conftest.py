"""Releases in each lifecycle state, reached through the lifecycle itself."""

import pytest

from tests.releases import builders


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
