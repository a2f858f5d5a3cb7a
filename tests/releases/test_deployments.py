"""Deployments: started through the gate, finished by what the pipeline reports."""

import pytest

from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.roles import DEPLOYER
from releases import lifecycle
from releases.lifecycle import GateRefused
from releases.models import Deployment, DeploymentEvent, GateDecision
from tests.conftest import make_user
from tests.releases import builders


@pytest.fixture
def running(approved_release, bob, environments):
    return builders.deploy(approved_release, environments["dev"], bob)


def test_node_and_smoke_results_are_recorded_without_finishing_the_deployment(running, bob):
    lifecycle.record_event(running, bob, type="node", target="web-1", status="ok")
    # A passing smoke test; a failing one halts the deployment (tests/releases/test_auto_halt.py).
    lifecycle.record_event(running, bob, type="smoke", status="ok", message="checkout 200")

    running.refresh_from_db()
    assert running.status == "running"
    assert running.finished_at is None
    events = list(running.events.values_list("type", "target", "status", "actor__username"))
    assert events == [("node", "web-1", "ok", "bob"), ("smoke", "", "ok", "bob")]


@pytest.mark.parametrize(
    ("event", "status", "event_status"),
    [
        ("succeeded", "succeeded", "ok"),
        ("failed", "failed", "failed"),
        ("halted", "halted", "failed"),
        ("rolled_back", "rolled_back", "info"),
    ],
)
def test_a_final_event_finishes_the_deployment(running, bob, event, status, event_status):
    recorded = lifecycle.record_event(running, bob, type=event)

    running.refresh_from_db()
    assert running.status == status
    assert running.finished_at is not None
    assert recorded.status == event_status
    assert running.history.order_by("-history_id").first().history_user == bob


def test_reporting_success_twice_is_refused_and_records_nothing(running, bob):
    lifecycle.record_event(running, bob, type="succeeded")
    running.refresh_from_db()
    finished_at = running.finished_at

    with pytest.raises(IllegalTransition) as info:
        lifecycle.record_event(running, bob, type="succeeded")

    assert "succeeded" in info.value.message
    assert [r.code for r in info.value.reasons] == ["deployment_state"]
    running.refresh_from_db()
    assert running.finished_at == finished_at
    assert running.events.count() == 1


def test_a_finished_deployment_takes_no_more_node_results(running, bob):
    lifecycle.record_event(running, bob, type="failed")

    with pytest.raises(IllegalTransition):
        lifecycle.record_event(running, bob, type="node", target="web-2")

    assert running.events.count() == 1


def test_a_failed_deployment_can_still_be_rolled_back(running, bob):
    lifecycle.record_event(running, bob, type="failed")

    lifecycle.record_event(running, bob, type="rolled_back")

    running.refresh_from_db()
    assert running.status == "rolled_back"


def test_a_failed_production_deployment_keeps_the_release_deploying(
    approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)
    production = builders.deploy(approved_release, env_list[3], bob)

    lifecycle.record_event(production, bob, type="failed")

    approved_release.refresh_from_db()
    assert approved_release.state == "deploying"


def test_a_second_start_while_one_is_running_waits_for_it(running, approved_release, bob, env_list):
    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(approved_release, env_list[0], bob)

    assert info.value.result.status == "waiting"
    assert [r.code for r in info.value.reasons] == ["deployment_in_progress"]
    assert Deployment.objects.count() == 1


def test_the_same_idempotency_key_returns_the_first_deployment(approved_release, bob, env_list):
    first, created = lifecycle.start_deployment(
        approved_release, env_list[0], bob, idempotency_key="build-77"
    )
    again, created_again = lifecycle.start_deployment(
        approved_release, env_list[0], bob, idempotency_key="build-77"
    )

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Deployment.objects.count() == 1
    assert GateDecision.objects.filter(purpose="deployment").count() == 1


def test_reporting_results_needs_the_deploy_permission(running, carol):
    with pytest.raises(NotPermitted):
        lifecycle.record_event(running, carol, type="succeeded")
    running.refresh_from_db()
    assert running.status == "running"
    assert not DeploymentEvent.objects.exists()


def test_dave_cannot_deploy_his_own_release_to_production(approved_release, bob, env_list):
    builders.promote_through(approved_release, env_list[:3], bob)
    # dave as a deployer too: the rule is about authorship, not role.
    dave = make_user("dave", DEPLOYER)

    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(approved_release, env_list[3], dave)

    assert info.value.result.status == "prevented"
    assert [r.code for r in info.value.reasons] == ["segregation_of_duties"]
    assert not Deployment.objects.filter(environment=env_list[3]).exists()
