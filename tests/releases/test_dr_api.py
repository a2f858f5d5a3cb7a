"""The rollback-step and DR-test API, and ``GET /api/v1/releases/{key}/rollback/``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releases.models import DrTest, RollbackStep
from tests.factories import ReleaseFactory, ServiceFactory

STEPS = "/api/v1/rollback-steps/"
TESTS = "/api/v1/dr-tests/"


def a_test(service, days_ago=3, result="passed"):
    return DrTest.objects.create(
        service=service,
        tested_at=timezone.now() - timedelta(days=days_ago),
        scenario="Region lost",
        result=result,
        rto_target_minutes=30,
        rto_achieved_minutes=10,
        rpo_target_minutes=5,
        rpo_achieved_minutes=0,
    )


def test_a_developer_adds_a_rollback_step_and_reads_the_plan(api_client, dave, draft_release):
    client = api_client(dave)
    response = client.post(
        STEPS,
        {
            "release": draft_release.key,
            "service": "payments-api",
            "description": "helm rollback payments-api",
            "estimated_minutes": 8,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["position"] == 1
    plan = client.get(f"/api/v1/releases/{draft_release.key}/rollback/").json()
    assert plan["order"] == ["payments-api"]
    assert plan["services"][0]["total_minutes"] == 8
    assert plan["services"][0]["meets_sla"] is True
    assert plan["groups"][0]["label"] == "Customer-facing, recovery SLA 240 min"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"estimated_minutes": 0}, "estimated_minutes"),
        ({"estimated_minutes": -3}, "estimated_minutes"),
        ({"description": ""}, "description"),
        ({"service": "nope"}, "service"),
    ],
)
def test_bad_steps_get_400_with_field_errors_and_nothing_is_written(
    api_client, dave, draft_release, change, field
):
    body = {
        "release": draft_release.key,
        "service": "payments-api",
        "description": "helm rollback",
        "estimated_minutes": 5,
        **change,
    }
    response = api_client(dave).post(STEPS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not RollbackStep.objects.exists()


def test_a_step_for_a_service_the_release_does_not_ship_is_400(api_client, dave, draft_release):
    ServiceFactory(slug="search")
    response = api_client(dave).post(
        STEPS,
        {
            "release": draft_release.key,
            "service": "search",
            "description": "x",
            "estimated_minutes": 5,
        },
        format="json",
    )

    assert response.status_code == 400
    assert "does not ship" in response.json()["service"][0]


def test_a_deployed_release_rollback_plan_cannot_change_409(api_client, alice, move_to):
    release = move_to("deployed")
    step = release.rollback_steps.get()

    response = api_client(alice).patch(f"{STEPS}{step.pk}/", {"estimated_minutes": 1})

    assert response.status_code == 409
    step.refresh_from_db()
    assert step.estimated_minutes == 5


def test_a_deployer_cannot_write_rollback_steps(api_client, bob, draft_release):
    response = api_client(bob).post(
        STEPS,
        {"release": draft_release.key, "service": "payments-api", "description": "x"},
        format="json",
    )
    assert response.status_code == 403


def test_a_deployer_records_a_dr_test_with_the_rto_target_from_the_sla(api_client, bob, payments):
    response = api_client(bob).post(
        TESTS,
        {
            "service": "payments-api",
            "tested_at": (timezone.now() - timedelta(days=1)).isoformat(),
            "scenario": "Database failover",
            "result": "passed",
            "rto_achieved_minutes": 12,
            "rpo_target_minutes": 5,
            "rpo_achieved_minutes": 0,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rto_target_minutes"], body["recorded_by"], body["validates"]) == (
        240,
        "bob",
        True,
    )


@pytest.mark.parametrize(
    "change, field",
    [
        ({"rto_achieved_minutes": -1}, "rto_achieved_minutes"),
        ({"rpo_achieved_minutes": -1}, "rpo_achieved_minutes"),
        ({"result": "great"}, "result"),
        ({"service": "ghost"}, "service"),
        ({"tested_at": "yesterday"}, "tested_at"),
    ],
)
def test_bad_dr_tests_get_400_and_nothing_is_written(api_client, alice, payments, change, field):
    body = {
        "service": "payments-api",
        "tested_at": (timezone.now() - timedelta(days=1)).isoformat(),
        "scenario": "Database failover",
        "result": "passed",
        "rto_achieved_minutes": 12,
        "rpo_target_minutes": 5,
        "rpo_achieved_minutes": 0,
        **change,
    }
    response = api_client(alice).post(TESTS, body, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not DrTest.objects.exists()


def test_a_developer_cannot_record_a_dr_test(api_client, dave, payments):
    assert api_client(dave).post(TESTS, {"service": "payments-api"}).status_code == 403


def test_dr_tests_filter_by_service_result_and_since(api_client, audrey, payments):
    other = ServiceFactory(slug="ledger")
    a_test(payments, days_ago=2)
    a_test(payments, days_ago=40, result="failed")
    a_test(other, days_ago=2)
    client = api_client(audrey)
    since = (timezone.now() - timedelta(days=10)).isoformat()

    def ids(query):
        return len(client.get(TESTS, query).json()["results"])

    assert ids({"service": "payments-api"}) == 2
    assert ids({"result": "failed"}) == 1
    assert ids({"since": since}) == 2
    assert client.get(TESTS, {"service": "ghost"}).status_code == 400


def test_rollback_steps_filter_by_release_and_service(api_client, audrey, dave, payments):
    first = ReleaseFactory(author=dave, services=[(payments, "1.0.0")])
    second = ReleaseFactory(author=dave, services=[(payments, "1.1.0")])
    for release in (first, second):
        RollbackStep.objects.create(
            release=release, service=payments, description="x", estimated_minutes=2
        )
    client = api_client(audrey)

    assert len(client.get(STEPS, {"release": first.key}).json()["results"]) == 1
    assert len(client.get(STEPS, {"service": "payments-api"}).json()["results"]) == 2


@pytest.mark.parametrize("count", [3, 30])
def test_the_lists_use_a_constant_number_of_queries(
    api_client, audrey, dave, payments, count, django_assert_max_num_queries
):
    release = ReleaseFactory(author=dave, services=[(payments, "1.0.0")])
    for n in range(count):
        a_test(ServiceFactory(), days_ago=n + 1)
        RollbackStep.objects.create(
            release=release, service=payments, position=n + 1, description="x", estimated_minutes=1
        )
    client = api_client(audrey)

    with django_assert_max_num_queries(8):
        assert client.get(TESTS).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(STEPS).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/api/v1/releases/{release.key}/rollback/").status_code == 200


def test_the_rollback_view_404s_for_an_unknown_release(api_client, audrey):
    assert api_client(audrey).get("/api/v1/releases/REL-1999-0001/rollback/").status_code == 404
