"""The API of API versions, consumers, changes, carry-forward and integration sign-off."""

from datetime import date

import pytest

from governance.models import DecisionRecord
from releases.models import ApiChange, ApiConsumer, ApiVersion, IntegrationFlow, TeamSignOff
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory


@pytest.fixture
def checkout(db):
    return ServiceFactory(
        slug="checkout-service", team=TeamFactory(slug="storefront", name="Storefront")
    )


@pytest.fixture
def v1(payments, checkout):
    version = ApiVersion.objects.create(
        service=payments, name="payments v1", version="1.8.0", status="deprecated"
    )
    ApiConsumer.objects.create(api_version=version, consumer_service=checkout)
    ApiConsumer.objects.create(api_version=version, external_client="Acme POS")
    return version


def test_developer_publishes_an_api_version(api_client, dave, payments):
    response = api_client(dave).post(
        "/api/v1/api-versions/",
        {"service": "payments-api", "name": "payments v2", "version": "2.0.0"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "active"
    assert ApiVersion.objects.get().history.count() == 1


@pytest.mark.parametrize("bad", ["2.0", "v2", "two", "2.0.0.1", "01.2.3"])
def test_a_version_that_is_not_semver_is_refused_and_nothing_written(
    api_client, dave, payments, bad
):
    response = api_client(dave).post(
        "/api/v1/api-versions/",
        {"service": "payments-api", "name": "payments v2", "version": bad},
        format="json",
    )
    assert response.status_code == 400
    assert "semantic version" in response.json()["version"][0]
    assert not ApiVersion.objects.exists()


def test_a_sunset_before_deprecation_is_a_field_error(api_client, dave, payments):
    response = api_client(dave).post(
        "/api/v1/api-versions/",
        {
            "service": "payments-api",
            "name": "v2",
            "version": "2.0.0",
            "deprecated_on": "2030-05-01",
            "sunset_on": "2030-04-01",
        },
        format="json",
    )
    assert response.status_code == 400
    assert "sunset_on" in response.json()
    assert not ApiVersion.objects.exists()


def test_a_consumer_with_neither_service_nor_client_is_refused(api_client, dave, v1):
    response = api_client(dave).post(
        "/api/v1/api-consumers/", {"api_version": v1.pk, "contact": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "external_client" in response.json()
    assert ApiConsumer.objects.count() == 2


def test_auditor_reads_but_cannot_publish(api_client, audrey, v1):
    client = api_client(audrey)
    listed = client.get("/api/v1/api-versions/").json()["results"]
    assert listed[0]["consumers"][0]["name"] in ("Checkout Service", "Acme POS")
    response = client.post(
        "/api/v1/api-versions/",
        {"service": "payments-api", "name": "v3", "version": "3.0.0"},
        format="json",
    )
    assert response.status_code == 403


def test_release_compatibility_names_the_consumers_a_removal_breaks(
    api_client, dave, draft_release, v1
):
    response = api_client(dave).post(
        "/api/v1/api-changes/",
        {"release": draft_release.key, "api_version": v1.pk, "change": "removes"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["flagged"] is True
    body = api_client(dave).get(f"/api/v1/releases/{draft_release.key}/api-compatibility/").json()
    assert body["compatible"] is False
    assert "external client Acme POS" in body["reasons"][0]["message"]
    assert "checkout-service (team Storefront)" in body["reasons"][0]["message"]


def test_an_unknown_change_kind_is_refused(api_client, dave, draft_release, v1):
    response = api_client(dave).post(
        "/api/v1/api-changes/",
        {"release": draft_release.key, "api_version": v1.pk, "change": "rewrites"},
        format="json",
    )
    assert response.status_code == 400
    assert not ApiChange.objects.exists()


def test_carry_forward_endpoint_answers_for_a_normal_release(api_client, dave, draft_release):
    body = api_client(dave).get(f"/api/v1/releases/{draft_release.key}/carry-forward/").json()
    assert body == {
        "release": draft_release.key,
        "is_hotfix": False,
        "based_on_production": None,
        "carry": [],
    }


def test_carry_forward_endpoint_flags_a_hotfix_with_nothing_in_production(
    api_client, dave, payments
):
    hotfix = ReleaseFactory(
        author=dave, kind="hotfix", version="1.4.3", services=[(payments, "1.4.3")]
    )
    body = api_client(dave).get(f"/api/v1/releases/{hotfix.key}/carry-forward/").json()
    assert body["is_hotfix"] is True
    assert body["based_on_production"][0]["passed"] is False


@pytest.fixture
def flow_api(api_client, dave, draft_release, checkout):
    response = api_client(dave).post(
        "/api/v1/integration-flows/",
        {
            "release": draft_release.key,
            "name": "Checkout and pay",
            "services": ["payments-api", "checkout-service"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_team_member_signs_a_flow_through_the_api(api_client, flow_api, draft_release, checkout):
    sam = make_user("sam", "developer")
    checkout.team.members.add(sam)
    response = api_client(sam).post(
        f"/api/v1/integration-flows/{flow_api['id']}/sign/",
        {"team": "storefront", "note": "green"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    teams = {t["team"]: t for t in response.json()["teams"]}
    assert teams["storefront"]["status"] == "signed"
    assert teams["storefront"]["signed_by"] == "sam"
    assert teams["payments"]["status"] == "pending"
    body = api_client(sam).get(f"/api/v1/releases/{draft_release.key}/integration/").json()
    assert body["complete"] is False
    assert DecisionRecord.objects.filter(kind="sign_off").count() == 1


def test_release_manager_cannot_sign_on_a_teams_behalf(api_client, alice, flow_api):
    response = api_client(alice).post(
        f"/api/v1/integration-flows/{flow_api['id']}/sign/",
        {"team": "storefront"},
        format="json",
    )
    assert response.status_code == 403
    assert "not a member of team Storefront" in response.json()["detail"]
    assert not TeamSignOff.objects.exists()
    assert not DecisionRecord.objects.filter(kind="sign_off").exists()


def test_a_flow_without_services_is_refused(api_client, dave, draft_release):
    response = api_client(dave).post(
        "/api/v1/integration-flows/",
        {"release": draft_release.key, "name": "Empty", "services": []},
        format="json",
    )
    assert response.status_code == 400
    assert "services" in response.json()
    assert not IntegrationFlow.objects.exists()


@pytest.mark.parametrize("endpoint", ["api-versions", "api-consumers", "api-changes"])
def test_api_lists_keep_their_query_count_as_data_grows(
    api_client, dave, payments, checkout, endpoint, django_assert_max_num_queries
):
    client = api_client(dave)

    def grow(n, start):
        for i in range(start, start + n):
            version = ApiVersion.objects.create(
                service=payments, name=f"v{i}", version=f"{i}.0.0", deprecated_on=date.today()
            )
            ApiConsumer.objects.create(api_version=version, consumer_service=checkout)
            ApiConsumer.objects.create(api_version=version, external_client=f"Client {i}")
            ApiChange.objects.create(
                release=ReleaseFactory(author=dave), api_version=version, change="breaks"
            )

    grow(2, 1)
    with django_assert_max_num_queries(12):
        assert client.get(f"/api/v1/{endpoint}/").status_code == 200
    grow(8, 3)
    with django_assert_max_num_queries(12):
        assert client.get(f"/api/v1/{endpoint}/").status_code == 200


def test_integration_flow_list_keeps_its_query_count(
    api_client, dave, draft_release, payments, checkout, django_assert_max_num_queries
):
    client = api_client(dave)
    from releases import integration

    for i in range(2):
        integration.add_flow(draft_release, dave, name=f"F{i}", services=[payments, checkout])
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/integration-flows/").status_code == 200
    for i in range(8):
        integration.add_flow(draft_release, dave, name=f"G{i}", services=[payments, checkout])
    with django_assert_max_num_queries(12):
        assert len(client.get("/api/v1/integration-flows/").json()["results"]) == 10
