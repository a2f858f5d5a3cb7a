"""REST API: /reservations/ (book, move, cancel, availability), /test-data-sets/,
/validation-needs/, /release-dependencies/ and /sequencing/plan/."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from scheduling import reservations
from scheduling.models import ReleaseDependency, Reservation, TestDataSet, ValidationNeed
from tests.factories import EnvironmentFactory, ReleaseFactory

H = timedelta(hours=1)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) + timedelta(days=1)


@pytest.fixture
def uat(db):
    return EnvironmentFactory(slug="uat", name="UAT", order=10, capacity=1)


@pytest.fixture
def cards(uat):
    data_set = TestDataSet.objects.create(slug="cards", name="Test cards")
    data_set.environments.set([uat])
    return data_set


def body(release, env, start, end, **extra):
    return {
        "release": release.key,
        "environment": env.slug,
        "purpose": "integration",
        "start": start.isoformat(),
        "end": end.isoformat(),
        **extra,
    }


def test_a_pipeline_token_of_a_developer_books_an_environment(
    api_client, dave, uat, cards, draft_release, t0
):
    response = api_client(dave).post(
        "/api/v1/reservations/",
        body(draft_release, uat, t0, t0 + 2 * H, test_data_sets=["cards"]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["release"] == draft_release.key and data["environment"] == "uat"
    assert data["test_data_sets"] == ["cards"] and data["status"] == "upcoming"
    assert data["reserved_by"] == "dave"
    booking = Reservation.objects.get(pk=data["id"])
    assert booking.history.first().history_via  # made through a token


def test_a_full_environment_is_a_409_naming_the_booking_in_the_way(
    api_client, dave, uat, draft_release, t0
):
    first = reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + 4 * H)
    other = ReleaseFactory(author=dave)
    response = api_client(dave).post(
        "/api/v1/reservations/", body(other, uat, t0 + H, t0 + 2 * H), format="json"
    )
    assert response.status_code == 409
    data = response.json()
    assert [c["code"] for c in data["checks"]] == ["environment_capacity"]
    assert draft_release.key in data["detail"]
    assert Reservation.objects.get() == first


@pytest.mark.parametrize(
    ("start", "end", "field", "phrase"),
    [
        (-timedelta(days=2), -timedelta(days=1), "end", "starts in the past"),
        (timedelta(days=1, hours=2), timedelta(days=1), "end", "must end after it starts"),
    ],
)
def test_a_bad_period_is_a_400_with_a_field_error(
    api_client, dave, uat, draft_release, start, end, field, phrase
):
    now = timezone.now()
    response = api_client(dave).post(
        "/api/v1/reservations/", body(draft_release, uat, now + start, now + end), format="json"
    )
    assert response.status_code == 400
    assert phrase in " ".join(response.json()[field])
    assert not Reservation.objects.exists()


def test_production_is_a_400(api_client, dave, environments, draft_release, t0):
    response = api_client(dave).post(
        "/api/v1/reservations/",
        body(draft_release, environments["production"], t0, t0 + H),
        format="json",
    )
    assert response.status_code == 400
    assert "non-production" in response.json()["environment"][0]


def test_reading_and_writing_need_a_token_and_the_right_role(
    api_client, audrey, nobody, uat, draft_release, t0
):
    payload = body(draft_release, uat, t0, t0 + H)
    assert api_client().get("/api/v1/reservations/").status_code == 401
    assert api_client(nobody).get("/api/v1/reservations/").status_code == 403
    assert api_client(audrey).get("/api/v1/reservations/").status_code == 200
    assert (
        api_client(audrey).post("/api/v1/reservations/", payload, format="json").status_code == 403
    )
    assert not Reservation.objects.exists()


def test_delete_cancels_the_booking_and_keeps_it(api_client, dave, uat, draft_release, t0):
    booking = reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + H)
    response = api_client(dave).delete(f"/api/v1/reservations/{booking.pk}/")
    assert response.status_code == 204
    booking.refresh_from_db()
    assert booking.cancelled_at is not None
    again = api_client(dave).post(f"/api/v1/reservations/{booking.pk}/cancel/")
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def test_the_cancel_action_answers_with_the_cancelled_booking(
    api_client, dave, uat, draft_release, t0
):
    booking = reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + H)
    response = api_client(dave).post(f"/api/v1/reservations/{booking.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_someone_elses_booking_cannot_be_cancelled(api_client, dave, uat, draft_release, t0):
    from tests.conftest import make_user

    booking = reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + H)
    dora = make_user("dora", "developer")
    assert api_client(dora).delete(f"/api/v1/reservations/{booking.pk}/").status_code == 403
    booking.refresh_from_db()
    assert booking.cancelled_at is None


def test_moving_a_booking_into_a_full_period_is_a_409_and_changes_nothing(
    api_client, dave, uat, draft_release, t0
):
    mine = reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + H)
    reservations.reserve(ReleaseFactory(author=dave), uat, dave, "uat", t0 + 2 * H, t0 + 3 * H)
    client = api_client(dave)
    ok = client.patch(
        f"/api/v1/reservations/{mine.pk}/", {"end": (t0 + 2 * H).isoformat()}, format="json"
    )
    assert ok.status_code == 200, ok.json()
    clash = client.patch(
        f"/api/v1/reservations/{mine.pk}/", {"end": (t0 + 3 * H).isoformat()}, format="json"
    )
    assert clash.status_code == 409
    mine.refresh_from_db()
    assert mine.end == t0 + 2 * H
    moved = client.patch(f"/api/v1/reservations/{mine.pk}/", {"environment": "x"}, format="json")
    assert moved.status_code == 400


def test_availability_lists_the_reasons_and_free_periods(
    api_client, audrey, dave, uat, cards, draft_release, t0
):
    reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + 3 * H, [cards])
    query = {
        "environment": "uat",
        "start": (t0 + H).isoformat(),
        "end": (t0 + 2 * H).isoformat(),
        "data_sets": "cards",
    }
    data = api_client(audrey).get("/api/v1/reservations/availability/", query).json()
    assert data["available"] is False
    assert [c["code"] for c in data["checks"]] == ["environment_capacity", "test_data_set"]
    assert datetime.fromisoformat(data["free_slots"][0]["start"]) == t0 + 3 * H
    bad = api_client(audrey).get(
        "/api/v1/reservations/availability/", {**query, "data_sets": "nope"}
    )
    assert bad.status_code == 400 and "Unknown test data set" in str(bad.json())


@pytest.mark.parametrize("rows", [5, 200])
def test_the_reservation_list_runs_a_bounded_number_of_queries(
    api_client, audrey, dave, uat, cards, rows, django_assert_max_num_queries
):
    start = timezone.now() + timedelta(days=1)
    releases = [ReleaseFactory(author=dave) for _ in range(rows)]
    Reservation.objects.bulk_create(
        Reservation(
            environment=uat,
            release=r,
            purpose="uat",
            start=start + i * H,
            end=start + (i + 1) * H,
            reserved_by=dave,
        )
        for i, r in enumerate(releases)
    )
    client = api_client(audrey)
    with django_assert_max_num_queries(10):
        response = client.get("/api/v1/reservations/?environment=uat")
    assert response.status_code == 200 and response.json()["count"] == rows


# --- test data sets, validation needs, dependencies ----------------------------------------


def test_release_managers_manage_test_data_sets_and_developers_cannot(
    api_client, alice, dave, uat, environments
):
    payload = {"slug": "loyalty", "name": "Loyalty", "environments": ["uat"]}
    assert (
        api_client(dave).post("/api/v1/test-data-sets/", payload, format="json").status_code == 403
    )
    response = api_client(alice).post("/api/v1/test-data-sets/", payload, format="json")
    assert response.status_code == 201 and response.json()["environments"] == ["uat"]
    bad = api_client(alice).post(
        "/api/v1/test-data-sets/",
        {"slug": "prod", "name": "P", "environments": ["production"]},
        format="json",
    )
    assert bad.status_code == 400 and "non-production" in str(bad.json())
    detail = api_client(alice).get("/api/v1/test-data-sets/loyalty/")
    assert detail.status_code == 200


def test_developers_record_validation_needs_once_per_environment(
    api_client, dave, uat, draft_release
):
    client = api_client(dave)
    payload = {"release": draft_release.key, "environment": "uat", "hours": 16}
    assert client.post("/api/v1/validation-needs/", payload, format="json").status_code == 201
    again = client.post("/api/v1/validation-needs/", payload, format="json")
    assert again.status_code == 400
    zero = client.post(
        "/api/v1/validation-needs/", {**payload, "environment": "dev", "hours": 0}, format="json"
    )
    assert zero.status_code == 400
    assert ValidationNeed.objects.count() == 1
    listed = client.get(f"/api/v1/validation-needs/?release={draft_release.key}").json()
    assert listed["count"] == 1 and listed["results"][0]["hours"] == 16


def test_dependencies_refuse_cycles_and_self_references(api_client, alice, dave, draft_release):
    first = ReleaseFactory(author=dave)
    client = api_client(alice)
    url = "/api/v1/release-dependencies/"
    payload = {"release": draft_release.key, "after": first.key, "reason": "API"}
    assert api_client(dave).post(url, payload, format="json").status_code == 403
    assert client.post(url, payload, format="json").status_code == 201
    cycle = client.post(url, {"release": first.key, "after": draft_release.key}, format="json")
    assert cycle.status_code == 400 and "dependency cycle" in cycle.json()["after"][0]
    own = client.post(url, {"release": first.key, "after": first.key}, format="json")
    assert own.status_code == 400
    assert ReleaseDependency.objects.count() == 1


# --- the sequencing plan -------------------------------------------------------------------


def test_the_plan_endpoint_returns_the_quarters_sequence(api_client, audrey, nobody, dave, uat):
    q_start = datetime(2031, 7, 1, tzinfo=UTC)
    a = ReleaseFactory(author=dave, planned_start=q_start + timedelta(days=5))
    b = ReleaseFactory(author=dave, planned_start=q_start + timedelta(days=5), deadline=q_start + H)
    ValidationNeed.objects.create(release=a, environment=uat, hours=5)
    ValidationNeed.objects.create(release=b, environment=uat, hours=5)
    ReleaseDependency.objects.create(release=b, after=a)

    response = api_client(audrey).get("/api/v1/sequencing/plan/?quarter=2031-Q3")

    assert response.status_code == 200
    data = response.json()
    assert data["quarter"] == "2031-Q3" and data["since"].startswith("2031-07-01")
    by_key = {r["release"]: r for r in data["releases"]}
    assert by_key[a.key]["slots"][0]["environment"] == "uat"
    assert by_key[b.key]["after"] == [a.key]
    assert by_key[b.key]["deadline_met"] is False
    assert {r["code"] for r in by_key[b.key]["reasons"]} >= {"deadline", "dependency"}
    assert data["summary"]["missed_deadlines"] == 1
    assert api_client(nobody).get("/api/v1/sequencing/plan/").status_code == 403
    assert api_client().get("/api/v1/sequencing/plan/").status_code == 401


@pytest.mark.parametrize(
    "query",
    [
        "quarter=2031-Q5",
        "since=2031-01-01T00:00:00Z",
        "quarter=2031-Q1&since=2031-01-01T00:00Z",
        "since=2031-02-01T00:00:00Z&until=2031-01-01T00:00:00Z",
    ],
)
def test_a_bad_plan_query_is_a_400(api_client, audrey, query):
    response = api_client(audrey).get(f"/api/v1/sequencing/plan/?{query}")
    assert response.status_code == 400


def test_the_plan_accepts_a_period(api_client, audrey, db):
    response = api_client(audrey).get(
        "/api/v1/sequencing/plan/?since=2031-01-01T00:00:00Z&until=2031-02-01T00:00:00Z"
    )
    assert response.status_code == 200 and response.json()["releases"] == []


def test_the_new_endpoints_are_in_the_openapi_schema(api_client, audrey):
    schema = api_client(audrey).get("/api/schema/?format=json").json()
    for path in (
        "/api/v1/reservations/",
        "/api/v1/reservations/{id}/cancel/",
        "/api/v1/reservations/availability/",
        "/api/v1/test-data-sets/",
        "/api/v1/validation-needs/",
        "/api/v1/release-dependencies/",
        "/api/v1/sequencing/plan/",
    ):
        assert path in schema["paths"], path


@pytest.mark.parametrize("rows", [5, 200])
def test_the_other_lists_run_a_bounded_number_of_queries(
    api_client, audrey, dave, uat, environments, rows, django_assert_max_num_queries
):
    releases = [ReleaseFactory(author=dave) for _ in range(rows)]
    ValidationNeed.objects.bulk_create(
        ValidationNeed(release=r, environment=uat, hours=4) for r in releases
    )
    ReleaseDependency.objects.bulk_create(
        ReleaseDependency(release=releases[i], after=releases[i - 1]) for i in range(1, rows)
    )
    for i in range(rows):
        data_set = TestDataSet.objects.create(slug=f"set-{i}", name=f"Set {i}")
        data_set.environments.set([uat, environments["staging"]])
    client = api_client(audrey)
    for url in (
        "/api/v1/validation-needs/",
        "/api/v1/release-dependencies/",
        "/api/v1/test-data-sets/",
    ):
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200
