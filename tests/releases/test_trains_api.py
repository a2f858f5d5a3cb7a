"""The trains and libraries API: CRUD, advice, decouple, conflicts; bad input writes nothing."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from releases.models import Release
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders

TRAIN = {
    "slug": "storefront",
    "name": "Storefront train",
    "cadence": "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    "dtstart": "2020-01-07T09:00:00Z",
    "time_zone": "Europe/Berlin",
}


@pytest.fixture
def lib(db):
    lib = ServiceFactory(slug="common-lib", team=TeamFactory(slug="platform", name="Platform"))
    checkout = ServiceFactory(slug="checkout", team=TeamFactory(slug="payments", name="Payments"))
    pricing = ServiceFactory(slug="pricing", team=TeamFactory(slug="catalog", name="Catalog"))
    DependencyFactory(service=checkout, depends_on=pricing, kind="runtime")
    for s in (checkout, pricing):
        DependencyFactory(service=s, depends_on=lib, kind="library")
    return lib


def test_a_release_manager_creates_a_train_and_reads_its_departures(api_client, alice):
    response = api_client(alice).post("/api/v1/trains/", TRAIN, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["cadence_text"] == "Every 2 weeks on Tuesday"
    assert len(body["next_departures"]) == 3
    assert body["owner"] == "alice"


def test_a_bad_cadence_is_a_400_and_writes_nothing(api_client, alice):
    response = api_client(alice).post(
        "/api/v1/trains/", {**TRAIN, "cadence": "FREQ=SOMETIMES"}, format="json"
    )
    assert response.status_code == 400
    assert "cadence" in response.json()
    assert not ReleaseTrain.objects.exists()


def test_a_developer_cannot_create_a_train(api_client, dave):
    assert api_client(dave).post("/api/v1/trains/", TRAIN, format="json").status_code == 403


def test_cars_advice_and_decouple_through_the_api(api_client, alice, dave):
    client = api_client(alice)
    client.post("/api/v1/trains/", TRAIN, format="json")
    web = ServiceFactory(slug="web", risk_profile="high", recovery_sla_minutes=30)
    search = ServiceFactory(slug="search")
    release = ReleaseFactory(author=dave, services=[(web, "7.0.0"), (search, "2.0.0")])
    response = client.post(
        "/api/v1/train-cars/", {"train": "storefront", "release": release.key}, format="json"
    )
    assert response.status_code == 201, response.json()
    again = client.post(
        "/api/v1/train-cars/", {"train": "storefront", "release": release.key}, format="json"
    )
    assert again.status_code == 400 and "already rides a train" in str(again.json())

    advice = client.get("/api/v1/trains/storefront/advice/").json()
    assert advice["decouple"] == ["web"]

    refused = api_client(dave).post(
        "/api/v1/trains/storefront/decouple/",
        {"release": release.key, "service": "web", "reason": "x"},
        format="json",
    )
    assert refused.status_code == 403
    done = client.post(
        "/api/v1/trains/storefront/decouple/",
        {"release": release.key, "service": "web", "reason": "tight SLA"},
        format="json",
    )
    assert done.status_code == 200, done.json()
    assert done.json()["left_train"] is False
    assert Release.objects.get(key=done.json()["release"]).services.get() == web


def test_decoupling_a_submitted_release_is_a_409(api_client, alice, dave):
    client = api_client(alice)
    client.post("/api/v1/trains/", TRAIN, format="json")
    a, b = ServiceFactory(slug="a"), ServiceFactory(slug="b")
    release = ReleaseFactory(author=dave, services=[(a, "1.0.0"), (b, "1.0.0")])
    client.post(
        "/api/v1/train-cars/", {"train": "storefront", "release": release.key}, format="json"
    )
    builders.submit(release, dave)
    response = client.post(
        "/api/v1/trains/storefront/decouple/",
        {"release": release.key, "service": "a", "reason": "x"},
        format="json",
    )
    assert response.status_code == 409
    assert Release.objects.count() == 1 and TrainCar.objects.count() == 1


def test_a_version_that_is_not_semantic_is_a_400_and_writes_nothing(api_client, dave, lib):
    response = api_client(dave).post(
        "/api/v1/library-usages/",
        {"service": "checkout", "library": "common-lib", "version": "2.4"},
        format="json",
    )
    assert response.status_code == 400
    assert "not a semantic version" in str(response.json()["version"])
    assert not LibraryUsage.objects.exists()


def test_a_service_that_is_not_a_library_is_a_400(api_client, dave, lib):
    response = api_client(dave).post(
        "/api/v1/library-usages/",
        {"service": "checkout", "library": "pricing", "version": "2.4.0"},
        format="json",
    )
    assert response.status_code == 400
    assert "not a shared library" in str(response.json())


def test_usages_pins_and_conflicts_through_the_api(api_client, dave, lib):
    client = api_client(dave)
    for slug in ("checkout", "pricing"):
        response = client.post(
            "/api/v1/library-usages/",
            {"service": slug, "library": "common-lib", "version": "2.4.0"},
            format="json",
        )
        assert response.status_code == 201, response.json()
    release = ReleaseFactory(author=dave, services=[(ServiceFactory(slug="checkout"), "5.0.0")])
    response = client.post(
        "/api/v1/library-pins/",
        {"release": release.key, "library": "common-lib", "version": "3.0.0"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = client.get(f"/api/v1/libraries/conflicts/?release={release.key}").json()
    assert body["count"] == 1
    assert body["results"][0]["code"] == "library_version_conflict"
    assert body["results"][0]["teams"] == ["Catalog", "Payments"]
    assert client.get("/api/v1/libraries/conflicts/?library=pricing").status_code == 400
    builders.submit(release, dave)
    late = client.patch(
        f"/api/v1/library-pins/{response.json()['id']}/", {"version": "3.1.0"}, format="json"
    )
    assert late.status_code == 400
    assert ReleaseLibraryPin.objects.get().version == "3.0.0"


def test_lists_take_the_same_queries_at_two_sizes(
    api_client, audrey, dave, lib, django_assert_max_num_queries
):
    client = api_client(audrey)

    def grow(n):
        for i in range(n):
            service = ServiceFactory()
            DependencyFactory(service=service, depends_on=lib, kind="library")
            LibraryUsage(service=service, library=lib, version=f"2.{i}.0").save()
            release = ReleaseFactory(author=dave, services=[(service, "1.0.0")])
            ReleaseLibraryPin(release=release, library=lib, version="2.9.0").save()
            train = ReleaseTrain(
                slug=f"t-{n}-{i}",
                name=f"T {n} {i}",
                cadence="FREQ=WEEKLY",
                dtstart=datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC")),
            )
            train.save()
            TrainCar(train=train, release=release, departure=train.dtstart).save()

    urls = [
        "/api/v1/trains/",
        "/api/v1/train-cars/",
        "/api/v1/library-usages/",
        "/api/v1/library-pins/",
        "/api/v1/libraries/conflicts/",
    ]
    grow(2)
    counts = {}
    for url in urls:
        with django_assert_max_num_queries(12) as ctx:
            assert client.get(url).status_code == 200
        counts[url] = len(ctx)
    grow(6)
    for url in urls:
        with django_assert_max_num_queries(counts[url]):
            client.get(url)
