"""Shared-library pages (one library; declaring a service's usage; a release's pin) and taking a
release off a train: per role, bad input, what stays editable, history, query counts."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from releases import trains
from releases.models.trains import LibraryUsage, ReleaseLibraryPin, ReleaseTrain, TrainCar
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders


@pytest.fixture
def graph(dave):
    """checkout (Payments) calls pricing (Catalog); both use common-lib (Platform) 2.4.0;
    a draft checkout release pins 3.0.0, a submitted pricing release pins 2.4.1."""
    lib = ServiceFactory(slug="common-lib", team=TeamFactory(slug="platform", name="Platform"))
    a = ServiceFactory(slug="checkout", team=TeamFactory(slug="payments", name="Payments"))
    b = ServiceFactory(slug="pricing", team=TeamFactory(slug="catalog", name="Catalog"))
    c = ServiceFactory(slug="search", team=TeamFactory(slug="search", name="Search"))
    DependencyFactory(service=a, depends_on=b, kind="runtime")
    DependencyFactory(service=a, depends_on=lib, kind="library", version_constraint=">=2,<3")
    DependencyFactory(service=b, depends_on=lib, kind="library")
    DependencyFactory(service=c, depends_on=lib, kind="library")
    for s in (a, b):
        LibraryUsage(service=s, library=lib, version="2.4.0").save_with_reason("declared")
    draft = ReleaseFactory(author=dave, services=[(a, "5.0.0")])
    ReleaseLibraryPin(release=draft, library=lib, version="3.0.0").save_with_reason("pinned")
    other = ReleaseFactory(author=dave, services=[(b, "1.1.0")])
    ReleaseLibraryPin(release=other, library=lib, version="2.4.1").save_with_reason("pinned")
    builders.submit(other, dave)
    return {"lib": lib, "checkout": a, "pricing": b, "search": c, "draft": draft, "other": other}


def detail(graph):
    return reverse("library_detail", args=[graph["lib"].slug])


# --- the library page ----------------------------------------------------------------------


def test_the_library_page_shows_versions_teams_pins_conflicts_and_history(client, audrey, graph):
    client.force_login(audrey)

    page = client.get(detail(graph)).content.decode()

    assert 'data-testid="usage-checkout"' in page and "Payments" in page and "Catalog" in page
    assert "&gt;=2,&lt;3" in page  # checkout's declared constraint
    assert 'data-testid="undeclared-search"' in page  # links it without declaring a version
    assert f'data-testid="pin-{graph["draft"].key}"' in page
    assert f'data-testid="pin-{graph["other"].key}"' in page
    assert "library_pin_conflict" in page and "library_version_conflict" in page
    assert "Teams to talk:" in page
    history = page.split('data-testid="history"')[1]
    assert "checkout uses" in history and f"{graph['draft'].key} pins" in history
    assert "Edit" not in page.split('data-testid="usages"')[1].split("</table>")[0]


def test_a_service_that_is_not_a_shared_library_has_no_library_page(client, audrey, graph):
    client.force_login(audrey)

    assert client.get(reverse("library_detail", args=["checkout"])).status_code == 404


def test_the_library_list_links_each_library_to_its_page(client, audrey, graph):
    client.force_login(audrey)

    page = client.get(reverse("library_list")).content.decode()

    assert f'href="{detail(graph)}"' in page


def test_the_menu_offers_the_shared_libraries(client, audrey, graph):
    client.force_login(audrey)

    page = client.get(reverse("dashboard")).content.decode()

    menu = page.split('data-testid="packaging-menu"')[1].split("</ul>")[0]
    assert f'href="{reverse("library_list")}"' in menu and ">Shared libraries</a>" in menu


def test_the_library_page_reads_the_same_queries_at_two_sizes(
    client, audrey, dave, graph, django_assert_max_num_queries
):
    client.force_login(audrey)
    client.get(detail(graph))
    with django_assert_max_num_queries(20) as small:
        client.get(detail(graph))
    for i in range(6):
        service = ServiceFactory(slug=f"extra-{i}")
        DependencyFactory(service=service, depends_on=graph["lib"], kind="library")
        DependencyFactory(service=service, depends_on=graph["checkout"], kind="runtime")
        LibraryUsage(service=service, library=graph["lib"], version="2.4.0").save()
        release = ReleaseFactory(author=dave, services=[(service, "1.0.0")])
        ReleaseLibraryPin(release=release, library=graph["lib"], version="2.5.0").save()
    with django_assert_max_num_queries(len(small)):
        assert client.get(detail(graph)).status_code == 200


# --- a service's usage ---------------------------------------------------------------------


def usage_form(service="search", library="common-lib", version="2.4.0", **extra):
    return {"service": service, "library": library, "version": version, "since": "2025-01-01"} | (
        extra
    )


def test_a_developer_declares_a_usage_and_the_library_page_shows_it(client, dave, graph):
    client.force_login(dave)
    url = reverse("library_usage_create") + "?library=common-lib&service=search"
    page = client.get(url).content.decode()
    assert '<option value="search" selected>' in page
    assert f'value="{timezone.localdate():%Y-%m-%d}"' in page  # "since" defaults to today

    response = client.post(reverse("library_usage_create"), usage_form(reason="audit"))

    assert response.status_code == 302 and response["Location"] == detail(graph)
    usage = LibraryUsage.objects.get(service__slug="search")
    assert usage.version == "2.4.0"
    assert usage.history.first().history_user == dave
    assert usage.history.first().history_change_reason == "audit"
    assert 'data-testid="usage-search"' in client.get(detail(graph)).content.decode()


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"version": "2.4"}, "is not a semantic version"),
        ({"version": "latest"}, "is not a semantic version"),
        ({"service": "pricing"}, "already exists"),
        ({"library": "checkout"}, "Select a valid choice"),  # not a shared library
        ({"service": "common-lib"}, "cannot use itself"),
    ],
)
def test_a_bad_usage_shows_the_error_and_writes_nothing(client, dave, graph, bad, message):
    client.force_login(dave)
    before = LibraryUsage.history.count()

    response = client.post(reverse("library_usage_create"), usage_form(**bad))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert LibraryUsage.history.count() == before


def test_changing_a_version_shows_before_and_after_in_the_library_history(client, alice, graph):
    usage = LibraryUsage.objects.get(service=graph["pricing"])
    client.force_login(alice)
    edit = reverse("library_usage_edit", args=[usage.pk])
    assert "History" in client.get(edit).content.decode()

    response = client.post(edit, usage_form("pricing", version="2.5.0", reason="upgraded"))

    assert response.status_code == 302
    history = client.get(detail(graph)).content.decode().split('data-testid="history"')[1]
    assert "<code>2.4.0</code> → <code>2.5.0</code>" in history and "upgraded" in history


def test_deleting_a_usage_keeps_a_record_of_it(client, dave, graph):
    usage = LibraryUsage.objects.get(service=graph["pricing"])
    client.force_login(dave)
    url = reverse("library_usage_delete", args=[usage.pk])
    assert client.get(url).status_code == 200

    response = client.post(url, {"reason": "moved off common-lib"})

    assert response.status_code == 302
    assert not LibraryUsage.objects.filter(pk=usage.pk).exists()
    history = client.get(detail(graph)).content.decode().split('data-testid="history"')[1]
    assert "Deleted: <a" in history and "moved off common-lib" in history


@pytest.mark.parametrize("persona", ["audrey", "bob", "carol", "paula", "nobody"])
def test_who_may_not_declare_edit_or_delete_a_usage(client, request, graph, persona):
    usage = LibraryUsage.objects.get(service=graph["pricing"])
    client.force_login(request.getfixturevalue(persona))
    before = LibraryUsage.history.count()

    assert client.post(reverse("library_usage_create"), usage_form()).status_code == 403
    edit = reverse("library_usage_edit", args=[usage.pk])
    assert client.post(edit, usage_form("pricing", version="9.0.0")).status_code == 403
    assert client.post(reverse("library_usage_delete", args=[usage.pk])).status_code == 403
    assert LibraryUsage.history.count() == before


# --- a release's pin -----------------------------------------------------------------------


def test_the_release_panel_offers_pinning_while_the_release_is_editable(client, dave, graph):
    client.force_login(dave)

    draft = client.get(graph["draft"].get_absolute_url()).content.decode()
    submitted = client.get(graph["other"].get_absolute_url()).content.decode()

    assert 'data-testid="pin-library"' in draft
    assert reverse("library_pin_edit", args=[graph["draft"].library_pins.get().pk]) in draft
    assert 'data-testid="pin-library"' not in submitted
    assert "library_pin_edit" not in submitted and "/library-pins/" not in submitted


def test_a_developer_pins_a_library_version_from_the_release_page(client, dave, graph):
    release = ReleaseFactory(author=dave, services=[(graph["pricing"], "1.2.0")])
    client.force_login(dave)
    url = reverse("release_library_pin_create", args=[release.key])

    response = client.post(url, {"library": "common-lib", "version": "2.4.1", "reason": "fix"})

    assert response.status_code == 302
    pin = release.library_pins.get()
    assert (pin.version, pin.history.first().history_user) == ("2.4.1", dave)
    page = client.get(release.get_absolute_url()).content.decode()
    assert "<code>2.4.1</code>" in page.split('data-testid="train-panel"')[1]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"library": "common-lib", "version": "3"}, "is not a semantic version"),
        ({"library": "pricing", "version": "1.0.0"}, "Select a valid choice"),
        ({"library": "", "version": "1.0.0"}, "This field is required"),
    ],
)
def test_a_bad_pin_shows_the_error_and_writes_nothing(client, dave, graph, data, message):
    release = ReleaseFactory(author=dave, services=[(graph["pricing"], "1.2.0")])
    client.force_login(dave)

    response = client.post(reverse("release_library_pin_create", args=[release.key]), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not release.library_pins.exists()


def test_a_second_pin_of_the_same_library_points_to_the_first(client, dave, graph):
    client.force_login(dave)
    url = reverse("release_library_pin_create", args=[graph["draft"].key])

    response = client.post(url, {"library": "common-lib", "version": "3.1.0"})

    assert response.status_code == 400
    assert "already pins common-lib 3.0.0: change that pin instead" in response.content.decode()
    assert graph["draft"].library_pins.get().version == "3.0.0"


def test_a_submitted_release_keeps_its_pins(client, dave, graph):
    pin = graph["other"].library_pins.get()
    client.force_login(dave)
    versions = ReleaseLibraryPin.history.count()

    page = client.get(reverse("library_pin_edit", args=[pin.pk])).content.decode()
    edit = client.post(
        reverse("library_pin_edit", args=[pin.pk]), {"library": "common-lib", "version": "2.4.2"}
    )
    delete = client.post(reverse("library_pin_delete", args=[pin.pk]))
    create = client.post(
        reverse("release_library_pin_create", args=[graph["other"].key]),
        {"library": "common-lib", "version": "2.4.2"},
    )

    assert 'data-testid="not-editable"' in page
    assert (edit.status_code, delete.status_code, create.status_code) == (409, 409, 409)
    assert "only a draft or rejected release can change its library pins" in delete.content.decode()
    pin.refresh_from_db()
    assert pin.version == "2.4.1"
    assert ReleaseLibraryPin.history.count() == versions


def test_re_pinning_and_unpinning_a_draft_keep_their_history(client, alice, graph):
    pin = graph["draft"].library_pins.get()
    client.force_login(alice)

    edit = client.post(
        reverse("library_pin_edit", args=[pin.pk]),
        {"library": "common-lib", "version": "2.4.1", "reason": "align with pricing"},
    )
    pin.refresh_from_db()
    assert (edit.status_code, pin.version) == (302, "2.4.1")
    assert (
        "align with pricing"
        in client.get(reverse("library_pin_edit", args=[pin.pk])).content.decode()
    )

    delete = client.post(reverse("library_pin_delete", args=[pin.pk]), {"reason": "not needed"})

    assert delete.status_code == 302
    assert not graph["draft"].library_pins.exists()
    assert (
        ReleaseLibraryPin.history.filter(id=pin.pk, history_type="-").get().history_change_reason
        == "not needed"
    )


@pytest.mark.parametrize("persona", ["audrey", "bob", "carol", "paula", "nobody"])
def test_who_may_not_pin_re_pin_or_unpin(client, request, graph, persona):
    pin = graph["draft"].library_pins.get()
    client.force_login(request.getfixturevalue(persona))
    data = {"library": "common-lib", "version": "3.0.1"}

    assert (
        client.post(
            reverse("release_library_pin_create", args=[graph["draft"].key]), data
        ).status_code
        == 403
    )
    assert client.post(reverse("library_pin_edit", args=[pin.pk]), data).status_code == 403
    assert client.post(reverse("library_pin_delete", args=[pin.pk])).status_code == 403
    pin.refresh_from_db()
    assert pin.version == "3.0.0"


def test_the_api_refuses_to_unpin_a_submitted_release(api_client, dave, graph):
    pin = graph["other"].library_pins.get()

    response = api_client(dave).delete(f"/api/v1/library-pins/{pin.pk}/")

    assert response.status_code == 409
    assert ReleaseLibraryPin.objects.filter(pk=pin.pk).exists()


# --- taking a release off a train ----------------------------------------------------------


@pytest.fixture
def train(alice):
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
def riders(train, dave, graph):
    draft = ReleaseFactory(author=dave, services=[(graph["search"], "1.0.0")])
    trains.add_release(train, draft, None, dave)
    late = ReleaseFactory(author=dave, services=[(graph["checkout"], "5.1.0")])
    trains.add_release(train, late, None, dave)
    builders.submit(late, dave)
    return {"draft": draft, "submitted": late}


def test_a_release_manager_takes_a_draft_off_the_train(client, alice, train, riders):
    client.force_login(alice)
    page = client.get(train.get_absolute_url()).content.decode()
    assert f'data-testid="remove-{riders["draft"].key}"' in page
    assert f'data-testid="remove-{riders["submitted"].key}"' not in page

    response = client.post(
        reverse("train_release_remove", args=[train.slug]),
        {"release": riders["draft"].key, "reason": "slipped a sprint"},
    )

    assert response.status_code == 302
    assert not TrainCar.objects.filter(release=riders["draft"]).exists()
    riders["draft"].refresh_from_db()
    assert riders["draft"].history.first().history_change_reason == (
        "left the Storefront train: slipped a sprint"
    )


def test_a_submitted_release_stays_on_the_train(client, alice, train, riders):
    client.force_login(alice)

    response = client.post(
        reverse("train_release_remove", args=[train.slug]), {"release": riders["submitted"].key}
    )

    assert response.status_code == 409
    assert "only a draft or rejected release can leave a train" in response.content.decode()
    assert TrainCar.objects.filter(release=riders["submitted"]).exists()


def test_a_release_that_rides_no_train_cannot_leave_it(client, alice, train, graph):
    client.force_login(alice)

    response = client.post(
        reverse("train_release_remove", args=[train.slug]), {"release": graph["draft"].key}
    )

    assert response.status_code == 409
    assert "does not ride the Storefront train" in response.content.decode()


@pytest.mark.parametrize("persona", ["dave", "audrey", "nobody"])
def test_only_release_managers_take_releases_off_a_train(client, request, train, riders, persona):
    client.force_login(request.getfixturevalue(persona))
    assert "Remove from train" not in client.get(train.get_absolute_url()).content.decode()

    response = client.post(
        reverse("train_release_remove", args=[train.slug]), {"release": riders["draft"].key}
    )

    assert response.status_code == 403
    assert TrainCar.objects.filter(release=riders["draft"]).exists()


def test_the_api_keeps_a_submitted_release_on_the_train(api_client, alice, riders):
    car = TrainCar.objects.get(release=riders["submitted"])

    assert api_client(alice).delete(f"/api/v1/train-cars/{car.pk}/").status_code == 409
    assert (
        api_client(alice)
        .delete(f"/api/v1/train-cars/{TrainCar.objects.get(release=riders['draft']).pk}/")
        .status_code
        == 204
    )
    assert TrainCar.objects.filter(pk=car.pk).exists()
