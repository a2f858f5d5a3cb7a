"""The deployment gate: each check passing and failing, the status it leads to, and the record."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.decisions import Decision, Reason
from releases import gate, lifecycle
from releases.models import GateDecision
from scheduling.models import Region
from tests.factories import FreezeWindowFactory, ReleaseFactory, ScopeItemFactory, ServiceFactory
from tests.releases import builders


def checks(result) -> dict[str, bool]:
    return {c["code"]: c["passed"] for c in result.checks}


def failed(result) -> list[str]:
    return [c["code"] for c in result.checks if not c["passed"]]


# --- release_found -----------------------------------------------------------------------


def test_no_release_shipping_the_version_prevents_the_deployment(payments, pipeline, environments):
    result = gate.ask(payments, "9.9.9", environments["dev"], pipeline)

    assert result.status == "prevented"
    assert result.release is None
    assert failed(result) == ["release_found"]
    assert "payments-api 9.9.9" in result.decision.failed[0].message


def test_a_cancelled_release_does_not_count_as_shipping_the_version(
    draft_release, payments, alice, pipeline, environments
):
    lifecycle.transition(draft_release, "cancel", alice)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.release is None
    assert failed(result) == ["release_found"]


def test_the_release_being_worked_on_is_preferred_when_several_ship_the_version(
    approved_release, payments, dave, pipeline, environments
):
    ReleaseFactory(author=dave, services=[(payments, "1.4.2")])  # a later draft, same version

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.release == approved_release
    assert result.status == "allowed"


# --- approved ----------------------------------------------------------------------------


def test_an_approved_release_is_allowed_to_the_first_environment(
    approved_release, payments, pipeline, environments
):
    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "allowed"
    assert result.allowed
    assert result.retry_after is None
    assert all(checks(result).values())
    assert set(checks(result)) == {
        "release_found",
        "approved",
        "freeze_window",
        "blackout_window",
        "release_window",
        "regional_go_live",
        "promotion_order",
        "environment_reservation",
        "quality_gates",
        "smoke_tests",
        "open_defects",
        "rollback_package",
        "rollback_plan",
        "dr_validation",
        "segregation_of_duties",
        "deployment_in_progress",
    }
    approved = next(c for c in result.checks if c["code"] == "approved")
    assert "carol" in approved["message"]


def test_a_submitted_release_waits_for_its_approval(
    submitted_release, payments, pipeline, environments
):
    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "waiting"
    assert not result.allowed
    assert failed(result) == ["approved"]
    assert result.retry_after is None
    assert "waiting for approval" in result.decision.failed[0].message


@pytest.mark.parametrize("state", ["draft", "rejected"])
def test_a_release_nobody_is_approving_is_prevented(
    move_to, payments, pipeline, environments, state
):
    move_to(state)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "prevented"
    assert failed(result) == ["approved"]


def test_an_already_deployed_release_is_prevented_from_shipping_again(
    move_to, payments, pipeline, environments
):
    move_to("deployed")

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "prevented"
    assert "already deployed" in result.decision.failed[0].message


# --- freeze_window -----------------------------------------------------------------------


@pytest.fixture
def orders(db):
    return ServiceFactory(slug="orders-api", name="Orders API")


@pytest.mark.parametrize(
    "scope",
    ["everything", "this service", "this environment", "this service in this environment"],
)
def test_an_active_freeze_covering_the_deployment_makes_it_wait_until_the_window_ends(
    approved_release, payments, pipeline, environments, scope
):
    end = timezone.now() + timedelta(hours=3)
    window = FreezeWindowFactory(name="Quarter close", end=end)
    if scope in ("this service", "this service in this environment"):
        window.services.add(payments)
    if scope in ("this environment", "this service in this environment"):
        window.environments.add(environments["dev"])

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "waiting"
    assert failed(result) == ["freeze_window"]
    assert result.retry_after == end
    assert "Quarter close" in result.decision.failed[0].message


@pytest.mark.parametrize("scope", ["another service", "another environment"])
def test_a_freeze_on_something_else_does_not_hold_the_deployment(
    approved_release, payments, orders, pipeline, environments, scope
):
    window = FreezeWindowFactory()
    if scope == "another service":
        window.services.add(orders)
    else:
        window.environments.add(environments["production"])

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert checks(result)["freeze_window"]
    assert result.status == "allowed"


@pytest.mark.parametrize(
    ("starts_in", "ends_in"),
    [(timedelta(hours=-5), timedelta(minutes=-1)), (timedelta(hours=1), timedelta(hours=4))],
    ids=["ended", "not started"],
)
def test_a_freeze_outside_now_does_not_hold_the_deployment(
    approved_release, payments, pipeline, environments, starts_in, ends_in
):
    now = timezone.now()
    FreezeWindowFactory(start=now + starts_in, end=now + ends_in)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "allowed"


def test_overlapping_freezes_wait_for_the_last_one_to_end(
    approved_release, payments, pipeline, environments
):
    later = timezone.now() + timedelta(days=2)
    FreezeWindowFactory(end=timezone.now() + timedelta(hours=2))
    FreezeWindowFactory(end=later).services.add(payments)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.retry_after == later


def test_a_freeze_and_a_missing_release_together_prevent(payments, pipeline, environments):
    FreezeWindowFactory()

    result = gate.ask(payments, "7.0.0", environments["dev"], pipeline)

    assert result.status == "prevented"
    assert set(failed(result)) == {"release_found", "freeze_window"}
    assert result.retry_after is None


# --- promotion_order ---------------------------------------------------------------------


def test_production_must_follow_a_successful_staging_deployment(
    approved_release, payments, bob, pipeline, env_list
):
    builders.promote_through(approved_release, env_list[:2], bob)  # dev, test; not staging

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "prevented"
    assert failed(result) == ["promotion_order"]
    assert "Staging" in result.decision.failed[0].message


def test_a_failed_staging_deployment_does_not_open_production(
    approved_release, payments, bob, pipeline, env_list
):
    builders.promote_through(approved_release, env_list[:2], bob)
    staging = builders.deploy(approved_release, env_list[2], bob)
    lifecycle.record_event(staging, bob, type="failed")

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert failed(result) == ["promotion_order"]


def test_production_opens_once_staging_succeeded(
    approved_release, payments, bob, pipeline, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "allowed"
    assert "Staging" in next(c for c in result.checks if c["code"] == "promotion_order")["message"]


# --- segregation_of_duties ---------------------------------------------------------------


@pytest.fixture
def staged(approved_release, bob, env_list):
    """The approved release, deployed successfully up to staging."""
    builders.promote_through(approved_release, env_list[:3], bob)
    return approved_release


def test_the_author_asking_for_production_is_prevented(staged, payments, dave, env_list):
    result = gate.ask(payments, "1.4.2", env_list[3], dave)

    assert result.status == "prevented"
    assert failed(result) == ["segregation_of_duties"]
    assert "dave" in result.decision.failed[0].message


def test_a_scope_item_contributor_asking_for_production_is_prevented(
    draft_release, payments, dave, carol, bob, pipeline, env_list
):
    ScopeItemFactory(release=draft_release, contributor=bob, title="Retry payouts")
    builders.approve(draft_release, dave, carol)
    builders.promote_through(draft_release, env_list[:3], pipeline)

    result = gate.ask(payments, "1.4.2", env_list[3], bob)

    assert result.status == "prevented"
    assert failed(result) == ["segregation_of_duties"]


def test_the_author_may_ask_for_a_non_production_environment(
    approved_release, payments, dave, environments
):
    result = gate.ask(payments, "1.4.2", environments["dev"], dave)

    assert checks(result)["segregation_of_duties"]
    assert result.status == "allowed"


# --- deployment_in_progress --------------------------------------------------------------


def test_a_running_deployment_makes_the_next_one_wait(
    approved_release, payments, bob, pipeline, environments
):
    builders.deploy(approved_release, environments["dev"], bob)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "waiting"
    assert failed(result) == ["deployment_in_progress"]


# --- every answer is recorded ------------------------------------------------------------


def test_every_answer_is_stored_with_its_checks(
    submitted_release, payments, pipeline, environments
):
    eu_west = Region.objects.create(code="eu-west", name="EU West", timezone="Europe/Dublin")
    first = gate.ask(payments, "1.4.2", environments["dev"], pipeline, region=eu_west)
    second = gate.ask(payments, "0.0.1", environments["test"], pipeline)

    assert GateDecision.objects.count() == 2
    stored = GateDecision.objects.get(pk=first.record.pk)
    assert (stored.status, stored.allowed, stored.purpose) == ("waiting", False, "query")
    assert (stored.service_slug, stored.version, stored.environment_slug, stored.region) == (
        "payments-api",
        "1.4.2",
        "dev",
        "eu-west",
    )
    assert stored.requested_by == pipeline
    assert stored.release == submitted_release
    assert stored.checks == first.checks
    assert [c["code"] for c in stored.checks][:2] == ["release_found", "approved"]
    other = GateDecision.objects.get(pk=second.record.pk)
    assert (other.status, other.release) == ("prevented", None)


def test_a_waiting_answer_stores_when_to_ask_again(
    approved_release, payments, pipeline, environments
):
    window = FreezeWindowFactory()

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert GateDecision.objects.get(pk=result.record.pk).retry_after == window.end


# --- status mapping ----------------------------------------------------------------------


def test_all_checks_passing_is_allowed():
    decision = Decision([Reason("a", True, "ok"), Reason("b", True, "ok")])
    assert gate.outcome(decision) == ("allowed", None)


def test_only_self_clearing_failures_is_waiting_until_the_latest_clears():
    soon, later = timezone.now() + timedelta(hours=1), timezone.now() + timedelta(hours=5)
    decision = Decision(
        [
            Reason("a", True, "ok"),
            Reason("freeze", False, "frozen", waits=True, retry_after=soon),
            Reason("other", False, "frozen", waits=True, retry_after=later),
        ]
    )
    assert gate.outcome(decision) == ("waiting", later)


def test_waiting_without_a_known_end_has_no_retry_time():
    decision = Decision(
        [
            Reason("approved", False, "pending", waits=True),
            Reason("freeze", False, "frozen", waits=True, retry_after=timezone.now()),
        ]
    )
    assert gate.outcome(decision) == ("waiting", None)


def test_any_failure_that_needs_a_change_is_prevented():
    decision = Decision(
        [
            Reason("freeze", False, "frozen", waits=True, retry_after=timezone.now()),
            Reason("promotion_order", False, "staging first"),
        ]
    )
    assert gate.outcome(decision) == ("prevented", None)
