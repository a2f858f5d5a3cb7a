"""The sequencer: capacity, dependencies, windows and deadlines, with the reasons it gives."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from releasemgr.decisions import NotPermitted
from scheduling import sequencer
from scheduling.models import (
    Environment,
    ReleaseDependency,
    Reservation,
    ValidationNeed,
    VendorDeliverable,
)
from tests.factories import EnvironmentFactory, FreezeWindowFactory, ReleaseFactory

H = timedelta(hours=1)
START = datetime(2031, 1, 6, 8, 0, tzinfo=UTC)  # a Monday, far enough ahead to be "future"
NOW = START - timedelta(days=30)


@pytest.fixture
def envs(db):
    """integration (capacity 2) → staging (capacity 1) → production."""
    return {
        "integration": EnvironmentFactory(
            slug="integration", name="Integration", order=1, capacity=2
        ),
        "staging": EnvironmentFactory(slug="staging", name="Staging", order=2, capacity=1),
        "production": EnvironmentFactory(
            slug="production", name="Production", order=3, is_production=True
        ),
    }


def release(author, name, *, needs=(), deadline=None, compliance=None, services=()):
    r = ReleaseFactory(
        author=author,
        name=name,
        planned_start=None,
        planned_end=None,
        deadline=deadline,
        compliance_deadline=compliance,
        services=list(services),
    )
    for env, hours in needs:
        ValidationNeed.objects.create(release=r, environment=env, hours=hours)
    return r


def run(releases, **kwargs):
    return sequencer.plan(releases, Environment.objects.all(), START, now=NOW, **kwargs)


def reason_codes(item):
    return [r.code for r in item.reasons if not r.passed]


def test_deadlines_are_met_when_capacity_allows(envs, dave):
    a = release(dave, "A", needs=[(envs["integration"], 8)], deadline=START + 12 * H)
    b = release(dave, "B", needs=[(envs["integration"], 8)], deadline=START + 12 * H)

    result = run([a, b])

    pa, pb = result.get(a.key), result.get(b.key)
    # Capacity 2: both validate at once from the start.
    assert pa.slots[0].start == pb.slots[0].start == START
    assert pa.ship_start == START + 8 * H
    assert pa.deadline_met and pb.deadline_met
    assert not result.missed and result.errors == []
    assert [r.code for r in pa.reasons] == ["deadline"]


def test_a_deadline_is_missed_when_the_environment_is_full_and_the_reason_names_who_holds_it(
    envs, dave
):
    early = release(dave, "Early", needs=[(envs["staging"], 24)], deadline=START + 30 * H)
    late = release(dave, "Late", needs=[(envs["staging"], 24)], deadline=START + 40 * H)

    result = run([late, early])

    pe, pl = result.get(early.key), result.get(late.key)
    assert pe.slots[0].start == START and pe.deadline_met is True
    assert pl.slots[0].start == START + 24 * H  # waits for Early's slot in staging
    assert pl.deadline_met is False
    assert "capacity" in reason_codes(pl)
    why = " ".join(r.message for r in pl.reasons)
    assert f"Capacity of Staging (1) is taken by {early.key}" in why
    assert "Misses its deadline" in why
    assert [i.release.key for i in result.releases] == [early.key, late.key]
    assert result.missed == [pl]


def test_a_compliance_deadline_goes_before_a_business_deadline(envs, dave):
    business = release(dave, "Business", needs=[(envs["staging"], 10)], deadline=START + 11 * H)
    audit = release(dave, "Audit", needs=[(envs["staging"], 10)], compliance=START + 50 * H)
    result = run([business, audit])
    assert result.get(audit.key).slots[0].start == START
    assert result.get(business.key).deadline_met is False
    assert result.get(audit.key).compliance_deadline_met is True


def test_a_release_that_needs_more_time_than_it_has_says_so(envs, dave):
    rushed = release(dave, "Rushed", needs=[(envs["staging"], 30)], deadline=START + 10 * H)
    item = run([rushed]).get(rushed.key)
    assert item.deadline_met is False
    assert "validation_time" in reason_codes(item)
    assert "Even with free environments" in " ".join(r.message for r in item.reasons)


def test_dependencies_are_honoured_per_environment_and_for_shipping(envs, dave):
    # B is urgent but must follow A; A inherits B's urgency and goes first.
    a = release(dave, "A", needs=[(envs["integration"], 4), (envs["staging"], 4)])
    b = release(
        dave,
        "B",
        needs=[(envs["integration"], 2), (envs["staging"], 2)],
        deadline=START + 20 * H,
    )
    other = release(dave, "Other", needs=[(envs["staging"], 4)], deadline=START + 50 * H)
    ReleaseDependency.objects.create(release=b, after=a)

    result = run([b, other, a])

    pa, pb = result.get(a.key), result.get(b.key)
    a_slots = {s.environment.slug: s for s in pa.slots}
    b_slots = {s.environment.slug: s for s in pb.slots}
    for env in ("integration", "staging"):
        assert b_slots[env].start >= a_slots[env].end
    assert pb.ship_start >= pa.ship_end
    assert pa.priority < result.get(other.key).priority  # A took B's urgency
    assert pb.after == [a.key]
    assert "dependency" in reason_codes(pb)
    assert any(a.key in r.message for r in pb.reasons if r.code == "dependency")


def test_a_dependency_cycle_is_reported_naming_the_cycle(envs, dave):
    a = release(dave, "A", needs=[(envs["staging"], 2)])
    b = release(dave, "B", needs=[(envs["staging"], 2)])
    c = release(dave, "C", needs=[(envs["staging"], 2)])
    waiting = release(dave, "Waiting", needs=[(envs["staging"], 2)])
    free = release(dave, "Free", needs=[(envs["staging"], 2)])
    ReleaseDependency.objects.create(release=a, after=b)
    ReleaseDependency.objects.create(release=b, after=c)
    ReleaseDependency.objects.create(release=c, after=a)
    ReleaseDependency.objects.create(release=waiting, after=a)

    result = run([a, b, c, waiting, free])

    (error,) = result.errors
    assert error.code == "dependency_cycle"
    assert sorted(error.data["releases"]) == sorted([a.key, b.key, c.key])
    assert f"{a.key} after {b.key}" in error.message
    assert f"{b.key} after {c.key}" in error.message
    assert f"{c.key} after {a.key}" in error.message
    for r in (a, b, c, waiting):
        assert not result.get(r.key).scheduled
    assert "cycle" in result.get(waiting.key).error
    assert result.get(free.key).slots[0].start == START


def test_a_hard_freeze_on_the_environment_is_skipped(envs, dave):
    freeze = FreezeWindowFactory(name="Year-end freeze", start=START - H, end=START + 48 * H)
    freeze.environments.set([envs["staging"]])
    soft = FreezeWindowFactory(
        name="Soft one", start=START - H, end=START + 96 * H, hardness="soft"
    )
    soft.environments.set([envs["staging"]])
    other_env = FreezeWindowFactory(name="Integration only", start=START, end=START + 96 * H)
    other_env.environments.set([envs["integration"]])
    r = release(dave, "R", needs=[(envs["staging"], 4)], deadline=START + 24 * H)

    item = run([r]).get(r.key)

    assert item.slots[0].start == START + 48 * H
    assert item.deadline_met is False
    assert "window" in reason_codes(item)
    assert "Year-end freeze" in " ".join(r.message for r in item.reasons)
    assert "Soft one" not in " ".join(r.message for r in item.reasons)


def test_a_slot_may_run_into_a_freeze_but_not_start_in_one(envs, dave):
    FreezeWindowFactory(name="Later freeze", start=START + 2 * H, end=START + 10 * H)
    r = release(dave, "R", needs=[(envs["staging"], 4)])
    item = run([r]).get(r.key)
    assert item.slots[0].start == START
    # Shipping at 4 h would fall inside the freeze (all environments), so it waits for its end.
    assert item.ship_start == START + 10 * H


def test_bookings_of_releases_outside_the_plan_take_capacity(envs, dave, alice):
    outsider = ReleaseFactory(author=dave, name="Outsider")
    Reservation.objects.create(
        environment=envs["staging"],
        release=outsider,
        purpose="uat",
        start=START,
        end=START + 6 * H,
        reserved_by=dave,
    )
    r = release(dave, "R", needs=[(envs["staging"], 2)])
    item = run([r]).get(r.key)
    assert item.slots[0].start == START + 6 * H
    assert f"{outsider.key} (booked)" in " ".join(x.message for x in item.reasons)


def test_an_undelivered_vendor_deliverable_holds_the_release_back(envs, dave):
    r = release(dave, "R", needs=[(envs["staging"], 2)])
    VendorDeliverable.objects.create(
        release=r,
        vendor="Acme PSP",
        description="SDK 7",
        expected_at=START + 24 * H,
        buffer_hours=48,
    )
    item = run([r]).get(r.key)
    assert item.slots[0].start == START + 24 * H
    assert item.ship_start == START + 72 * H
    assert "Acme PSP" in " ".join(x.message for x in item.reasons)


def test_the_plan_is_deterministic(envs, dave):
    rs = [
        release(dave, f"R{n}", needs=[(envs["integration"], 3 + n % 4), (envs["staging"], 2)])
        for n in range(8)
    ]
    assert run(rs).as_dict() == run(list(reversed(rs))).as_dict()


def test_the_plan_runs_a_fixed_number_of_queries(envs, dave):
    def count(n):
        rs = [
            release(dave, f"R{n}-{i}", needs=[(envs["integration"], 2), (envs["staging"], 3)])
            for i in range(n)
        ]
        for i in range(1, n):
            ReleaseDependency.objects.create(release=rs[i], after=rs[i - 1])
        with CaptureQueriesContext(connection) as ctx:
            run(rs)
        return len(ctx.captured_queries)

    assert count(3) == count(40)


def test_quarters_are_parsed_and_bad_ones_explained():
    assert sequencer.quarter_bounds("2027-Q1") == (
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2027, 4, 1, tzinfo=UTC),
    )
    assert sequencer.quarter_bounds("2027-q4")[1] == datetime(2028, 1, 1, tzinfo=UTC)
    assert sequencer.shift_quarter("2027-Q4", 1) == "2028-Q1"
    assert sequencer.shift_quarter("2027-Q1", -1) == "2026-Q4"
    for bad in ("2027", "2027-Q5", "Q1-2027", ""):
        with pytest.raises(ValueError, match="write it like 2027-Q1"):
            sequencer.quarter_bounds(bad)


def test_applying_a_plan_writes_planned_dates_with_the_reason_sequenced(envs, dave, alice, audrey):
    r = release(dave, "R", needs=[(envs["staging"], 5)])
    result = run([r])
    with pytest.raises(NotPermitted):
        sequencer.apply(result, audrey)

    changed = sequencer.apply(result, alice)

    r.refresh_from_db()
    assert changed == [r]
    assert r.planned_start == START + 5 * H
    assert r.planned_end == START + 7 * H
    last = r.history.order_by("-history_date", "-history_id").first()
    assert last.history_change_reason == "sequenced"
    assert last.history_user == alice
    # Applying again changes nothing.
    assert sequencer.apply(run([r]), alice) == []
