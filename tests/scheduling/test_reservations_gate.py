"""The gate's ``environment_reservation`` check for environments that require a booking."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releases import gate
from scheduling import reservations
from tests.releases import builders


@pytest.fixture
def approved(draft_release, dave, carol):
    return builders.approve(draft_release, dave, carol)


@pytest.fixture
def dev(environments):
    env = environments["dev"]
    env.requires_reservation = True
    env.save()
    return env


def check(result):
    return next(c for c in result.checks if c["code"] == "environment_reservation")


def test_without_a_booking_the_gate_prevents_the_deployment(approved, dev, payments, pipeline):
    result = gate.ask(payments, "1.4.2", dev, pipeline)
    assert result.status == "prevented"
    assert check(result)["passed"] is False
    assert "must be reserved" in check(result)["message"]


def test_with_an_active_booking_the_gate_allows_it(approved, dev, payments, pipeline, dave):
    now = timezone.now()
    reservations.reserve(approved, dev, dave, "integration", now, now + timedelta(hours=4))
    result = gate.ask(payments, "1.4.2", dev, pipeline)
    assert check(result)["passed"] is True
    assert result.status == "allowed", result.checks


def test_with_a_booking_later_the_gate_waits_until_it_starts(
    approved, dev, payments, pipeline, dave
):
    start = timezone.now().replace(microsecond=0) + timedelta(hours=3)
    reservations.reserve(approved, dev, dave, "uat", start, start + timedelta(hours=2))
    result = gate.ask(payments, "1.4.2", dev, pipeline)
    assert result.status == "waiting"
    assert check(result)["passed"] is False
    assert result.retry_after == start


def test_a_cancelled_booking_no_longer_lets_the_release_through(
    approved, dev, payments, pipeline, dave
):
    now = timezone.now()
    booking = reservations.reserve(approved, dev, dave, "uat", now, now + timedelta(hours=4))
    reservations.cancel(booking, dave)
    assert gate.ask(payments, "1.4.2", dev, pipeline).status == "prevented"


def test_another_releases_booking_does_not_count(approved, dev, payments, pipeline, dave):
    from tests.factories import ReleaseFactory

    other = ReleaseFactory(author=dave)
    now = timezone.now()
    reservations.reserve(other, dev, dave, "uat", now, now + timedelta(hours=4))
    assert check(gate.ask(payments, "1.4.2", dev, pipeline))["passed"] is False


def test_an_environment_without_the_requirement_needs_no_booking(
    approved, environments, payments, pipeline
):
    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)
    assert check(result)["passed"] is True
    assert result.status == "allowed", result.checks
