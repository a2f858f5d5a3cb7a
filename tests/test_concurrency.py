"""Two requests racing for the same release: exactly one state change wins.

Real threads, real connections and real row locks, so this needs PostgreSQL
(SQLite serialises whole-database writes and would prove nothing about
``select_for_update``).
"""

import pytest
from django.conf import settings

from governance.models import Approval
from releasemgr.decisions import IllegalTransition
from releases import lifecycle
from releases.lifecycle import GateRefused
from releases.models import Deployment
from tests.concurrency import race
from tests.factories import ReleaseFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://...",
    ),
]

ROUNDS = 5  # a missing lock loses the race only some of the time; race a few times


def errors(outcomes):
    return [value for kind, value in outcomes if kind == "error"]


@pytest.mark.django_db(transaction=True)
def test_two_cab_members_approving_at_once_approve_the_release_exactly_once(
    dave, carol, erin, payments
):
    for n in range(ROUNDS):
        release = ReleaseFactory(author=dave, services=[(payments, f"1.{n}.0")])
        lifecycle.submit(release, dave)

        outcomes = race(
            lambda r=release: lifecycle.approve(r, carol, "carol says yes"),
            lambda r=release: lifecycle.approve(r, erin, "erin says yes"),
        )

        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
        (loser,) = errors(outcomes)
        assert isinstance(loser, IllegalTransition), repr(loser)
        assert "approved" in loser.message
        release.refresh_from_db()
        assert release.state == "approved"
        assert Approval.objects.filter(release=release).count() == 1
        states = list(release.history.values_list("state", flat=True))
        assert states.count("approved") == 1


@pytest.mark.django_db(transaction=True)
def test_two_deployments_started_at_once_create_exactly_one(
    dave, carol, bob, pipeline, payments, environments
):
    for n in range(ROUNDS):
        release = ReleaseFactory(author=dave, services=[(payments, f"2.{n}.0")])
        lifecycle.submit(release, dave)
        lifecycle.approve(release, carol)

        outcomes = race(
            lambda r=release: lifecycle.start_deployment(r, environments["dev"], bob),
            lambda r=release: lifecycle.start_deployment(r, environments["dev"], pipeline),
        )

        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
        (loser,) = errors(outcomes)
        assert isinstance(loser, GateRefused | IllegalTransition), repr(loser)
        if isinstance(loser, GateRefused):
            assert [r.code for r in loser.reasons] == ["deployment_in_progress"]
        assert Deployment.objects.filter(release=release).count() == 1
        release.refresh_from_db()
        assert release.state == "deploying"
        states = list(release.history.values_list("state", flat=True))
        assert states.count("deploying") == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_idempotency_key_sent_twice_at_once_creates_one_deployment(
    dave, carol, pipeline, payments, environments
):
    release = ReleaseFactory(author=dave, services=[(payments, "3.0.0")])
    lifecycle.submit(release, dave)
    lifecycle.approve(release, carol)
    dev = environments["dev"]

    outcomes = race(
        lambda: lifecycle.start_deployment(release, dev, pipeline, idempotency_key="run-7"),
        lambda: lifecycle.start_deployment(release, dev, pipeline, idempotency_key="run-7"),
    )

    # Either both get the one deployment, or the second sees it running and is told to wait.
    deployments = {value[0].pk for kind, value in outcomes if kind == "ok"}
    assert len(deployments) == 1
    for loser in errors(outcomes):
        assert isinstance(loser, GateRefused), repr(loser)
    assert Deployment.objects.filter(release=release).count() == 1
