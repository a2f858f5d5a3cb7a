"""Teams, services (with dependencies), environments and freeze windows over the API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releases.models import Service, ServiceDependency, Team
from scheduling.models import Environment, FreezeWindow
from tests.factories import FreezeWindowFactory, ServiceFactory, TeamFactory


@pytest.fixture
def manager(api_client, alice):
    return api_client(alice)


# --- teams -------------------------------------------------------------------------------


def test_alice_creates_reads_renames_and_deletes_a_team(manager):
    created = manager.post("/api/v1/teams/", {"slug": "risk", "name": "Risk"})
    assert created.status_code == 201, created.json()
    assert created.json()["url"].endswith("/api/v1/teams/risk/")

    assert manager.get("/api/v1/teams/risk/").json()["name"] == "Risk"
    renamed = manager.patch("/api/v1/teams/risk/", {"name": "Risk & Fraud"})
    assert renamed.status_code == 200
    assert Team.objects.get(slug="risk").name == "Risk & Fraud"

    assert manager.delete("/api/v1/teams/risk/").status_code == 204
    assert not Team.objects.filter(slug="risk").exists()


def test_a_duplicate_team_slug_is_400(manager, payments):
    response = manager.post("/api/v1/teams/", {"slug": "payments", "name": "Other"})

    assert response.status_code == 400
    assert "slug" in response.json()
    assert Team.objects.count() == 1


def test_a_team_that_still_owns_services_cannot_be_deleted(manager, payments):
    response = manager.delete("/api/v1/teams/payments/")

    assert response.status_code == 409
    assert response.json()["code"] == "protected"
    assert "Payments API" in response.json()["related"]
    assert Team.objects.filter(slug="payments").exists()


# --- services ----------------------------------------------------------------------------


@pytest.fixture
def ledger(db):
    return ServiceFactory(slug="ledger", name="Ledger", team=TeamFactory(slug="core"))


def test_alice_creates_a_service_with_its_dependencies(manager, payments, ledger):
    response = manager.post(
        "/api/v1/services/",
        {
            "slug": "checkout",
            "name": "Checkout",
            "team": "payments",
            "tier": 1,
            "customer_facing": True,
            "ha_required": True,
            "recovery_sla_minutes": 30,
            "depends_on": ["payments-api", "ledger"],
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert sorted(body["depends_on"]) == ["ledger", "payments-api"]
    assert (body["team"], body["tier"], body["recovery_sla_minutes"]) == ("payments", 1, 30)
    checkout = Service.objects.get(slug="checkout")
    assert sorted(checkout.dependencies.values_list("slug", flat=True)) == [
        "ledger",
        "payments-api",
    ]
    assert set(checkout.dependency_links.values_list("kind", flat=True)) == {"runtime"}


def test_updating_depends_on_replaces_the_links(manager, payments, ledger):
    service = ServiceFactory(slug="checkout", team=payments.team)
    ServiceDependency.objects.create(service=service, depends_on=payments, kind="library")

    response = manager.patch("/api/v1/services/checkout/", {"depends_on": ["ledger"]})

    assert response.status_code == 200, response.json()
    assert response.json()["depends_on"] == ["ledger"]
    assert list(service.dependency_links.values_list("depends_on__slug", flat=True)) == ["ledger"]


def test_keeping_a_dependency_keeps_its_kind(manager, payments, ledger):
    service = ServiceFactory(slug="checkout", team=payments.team)
    ServiceDependency.objects.create(service=service, depends_on=payments, kind="library")

    manager.patch("/api/v1/services/checkout/", {"depends_on": ["payments-api", "ledger"]})

    kinds = dict(service.dependency_links.values_list("depends_on__slug", "kind"))
    assert kinds == {"payments-api": "library", "ledger": "runtime"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"depends_on": ["ghost"]}, "depends_on"),
        ({"team": "nobodys-team"}, "team"),
        ({"recovery_sla_minutes": 0}, "recovery_sla_minutes"),
        ({"tier": 9}, "tier"),
        ({"slug": "not a slug!"}, "slug"),
    ],
)
def test_invalid_service_input_is_400_and_writes_nothing(manager, payments, change, field):
    body = {"slug": "checkout", "name": "Checkout", "team": "payments"}
    body.update(change)

    response = manager.post("/api/v1/services/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert list(Service.objects.values_list("slug", flat=True)) == ["payments-api"]


def test_a_service_cannot_depend_on_itself(manager, payments):
    response = manager.patch("/api/v1/services/payments-api/", {"depends_on": ["payments-api"]})

    assert response.status_code == 400
    assert "itself" in str(response.json()["depends_on"])
    assert not ServiceDependency.objects.exists()


def test_services_filter_by_team(api_client, audrey, payments, ledger):
    body = api_client(audrey).get("/api/v1/services/", {"team": "core"}).json()

    assert [s["slug"] for s in body["results"]] == ["ledger"]


# --- environments ------------------------------------------------------------------------


def test_alice_manages_environments_in_promotion_order(manager):
    for slug, order, prod in [("prod", 20, True), ("qa", 10, False)]:
        response = manager.post(
            "/api/v1/environments/",
            {"slug": slug, "name": slug.upper(), "order": order, "is_production": prod},
        )
        assert response.status_code == 201, response.json()

    listed = manager.get("/api/v1/environments/").json()["results"]
    assert [(e["slug"], e["order"], e["is_production"]) for e in listed] == [
        ("qa", 10, False),
        ("prod", 20, True),
    ]
    assert manager.patch("/api/v1/environments/qa/", {"order": 5}).status_code == 200
    assert manager.delete("/api/v1/environments/qa/").status_code == 204
    assert list(Environment.objects.values_list("slug", flat=True)) == ["prod"]


def test_two_environments_cannot_share_a_promotion_position(manager, environments):
    response = manager.post(
        "/api/v1/environments/", {"slug": "uat", "name": "UAT", "order": environments["dev"].order}
    )

    assert response.status_code == 400
    assert "order" in response.json()


# --- freeze windows ----------------------------------------------------------------------


def test_alice_creates_a_freeze_for_some_services_and_environments(
    manager, alice, payments, environments
):
    start = timezone.now() + timedelta(days=1)
    response = manager.post(
        "/api/v1/freeze-windows/",
        {
            "name": "Year-end close",
            "start": start.isoformat(),
            "end": (start + timedelta(days=3)).isoformat(),
            "services": ["payments-api"],
            "environments": ["production"],
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["services"], body["environments"]) == (["payments-api"], ["production"])
    assert body["created_by"] == "alice"
    window = FreezeWindow.objects.get(pk=body["id"])
    assert window.created_by == alice
    assert list(window.services.all()) == [payments]


def test_a_freeze_with_empty_lists_covers_everything(manager, db):
    start = timezone.now()
    body = manager.post(
        "/api/v1/freeze-windows/",
        {
            "name": "All hands",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        },
    ).json()

    assert (body["services"], body["environments"]) == ([], [])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "BEFORE"}, "end"),
        ({"services": ["ghost"]}, "services"),
        ({"environments": ["mars"]}, "environments"),
        ({"start": "next tuesday"}, "start"),
    ],
)
def test_invalid_freeze_input_is_400_and_writes_nothing(
    manager, payments, environments, change, field
):
    start = timezone.now() + timedelta(days=1)
    body = {
        "name": "Freeze",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=4)).isoformat(),
    }
    if change.get("end") == "BEFORE":
        change = {"end": (start - timedelta(hours=1)).isoformat()}
    body.update(change)

    response = manager.post("/api/v1/freeze-windows/", body)

    assert response.status_code == 400
    assert field in response.json()
    assert not FreezeWindow.objects.exists()


def test_moving_a_freeze_end_before_its_start_is_400(manager, db):
    window = FreezeWindowFactory()

    response = manager.patch(
        f"/api/v1/freeze-windows/{window.pk}/",
        {"end": (window.start - timedelta(minutes=5)).isoformat()},
    )

    assert response.status_code == 400
    assert response.json()["end"] == ["The end must be after the start."]
    old_end = window.end
    window.refresh_from_db()
    assert window.end == old_end


def test_freeze_windows_filter_by_the_moment_they_cover(api_client, audrey, db):
    now = timezone.now()
    FreezeWindowFactory(name="Now", start=now - timedelta(hours=1), end=now + timedelta(hours=1))
    FreezeWindowFactory(name="Later", start=now + timedelta(days=1), end=now + timedelta(days=2))
    client = api_client(audrey)

    current = client.get("/api/v1/freeze-windows/", {"active_at": now.isoformat()}).json()
    tomorrow = client.get(
        "/api/v1/freeze-windows/", {"active_at": (now + timedelta(days=1, hours=1)).isoformat()}
    ).json()

    assert [w["name"] for w in current["results"]] == ["Now"]
    assert [w["name"] for w in tomorrow["results"]] == ["Later"]


def test_alice_deletes_a_freeze(manager, db):
    window = FreezeWindowFactory()

    assert manager.delete(f"/api/v1/freeze-windows/{window.pk}/").status_code == 204
    assert not FreezeWindow.objects.exists()
