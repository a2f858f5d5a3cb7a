"""Booking rules of scheduling.reservations: capacity, shared test data, periods, production."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted
from scheduling import reservations
from scheduling.models import Reservation, TestDataSet
from tests.factories import EnvironmentFactory, ReleaseFactory

H = timedelta(hours=1)


@pytest.fixture
def t0():
    """A round moment a day ahead, so every period here is in the future."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)


@pytest.fixture
def uat(db):
    return EnvironmentFactory(slug="uat", name="UAT", order=10, capacity=2)


@pytest.fixture
def releases(dave):
    return [ReleaseFactory(author=dave, name=f"Release {n}") for n in range(4)]


def book(release, env, user, start, end, data_sets=(), purpose="uat"):
    return reservations.reserve(release, env, user, purpose, start, end, data_sets, "")


def refusal(call) -> DomainError:
    with pytest.raises(DomainError) as info:
        call()
    return info.value


def codes(error: DomainError) -> list[str]:
    return [r.code for r in error.reasons]


def test_two_overlapping_bookings_fit_a_capacity_of_two_and_a_third_is_refused_naming_both(
    uat, releases, dave, t0
):
    first = book(releases[0], uat, dave, t0, t0 + 4 * H)
    second = book(releases[1], uat, dave, t0 + 2 * H, t0 + 6 * H)

    error = refusal(lambda: book(releases[2], uat, dave, t0 + 3 * H, t0 + 5 * H))

    assert codes(error) == ["environment_capacity"]
    (reason,) = error.reasons
    assert releases[0].key in reason.message and releases[1].key in reason.message
    assert "User acceptance testing" in reason.message
    assert sorted(reason.data["reservations"]) == sorted([first.pk, second.pk])
    assert Reservation.objects.count() == 2


def test_capacity_counts_the_busiest_moment_not_pairs(uat, releases, dave, t0):
    # Two bookings inside the period that never overlap each other: at most 2 at once with a third.
    book(releases[0], uat, dave, t0, t0 + 2 * H)
    book(releases[1], uat, dave, t0 + 3 * H, t0 + 5 * H)
    third = book(releases[2], uat, dave, t0, t0 + 5 * H)
    assert third.pk
    # Now 0-2 and 3-5 have two bookings each; a fourth across 1-4 would make three at 1 h.
    error = refusal(lambda: book(releases[3], uat, dave, t0 + 1 * H, t0 + 4 * H))
    assert codes(error) == ["environment_capacity"]
    # Only the gap (2 h-3 h) has room.
    assert book(releases[3], uat, dave, t0 + 2 * H, t0 + 3 * H).pk


def test_non_overlapping_and_back_to_back_bookings_are_fine(environments, releases, dave, t0):
    staging = environments["staging"]  # capacity 1
    book(releases[0], staging, dave, t0, t0 + 2 * H)
    book(releases[1], staging, dave, t0 + 2 * H, t0 + 4 * H)  # starts when the first ends
    book(releases[2], staging, dave, t0 + 10 * H, t0 + 12 * H)
    assert Reservation.objects.filter(environment=staging).count() == 3


def test_capacity_one_refuses_an_overlap_and_says_when(environments, releases, dave, t0):
    staging = environments["staging"]
    book(releases[0], staging, dave, t0, t0 + 2 * H)
    error = refusal(lambda: book(releases[1], staging, dave, t0 + 1 * H, t0 + 3 * H))
    assert "can validate 1 release at once" in error.reasons[0].message
    assert releases[0].key in error.message


def test_a_data_set_booked_elsewhere_at_the_same_time_is_refused(
    environments, uat, releases, dave, t0
):
    cards = TestDataSet.objects.create(slug="cards", name="Test cards")
    cards.environments.set([uat, environments["staging"]])
    book(releases[0], environments["staging"], dave, t0, t0 + 4 * H, [cards])

    error = refusal(lambda: book(releases[1], uat, dave, t0 + 2 * H, t0 + 6 * H, [cards]))

    assert codes(error) == ["test_data_set"]
    assert "Test cards" in error.message and releases[0].key in error.message
    assert "Staging" in error.message
    # Without the data set the environment itself is free.
    assert book(releases[1], uat, dave, t0 + 2 * H, t0 + 6 * H).pk
    # After the first booking ends the data set is free again.
    assert book(releases[2], uat, dave, t0 + 4 * H, t0 + 5 * H, [cards]).pk


def test_a_data_set_not_loaded_in_the_environment_is_refused(environments, uat, releases, dave, t0):
    cards = TestDataSet.objects.create(slug="cards", name="Test cards")
    cards.environments.set([environments["staging"]])
    error = refusal(lambda: book(releases[0], uat, dave, t0, t0 + H, [cards]))
    assert codes(error) == ["test_data_set"]
    assert "not available in UAT" in error.message
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(
    ("start", "end", "phrase"),
    [
        (2 * H, H, "must end after it starts"),
        (H, H, "must end after it starts"),
        (-timedelta(days=2), -timedelta(days=1), "starts in the past"),
    ],
)
def test_an_invalid_or_past_period_is_refused_and_nothing_is_written(
    uat, releases, dave, start, end, phrase
):
    now = timezone.now()
    error = refusal(lambda: book(releases[0], uat, dave, now + start, now + end))
    assert codes(error) == ["reservation_period"]
    assert phrase in error.message
    assert not Reservation.objects.exists()
    assert Reservation.history.count() == 0


def test_production_cannot_be_reserved(environments, releases, dave, t0):
    error = refusal(lambda: book(releases[0], environments["production"], dave, t0, t0 + H))
    assert codes(error) == ["production_environment"]
    assert "non-production" in error.message
    assert not Reservation.objects.exists()


def test_cancelling_a_booking_frees_its_capacity_and_keeps_it_in_history(
    environments, releases, dave, t0
):
    staging = environments["staging"]
    first = book(releases[0], staging, dave, t0, t0 + 2 * H)
    refusal(lambda: book(releases[1], staging, dave, t0, t0 + 2 * H))

    cancelled = reservations.cancel(first, dave)

    assert cancelled.cancelled_at is not None
    assert book(releases[1], staging, dave, t0, t0 + 2 * H).pk
    reasons = list(cancelled.history.values_list("history_change_reason", flat=True))
    assert "cancelled" in reasons and "reserved for user acceptance testing" in reasons


def test_a_cancelled_booking_cannot_be_cancelled_again(environments, releases, dave, t0):
    booking = book(releases[0], environments["staging"], dave, t0, t0 + H)
    reservations.cancel(booking, dave)
    error = refusal(lambda: reservations.cancel(booking, dave))
    assert "already cancelled" in error.message


def test_only_the_booker_the_releases_people_or_a_release_manager_may_cancel(
    environments, releases, dave, alice, audrey, t0
):
    from tests.conftest import make_user

    other_dev = make_user("dora", "developer")
    booking = book(releases[0], environments["staging"], dave, t0, t0 + H)
    with pytest.raises(NotPermitted):
        reservations.cancel(booking, other_dev)
    with pytest.raises(NotPermitted):
        reservations.cancel(booking, audrey)
    assert reservations.cancel(booking, alice).cancelled_at


def test_a_user_without_the_right_to_book_is_refused(uat, releases, audrey, t0):
    with pytest.raises(NotPermitted):
        book(releases[0], uat, audrey, t0, t0 + H)


def test_a_release_cannot_hold_the_same_environment_twice_at_once(uat, releases, dave, t0):
    book(releases[0], uat, dave, t0, t0 + 2 * H)
    error = refusal(lambda: book(releases[0], uat, dave, t0 + H, t0 + 3 * H))
    assert codes(error) == ["already_reserved"]


def test_conflicts_lists_every_reason_without_booking(environments, uat, releases, dave, t0):
    cards = TestDataSet.objects.create(slug="cards", name="Test cards")
    cards.environments.set([uat])
    book(releases[0], uat, dave, t0, t0 + 2 * H, [cards])
    book(releases[1], uat, dave, t0, t0 + 2 * H)

    reasons = reservations.conflicts(uat, t0 + H, t0 + 3 * H, [cards])

    assert [r.code for r in reasons] == ["environment_capacity", "test_data_set"]
    assert all(not r.passed for r in reasons)
    assert reservations.conflicts(uat, t0 + 2 * H, t0 + 3 * H, [cards]) == []
    assert Reservation.objects.count() == 2


def test_free_slots_proposes_the_next_period_with_room(environments, releases, dave, t0):
    staging = environments["staging"]
    book(releases[0], staging, dave, t0, t0 + 3 * H)
    book(releases[1], staging, dave, t0 + 4 * H, t0 + 6 * H)

    # 2 h does not fit in the 1 h gap at 3 h, so the next slot is after the second booking;
    # the alternative after it follows on.
    slots = reservations.free_slots(staging, 2 * H, t0 + H, count=2)
    assert [(s.start - t0, s.end - t0) for s in slots] == [(6 * H, 8 * H), (8 * H, 10 * H)]
    # 1 h fits in the gap.
    slot = reservations.next_free_slot(staging, H, t0 + H)
    assert (slot.start, slot.end) == (t0 + 3 * H, t0 + 4 * H)
    assert reservations.free_slots(environments["production"], H, t0) == []


def test_free_slots_respects_a_busy_data_set(environments, uat, releases, dave, t0):
    cards = TestDataSet.objects.create(slug="cards", name="Test cards")
    cards.environments.set([uat, environments["staging"]])
    book(releases[0], environments["staging"], dave, t0, t0 + 5 * H, [cards])
    slot = reservations.next_free_slot(uat, H, t0, data_sets=[cards])
    assert slot.start == t0 + 5 * H
    assert reservations.next_free_slot(uat, H, t0).start == t0


def test_moving_a_booking_checks_the_rules_without_colliding_with_itself(
    environments, releases, dave, t0
):
    staging = environments["staging"]
    mine = book(releases[0], staging, dave, t0, t0 + 2 * H)
    book(releases[1], staging, dave, t0 + 4 * H, t0 + 6 * H)

    moved = reservations.change(mine, dave, start=t0 + H, end=t0 + 3 * H)
    assert (moved.start, moved.end) == (t0 + H, t0 + 3 * H)
    error = refusal(lambda: reservations.change(mine, dave, end=t0 + 5 * H))
    assert codes(error) == ["environment_capacity"]
    mine.refresh_from_db()
    assert mine.end == t0 + 3 * H


def test_a_cancelled_release_cannot_book(uat, releases, dave, alice, t0):
    from releases import lifecycle

    lifecycle.transition(releases[0], "cancel", alice)
    releases[0].refresh_from_db()
    error = refusal(lambda: book(releases[0], uat, dave, t0, t0 + H))
    assert codes(error) == ["release_state"]
