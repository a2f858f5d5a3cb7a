"""The schedule check honours "ships after" dependencies, as the sequencer does."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduling.models import ReleaseDependency
from scheduling.schedule_check import check_schedule, next_free_slot
from tests.factories import ReleaseFactory, ServiceFactory


def _codes(decision, passed):
    return {r.code for r in decision.reasons if r.passed is passed}


@pytest.mark.django_db
def test_a_release_planned_before_its_predecessor_ships_is_a_conflict(dave):
    soon = timezone.now().replace(microsecond=0) + timedelta(days=2)
    first = ReleaseFactory(
        author=dave,
        services=[(ServiceFactory(), "1.0.0")],
        planned_start=soon + timedelta(days=3),
        planned_end=soon + timedelta(days=3, hours=2),
    )
    second = ReleaseFactory(
        author=dave,
        services=[(ServiceFactory(), "2.0.0")],
        planned_start=soon,
        planned_end=soon + timedelta(hours=2),
    )
    ReleaseDependency.objects.create(release=second, after=first, reason="uses its API")

    decision = check_schedule(second, second.planned_start, second.planned_end)

    assert "ships_after" in _codes(decision, False)
    reason = next(r for r in decision.reasons if r.code == "ships_after")
    assert first.key in reason.message
    slot = next_free_slot(second, timedelta(hours=2), soon)
    assert slot is not None and slot >= first.planned_end


@pytest.mark.django_db
def test_a_release_planned_after_its_predecessor_passes(dave):
    soon = timezone.now().replace(microsecond=0) + timedelta(days=2)
    first = ReleaseFactory(
        author=dave,
        services=[(ServiceFactory(), "1.0.0")],
        planned_start=soon,
        planned_end=soon + timedelta(hours=2),
    )
    second = ReleaseFactory(
        author=dave,
        services=[(ServiceFactory(), "2.0.0")],
        planned_start=soon + timedelta(days=1),
        planned_end=soon + timedelta(days=1, hours=2),
    )
    ReleaseDependency.objects.create(release=second, after=first)

    decision = check_schedule(second, second.planned_start, second.planned_end)

    assert "ships_after" in _codes(decision, True)
    assert "ships_after" not in _codes(decision, False)
