"""Partial failures (curriculum 5.4): node results, partially failed deployments and the release
manager's three choices: retry the failed targets, roll back the succeeded ones, or accept."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from governance.models import DecisionRecord
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from releases import lifecycle, rollout
from releases.models import Deployment, DeploymentEvent, DeploymentTarget, RolloutDecision
from tests.releases import builders


@pytest.fixture
def running(approved_release, bob, environments):
    return builders.deploy(approved_release, environments["dev"], bob)


def node(dep, user, name, status, **kw):
    return lifecycle.record_event(dep, user, type="node", target=name, status=status, **kw)


def plan(dep, user, names):
    return lifecycle.record_event(dep, user, type="plan", target=names)


@pytest.fixture
def partial(running, pipeline):
    """web-1 and web-2 took the new version, web-3 failed: partially failed."""
    plan(running, pipeline, "web-1, web-2, web-3")
    node(running, pipeline, "web-1", "ok")
    node(running, pipeline, "web-2", "ok", version="1.4.2+b7")
    node(running, pipeline, "web-3", "failed", message="readiness probe timed out")
    running.refresh_from_db()
    return running


def snapshot():
    return {
        "targets": sorted(DeploymentTarget.objects.values_list("name", "status", "attempts")),
        "target_history": DeploymentTarget.history.count(),
        "deployments": sorted(Deployment.objects.values_list("pk", "status")),
        "events": DeploymentEvent.objects.count(),
        "decisions": RolloutDecision.objects.count(),
        "log": DecisionRecord.objects.count(),
    }


def targets(dep):
    return {t.name: (t.status, t.version, t.attempts) for t in dep.targets.all()}


# --- node results --------------------------------------------------------------------------


def test_a_node_result_creates_the_target_with_the_version_it_now_runs(running, pipeline):
    node(running, pipeline, "web-1", "info")
    node(running, pipeline, "web-1", "ok")

    target = running.targets.get()
    assert (target.name, target.status, target.version, target.attempts) == (
        "web-1",
        "succeeded",
        "1.4.2",
        1,
    )
    assert target.history.count() == 2
    running.refresh_from_db()
    assert running.status == "running"


def test_mixed_results_of_every_declared_target_make_the_deployment_partially_failed(partial):
    assert partial.status == "partially_failed"
    assert partial.finished_at is not None
    assert targets(partial) == {
        "web-1": ("succeeded", "1.4.2", 1),
        "web-2": ("succeeded", "1.4.2+b7", 1),
        "web-3": ("failed", "", 1),
    }
    assert partial.targets.get(name="web-3").last_message == "readiness probe timed out"


def test_the_pipelines_final_success_with_a_failed_target_is_a_partial_failure(
    running, pipeline, dave
):
    node(running, pipeline, "web-1", "ok")
    node(running, pipeline, "web-2", "failed")

    lifecycle.record_event(running, pipeline, type="succeeded")

    running.refresh_from_db()
    assert running.status == "partially_failed"
    assert Notification.objects.filter(user=dave, kind="deployment_partially_failed").exists()


def test_a_partially_failed_deployment_is_neither_succeeded_nor_running_for_the_gate(
    partial, approved_release, environments, pipeline
):
    from releases import gate

    decision = gate.evaluate_release(approved_release, environments["test"], pipeline)
    reasons = {r.code: r for r in decision.reasons}
    assert not reasons["promotion_order"].passed
    assert reasons["deployment_in_progress"].passed
    approved_release.refresh_from_db()
    assert approved_release.state == "deploying"


def test_a_result_for_an_undeclared_target_is_refused_and_writes_nothing(running, pipeline):
    plan(running, pipeline, "web-1 web-2")
    before = snapshot()

    with pytest.raises(ValidationError) as exc:
        node(running, pipeline, "web-9", "ok")

    assert "plan declares web-1, web-2" in str(exc.value)
    assert snapshot() == before


def test_running_after_succeeded_is_out_of_order(running, pipeline):
    node(running, pipeline, "web-1", "ok")
    before = snapshot()

    with pytest.raises(IllegalTransition, match="already succeeded; a 'running' result"):
        node(running, pipeline, "web-1", "info")

    assert snapshot() == before


def test_a_node_result_for_a_finished_deployment_is_refused(running, pipeline):
    builders.succeed(running, pipeline)
    before = snapshot()

    with pytest.raises(IllegalTransition, match="already succeeded"):
        node(running, pipeline, "web-1", "ok")

    assert snapshot() == before


def test_success_while_targets_are_still_running_is_refused(running, pipeline):
    node(running, pipeline, "web-1", "ok")
    node(running, pipeline, "web-2", "info")

    with pytest.raises(IllegalTransition, match="still pending or running: web-2"):
        lifecycle.record_event(running, pipeline, type="succeeded")

    running.refresh_from_db()
    assert running.status == "running"


def test_a_node_result_without_a_target_is_bad_input(running, pipeline):
    with pytest.raises(ValidationError, match="names its target"):
        node(running, pipeline, "", "ok")
    assert not DeploymentEvent.objects.filter(type="node").exists()


# --- retry ---------------------------------------------------------------------------------


def test_retrying_sends_failed_targets_back_and_the_pipeline_finishes_them(
    partial, alice, pipeline
):
    rollout.retry_failed(partial, alice, "probe timeout raised")

    partial.refresh_from_db()
    assert partial.status == "running"
    assert partial.finished_at is None
    assert targets(partial)["web-3"] == ("pending", "", 2)
    decision = RolloutDecision.objects.get()
    assert (decision.kind, decision.decided_by, decision.subjects) == (
        "retry_failed",
        alice,
        ["web-3"],
    )
    assert (
        partial.events.filter(type="decision", actor=alice)
        .last()
        .message.startswith("alice retried the failed targets web-3")
    )
    assert DecisionRecord.objects.filter(kind="rollout", outcome="retry_failed").exists()

    node(partial, pipeline, "web-3", "ok")
    lifecycle.record_event(partial, pipeline, type="succeeded")

    partial.refresh_from_db()
    assert partial.status == "succeeded"
    assert {s for s, _v, _a in targets(partial).values()} == {"succeeded"}


def test_only_a_partially_failed_deployment_can_be_retried(running, alice):
    before = snapshot()
    with pytest.raises(IllegalTransition, match="only a partially failed deployment"):
        rollout.retry_failed(running, alice)
    assert snapshot() == before


# --- roll back -----------------------------------------------------------------------------


def test_rolling_back_puts_succeeded_targets_on_their_previous_version(
    approved_release, bob, pipeline, alice, environments
):
    first = builders.deploy(approved_release, environments["dev"], bob)
    node(first, pipeline, "web-1", "ok", version="1.4.1")
    builders.succeed(first, pipeline)
    second = builders.deploy(approved_release, environments["dev"], bob)
    plan(second, pipeline, "web-1,web-2")
    node(second, pipeline, "web-1", "ok")
    node(second, pipeline, "web-2", "failed")

    rollout.rollback_succeeded(second, alice, "half a fleet is worse than none")

    second.refresh_from_db()
    assert second.status == "rolled_back"
    assert targets(second) == {"web-1": ("rolled_back", "1.4.1", 1), "web-2": ("failed", "", 1)}
    assert second.events.filter(type="rolled_back", actor=alice).exists()


def test_rolling_back_a_partial_production_deployment_rolls_the_release_back(
    approved_release, bob, pipeline, alice, env_list
):
    builders.promote_through(approved_release, env_list[:-1], bob)
    production = builders.deploy(approved_release, env_list[-1], bob)
    node(production, pipeline, "eu-1", "ok")
    node(production, pipeline, "us-1", "failed")
    lifecycle.record_event(production, pipeline, type="failed")

    rollout.rollback_succeeded(production, alice)

    approved_release.refresh_from_db()
    assert approved_release.state == "rolled_back"


# --- accept --------------------------------------------------------------------------------


def test_accepting_needs_a_reason_and_keeps_the_deployment_partially_failed(partial, alice):
    before = snapshot()
    with pytest.raises(ValidationError, match="Give a reason"):
        rollout.accept_partial(partial, alice, "   ")
    assert snapshot() == before

    rollout.accept_partial(partial, alice, "web-3 is being decommissioned")

    partial.refresh_from_db()
    assert partial.status == "partially_failed"
    assert rollout.accepted(partial).reason == "web-3 is being decommissioned"
    assert partial.history.first().history_change_reason.startswith("partial result accepted")
    with pytest.raises(IllegalTransition, match="accepted by alice"):
        rollout.retry_failed(partial, alice)


def test_the_auditor_and_the_deployer_cannot_decide(partial, audrey, bob):
    before = snapshot()
    for who in (audrey, bob):
        with pytest.raises(NotPermitted):
            rollout.retry_failed(partial, who)
        with pytest.raises(NotPermitted):
            rollout.accept_partial(partial, who, "fine")
    assert snapshot() == before


# --- API -----------------------------------------------------------------------------------


def test_api_plan_node_and_retry(api_client, running, pipeline, alice):
    ci = api_client(pipeline)
    url = f"/api/v1/deployments/{running.pk}/events/"
    assert ci.post(url, {"type": "plan", "target": "a,b"}).status_code == 201
    assert ci.post(url, {"type": "node", "target": "a", "status": "ok"}).status_code == 201
    bad = ci.post(url, {"type": "node", "target": "zz", "status": "ok"})
    assert bad.status_code == 400
    assert "zz" in bad.json()["target"][0]
    assert ci.post(url, {"type": "node", "target": "b", "status": "failed"}).status_code == 201
    late = ci.post(url, {"type": "node", "target": "b", "status": "info"})
    assert late.status_code == 409
    assert "already" in late.json()["detail"]

    listed = api_client(alice).get(f"/api/v1/deployment-targets/?deployment={running.pk}")
    assert sorted((t["name"], t["status"]) for t in listed.json()["results"]) == [
        ("a", "succeeded"),
        ("b", "failed"),
    ]
    response = api_client(alice).post(
        f"/api/v1/deployments/{running.pk}/retry-failed/", {"reason": "flaky"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "running"
    assert {t["name"]: t["status"] for t in response.json()["targets"]} == {
        "a": "succeeded",
        "b": "pending",
    }
    again = api_client(alice).post(f"/api/v1/deployments/{running.pk}/retry-failed/", {})
    assert again.status_code == 409


def test_api_accept_partial_without_reason_is_400_and_writes_nothing(api_client, partial, alice):
    before = snapshot()
    response = api_client(alice).post(f"/api/v1/deployments/{partial.pk}/accept-partial/", {})
    assert response.status_code == 400
    assert response.json()["reason"] == ["Give a reason: it is recorded with the decision."]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("alice", 200), ("bob", 403), ("audrey", 403), ("pipeline", 403), ("carol", 403)],
)
def test_api_roll_back_permission_per_role(api_client, request, partial, persona, expected):
    before = snapshot()
    response = api_client(request.getfixturevalue(persona)).post(
        f"/api/v1/deployments/{partial.pk}/rollback-succeeded/", {"reason": "no"}
    )
    assert response.status_code == expected
    if expected == 403:
        assert snapshot() == before


def test_a_pipeline_cannot_post_a_decision_event(api_client, running, pipeline):
    response = api_client(pipeline).post(
        f"/api/v1/deployments/{running.pk}/events/", {"type": "decision", "message": "accepted"}
    )
    assert response.status_code == 400
    assert not DeploymentEvent.objects.filter(type="decision").exists()


def test_target_list_uses_a_bounded_number_of_queries(
    api_client, alice, approved_release, bob, pipeline, environments, django_assert_max_num_queries
):
    client = api_client(alice)
    dep = builders.deploy(approved_release, environments["dev"], bob)
    node(dep, pipeline, "n-0", "ok")
    with django_assert_max_num_queries(8):
        few = client.get("/api/v1/deployment-targets/")
    for i in range(1, 25):
        node(dep, pipeline, f"n-{i}", "ok")
    with django_assert_max_num_queries(8):
        many = client.get("/api/v1/deployment-targets/")
    assert few.json()["count"] == 1
    assert many.json()["count"] == 25
    with django_assert_max_num_queries(8):
        client.get("/api/v1/rollout-decisions/")


# --- page ----------------------------------------------------------------------------------


def test_the_page_shows_targets_and_offers_the_three_choices_to_the_release_manager(
    client, partial, alice, audrey
):
    client.force_login(alice)
    page = client.get(partial.get_absolute_url()).content.decode()
    assert 'data-target="web-3"' in page
    assert "Retry failed targets" in page
    assert "Roll back succeeded targets" in page
    assert "Accept as partially deployed" in page

    client.force_login(audrey)
    page = client.get(partial.get_absolute_url()).content.decode()
    assert 'data-target="web-3"' in page
    assert "Retry failed targets" not in page
    assert (
        client.post(reverse("deployment_retry_failed_action", args=[partial.pk])).status_code == 403
    )


def test_the_page_accepts_with_a_reason_and_refuses_without(client, partial, alice):
    client.force_login(alice)
    url = reverse("deployment_accept_partial_action", args=[partial.pk])
    before = snapshot()

    response = client.post(url, {"accept-partial-reason": ""})

    assert response.status_code == 400
    assert "Give a reason: it is recorded with the decision." in response.content.decode()
    assert snapshot() == before

    response = client.post(url, {"accept-partial-reason": "web-3 retires tomorrow"}, follow=True)
    assert "Partial result accepted" in response.content.decode()
    assert "accepted by alice" in response.content.decode()


def test_the_page_answers_409_for_a_choice_in_the_wrong_state(client, running, alice):
    client.force_login(alice)
    response = client.post(reverse("deployment_retry_failed_action", args=[running.pk]))
    assert response.status_code == 409
    assert "only a partially failed deployment" in response.content.decode()
