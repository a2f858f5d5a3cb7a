"""Two people booking the last place in an environment at the same moment: one wins.

Real threads, connections and row locks, so this needs PostgreSQL (SQLite
serialises all writes and would prove nothing about ``select_for_update``).
"""

from datetime import timedelta
from functools import partial

import pytest
from django.conf import settings
from django.utils import timezone

from releasemgr.decisions import DomainError
from scheduling import reservations
from scheduling.models import Reservation, TestDataSet
from tests.concurrency import race
from tests.factories import EnvironmentFactory, ReleaseFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL row locks; run with DATABASE_URL=postgres://...",
    ),
]

ROUNDS = 5  # a missing lock loses the race only some of the time


@pytest.mark.django_db(transaction=True)
def test_two_bookings_racing_for_the_last_place_one_wins(dave, alice):
    for n in range(ROUNDS):
        env = EnvironmentFactory(slug=f"perf-{n}", name=f"Perf {n}", order=50 + n, capacity=2)
        start = timezone.now() + timedelta(days=1 + n)
        end = start + timedelta(hours=4)
        holder = ReleaseFactory(author=dave)
        reservations.reserve(holder, env, dave, "performance", start, end)  # one place left
        first, second = ReleaseFactory(author=dave), ReleaseFactory(author=dave)

        outcomes = race(
            partial(reservations.reserve, first, env, dave, "uat", start, end),
            partial(reservations.reserve, second, env, alice, "uat", start, end),
        )

        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
        (loser,) = [value for kind, value in outcomes if kind == "error"]
        assert isinstance(loser, DomainError), repr(loser)
        assert [r.code for r in loser.reasons] == ["environment_capacity"]
        assert Reservation.objects.filter(environment=env, cancelled_at__isnull=True).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_bookings_racing_for_one_data_set_in_different_environments_one_wins(dave):
    for n in range(ROUNDS):
        a = EnvironmentFactory(slug=f"a-{n}", name=f"A {n}", order=70 + 2 * n, capacity=3)
        b = EnvironmentFactory(slug=f"b-{n}", name=f"B {n}", order=71 + 2 * n, capacity=3)
        cards = TestDataSet.objects.create(slug=f"cards-{n}", name=f"Cards {n}")
        cards.environments.set([a, b])
        start = timezone.now() + timedelta(days=1 + n)
        end = start + timedelta(hours=2)
        first, second = ReleaseFactory(author=dave), ReleaseFactory(author=dave)

        outcomes = race(
            partial(reservations.reserve, first, a, dave, "uat", start, end, [cards]),
            partial(reservations.reserve, second, b, dave, "uat", start, end, [cards]),
        )

        assert sorted(kind for kind, _ in outcomes) == ["error", "ok"], outcomes
        (loser,) = [value for kind, value in outcomes if kind == "error"]
        assert [r.code for r in loser.reasons] == ["test_data_set"]
