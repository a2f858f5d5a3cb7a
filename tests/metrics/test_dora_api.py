"""The delivery performance API: the public contract's shape, drill-down rows, trend, bad
filters (400, clear message), who may read, and bounded queries."""

import pytest

from metrics.models import DeploymentRecord
from tests.metrics.dora_history import SINCE, UNTIL, at, build, record

pytestmark = pytest.mark.django_db
PERIOD = f"since={SINCE}&until={UNTIL}"
READERS = ["alice", "bob", "carol", "dave", "erin", "olivia", "paula", "audrey", "pipeline"]


@pytest.fixture
def history(db):
    return build()


@pytest.fixture
def client(api_client, audrey):
    return api_client(audrey)


def test_dora_endpoint_answers_the_public_contract(client, history):
    response = client.get(f"/api/v1/metrics/dora/?{PERIOD}")
    assert response.status_code == 200
    assert response.json() == {
        "deployments": 8,
        "deployment_frequency_per_week": 2.5,
        "lead_time_hours": {"median": 10.0, "p90": 24.0},
        "change_failure_rate": 0.5,
        "time_to_restore_hours": {"median": 2.0, "p90": 2.8},
        "failed_deployment_recovery_hours": {"median": 4.0, "p90": 4.8},
    }
    team = client.get(f"/api/v1/metrics/dora/?{PERIOD}&team=search").json()
    assert team["deployments"] == 1


def test_mttr_and_success_rate_endpoints(client, history):
    assert client.get(f"/api/v1/metrics/mttr/?{PERIOD}").json() == {
        "failures": 4,
        "recovered": 4,
        "not_recovered": 0,
        "time_to_recover_hours": {"median": 4.5, "p90": 72.2},
    }
    assert client.get(f"/api/v1/metrics/success-rate/?{PERIOD}").json() == {
        "releases": 5,
        "successful": 2,
        "success_rate": 0.4,
    }
    rows = client.get(f"/api/v1/metrics/success-rate/rows/?{PERIOD}").json()
    assert rows["count"] == 5
    assert sorted(r["name"] for r in rows["results"] if r["successful"]) == ["R1", "R5"]
    mttr_rows = client.get(f"/api/v1/metrics/mttr/rows/?{PERIOD}").json()["results"]
    assert sorted(r["hours"] for r in mttr_rows) == [2.0, 4.0, 5.0, 101.0]


@pytest.mark.parametrize(
    ("detail", "hours"),
    [
        ("lead_time", [4.0, 6.0, 8.0, 12.0, 24.0, 24.0]),
        ("time_to_restore", [1.0, 3.0]),
        ("recovery", [2.0, 4.0, 5.0]),
    ],
)
def test_rows_behind_each_figure(client, history, detail, hours):
    response = client.get(f"/api/v1/metrics/dora/rows/?{PERIOD}&detail={detail}")
    assert response.status_code == 200
    assert sorted(r["hours"] for r in response.json()["results"]) == hours


def test_deployment_rows_say_which_count_as_failures(client, history):
    results = client.get(f"/api/v1/metrics/dora/rows/?{PERIOD}&detail=deployments").json()[
        "results"
    ]
    assert len(results) == 8
    assert sum(r["counts_as_failure"] for r in results) == 4


def test_weekly_trend(client, history):
    body = client.get(f"/api/v1/metrics/dora/trend/?{PERIOD}&bucket=week").json()
    assert body["bucket"] == "week"
    assert [(b["start"], b["deployments"]) for b in body["buckets"]] == [
        ("2026-03-02", 4),
        ("2026-03-09", 4),
    ]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("since=2026-03-10&until=2026-03-01", "until", "ends (2026-03-01) before it starts"),
        (
            "since=2026-03-10&until=2026-03-10",
            "until",
            "The period is empty: 'until' (2026-03-10) must be a later day than 'since' "
            "(2026-03-10)",
        ),
        ("team=ghosts", "team", "No team 'ghosts'"),
        ("service=nope", "service", "No service 'nope'"),
        ("domain=atlantis", "domain", "No service is in the domain 'atlantis'"),
        ("since=yesterday", "since", "YYYY-MM-DD"),
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/metrics/dora/",
        "/api/v1/metrics/dora/trend/",
        "/api/v1/metrics/dora/rows/",
        "/api/v1/metrics/mttr/",
        "/api/v1/metrics/success-rate/",
    ],
)
def test_bad_filters_answer_400_with_a_clear_message(client, history, url, query, field, words):
    before = DeploymentRecord.objects.count()
    response = client.get(f"{url}?{query}")
    assert response.status_code == 400
    body = response.json()
    assert words in body["detail"]
    assert body["code"] == "invalid_filters"
    assert DeploymentRecord.objects.count() == before


def test_an_empty_period_is_refused_as_empty_not_as_backwards(client, history):
    body = client.get("/api/v1/metrics/dora/?since=2026-03-10&until=2026-03-10").json()
    assert "before it starts" not in body["detail"]
    assert [c["code"] for c in body["checks"]] == ["period_order"]


def test_unknown_detail_or_bucket_is_400(client, history):
    r = client.get(f"/api/v1/metrics/dora/rows/?{PERIOD}&detail=vibes")
    assert r.status_code == 400 and "not one of" in r.json()["detail"]
    r = client.get(f"/api/v1/metrics/dora/trend/?{PERIOD}&bucket=fortnight")
    assert r.status_code == 400 and "week, month" in r.json()["detail"]


@pytest.mark.parametrize("persona", READERS)
def test_everyone_with_a_role_reads(api_client, request, history, persona):
    c = api_client(request.getfixturevalue(persona))
    for url in ["dora/", "dora/trend/", "dora/rows/", "mttr/", "mttr/rows/", "success-rate/"]:
        assert c.get(f"/api/v1/metrics/{url}?{PERIOD}").status_code == 200, url


def test_no_role_403_and_anonymous_401(api_client, nobody, history):
    assert api_client(nobody).get("/api/v1/metrics/dora/").status_code == 403
    assert api_client().get("/api/v1/metrics/mttr/").status_code == 401


def test_rows_use_a_bounded_number_of_queries(client, history, django_assert_max_num_queries):
    def run():
        for detail in ("deployments", "lead_time", "time_to_restore", "recovery"):
            assert (
                client.get(f"/api/v1/metrics/dora/rows/?{PERIOD}&detail={detail}").status_code
                == 200
            )
        assert client.get(f"/api/v1/metrics/mttr/rows/?{PERIOD}").status_code == 200
        assert client.get(f"/api/v1/metrics/success-rate/rows/?{PERIOD}").status_code == 200

    with django_assert_max_num_queries(60) as few:
        run()
    pay, prod = history["pay"], history["prod"]
    for n in range(40):
        record(
            pay,
            prod,
            "failed" if n % 2 else "succeeded",
            at("03-06", f"{n % 24:02d}:{n:02d}"),
            commits=[(f"m{n}", at("03-05"))],
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        run()
