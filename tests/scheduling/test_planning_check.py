"""Schedule validation: every conflict with its reason, the next free slot, re-planning."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from releasemgr.decisions import DomainError
from releases.choices import ChangeType, ReleaseState
from releases.models import Release
from scheduling.choices import Hardness, WindowKind
from scheduling.models import Region
from scheduling.schedule_check import (
    apply_slot,
    check_schedule,
    hard_conflicts,
    next_free_slot,
    propose,
)
from tests.scheduling.planning_builders import (
    approved_exception,
    booking,
    codes,
    deliverable,
    failed,
    hours,
    monday,
    need,
    planned,
    production,
    region,
    rule,
    staging,
    window,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def prod(db):
    return production()


@pytest.fixture
def start():
    return monday() + hours(10)  # Monday 10:00 UTC, two weeks ahead


@pytest.fixture
def release(dave, payments, prod, start):
    return planned(dave, payments, start)


# ------------------------------------------------------------------ each kind of conflict


def test_a_clear_plan_has_no_conflicts(release, start):
    decision = check_schedule(release, start, start + hours(2))
    assert decision.allowed, decision.messages()
    assert {"freeze_window", "blackout_window", "release_window"} <= set(codes(decision, True))


def test_a_hard_freeze_over_the_plan_is_listed_with_its_window_and_remedy(release, start, prod):
    freeze = window("Quarter-end freeze", start - hours(5), start + hours(20), environments=[prod])
    decision = check_schedule(release, start, start + hours(2))
    reason = failed(decision, "freeze_window")
    assert "Quarter-end freeze" in reason.message
    assert "approved exception would cover it" in reason.message
    assert reason.data["window"] == freeze.pk
    assert reason.data["severity"] == "hard"
    assert reason.data["free_at"] == (start + hours(20)).isoformat()


def test_a_blackout_is_reported_under_its_own_code(release, start):
    window("Black Friday", start, start + hours(24), kind=WindowKind.BLACKOUT)
    decision = check_schedule(release, start, start + hours(2))
    assert "Black Friday" in failed(decision, "blackout_window").message
    assert "freeze_window" in codes(decision, True)


def test_a_freeze_of_another_service_does_not_conflict(release, start, dave):
    from tests.factories import ServiceFactory

    other = ServiceFactory(slug="ledger")
    window("Ledger freeze", start - hours(1), start + hours(5), services=[other])
    assert check_schedule(release, start, start + hours(2)).allowed


def test_an_approved_exception_covers_the_freeze(release, start, carol):
    freeze = window("Holiday freeze", start - hours(1), start + hours(24))
    approved_exception(release, freeze, carol, start - hours(1), start + hours(3))
    decision = check_schedule(release, start, start + hours(2))
    reason = next(r for r in decision.reasons if r.code == "freeze_window")
    assert reason.passed
    assert reason.data["covered_by"] == "exception"
    assert "carol" in reason.message


def test_the_change_type_allowance_covers_a_standard_change_but_not_a_normal_one(
    dave, payments, prod, start
):
    window("Holiday freeze", start - hours(1), start + hours(24), allowed=["standard"])
    standard = planned(dave, payments, start, change_type=ChangeType.STANDARD)
    normal = planned(dave, payments, start, change_type=ChangeType.NORMAL)
    covered = next(
        r
        for r in check_schedule(standard, start, start + hours(2)).reasons
        if r.code == "freeze_window"
    )
    assert covered.passed and covered.data["covered_by"] == "change_type"
    refused = failed(check_schedule(normal, start, start + hours(2)), "freeze_window")
    assert "only standard changes may ship" in refused.message


def test_a_soft_window_is_a_warning_not_a_hard_conflict(release, start):
    window(
        "Month-end close", start, start + hours(8), kind=WindowKind.BLACKOUT, hardness=Hardness.SOFT
    )
    decision = check_schedule(release, start, start + hours(2))
    reason = failed(decision, "blackout_window")
    assert reason.data["severity"] == "warning"
    assert "needs a stated reason" in reason.message
    assert hard_conflicts(decision) == []


def test_starting_outside_the_release_windows_names_the_next_opening(release, start):
    # Release windows every Wednesday 09:00-12:00 UTC; the plan starts on a Monday.
    wednesday = start - hours(10) + timedelta(days=2) + hours(9)
    window(
        "Wednesday release window",
        wednesday - timedelta(days=7),
        wednesday - timedelta(days=7) + hours(3),
        kind=WindowKind.RELEASE_WINDOW,
        rrule="FREQ=WEEKLY",
    )
    reason = failed(check_schedule(release, start, start + hours(2)), "release_window")
    assert "Wednesday release window" in reason.message
    assert reason.data["free_at"] == wednesday.isoformat()


def test_a_fully_booked_environment_names_the_bookings(release, start, alice, payments):
    env = staging(capacity=1)
    need(release, env, 24)
    other = planned(alice, payments, start + timedelta(days=30))
    booking(other, env, start - hours(30), start - hours(6), alice)
    reason = failed(check_schedule(release, start, start + hours(2)), "environment_busy")
    assert other.key in reason.message
    assert "capacity 1" in reason.message
    # Free once the other booking ends and 24 h fit before the start.
    assert reason.data["free_at"] == (start - hours(6) + hours(24)).isoformat()


def test_room_left_in_the_environment_passes(release, start, alice, payments):
    env = staging(capacity=2)
    need(release, env, 24)
    other = planned(alice, payments, start + timedelta(days=30))
    booking(other, env, start - hours(30), start - hours(6), alice)
    decision = check_schedule(release, start, start + hours(2))
    assert "environment_busy" in codes(decision, True)


def test_a_window_says_where_it_hits_the_rollout(release, start):
    eu = region("eu-de", "Europe/Berlin", order=1)
    region("us-east", "America/New_York", order=2)
    window("Global freeze", start - hours(1), start + hours(5))
    window("German holiday", start - hours(1), start + hours(5), regions=[eu])
    decision = check_schedule(release, start, start + hours(2))
    messages = [r.message for r in decision.reasons if r.code == "freeze_window"]
    assert any("'Global freeze'" in m and "Production in every region" in m for m in messages)
    assert any("'German holiday'" in m and "Production (eu-de)" in m for m in messages)
    # Asked about the other region, the German holiday is not there.
    us_only = check_schedule(release, start, start + hours(2), Region.objects.get(code="us-east"))
    assert [r.data["window_name"] for r in us_only.failed] == ["Global freeze"]


def test_a_go_live_rule_not_yet_reached_holds_the_region_back(release, start):
    eu = region("eu-de", "Europe/Berlin", order=1)
    rule(eu, start + timedelta(days=3), release=release, basis="BaFin notification period")
    reason = failed(check_schedule(release, start, start + hours(2), eu), "regional_go_live")
    assert "BaFin notification period" in reason.message
    assert reason.data["free_at"] == (start + timedelta(days=3)).isoformat()


def test_a_go_live_rule_for_one_region_does_not_affect_another(release, start):
    eu = region("eu-de", "Europe/Berlin", order=1)
    us = region("us-east", "America/New_York", order=2)
    rule(eu, start + timedelta(days=3), release=release)
    assert check_schedule(release, start, start + hours(2), us).allowed
    # For the whole rollout the other region still goes live: a staggered rollout, no conflict.
    whole = check_schedule(release, start, start + hours(2))
    staggered = next(r for r in whole.reasons if r.code == "regional_go_live")
    assert staggered.passed and "Staggered rollout" in staggered.message


def test_a_vendor_deliverable_not_delivered_by_the_start_is_a_conflict(release, start):
    deliverable(release, start - hours(24), buffer_hours=48)
    reason = failed(check_schedule(release, start, start + hours(2)), "vendor_deliverable")
    assert "Acme Payments" in reason.message and "not delivered" in reason.message
    assert reason.data["free_at"] == (start + hours(24)).isoformat()


def test_a_missed_business_deadline_is_flagged(release, start):
    release.deadline = start + hours(1)
    release.save()
    reason = failed(check_schedule(release, start, start + hours(2)), "deadline_missed")
    assert reason.data["severity"] == "deadline"
    assert "business deadline" in reason.message


def test_a_missed_compliance_deadline_is_flagged(release, start):
    release.compliance_deadline = start - hours(1)
    release.save()
    reason = failed(check_schedule(release, start, start + hours(2)), "compliance_deadline_missed")
    assert "compliance deadline" in reason.message


def test_an_end_before_the_start_is_refused(release, start):
    with pytest.raises(ValidationError) as exc:
        check_schedule(release, start, start - hours(1))
    assert "end" in exc.value.message_dict


# ------------------------------------------------------------------ next free slot


def test_the_next_free_slot_skips_a_freeze_and_lands_when_it_ends(release, start):
    window("Quarter-end freeze", start - hours(2), start + timedelta(days=2, hours=3))
    slot = next_free_slot(release, hours(2), after=start)
    assert slot == start + timedelta(days=2, hours=3)


def test_the_next_free_slot_respects_a_recurring_window(release, start):
    # A blackout every day 06:00-22:00 UTC: a 2 h slot fits only at night.
    window(
        "Trading hours",
        start - timedelta(days=7) - hours(4),
        start - timedelta(days=7) + hours(12),
        kind=WindowKind.BLACKOUT,
        rrule="FREQ=DAILY",
    )
    slot = next_free_slot(release, hours(2), after=start)
    assert slot == start + hours(12)  # Monday 22:00
    assert next_free_slot(release, hours(10), after=start) is None  # never 10 h free


def test_the_next_free_slot_opens_with_the_next_release_window_in_its_time_zone(release, start):
    # Tuesdays 10:00-14:00 Berlin time (CET/CEST); the slot starts at the opening.
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    local_monday = start.astimezone(berlin).replace(hour=0, minute=0)
    tuesday_10 = (local_monday + timedelta(days=1)).replace(hour=10)
    window(
        "Tuesday window",
        tuesday_10 - timedelta(days=14),
        tuesday_10 - timedelta(days=14) + hours(4),
        kind=WindowKind.RELEASE_WINDOW,
        rrule="FREQ=WEEKLY",
        tz="Europe/Berlin",
    )
    assert next_free_slot(release, hours(2), after=start) == tuesday_10


def test_the_next_free_slot_waits_for_the_vendor_and_the_go_live_rule(release, start):
    eu = region("eu-de", "Europe/Berlin", order=1)
    rule(eu, start + timedelta(days=1), release=release)
    deliverable(release, start + hours(3), buffer_hours=48)
    slot = next_free_slot(release, hours(2), after=start, region=eu)
    assert slot == start + hours(51)


def test_the_next_free_slot_never_proposes_the_past(release, start):
    from django.utils import timezone

    slot = next_free_slot(release, hours(2), after=timezone.now() - timedelta(days=3))
    assert slot >= timezone.now()


def test_propose_keeps_a_clear_plan_and_moves_a_blocked_one(release, start):
    assert propose(release).slot_start == start
    window("Freeze", start - hours(1), start + hours(6))
    proposal = propose(release)
    assert proposal.slot_start == start + hours(6)
    assert proposal.slot_end == start + hours(8)
    assert "freeze window Freeze" in proposal.why
    end = (start + hours(6)).strftime("%Y-%m-%d %H:%M UTC")
    assert proposal.skipped == [f"freeze 'Freeze' until {end}"]


def test_the_reasons_a_slot_was_skipped_are_kept_short(release, start):
    for i in range(10):
        window(f"Freeze {i}", start + hours(3 * i) - hours(1), start + hours(3 * i + 2))
    proposal = propose(release)
    assert proposal.slot_start == start + hours(29)
    assert len(proposal.skipped) == 7 and proposal.skipped[-1] == "and 4 more"


# ------------------------------------------------------------------ apply


def test_applying_a_slot_re_plans_with_the_reason_in_history(release, start, alice):
    window("Freeze", start - hours(1), start + hours(6))
    proposal = propose(release)
    apply_slot(release, proposal.slot_start, proposal.slot_end, alice, why=proposal.why)
    release.refresh_from_db()
    assert release.planned_start == start + hours(6)
    latest = release.history.order_by("-history_date").first()
    assert latest.history_change_reason == "re-planned: freeze window Freeze"
    assert latest.history_user == alice


def test_applying_a_slot_with_a_hard_conflict_changes_nothing(release, start, alice):
    window("Freeze", start + hours(20), start + hours(30))
    before = release.history.count()
    with pytest.raises(DomainError) as exc:
        apply_slot(release, start + hours(21), start + hours(23), alice)
    assert "Freeze" in exc.value.message
    release.refresh_from_db()
    assert release.planned_start == start
    assert release.history.count() == before


def test_applying_a_past_or_backwards_slot_is_refused(release, start, alice):
    from django.utils import timezone

    with pytest.raises(ValidationError):
        apply_slot(release, timezone.now() - timedelta(days=1), timezone.now(), alice)
    with pytest.raises(ValidationError):
        apply_slot(release, start + hours(3), start + hours(1), alice)
    release.refresh_from_db()
    assert release.planned_start == start


def test_a_deployed_release_is_not_re_planned(release, start, alice):
    Release.objects.filter(pk=release.pk).update(state=ReleaseState.DEPLOYED)
    release.refresh_from_db()
    with pytest.raises(DomainError):
        apply_slot(release, start + hours(3), start + hours(5), alice)
