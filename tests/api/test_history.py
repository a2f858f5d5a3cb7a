"""History rows name the person behind the token, and say why state changed."""

import pytest

from governance.models import Approval
from releases import lifecycle
from releases.models import Release, ReleaseService, Service
from scheduling.models import FreezeWindow
from tests.releases import builders


@pytest.fixture
def created_by_dave(api_client, dave, payments):
    response = api_client(dave).post(
        "/api/v1/releases/",
        {
            "name": "Payouts",
            "version": "2.0.0",
            "services": [{"service": "payments-api", "version": "2.0.0"}],
        },
    )
    assert response.status_code == 201, response.json()
    return Release.objects.get(key=response.json()["key"])


def rows(obj):
    return list(obj.history.order_by("history_id"))


def test_a_release_created_through_the_api_is_recorded_as_daves(created_by_dave, dave):
    history = rows(created_by_dave)

    assert [(h.history_type, h.history_user, h.history_change_reason) for h in history] == [
        ("+", dave, "created")
    ]
    link = ReleaseService.objects.get(release=created_by_dave)
    assert [h.history_user for h in rows(link)] == [dave]


def test_submit_and_approve_through_the_api_record_who_and_why(
    api_client, created_by_dave, dave, carol
):
    key = created_by_dave.key
    api_client(dave).post(f"/api/v1/releases/{key}/submit/", {})
    api_client(carol).post(f"/api/v1/releases/{key}/approve/", {"comment": "CAB 12 May"})

    history = rows(created_by_dave)
    assert [(h.state, h.history_user, h.history_change_reason) for h in history] == [
        ("draft", dave, "created"),
        ("submitted", dave, "submit: draft → submitted"),
        ("approved", carol, "approve: submitted → approved — CAB 12 May"),
    ]
    approval = Approval.objects.get(release=created_by_dave)
    assert [(h.history_user, h.history_change_reason) for h in rows(approval)] == [
        (carol, f"approved {key}")
    ]


def test_an_edit_through_the_api_is_recorded_as_an_edit_by_its_author(
    api_client, created_by_dave, dave
):
    api_client(dave).patch(f"/api/v1/releases/{created_by_dave.key}/", {"name": "Payouts v2"})

    last = rows(created_by_dave)[-1]
    assert (last.name, last.history_user, last.history_change_reason) == (
        "Payouts v2",
        dave,
        "edited",
    )


def test_catalog_changes_through_the_api_are_recorded_as_the_token_user(
    api_client, alice, payments
):
    client = api_client(alice)
    client.post("/api/v1/services/", {"slug": "ledger", "name": "Ledger", "team": "payments"})
    client.post(
        "/api/v1/freeze-windows/",
        {"name": "Close", "start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"},
    )

    assert [h.history_user for h in rows(Service.objects.get(slug="ledger"))] == [alice]
    assert [h.history_user for h in rows(FreezeWindow.objects.get())] == [alice]


def test_a_deployment_started_and_finished_by_the_pipeline_is_recorded_as_the_pipeline(
    api_client, pipeline, approved_release, environments
):
    client = api_client(pipeline)
    deployment_id = client.post(
        "/api/v1/deployments/", {"release": approved_release.key, "environment": "dev"}
    ).json()["id"]
    client.post(f"/api/v1/deployments/{deployment_id}/events/", {"type": "succeeded"})

    deployment = approved_release.deployments.get(pk=deployment_id)
    assert [(h.status, h.history_user) for h in rows(deployment)] == [
        ("running", pipeline),
        ("succeeded", pipeline),
    ]
    release_row = rows(approved_release)[-1]
    assert (release_row.state, release_row.history_user) == ("deploying", pipeline)
    assert (
        release_row.history_change_reason
        == "start_deployment: approved → deploying — deploying to dev"
    )


def test_a_refused_request_leaves_no_history(api_client, dave, carol, created_by_dave):
    before = len(rows(created_by_dave))

    api_client(carol).post(f"/api/v1/releases/{created_by_dave.key}/approve/", {})  # still draft

    assert len(rows(created_by_dave)) == before


def test_history_of_the_lifecycle_outside_the_api_names_the_actor_too(
    draft_release, dave, carol, alice
):
    builders.approve(draft_release, dave, carol)

    lifecycle.transition(draft_release, "cancel", alice, "superseded")

    last = rows(draft_release)[-1]
    assert (last.history_user, last.history_change_reason) == (
        alice,
        "cancel: approved → cancelled — superseded",
    )
