"""Deployment and gate decision pages, and reporting a deployment's result by hand."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from releases import gate, lifecycle
from releases.models import Deployment, DeploymentEvent, GateDecision
from tests.factories import ReleaseFactory, ServiceFactory, UserFactory
from tests.releases.builders import ready_for_production

DEPLOYMENTS_URL = reverse("deployment_list")
GATE_URL = reverse("gate_decision_list")
LIST_QUERY_BOUND = 10


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def approved_release(dave, carol, draft_release):
    lifecycle.submit(draft_release, dave)
    return lifecycle.approve(draft_release, carol)


@pytest.fixture
def deployment(bob, approved_release, environments):
    deployment, _ = lifecycle.start_deployment(
        approved_release,
        environments["dev"],
        bob,
        strategy="blue_green",
        pipeline_url="https://ci.example.com/jobs/42",
        commit="0123abcd",
    )
    lifecycle.record_event(deployment, bob, type="node", target="node-1", status="ok")
    return deployment


# ---------------------------------------------------------------- access


def test_anonymous_is_sent_to_login(client, deployment):
    for url in (
        DEPLOYMENTS_URL,
        deployment.get_absolute_url(),
        GATE_URL,
        deployment.gate_decision.get_absolute_url(),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))


def test_user_without_role_gets_403(client, nobody, deployment):
    client.force_login(nobody)
    for url in (
        DEPLOYMENTS_URL,
        deployment.get_absolute_url(),
        GATE_URL,
        deployment.gate_decision.get_absolute_url(),
    ):
        assert client.get(url).status_code == 403, url


# ---------------------------------------------------------------- deployments


def test_deployment_list_shows_deployments(client, audrey, deployment):
    client.force_login(audrey)
    response = client.get(DEPLOYMENTS_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert deployment.get_absolute_url() in body
    assert deployment.release.key in body
    assert "status-running" in body


def test_deployment_list_empty_state(client, audrey):
    client.force_login(audrey)
    assert "No deployments yet." in client.get(DEPLOYMENTS_URL).content.decode()


def test_deployment_list_filters_by_release_environment_and_status(
    client, alice, bob, deployment, environments
):
    lifecycle.record_event(deployment, bob, type="succeeded")
    second, _ = lifecycle.start_deployment(deployment.release, environments["test"], bob)
    client.force_login(alice)

    def pks(**params):
        return [d.pk for d in client.get(DEPLOYMENTS_URL, params).context["deployments"]]

    assert set(pks()) == {deployment.pk, second.pk}
    assert pks(environment="test") == [second.pk]
    assert pks(status=["succeeded"]) == [deployment.pk]
    assert set(pks(release=deployment.release.key)) == {deployment.pk, second.pk}
    assert pks(release="REL-1900-0001") == []
    response = client.get(DEPLOYMENTS_URL, {"status": ["failed"]})
    assert "No deployments match these filters." in response.content.decode()


@pytest.mark.parametrize("rows", [5, 200])
def test_deployment_list_query_count_is_bounded(
    client, alice, payments, environments, rows, django_assert_max_num_queries
):
    starters = [UserFactory(username=f"deployer{i}") for i in range(3)]
    releases = [
        ReleaseFactory(author=starters[0], services=[(payments, f"1.{i}.0")]) for i in range(5)
    ]
    envs = list(environments.values())
    Deployment.objects.bulk_create(
        Deployment(
            release=releases[i % 5],
            environment=envs[i % 4],
            started_by=starters[i % 3],
            started_at=timezone.now(),
            status="succeeded",
        )
        for i in range(rows)
    )
    client.force_login(alice)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = client.get(DEPLOYMENTS_URL, {"status": ["succeeded", "running"]})
    assert response.status_code == 200
    assert len(response.context["deployments"]) == min(rows, 25)


def test_deployment_detail_shows_gate_checks_events_and_history(client, audrey, deployment):
    client.force_login(audrey)
    response = client.get(deployment.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    assert deployment.release.get_absolute_url() in body
    assert "Blue-green" in body
    assert "https://ci.example.com/jobs/42" in body
    assert "0123abcd" in body
    assert deployment.gate_decision.get_absolute_url() in body
    assert 'data-code="promotion_order"' in body
    assert "node-1" in body and "Node result" in body
    assert "started to dev" in body  # history reason
    # The auditor reads but cannot report results.
    assert response.context["event_form"] is None


def test_deployer_records_the_final_result(client, bob, deployment):
    client.force_login(bob)
    page = client.get(deployment.get_absolute_url())
    assert page.context["event_form"] is not None
    response = client.post(
        reverse("deployment_event", args=[deployment.pk]),
        {"type": "failed", "target": "eu-west", "message": "smoke tests red"},
    )
    assert response.status_code == 302
    deployment.refresh_from_db()
    assert deployment.status == "failed"
    assert deployment.finished_at is not None
    event = deployment.events.get(type="failed")
    assert (event.actor, event.target, event.message) == (bob, "eu-west", "smoke tests red")
    assert "is now failed" in " ".join(messages_of(response))
    # After a failure only a rollback may follow.
    page = client.get(deployment.get_absolute_url())
    assert [v for v, _ in page.context["event_form"].fields["type"].choices] == ["rolled_back"]


def test_second_final_result_is_refused_with_a_message(client, bob, deployment):
    lifecycle.record_event(deployment, bob, type="succeeded")
    client.force_login(bob)
    response = client.post(
        reverse("deployment_event", args=[deployment.pk]), {"type": "failed"}, follow=True
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    deployment.refresh_from_db()
    assert deployment.status == "succeeded"
    assert not deployment.events.filter(type="failed").exists()


def test_event_form_rejects_unknown_types(client, bob, deployment):
    client.force_login(bob)
    response = client.post(reverse("deployment_event", args=[deployment.pk]), {"type": "party"})
    assert response.status_code == 200
    assert "type" in response.context["event_form"].errors
    assert DeploymentEvent.objects.count() == 1


def test_auditor_may_not_record_results(client, audrey, deployment):
    client.force_login(audrey)
    response = client.post(reverse("deployment_event", args=[deployment.pk]), {"type": "succeeded"})
    assert response.status_code == 403
    deployment.refresh_from_db()
    assert deployment.status == "running"


def test_production_success_marks_the_release_deployed(
    client, alice, bob, approved_release, environments
):
    # alice (release manager) did not author the release, so she may ship it to production.
    ready_for_production(approved_release)
    for slug in ("dev", "test", "staging"):
        dep, _ = lifecycle.start_deployment(approved_release, environments[slug], bob)
        lifecycle.record_event(dep, bob, type="succeeded")
    prod, _ = lifecycle.start_deployment(approved_release, environments["production"], alice)
    client.force_login(alice)
    client.post(reverse("deployment_event", args=[prod.pk]), {"type": "succeeded"})
    approved_release.refresh_from_db()
    assert approved_release.state == "deployed"


# ---------------------------------------------------------------- gate decisions


def test_gate_decision_list_and_detail(client, audrey, pipeline, payments, environments):
    answer = gate.ask(payments, "9.9.9", environments["dev"], pipeline)
    client.force_login(audrey)
    response = client.get(GATE_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert answer.record.get_absolute_url() in body
    assert "payments-api@9.9.9" in body
    assert "No release ships payments-api 9.9.9" in body

    detail = client.get(answer.record.get_absolute_url())
    assert detail.status_code == 200
    body = detail.content.decode()
    assert 'data-code="release_found"' in body
    assert 'data-code="freeze_window"' in body
    assert "pipeline" in body
    assert "status-prevented" in body


def test_gate_decision_list_filters(client, alice, pipeline, payments, environments, deployment):
    other = ServiceFactory(slug="ledger")
    gate.ask(other, "1.0.0", environments["test"], pipeline)
    client.force_login(alice)

    def services(**params):
        return [g.service_slug for g in client.get(GATE_URL, params).context["decisions"]]

    assert services(service="ledger") == ["ledger"]
    assert services(environment="dev") == [""]  # the deployment's own gate answer
    assert services(status="allowed") == [""]
    assert services(release=deployment.release.key) == [""]
    assert services(purpose="query") == ["ledger"]


def test_gate_decision_list_empty_state(client, audrey):
    client.force_login(audrey)
    assert "The gate has not been asked yet." in client.get(GATE_URL).content.decode()


def test_unknown_gate_decision_is_404(client, audrey):
    client.force_login(audrey)
    url = reverse("gate_decision_detail", args=["00000000-0000-0000-0000-000000000000"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("rows", [5, 200])
def test_gate_decision_list_query_count_is_bounded(
    client, alice, payments, environments, rows, django_assert_max_num_queries
):
    askers = [UserFactory(username=f"asker{i}") for i in range(3)]
    releases = [
        ReleaseFactory(author=askers[0], services=[(payments, f"1.{i}.0")]) for i in range(4)
    ]
    GateDecision.objects.bulk_create(
        GateDecision(
            requested_by=askers[i % 3],
            service_slug="payments-api",
            version=f"1.{i % 4}.0",
            environment_slug="dev",
            release=releases[i % 4],
            status="prevented",
            allowed=False,
            checks=[{"code": "approved", "passed": False, "message": "Not approved."}],
        )
        for i in range(rows)
    )
    client.force_login(alice)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = client.get(GATE_URL, {"environment": "dev"})
    assert response.status_code == 200
    assert len(response.context["decisions"]) == min(rows, 25)
