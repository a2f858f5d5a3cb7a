"""Config drift API: snapshots, diff, drift items and reconcile; bad input writes nothing."""

import pytest

from metrics import drift
from metrics.models import ConfigSnapshot, DriftItem
from releases import packaging

PLANTED = "AKIAABCDEFGHIJKLMNOP"


@pytest.fixture
def expected(dave, payments, environments):
    return packaging.save_config_set(
        dave,
        service=payments,
        environment=environments["staging"],
        version="1",
        values={"db_host": "db.staging", "replicas": 2},
    )


def _post(client, **body):
    return client.post("/api/v1/config-snapshots/", body, format="json")


def test_a_pipeline_posts_a_snapshot_and_gets_the_drift(api_client, pipeline, payments, expected):
    response = _post(
        api_client(pipeline),
        service="payments-api",
        environment="staging",
        values={"db_host": "db.other", "replicas": 2},
        source="config-agent",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["expected_source"] == "config_set"
    assert body["opened"] == 1
    assert body["open_items"][0]["key"] == "db_host"
    assert body["open_items"][0]["actual"] == "db.other"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"service": "payments-api", "environment": "staging", "values": [1, 2]}, "values"),
        ({"service": "payments-api", "environment": "staging", "values": "a=1"}, "values"),
        (
            {
                "service": "payments-api",
                "environment": "staging",
                "values": {"a": {"b": {"c": {"d": {"e": 1}}}}},
            },
            "values",
        ),
        ({"service": "nope", "environment": "staging", "values": {}}, "service"),
        ({"service": "payments-api", "environment": "moon", "values": {}}, "environment"),
        ({"service": "payments-api", "environment": "staging"}, "values"),
    ],
)
def test_bad_snapshots_answer_400_and_write_nothing(
    api_client, pipeline, payments, expected, body, field
):
    response = _post(api_client(pipeline), **body)
    assert response.status_code == 400
    assert field in response.json()
    assert ConfigSnapshot.objects.count() == 0 and DriftItem.objects.count() == 0


def test_planted_secrets_are_never_stored_or_returned(
    api_client, pipeline, audrey, payments, expected
):
    response = _post(
        api_client(pipeline),
        service="payments-api",
        environment="staging",
        values={
            "db_host": "db.staging",
            "replicas": 2,
            "aws_key": PLANTED,
            "api_token": "abc123xyz",
        },
    )
    assert response.status_code == 201
    assert PLANTED not in response.content.decode() and "abc123xyz" not in response.content.decode()
    reader = api_client(audrey)
    for url in (
        "/api/v1/config-snapshots/",
        "/api/v1/drift-items/",
        "/api/v1/config-diff/?service=payments-api&left=staging&right=production",
    ):
        text = reader.get(url).content.decode()
        assert PLANTED not in text and "abc123xyz" not in text
    assert PLANTED not in str(list(ConfigSnapshot.objects.values_list("values", flat=True)))


@pytest.mark.parametrize(
    "persona, status",
    [("pipeline", 201), ("bob", 201), ("alice", 403), ("dave", 403), ("audrey", 403)],
)
def test_who_may_post_snapshots(api_client, request, payments, environments, persona, status):
    user = request.getfixturevalue(persona)
    response = _post(
        api_client(user), service="payments-api", environment="staging", values={"a": 1}
    )
    assert response.status_code == status
    assert ConfigSnapshot.objects.count() == (1 if status == 201 else 0)


def test_config_diff_between_two_environments(api_client, audrey, bob, payments, environments):
    drift.record_snapshot(bob, payments, environments["staging"], {"replicas": 2, "mode": "a"})
    drift.record_snapshot(
        bob, payments, environments["production"], {"replicas": 6, "mode": "a", "x": 1}
    )
    response = api_client(audrey).get(
        "/api/v1/config-diff/?service=payments-api&left=staging&right=production"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["changed"], body["added"], body["removed"]) == (1, 1, 0)
    assert {r["key"]: r["status"] for r in body["rows"]} == {
        "mode": "same",
        "replicas": "changed",
        "x": "added",
    }


def test_config_diff_against_a_release(
    api_client, audrey, bob, payments, environments, draft_release, expected
):
    drift.record_snapshot(
        bob, payments, environments["staging"], {"replicas": 3, "db_host": "db.staging"}
    )
    response = api_client(audrey).get(
        f"/api/v1/config-diff/?service=payments-api&release={draft_release.key}&environment=staging"
    )
    assert response.status_code == 200
    assert response.json()["left"]["kind"] == "expected"
    assert [r["key"] for r in response.json()["rows"] if r["status"] == "changed"] == ["replicas"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("service=nope&left=staging&right=production", "service"),
        ("service=payments-api&left=moon&right=production", "left"),
        ("service=payments-api&left=staging", "right"),
        ("service=payments-api&release=REL-1999-0001&environment=staging", "release"),
    ],
)
def test_config_diff_bad_input_is_400(api_client, audrey, payments, environments, query, field):
    response = api_client(audrey).get(f"/api/v1/config-diff/?{query}")
    assert response.status_code == 400
    assert field in response.json()


def _open_item(bob, payments, environments):
    drift.record_snapshot(bob, payments, environments["staging"], {"db_host": "x", "replicas": 2})
    return DriftItem.objects.get()


def test_reconcile_accept_and_conflict_when_repeated(
    api_client, alice, bob, payments, environments, expected
):
    item = _open_item(bob, payments, environments)
    client = api_client(alice)
    url = f"/api/v1/drift-items/{item.pk}/reconcile/"
    response = client.post(url, {"decision": "accept", "reason": "new cluster"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted_as_baseline"
    assert response.json()["decided_by"] == "alice"
    again = client.post(url, {"decision": "fix", "reason": "x"}, format="json")
    assert again.status_code == 409


@pytest.mark.parametrize("body", [{"decision": "accept"}, {"decision": "maybe", "reason": "x"}, {}])
def test_reconcile_bad_input_is_400_and_changes_nothing(
    api_client, alice, bob, payments, environments, expected, body
):
    item = _open_item(bob, payments, environments)
    history = item.history.count()
    response = api_client(alice).post(
        f"/api/v1/drift-items/{item.pk}/reconcile/", body, format="json"
    )
    assert response.status_code == 400
    item.refresh_from_db()
    assert item.status == "open" and item.history.count() == history


@pytest.mark.parametrize(
    "persona, status",
    [
        ("alice", 200),
        ("bob", 200),
        ("dave", 403),
        ("carol", 403),
        ("pipeline", 403),
        ("audrey", 403),
    ],
)
def test_who_may_reconcile(
    api_client, request, bob, payments, environments, expected, persona, status
):
    item = _open_item(bob, payments, environments)
    user = request.getfixturevalue(persona)
    response = api_client(user).post(
        f"/api/v1/drift-items/{item.pk}/reconcile/",
        {"decision": "fix", "reason": "r"},
        format="json",
    )
    assert response.status_code == status
    item.refresh_from_db()
    assert item.status == ("to_fix" if status == 200 else "open")


def test_drift_item_list_filters_and_bounded_queries(
    api_client, audrey, bob, payments, environments, expected, django_assert_max_num_queries
):
    client = api_client(audrey)
    drift.record_snapshot(bob, payments, environments["staging"], {"a": 1})
    with django_assert_max_num_queries(12):
        few = client.get("/api/v1/drift-items/?status=open")
    drift.record_snapshot(bob, payments, environments["staging"], {f"k{i}": i for i in range(40)})
    with django_assert_max_num_queries(12):
        many = client.get("/api/v1/drift-items/?status=open&environment=staging")
    assert few.json()["count"] < many.json()["count"]
    assert client.get("/api/v1/drift-items/?environment=moon").status_code == 400
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/config-snapshots/?service=payments-api").status_code == 200


def test_a_retried_snapshot_with_the_same_idempotency_key_is_recorded_once(
    api_client, pipeline, payments, expected
):
    client = api_client(pipeline)
    body = {"service": "payments-api", "environment": "staging", "values": {"replicas": 9}}
    first = client.post("/api/v1/config-snapshots/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post("/api/v1/config-snapshots/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert ConfigSnapshot.objects.count() == 1
    other = client.post(
        "/api/v1/config-snapshots/",
        {**body, "values": {"replicas": 1}},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert other.status_code == 422 and ConfigSnapshot.objects.count() == 1
