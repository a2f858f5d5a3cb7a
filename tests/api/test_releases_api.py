"""/api/v1/releases/: create with services, move through the lifecycle, filter and page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import Approval
from releases.models import Release, ReleaseService, ServiceDependency
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders

URL = "/api/v1/releases/"


def detail(key):
    return f"{URL}{key}/"


def action(key, name):
    return f"{URL}{key}/{name}/"


@pytest.fixture
def ledger(db):
    return ServiceFactory(slug="ledger", name="Ledger", team=TeamFactory(slug="core", name="Core"))


@pytest.fixture
def valid_body(payments, ledger):
    start = timezone.now() + timedelta(days=3)
    return {
        "name": "Payouts v2",
        "version": "2.0.0",
        "kind": "feature",
        "change_type": "normal",
        "planned_start": start.isoformat(),
        "planned_end": (start + timedelta(hours=2)).isoformat(),
        "services": [
            {"service": "payments-api", "version": "2.0.0"},
            {"service": "ledger", "version": "5.1.0-rc.1"},
        ],
        "rollback_plan": "Redeploy 1.4.2.",
    }


# --- create ------------------------------------------------------------------------------


def test_dave_creates_a_release_with_the_services_it_ships(api_client, dave, valid_body):
    response = api_client(dave).post(URL, valid_body)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "draft"
    assert body["author"] == "dave"
    assert body["owner"] == "dave"
    assert body["key"].startswith("REL-")
    assert sorted(body["services"], key=lambda s: s["service"]) == [
        {"service": "ledger", "version": "5.1.0-rc.1"},
        {"service": "payments-api", "version": "2.0.0"},
    ]
    release = Release.objects.get(key=body["key"])
    assert release.author.username == "dave"
    assert release.release_services.count() == 2


def test_the_author_and_state_cannot_be_set_by_the_client(api_client, dave, carol, valid_body):
    valid_body.update({"author": "carol", "state": "approved", "key": "HACKED-1"})

    body = api_client(dave).post(URL, valid_body).json()

    assert (body["author"], body["state"]) == ("dave", "draft")
    assert body["key"] != "HACKED-1"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"version": "banana"}, "version"),
        ({"name": ""}, "name"),
        ({"planned_end": "PAST"}, "planned_end"),
        ({"services": [{"service": "ghost", "version": "1.0.0"}]}, "services"),
        ({"services": [{"service": "payments-api", "version": "banana"}]}, "services"),
        (
            {
                "services": [
                    {"service": "payments-api", "version": "2.0.0"},
                    {"service": "payments-api", "version": "2.0.1"},
                ]
            },
            "services",
        ),
        ({"kind": "moonshot"}, "kind"),
    ],
    ids=[
        "bad version",
        "no name",
        "end before start",
        "unknown service",
        "bad service version",
        "duplicate service",
        "unknown kind",
    ],
)
def test_invalid_release_input_is_400_with_field_errors_and_writes_nothing(
    api_client, dave, valid_body, change, field
):
    if change.get("planned_end") == "PAST":
        change = {"planned_end": (timezone.now() - timedelta(days=1)).isoformat()}
    valid_body.update(change)

    response = api_client(dave).post(URL, valid_body)

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert not Release.objects.exists()
    assert not ReleaseService.objects.exists()
    assert not Release.history.exists()


def test_a_duplicate_service_error_names_the_service(api_client, dave, valid_body):
    valid_body["services"].append({"service": "payments-api", "version": "2.0.1"})

    errors = api_client(dave).post(URL, valid_body).json()

    assert errors["services"] == ["Each service may appear once; repeated: payments-api."]


def test_end_before_start_is_explained(api_client, dave, valid_body):
    valid_body["planned_end"] = valid_body["planned_start"]

    errors = api_client(dave).post(URL, valid_body).json()

    assert errors["planned_end"] == ["The planned end must be after the planned start."]


# --- edit --------------------------------------------------------------------------------


def test_dave_replaces_the_services_of_his_draft(api_client, dave, draft_release, ledger):
    response = api_client(dave).patch(
        detail(draft_release.key),
        {"services": [{"service": "ledger", "version": "5.2.0"}], "name": "Ledger only"},
    )

    assert response.status_code == 200, response.json()
    assert response.json()["services"] == [{"service": "ledger", "version": "5.2.0"}]
    assert list(draft_release.release_services.values_list("service__slug", "version")) == [
        ("ledger", "5.2.0")
    ]


def test_changing_a_version_keeps_the_other_services(api_client, dave, draft_release, ledger):
    ReleaseService.objects.create(release=draft_release, service=ledger, version="5.0.0")

    api_client(dave).patch(
        detail(draft_release.key),
        {
            "services": [
                {"service": "payments-api", "version": "1.4.3"},
                {"service": "ledger", "version": "5.0.0"},
            ]
        },
    )

    assert sorted(draft_release.release_services.values_list("service__slug", "version")) == [
        ("ledger", "5.0.0"),
        ("payments-api", "1.4.3"),
    ]


def test_editing_a_submitted_release_is_409_and_changes_nothing(
    api_client, dave, submitted_release
):
    response = api_client(dave).patch(
        detail(submitted_release.key),
        {"name": "Sneaky rename", "services": [{"service": "payments-api", "version": "9.0.0"}]},
    )

    assert response.status_code == 409
    assert "submitted" in response.json()["detail"]
    assert response.json()["code"] == "illegal_transition"
    submitted_release.refresh_from_db()
    assert submitted_release.name == "Payments 1.4.2"
    assert submitted_release.release_services.get().version == "1.4.2"


def test_an_invalid_edit_leaves_the_draft_as_it_was(api_client, dave, draft_release):
    response = api_client(dave).patch(
        detail(draft_release.key),
        {"name": "Renamed", "services": [{"service": "ghost", "version": "1.0.0"}]},
    )

    assert response.status_code == 400
    draft_release.refresh_from_db()
    assert draft_release.name == "Payments 1.4.2"


def test_a_draft_can_be_deleted_but_a_submitted_release_cannot(
    api_client, alice, draft_release, dave, payments
):
    submitted = builders.submit(ReleaseFactory(author=dave, services=[(payments, "2.0.0")]), dave)
    client = api_client(alice)

    assert client.delete(detail(draft_release.key)).status_code == 204
    assert client.delete(detail(submitted.key)).status_code == 409
    assert list(Release.objects.values_list("key", flat=True)) == [submitted.key]


# --- actions -----------------------------------------------------------------------------


def test_dave_submits_and_carol_approves_through_the_api(api_client, dave, carol, draft_release):
    submitted = api_client(dave).post(action(draft_release.key, "submit"), {})
    approved = api_client(carol).post(
        action(draft_release.key, "approve"), {"comment": "Looks safe"}
    )

    assert submitted.status_code == 200
    assert submitted.json()["state"] == "submitted"
    assert submitted.json()["approval_round"] == 1
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved"
    approval = Approval.objects.get(release=draft_release)
    assert (approval.approver, approval.comment) == (carol, "Looks safe")


def test_carol_rejects_with_a_comment(api_client, carol, submitted_release):
    response = api_client(carol).post(
        action(submitted_release.key, "reject"), {"comment": "No rollback plan"}
    )

    assert response.status_code == 200
    assert response.json()["state"] == "rejected"
    assert Approval.objects.get(release=submitted_release).comment == "No rollback plan"


def test_alice_cancels_an_approved_release(api_client, alice, approved_release):
    response = api_client(alice).post(action(approved_release.key, "cancel"))

    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"


@pytest.mark.parametrize(
    ("state", "verb", "who"),
    [
        ("draft", "approve", "carol"),
        ("approved", "submit", "dave"),
        ("submitted", "close", "alice"),
        ("deployed", "cancel", "alice"),
        ("rejected", "reject", "carol"),
    ],
)
def test_an_illegal_action_is_409_with_a_clear_detail(
    api_client, move_to, request, state, verb, who
):
    release = move_to(state)
    before = builders.footprint(release)

    response = api_client(request.getfixturevalue(who)).post(action(release.key, verb), {})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert f"it is {state}" in body["detail"]
    assert body["checks"][0]["code"] == "state"
    assert builders.footprint(release) == before


def test_the_author_approving_is_403(api_client, carol, alice, payments):
    own = ReleaseFactory(author=carol, services=[(payments, "3.0.0")])
    builders.submit(own, alice)

    response = api_client(carol).post(action(own.key, "approve"), {"comment": "mine, fine"})

    assert response.status_code == 403
    assert "cannot approve" in response.json()["detail"]
    assert not Approval.objects.filter(release=own).exists()
    own.refresh_from_db()
    assert own.state == "submitted"


def test_submitting_a_release_without_services_is_409(api_client, dave):
    empty = ReleaseFactory(author=dave)

    response = api_client(dave).post(action(empty.key, "submit"))

    assert response.status_code == 409
    assert "no services" in response.json()["detail"]


def test_a_too_long_comment_is_400(api_client, carol, submitted_release):
    response = api_client(carol).post(
        action(submitted_release.key, "approve"), {"comment": "x" * 2001}
    )

    assert response.status_code == 400
    assert "comment" in response.json()
    assert not Approval.objects.exists()


def test_an_unknown_release_key_is_404(api_client, carol, db):
    assert api_client(carol).post(action("REL-1999-0001", "approve")).status_code == 404


# --- read --------------------------------------------------------------------------------


@pytest.fixture
def catalogue(dave, payments, ledger):
    """Three drafts (two on ledger), one submitted on payments."""
    ReleaseFactory(author=dave, name="Ledger A", services=[(ledger, "1.0.0")])
    ReleaseFactory(author=dave, name="Ledger B", services=[(ledger, "1.1.0"), (payments, "1.0.0")])
    ReleaseFactory(author=dave, name="Ledger C", services=[(ledger, "1.2.0")])
    submitted = ReleaseFactory(author=dave, name="Payments", services=[(payments, "2.0.0")])
    builders.submit(submitted, dave)


def names(response):
    return sorted(r["name"] for r in response.json()["results"])


def test_releases_filter_by_state_team_and_service(api_client, audrey, catalogue):
    client = api_client(audrey)

    assert names(client.get(URL, {"state": "submitted"})) == ["Payments"]
    assert names(client.get(URL, {"state": ["submitted", "draft"]})) == [
        "Ledger A",
        "Ledger B",
        "Ledger C",
        "Payments",
    ]
    assert names(client.get(URL, {"team": "core"})) == ["Ledger A", "Ledger B", "Ledger C"]
    assert names(client.get(URL, {"service": "payments-api"})) == ["Ledger B", "Payments"]
    assert names(client.get(URL, {"service": "payments-api", "state": "draft"})) == ["Ledger B"]


def test_an_invalid_filter_value_is_400(api_client, audrey, catalogue):
    response = api_client(audrey).get(URL, {"state": "sideways"})

    assert response.status_code == 400
    assert "state" in response.json()


def test_release_lists_are_paginated(api_client, audrey, catalogue):
    client = api_client(audrey)

    first = client.get(URL, {"page_size": 3}).json()
    second = client.get(first["next"]).json()

    assert first["count"] == 4
    assert len(first["results"]) == 3
    assert first["previous"] is None
    assert len(second["results"]) == 1
    assert second["next"] is None
    keys = {r["key"] for r in first["results"]} | {r["key"] for r in second["results"]}
    assert len(keys) == 4


def test_a_release_is_read_by_its_key(api_client, audrey, draft_release):
    body = api_client(audrey).get(detail(draft_release.key)).json()

    assert body["key"] == draft_release.key
    assert body["services"] == [{"service": "payments-api", "version": "1.4.2"}]
    assert body["web_url"] == draft_release.get_absolute_url()


def test_the_impact_of_a_release_is_served(api_client, audrey, draft_release, ledger):
    ServiceDependency.objects.create(service=ledger, depends_on=draft_release.services.get())

    body = api_client(audrey).get(action(draft_release.key, "impact")).json()

    assert body["classification"] == "multi_system"
    assert [row["service"] for row in body["affected"]] == ["ledger"]
    assert body["affected"][0]["path"] == ["payments-api", "ledger"]
