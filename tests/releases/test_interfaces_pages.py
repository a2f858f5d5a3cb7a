"""API version pages: publish and edit a version (semver errors shown), add and remove its
consumers, and record what a release does to an API from the release's Packaging tab."""

import pytest
from django.urls import reverse

from releases.models import ApiChange, ApiConsumer, ApiVersion, Release
from tests.factories import ServiceFactory, TeamFactory


@pytest.fixture
def checkout(db):
    return ServiceFactory(
        slug="checkout-service", team=TeamFactory(slug="storefront", name="Storefront")
    )


@pytest.fixture
def v1(payments, checkout):
    version = ApiVersion(service=payments, name="payments v1", version="1.8.0")
    version.save_with_reason("test")
    ApiConsumer.objects.create(api_version=version, consumer_service=checkout)
    return version


def _version_form(**overrides):
    data = {
        "service": "payments-api",
        "name": "payments v2",
        "version": "2.0.0",
        "status": "active",
        "deprecated_on": "",
        "sunset_on": "",
        "description": "Async capture.",
    }
    data.update(overrides)
    return data


# --- create / edit -------------------------------------------------------------------------------


def test_a_developer_publishes_an_api_version_from_the_form(client, dave, payments):
    client.force_login(dave)
    assert client.get(reverse("api_version_create")).status_code == 200
    response = client.post(reverse("api_version_create"), _version_form())
    version = ApiVersion.objects.get()
    assert response.status_code == 302 and response["Location"] == version.get_absolute_url()
    assert (version.name, version.version, version.service) == ("payments v2", "2.0.0", payments)
    record = version.history.get()
    assert record.history_user == dave and record.history_change_reason == "published"


@pytest.mark.parametrize("bad", ["2.0", "v2", "two", "2.0.0.1", "01.2.3"])
def test_a_version_that_is_not_semver_is_shown_as_a_field_error_and_nothing_written(
    client, dave, payments, bad
):
    client.force_login(dave)
    response = client.post(reverse("api_version_create"), _version_form(version=bad))
    assert response.status_code == 400
    assert "Enter a semantic version MAJOR.MINOR.PATCH" in response.content.decode()
    assert "is-invalid" in response.content.decode()
    assert not ApiVersion.objects.exists()


def test_a_sunset_before_its_deprecation_is_refused(client, dave, payments):
    client.force_login(dave)
    response = client.post(
        reverse("api_version_create"),
        _version_form(deprecated_on="2030-05-01", sunset_on="2030-04-01"),
    )
    assert response.status_code == 400
    assert "The sunset cannot come before the deprecation date." in response.content.decode()
    assert not ApiVersion.objects.exists()


def test_the_same_version_of_a_service_cannot_be_published_twice(client, dave, v1):
    client.force_login(dave)
    response = client.post(
        reverse("api_version_create"), _version_form(name="again", version="1.8.0")
    )
    assert response.status_code == 400
    assert "already exists" in response.content.decode()
    assert ApiVersion.objects.count() == 1


def test_a_release_manager_deprecates_a_version_with_a_schedule_and_history_shows_it(
    client, alice, v1
):
    client.force_login(alice)
    url = reverse("api_version_edit", args=[v1.pk])
    assert "payments v1" in client.get(url).content.decode()
    response = client.post(
        url,
        _version_form(
            name="payments v1",
            version="1.8.0",
            status="deprecated",
            deprecated_on="2030-01-01",
            sunset_on="2030-06-30",
        ),
    )
    assert response.status_code == 302
    v1.refresh_from_db()
    assert v1.status == "deprecated" and str(v1.sunset_on) == "2030-06-30"
    html = client.get(v1.get_absolute_url()).content.decode()
    assert "sunset 2030-06-30" in html and "edited" in html


@pytest.mark.parametrize("persona", ["bob", "carol", "paula", "audrey"])
def test_roles_that_do_not_publish_apis_are_refused_the_forms(client, request, persona, v1):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("api_version_create")).status_code == 403
    assert client.post(reverse("api_version_create"), _version_form()).status_code == 403
    edit = reverse("api_version_edit", args=[v1.pk])
    assert client.post(edit, _version_form(version="9.9.9")).status_code == 403
    v1.refresh_from_db()
    assert ApiVersion.objects.count() == 1 and v1.version == "1.8.0"


def test_the_list_offers_publishing_only_to_those_who_may(client, dave, audrey, v1):
    client.force_login(dave)
    assert "Publish an API version" in client.get(reverse("api_version_list")).content.decode()
    client.force_login(audrey)
    html = client.get(reverse("api_version_list")).content.decode()
    assert "Publish an API version" not in html and "payments v1" in html


# --- consumers -----------------------------------------------------------------------------------


def test_a_developer_adds_an_external_client_and_an_internal_service_as_consumers(client, dave, v1):
    ServiceFactory(slug="web-storefront")
    client.force_login(dave)
    url = reverse("api_version_consumer_add", args=[v1.pk])
    response = client.post(url, {"external_client": "Acme POS", "contact": "ops@acme.test"})
    assert response.status_code == 302
    assert client.post(url, {"consumer_service": "web-storefront"}).status_code == 302
    consumers = {c.external_client or c.consumer_service.slug for c in v1.consumers.all()}
    assert consumers == {"Acme POS", "checkout-service", "web-storefront"}
    html = client.get(v1.get_absolute_url()).content.decode()
    assert "Acme POS" in html and "ops@acme.test" in html and "external" in html


def test_a_consumer_naming_neither_a_service_nor_a_client_is_a_field_error(client, dave, v1):
    client.force_login(dave)
    response = client.post(
        reverse("api_version_consumer_add", args=[v1.pk]), {"contact": "someone"}
    )
    assert response.status_code == 400
    assert "Name either a consumer service or an external client." in response.content.decode()
    assert v1.consumers.count() == 1


def test_a_service_cannot_be_listed_as_consuming_its_own_api(client, dave, v1):
    client.force_login(dave)
    response = client.post(
        reverse("api_version_consumer_add", args=[v1.pk]), {"consumer_service": "payments-api"}
    )
    assert response.status_code == 400
    assert v1.consumers.count() == 1


def test_removing_a_consumer_keeps_its_history(client, alice, v1):
    consumer = v1.consumers.get()
    client.force_login(alice)
    response = client.post(reverse("api_consumer_remove", args=[consumer.pk]))
    assert response.status_code == 302 and response["Location"] == v1.get_absolute_url()
    assert not v1.consumers.exists()
    deleted = ApiConsumer.history.filter(id=consumer.pk, history_type="-").get()
    assert deleted.history_user == alice and deleted.history_change_reason == "consumer removed"


@pytest.mark.parametrize("persona", ["bob", "paula", "audrey"])
def test_roles_that_do_not_manage_consumers_cannot_add_or_remove_them(client, request, persona, v1):
    client.force_login(request.getfixturevalue(persona))
    consumer = v1.consumers.get()
    add = reverse("api_version_consumer_add", args=[v1.pk])
    assert client.post(add, {"external_client": "X"}).status_code == 403
    assert client.post(reverse("api_consumer_remove", args=[consumer.pk])).status_code == 403
    assert list(v1.consumers.all()) == [consumer]
    assert 'data-testid="consumer-form"' not in client.get(v1.get_absolute_url()).content.decode()


# --- API changes of a release ------------------------------------------------------------------------


def test_recording_a_removal_of_a_used_version_flags_it_on_the_packaging_tab(
    client, dave, draft_release, v1
):
    client.force_login(dave)
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="record-api-change"' in page
    url = reverse("release_api_change_add", args=[draft_release.key])
    assert "payments v1 1.8.0" in client.get(url).content.decode()
    response = client.post(url, {"api_version": v1.pk, "change": "removes", "note": "gone"})
    assert response.status_code == 302
    assert response["Location"] == draft_release.get_absolute_url() + "#packaging"
    change = ApiChange.objects.get()
    assert (change.release, change.change, change.history.get().history_user) == (
        draft_release,
        "removes",
        dave,
    )
    html = client.get(response["Location"]).content.decode()
    assert "breaks consumers" in html and "checkout-service (team Storefront)" in html


def test_an_api_change_without_a_version_or_kind_is_refused(client, dave, draft_release, v1):
    client.force_login(dave)
    url = reverse("release_api_change_add", args=[draft_release.key])
    response = client.post(url, {"api_version": "", "change": "explodes"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "is not one of the available choices" in html
    assert not ApiChange.objects.exists()


def test_a_second_change_to_the_same_version_is_refused(client, dave, draft_release, v1):
    ApiChange.objects.create(release=draft_release, api_version=v1, change="adds")
    client.force_login(dave)
    url = reverse("release_api_change_add", args=[draft_release.key])
    response = client.post(url, {"api_version": v1.pk, "change": "breaks"})
    assert response.status_code == 400
    assert "already records a change to payments v1 1.8.0" in response.content.decode()
    assert ApiChange.objects.get().change == "adds"


def test_a_cancelled_release_records_no_api_change(client, dave, draft_release, v1):
    Release.objects.filter(pk=draft_release.pk).update(state="cancelled")
    client.force_login(dave)
    url = reverse("release_api_change_add", args=[draft_release.key])
    response = client.post(url, {"api_version": v1.pk, "change": "breaks"})
    assert response.status_code == 400
    assert "is cancelled; it will not ship." in response.content.decode()
    assert not ApiChange.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "paula", "audrey"])
def test_roles_that_do_not_record_api_changes_are_refused(
    client, request, persona, draft_release, v1
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("release_api_change_add", args=[draft_release.key])
    assert client.get(url).status_code == 403
    assert client.post(url, {"api_version": v1.pk, "change": "breaks"}).status_code == 403
    assert not ApiChange.objects.exists()
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="record-api-change"' not in page


def test_the_packaging_menu_lists_api_versions(client, audrey):
    client.force_login(audrey)
    html = client.get(reverse("api_version_list")).content.decode()
    assert 'data-testid="packaging-menu"' in html
    assert f'href="{reverse("api_version_list")}"' in html
