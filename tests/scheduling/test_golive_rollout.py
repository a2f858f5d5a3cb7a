"""Regional staggered go-lives: the rollout plan and the gate's regional_go_live check."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from releases import gate
from releases.models import Release
from scheduling.golive import rollout_plan
from scheduling.models import GoLiveRule
from tests.releases.builders import approve, promote_through
from tests.scheduling.planning_builders import hours, monday, planned, region, rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def start():
    return monday() + hours(8)


@pytest.fixture
def regions():
    return {
        "eu-de": region("eu-de", "Europe/Berlin", order=1, name="Germany"),
        "us-east": region("us-east", "America/New_York", order=2, name="US East"),
        "apac-sg": region("apac-sg", "Asia/Singapore", order=3, name="Singapore"),
    }


def test_the_rollout_plan_lists_regions_in_go_live_order(dave, payments, start, regions):
    release = planned(dave, payments, start)
    rule(regions["eu-de"], start + timedelta(days=5), release=release, basis="BaFin notice")
    rule(regions["apac-sg"], start + timedelta(days=2), service=payments, basis="MAS TRM review")
    rows = rollout_plan(release)
    assert [(r["order"], r["region"].code) for r in rows] == [
        (1, "us-east"),
        (2, "apac-sg"),
        (3, "eu-de"),
    ]
    assert rows[0]["planned_at"] == start and rows[0]["earliest_at"] is None
    assert rows[1]["planned_at"] == start + timedelta(days=2)
    assert rows[2]["planned_at"] == start + timedelta(days=5)
    binding = [r for r in rows[2]["reasons"] if r.data.get("binding")]
    assert binding and "BaFin notice" in binding[0].message


def test_ties_follow_the_regions_rollout_order(dave, payments, start, regions):
    release = planned(dave, payments, start)
    rule(regions["eu-de"], start - timedelta(days=1), release=release)  # already reached
    assert [r["region"].code for r in rollout_plan(release)] == ["eu-de", "us-east", "apac-sg"]


def test_a_rule_of_another_service_does_not_move_the_release(dave, payments, start, regions):
    from tests.factories import ServiceFactory

    release = planned(dave, payments, start)
    rule(regions["eu-de"], start + timedelta(days=9), service=ServiceFactory(slug="ledger"))
    assert all(row["planned_at"] == start for row in rollout_plan(release))


def test_an_unplanned_release_goes_live_at_the_legal_dates_only(dave, payments, start, regions):
    release = planned(dave, payments, start)
    Release.objects.filter(pk=release.pk).update(planned_start=None, planned_end=None)
    release.refresh_from_db()
    rule(regions["us-east"], start, release=release)
    rows = rollout_plan(release)
    assert rows[0]["region"].code == "us-east" and rows[0]["planned_at"] == start
    assert rows[1]["planned_at"] is None


def test_a_go_live_rule_needs_a_release_or_a_service_and_a_legal_basis(dave, payments, regions):
    release = planned(dave, payments, monday())
    missing = GoLiveRule(region=regions["eu-de"], earliest_at=timezone.now(), legal_basis="x")
    with pytest.raises(ValidationError) as exc:
        missing.full_clean()
    assert "Name the release" in str(exc.value)
    both = GoLiveRule(
        region=regions["eu-de"],
        release=release,
        service=payments,
        earliest_at=timezone.now(),
        legal_basis="x",
    )
    with pytest.raises(ValidationError) as exc:
        both.full_clean()
    assert "service" in exc.value.message_dict
    blank = GoLiveRule(
        region=regions["eu-de"], release=release, earliest_at=timezone.now(), legal_basis="  "
    )
    with pytest.raises(ValidationError) as exc:
        blank.full_clean()
    assert "legal_basis" in exc.value.message_dict


# ------------------------------------------------------------------ the gate, per region


@pytest.fixture
def shippable(dave, carol, bob, payments, environments, start, regions):
    """An approved release already in staging, ready to ask the gate for production."""
    release = planned(dave, payments, start)
    approve(release, dave, carol)
    promote_through(
        release, [environments["dev"], environments["test"], environments["staging"]], bob
    )
    release.refresh_from_db()
    return release


def _ask(release, environments, bob, region, at):
    return gate.evaluate_release(release, environments["production"], bob, at=at, region=region)


def test_the_gate_waits_for_the_regions_earliest_legal_date(shippable, environments, bob, regions):
    now = timezone.now()
    legal = now + timedelta(days=3)
    rule(regions["eu-de"], legal, release=shippable, basis="BaFin notice")
    decision = _ask(shippable, environments, bob, regions["eu-de"], now)
    status, retry_after = gate.outcome(decision)
    check = next(r for r in decision.reasons if r.code == "regional_go_live")
    assert not check.passed and "BaFin notice" in check.message
    assert status == "waiting"
    assert retry_after == legal


def test_the_gate_passes_the_region_after_its_date(shippable, environments, bob, regions):
    now = timezone.now()
    legal = now + timedelta(days=3)
    rule(regions["eu-de"], legal, release=shippable)
    decision = _ask(shippable, environments, bob, regions["eu-de"], legal + timedelta(minutes=1))
    check = next(r for r in decision.reasons if r.code == "regional_go_live")
    assert check.passed
    assert gate.outcome(decision)[0] == "allowed", decision.messages()


def test_a_rule_for_one_region_does_not_affect_another(shippable, environments, bob, regions):
    now = timezone.now()
    rule(regions["eu-de"], now + timedelta(days=3), release=shippable)
    decision = _ask(shippable, environments, bob, regions["us-east"], now)
    assert next(r for r in decision.reasons if r.code == "regional_go_live").passed
    assert gate.outcome(decision)[0] == "allowed", decision.messages()


def test_the_gate_api_reports_the_wait_for_the_region_asked_about(
    shippable, environments, bob, regions, api_client, payments
):
    legal = timezone.now() + timedelta(days=3)
    rule(regions["eu-de"], legal, service=payments, basis="BaFin notice")
    client = api_client(bob)
    body = {"service": "payments-api", "version": "2.0.0", "environment": "production"}
    waiting = client.post("/api/v1/gate/", {**body, "region": "eu-de"}, format="json").json()
    assert waiting["status"] == "waiting"
    assert waiting["retry_after"].startswith(legal.isoformat()[:19])
    failed = [c["code"] for c in waiting["checks"] if not c["passed"]]
    assert failed == ["regional_go_live"]
    other = client.post("/api/v1/gate/", {**body, "region": "us-east"}, format="json").json()
    assert other["status"] == "allowed", other["checks"]


def test_the_gate_checks_the_release_window_of_the_region_asked_about(
    shippable, environments, bob, regions
):
    from scheduling.choices import WindowKind
    from tests.scheduling.planning_builders import window

    now = timezone.now()
    opens = now + timedelta(days=2)
    window(
        "Singapore release window",
        opens,
        opens + hours(4),
        kind=WindowKind.RELEASE_WINDOW,
        regions=[regions["apac-sg"]],
    )
    singapore = _ask(shippable, environments, bob, regions["apac-sg"], now)
    check = next(r for r in singapore.reasons if r.code == "release_window")
    assert not check.passed and "Singapore release window" in check.message
    assert gate.outcome(singapore) == ("waiting", opens)
    us = _ask(shippable, environments, bob, regions["us-east"], now)
    assert next(r for r in us.reasons if r.code == "release_window").passed
    inside = _ask(shippable, environments, bob, regions["apac-sg"], opens + hours(1))
    assert next(r for r in inside.reasons if r.code == "release_window").passed
