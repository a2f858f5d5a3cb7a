"""Train and shared-library pages: per role, the decouple button, bad input, query counts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from releases import trains
from releases.models import Release
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders


@pytest.fixture
def train(db, alice):
    train = ReleaseTrain(
        slug="storefront",
        name="Storefront train",
        cadence="FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
        dtstart=datetime(2020, 1, 7, 10, 0, tzinfo=ZoneInfo("Europe/Berlin")),
        time_zone="Europe/Berlin",
        owner=alice,
    )
    train.save_with_reason("test")
    return train


@pytest.fixture
def mixed_release(train, dave):
    web = ServiceFactory(
        slug="web", risk_profile="high", recovery_sla_minutes=30, tier=1, customer_facing=True
    )
    search = ServiceFactory(slug="search", recovery_sla_minutes=240)
    release = ReleaseFactory(author=dave, services=[(web, "7.0.0"), (search, "2.0.0")])
    trains.add_release(train, release, None, dave)
    return release


def test_the_train_page_shows_cadence_departures_and_advice(client, audrey, mixed_release, train):
    client.force_login(audrey)
    page = client.get(reverse("train_detail", args=[train.slug])).content.decode()
    assert "Every 2 weeks on Tuesday" in page
    assert mixed_release.key in page
    assert "Decouple web" in page
    assert 'data-testid="decouple-web"' not in page  # the auditor reads, no button


def test_a_release_manager_decouples_an_advised_service_from_the_train_page(
    client, alice, mixed_release, train
):
    client.force_login(alice)
    page = client.get(reverse("train_detail", args=[train.slug])).content.decode()
    assert 'data-testid="decouple-web"' in page
    response = client.post(
        reverse("train_decouple_action", args=[train.slug]),
        {"release": mixed_release.key, "service": "web", "reason": "tight SLA"},
    )
    assert response.status_code == 302
    new = Release.objects.exclude(pk=mixed_release.pk).get()
    assert list(new.services.values_list("slug", flat=True)) == ["web"]


def test_decoupling_without_a_reason_changes_nothing(client, alice, mixed_release, train):
    client.force_login(alice)
    response = client.post(
        reverse("train_decouple_action", args=[train.slug]),
        {"release": mixed_release.key, "service": "web", "reason": ""},
    )
    assert response.status_code == 400
    assert Release.objects.count() == 1


def test_a_developer_may_not_decouple(client, dave, mixed_release, train):
    client.force_login(dave)
    response = client.post(
        reverse("train_decouple_action", args=[train.slug]),
        {"release": mixed_release.key, "service": "web", "reason": "x"},
    )
    assert response.status_code == 403
    assert Release.objects.count() == 1


def test_a_release_manager_creates_a_train_and_a_bad_cadence_gets_a_field_error(client, alice):
    client.force_login(alice)
    data = {
        "slug": "payments",
        "name": "Payments train",
        "cadence": "every second tuesday",
        "dtstart": "2030-01-01T10:00",
        "time_zone": "Europe/Berlin",
        "active": "on",
    }
    response = client.post(reverse("train_create"), data)
    assert response.status_code == 400
    assert "needs a frequency" in response.content.decode()
    assert not ReleaseTrain.objects.exists()
    response = client.post(reverse("train_create"), {**data, "cadence": "FREQ=WEEKLY;BYDAY=WE"})
    assert response.status_code == 302
    assert ReleaseTrain.objects.get().owner == alice


def test_a_release_manager_adds_a_draft_from_the_train_page(client, alice, dave, train, payments):
    release = ReleaseFactory(author=dave, services=[(payments, "1.0.0")])
    client.force_login(alice)
    response = client.post(
        reverse("train_release_add", args=[train.slug]), {"release": release.key}
    )
    assert response.status_code == 302
    assert TrainCar.objects.get().release == release
    response = client.post(reverse("train_release_add", args=[train.slug]), {"release": "REL-NOPE"})
    assert response.status_code == 400
    assert TrainCar.objects.count() == 1


def test_the_train_page_reads_the_same_queries_whatever_the_train_size(
    client, alice, dave, train, django_assert_max_num_queries
):
    client.force_login(alice)
    url = reverse("train_detail", args=[train.slug])

    def grow(n):
        for i in range(n):
            service = ServiceFactory(slug=f"svc-{n}-{i}", recovery_sla_minutes=30 + 100 * (i % 2))
            trains.add_release(
                train, ReleaseFactory(author=dave, services=[(service, "1.0.0")]), None, dave
            )

    grow(2)
    client.get(url)
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    grow(8)
    with django_assert_max_num_queries(len(small)):
        client.get(url)


@pytest.fixture
def library_conflict(dave, carol):
    lib = ServiceFactory(slug="common-lib", team=TeamFactory(slug="platform", name="Platform"))
    a = ServiceFactory(slug="checkout", team=TeamFactory(slug="payments", name="Payments"))
    b = ServiceFactory(slug="pricing", team=TeamFactory(slug="catalog", name="Catalog"))
    DependencyFactory(service=a, depends_on=b, kind="runtime")
    for s in (a, b):
        DependencyFactory(service=s, depends_on=lib, kind="library")
        LibraryUsage(service=s, library=lib, version="2.4.0").save()
    draft = ReleaseFactory(author=dave, services=[(a, "5.0.0")])
    ReleaseLibraryPin(release=draft, library=lib, version="3.0.0").save()
    other = ReleaseFactory(author=dave, services=[(b, "1.1.0")])
    ReleaseLibraryPin(release=other, library=lib, version="2.4.1").save()
    builders.submit(other, dave)
    return {"draft": draft, "other": other}


def test_the_library_view_lists_versions_pins_and_conflicts_with_teams(
    client, audrey, library_conflict
):
    client.force_login(audrey)
    page = client.get(reverse("library_list")).content.decode()
    assert "library_version_conflict" in page and "library_pin_conflict" in page
    assert "Payments" in page and "Catalog" in page
    assert library_conflict["draft"].key in page and library_conflict["other"].key in page


def test_both_releases_show_the_pin_conflict_on_their_page(client, audrey, library_conflict):
    client.force_login(audrey)
    for release in library_conflict.values():
        page = client.get(release.get_absolute_url()).content.decode()
        assert 'data-testid="library-conflicts"' in page
        assert "library_pin_conflict" in page


@pytest.mark.parametrize("name", ["train_list", "library_list"])
def test_pages_need_a_role(client, nobody, name):
    client.force_login(nobody)
    assert client.get(reverse(name)).status_code == 403


def test_the_release_panel_reads_the_same_queries_whatever_the_library_graph_size(
    client, audrey, dave, library_conflict, django_assert_max_num_queries
):
    from releases.templatetags.train_tags import train_panel

    client.force_login(audrey)
    release = library_conflict["draft"]
    lib = release.library_pins.get().library

    def count():
        with django_assert_max_num_queries(7) as ctx:
            train_panel({"request": None}, release)
        return len(ctx)

    small = count()
    for i in range(8):
        service = ServiceFactory(slug=f"extra-{i}")
        DependencyFactory(service=service, depends_on=lib, kind="library")
        DependencyFactory(service=service, depends_on=release.services.get(), kind="runtime")
        LibraryUsage(service=service, library=lib, version="2.4.0").save()
        other = ReleaseFactory(author=dave, services=[(service, "1.0.0")])
        ReleaseLibraryPin(release=other, library=lib, version="2.5.0").save()
    assert count() == small == 7
