"""Auto-halt (curriculum 5.2): a failed smoke test halts a running deployment at once, tells the
release's people, and keeps the release out of later environments until the test passes again
or a release manager overrides the halt with a reason."""

import pytest
from django.urls import reverse

from governance.models import DecisionRecord
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from releases import gate, lifecycle, rollout
from releases.models import Deployment, DeploymentEvent, RolloutDecision
from tests.conftest import make_user
from tests.releases import builders


def smoke(dep, user, test, status, message=""):
    return lifecycle.record_event(
        dep, user, type="smoke", target=test, status=status, message=message
    )


@pytest.fixture
def owner(payments):
    person = make_user("sam")
    payments.owners.add(person)
    return person


@pytest.fixture
def staging(approved_release, bob, env_list):
    """Deployed to dev and test; now running in staging."""
    builders.promote_through(approved_release, env_list[:2], bob)
    return builders.deploy(approved_release, env_list[2], bob)


@pytest.fixture
def halted(staging, pipeline, owner):
    smoke(staging, pipeline, "checkout-e2e", "failed", "HTTP 500 on /pay")
    staging.refresh_from_db()
    return staging


def snapshot():
    return {
        "deployments": sorted(Deployment.objects.values_list("pk", "status")),
        "events": DeploymentEvent.objects.count(),
        "decisions": RolloutDecision.objects.count(),
        "log": DecisionRecord.objects.count(),
    }


def smoke_check(release, env, user):
    decision = gate.evaluate_release(release, env, user)
    return next(r for r in decision.reasons if r.code == "smoke_tests")


def test_a_failed_smoke_test_halts_the_running_deployment_at_once(halted):
    assert halted.status == "halted"
    assert halted.finished_at is not None
    halt = halted.events.get(type="halted")
    assert halt.target == "checkout-e2e"
    assert "smoke test 'checkout-e2e' failed" in halt.message
    assert "checkout-e2e" in halted.history.first().history_change_reason


def test_the_author_owner_and_service_owners_are_told_once_per_test(
    halted, pipeline, dave, owner, approved_release
):
    people = set(
        Notification.objects.filter(kind="smoke_test_failed").values_list(
            "user__username", flat=True
        )
    )
    assert {"dave", "sam"} <= people
    if approved_release.owner:
        assert approved_release.owner.username in people
    assert "checkout-e2e" in Notification.objects.filter(user=dave).get().message

    smoke(halted, pipeline, "checkout-e2e", "failed", "still 500")

    assert Notification.objects.filter(user=dave, kind="smoke_test_failed").count() == 1


def test_the_gate_prevents_promotion_while_the_smoke_test_is_unresolved(
    halted, approved_release, env_list, pipeline
):
    reason = smoke_check(approved_release, env_list[3], pipeline)

    assert not reason.passed
    assert "'checkout-e2e' failed in Staging" in reason.message


def test_a_failed_smoke_test_after_staging_succeeded_still_blocks_promotion(
    staging, approved_release, env_list, pipeline, bob
):
    builders.succeed(staging, bob)
    smoke(staging, pipeline, "search-smoke", "failed")

    staging.refresh_from_db()
    assert staging.status == "succeeded"
    assert not smoke_check(approved_release, env_list[3], pipeline).passed
    with pytest.raises(lifecycle.GateRefused, match="search-smoke"):
        lifecycle.start_deployment(approved_release, env_list[3], bob)


def test_a_new_passing_result_resumes_the_deployment_and_clears_the_gate(
    halted, pipeline, approved_release, env_list
):
    smoke(halted, pipeline, "checkout-e2e", "ok")

    halted.refresh_from_db()
    assert halted.status == "running"
    assert halted.finished_at is None
    assert halted.events.last().message.startswith("Resumed: smoke test 'checkout-e2e' passed")
    assert smoke_check(approved_release, env_list[3], pipeline).passed


def test_a_passing_result_on_a_new_deployment_of_the_same_environment_clears_the_gate(
    halted, pipeline, approved_release, env_list, bob
):
    again = builders.deploy(approved_release, env_list[2], bob)
    smoke(again, pipeline, "checkout-e2e", "ok")
    builders.succeed(again, bob)

    assert smoke_check(approved_release, env_list[3], pipeline).passed
    halted.refresh_from_db()
    assert halted.status == "halted"  # the old deployment stays where it stopped


def test_another_test_passing_does_not_resume(halted, pipeline):
    smoke(halted, pipeline, "search-smoke", "ok")

    halted.refresh_from_db()
    assert halted.status == "halted"


def test_an_override_resumes_and_the_gate_names_it(
    halted, alice, approved_release, env_list, pipeline
):
    rollout.override_halt(halted, alice, "checkout-e2e is flaky on staging data; PAY-88")

    halted.refresh_from_db()
    assert halted.status == "running"
    reason = smoke_check(approved_release, env_list[3], pipeline)
    assert reason.passed
    assert "overridden by alice: checkout-e2e is flaky" in reason.message
    assert RolloutDecision.objects.get().subjects == ["checkout-e2e"]
    assert DecisionRecord.objects.filter(kind="rollout", outcome="override_halt").exists()


def test_a_new_failure_after_an_override_blocks_again(halted, alice, pipeline, approved_release):
    rollout.override_halt(halted, alice, "flaky")
    smoke(halted, pipeline, "checkout-e2e", "failed")

    halted.refresh_from_db()
    assert halted.status == "halted"


def test_an_override_needs_a_reason_a_release_manager_and_a_failed_test(
    halted, staging, alice, bob, audrey
):
    before = snapshot()
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        rollout.override_halt(halted, alice, "")
    for who in (bob, audrey):
        with pytest.raises(NotPermitted):
            rollout.override_halt(halted, who, "because")
    assert snapshot() == before

    smoke(halted, bob, "checkout-e2e", "ok")
    with pytest.raises(IllegalTransition, match="no failed smoke test"):
        rollout.override_halt(halted, alice, "because")


def test_api_override_halt(api_client, halted, alice, audrey):
    url = f"/api/v1/deployments/{halted.pk}/override-halt/"
    before = snapshot()
    assert api_client(alice).post(url, {}).status_code == 400
    assert api_client(audrey).post(url, {"reason": "x"}).status_code == 403
    assert snapshot() == before

    response = api_client(alice).post(url, {"reason": "known flaky test"})

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "running"
    assert api_client(alice).post(url, {"reason": "again"}).status_code == 409


def test_api_failed_smoke_halts(api_client, staging, pipeline):
    response = api_client(pipeline).post(
        f"/api/v1/deployments/{staging.pk}/events/",
        {"type": "smoke", "status": "failed", "target": "login-smoke"},
    )
    assert response.status_code == 201
    staging.refresh_from_db()
    assert staging.status == "halted"


def test_node_results_on_a_halted_deployment_are_refused(halted, pipeline):
    with pytest.raises(IllegalTransition, match="already halted"):
        lifecycle.record_event(halted, pipeline, type="node", target="web-1", status="ok")


def test_the_page_shows_the_halt_and_the_override_form_to_the_release_manager_only(
    client, halted, alice, audrey
):
    client.force_login(alice)
    page = client.get(halted.get_absolute_url()).content.decode()
    assert "Halted by a failed smoke test" in page
    assert "checkout-e2e" in page
    assert "Override the halt" in page

    client.force_login(audrey)
    page = client.get(halted.get_absolute_url()).content.decode()
    assert "Halted by a failed smoke test" in page
    assert "Override the halt" not in page


def test_the_page_override_needs_a_reason(client, halted, alice):
    client.force_login(alice)
    url = reverse("deployment_override_halt_action", args=[halted.pk])
    before = snapshot()

    response = client.post(url, {"override-halt-reason": ""})
    assert response.status_code == 400
    assert "Give a reason" in response.content.decode()
    assert snapshot() == before

    response = client.post(url, {"override-halt-reason": "flaky"}, follow=True)
    assert "Failed smoke tests overridden" in response.content.decode()
    halted.refresh_from_db()
    assert halted.status == "running"
