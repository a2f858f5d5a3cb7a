"""``/api/v1/support-tickets/``: import one or a list, refuse bad rows and duplicates whole,
list with filters in a bounded number of queries, override with a reason, per role."""

from datetime import timedelta

import pytest

from metrics.models import SupportTicket
from tests.metrics.tickets_support import imported, row, shipped

URL = "/api/v1/support-tickets/"
PAY_FAIL = "Card payment fails at checkout with error 502 gateway timeout"


def snapshot():
    return (SupportTicket.objects.count(), SupportTicket.history.count())


def test_the_help_desk_posts_one_ticket_and_gets_its_triage(api_client, move_to, pipeline):
    deployment = shipped(move_to)

    response = api_client(pipeline).post(
        URL, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL), format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["external_id"] == "HD-1"
    assert body["classification"] == "release_related"
    assert body["attributed_release"] == deployment.release.key
    assert body["attributed_deployment"] == deployment.pk
    assert [r["code"] for r in body["evidence"]] == ["recent_deployment", "seen_before"]


def test_a_list_is_imported_in_one_go(api_client, move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at

    response = api_client(bob).post(
        URL,
        [
            row("HD-1", when - timedelta(days=2), PAY_FAIL),
            row("HD-2", when + timedelta(hours=1), PAY_FAIL, rating=1),
        ],
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert [t["classification"] for t in response.json()] == ["pre_existing", "pre_existing"]
    assert response.json()[1]["evidence"][1]["data"]["matches"][0]["ticket"] == "HD-1"


def test_a_duplicate_ticket_import_is_refused_with_a_clear_message_and_writes_nothing(
    api_client, move_to, bob
):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)
    imported(bob, row("HD-1", when, PAY_FAIL))
    before = snapshot()

    response = api_client(bob).post(
        URL, [row("HD-2", when, "Something else"), row("HD-1", when, PAY_FAIL)], format="json"
    )

    assert response.status_code == 400
    rows = response.json()["rows"]
    assert rows == [
        {
            "row": 2,
            "field": "external_id",
            "message": "Row 2: Duplicate ticket HD-1: it was already imported; nothing was "
            "imported.",
        }
    ]
    assert snapshot() == before

    single = api_client(bob).post(URL, row("HD-1", when, PAY_FAIL), format="json")
    assert single.status_code == 400
    assert "already imported" in single.json()["external_id"][0]
    assert snapshot() == before


def test_a_bad_row_in_a_list_is_named_and_nothing_is_written(api_client, move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)

    response = api_client(bob).post(
        URL,
        [row("HD-1", when, PAY_FAIL), {**row("HD-2", when, PAY_FAIL), "opened_at": "soon"}],
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["rows"][0]["row"] == 2
    assert response.json()["rows"][0]["field"] == "opened_at"
    assert snapshot() == (0, 0)


def test_an_unknown_service_is_a_field_error(api_client, move_to, bob):
    deployment = shipped(move_to)

    response = api_client(bob).post(
        URL,
        row("HD-1", deployment.finished_at, PAY_FAIL, service="nope"),
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["service"] == ["No service 'nope'; GET /api/v1/services/ lists them."]


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 201),
        ("bob", 201),
        ("pipeline", 201),
        ("dave", 403),
        ("carol", 403),
        ("olivia", 403),
        ("paula", 403),
        ("audrey", 403),
    ],
)
def test_who_may_import(api_client, move_to, request, persona, status):
    deployment = shipped(move_to)
    user = request.getfixturevalue(persona)

    response = api_client(user).post(
        URL, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL), format="json"
    )

    assert response.status_code == status
    assert SupportTicket.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 200), ("bob", 200), ("pipeline", 403), ("dave", 403), ("audrey", 403)],
)
def test_who_may_override(api_client, move_to, bob, request, persona, status):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))
    user = request.getfixturevalue(persona)

    response = api_client(user).post(
        f"{URL}{ticket.pk}/override/",
        {"classification": "pre_existing", "reason": "Bank outage"},
        format="json",
    )

    assert response.status_code == status
    ticket.refresh_from_db()
    assert ticket.classification == ("pre_existing" if status == 200 else "release_related")


def test_an_override_without_a_reason_is_refused(api_client, move_to, alice, bob):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))
    before = snapshot()

    response = api_client(alice).post(
        f"{URL}{ticket.pk}/override/",
        {"classification": "pre_existing", "reason": ""},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"reason": ["Say why the classification is overridden."]}
    assert snapshot() == before


def test_the_list_filters_by_service_classification_release_and_period(
    api_client, move_to, bob, audrey
):
    deployment = shipped(move_to, hours_ago=30)
    when = deployment.finished_at
    imported(
        bob,
        row("HD-1", when - timedelta(days=2), "Refund page shows wrong currency"),
        row("HD-2", when + timedelta(hours=1), PAY_FAIL),
    )
    client = api_client(audrey)
    key = deployment.release.key

    def ids(**params):
        return [t["external_id"] for t in client.get(URL, params).json()["results"]]

    assert ids(classification="release_related") == ["HD-2"]
    assert ids(release=key) == ["HD-2"]
    assert ids(service="payments-api") == ["HD-2", "HD-1"]
    assert ids(service="ledger") == []
    assert ids(until=(when - timedelta(days=1)).date().isoformat()) == ["HD-1"]
    assert client.get(URL, {"classification": "maybe"}).status_code == 400


def test_the_list_needs_a_bounded_number_of_queries(
    api_client, move_to, bob, audrey, django_assert_max_num_queries
):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)
    client = api_client(audrey)
    imported(bob, row("HD-0", when, PAY_FAIL))
    with django_assert_max_num_queries(8):
        assert client.get(URL).status_code == 200
    imported(
        bob,
        *[
            row(f"HD-{n}", when + timedelta(minutes=n), f"Problem number {n} words")
            for n in range(1, 30)
        ],
    )
    with django_assert_max_num_queries(8):
        response = client.get(URL)
    assert response.json()["count"] == 30
