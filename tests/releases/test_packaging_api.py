"""The packaging API: artifacts, configuration sets, migration plans, compensating scripts, the
rollback package and packaging advice; bad input answers 400 and writes nothing."""

import pytest

from releases import packaging
from releases.models import Artifact, CompensatingScript, ConfigSet, MigrationPlan, RollbackPackage
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.releases import builders

SHA = "c" * 64


def artifact_body(release, **extra):
    body = {
        "release": release.key,
        "service": "payments-api",
        "kind": "container_image",
        "name": "registry/payments-api",
        "version": "1.4.2",
        "sha256": SHA,
    }
    body.update(extra)
    return body


def test_a_pipeline_registers_an_artifact_and_sees_its_scan(api_client, pipeline, draft_release):
    content = "replicas: 3\nendpoint: https://api.staging.example.com/v1\n"

    response = api_client(pipeline).post(
        "/api/v1/artifacts/", artifact_body(draft_release, content=content), format="json"
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["sha256"] == SHA
    assert [(r["code"], r["data"]["line"]) for r in body["scan"]] == [("environment_specific", 2)]
    row = Artifact.objects.get().history.first()
    assert row.history_user == pipeline


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"sha256": ""}, "sha256", "needs its SHA-256 checksum"),
        ({"sha256": "abc123"}, "sha256", "exactly 64 hexadecimal"),
        ({"version": "latest"}, "version", "Enter a version"),
        ({"content": "x: 1\npassword: hunter2\n"}, "content", "Line 2:"),
    ],
)
def test_bad_artifacts_answer_400_naming_the_field_and_write_nothing(
    api_client, dave, draft_release, extra, field, message
):
    response = api_client(dave).post(
        "/api/v1/artifacts/", artifact_body(draft_release, **extra), format="json"
    )

    assert response.status_code == 400
    assert message in " ".join(response.json()[field])
    assert "hunter2" not in response.content.decode()
    assert not Artifact.objects.exists()


def test_an_artifact_without_a_checksum_field_is_refused(api_client, dave, draft_release):
    body = artifact_body(draft_release)
    del body["sha256"]

    response = api_client(dave).post("/api/v1/artifacts/", body, format="json")

    assert response.status_code == 400
    assert "needs its SHA-256 checksum" in response.json()["sha256"][0]


def test_a_deployer_cannot_register_artifacts(api_client, bob, draft_release):
    response = api_client(bob).post("/api/v1/artifacts/", artifact_body(draft_release))

    assert response.status_code == 403
    assert not Artifact.objects.exists()


def test_config_sets_keep_references_and_refuse_literal_secrets(
    api_client, alice, payments, environments
):
    client = api_client(alice)
    body = {
        "service": "payments-api",
        "environment": "production",
        "version": "7",
        "values": {"db_host": "db.prod.internal", "db_password": "vault:payments/db"},
    }

    created = client.post("/api/v1/config-sets/", body, format="json")
    refused = client.patch(
        f"/api/v1/config-sets/{created.json()['id']}/",
        {"values": {"db_password": "hunter2"}},
        format="json",
    )
    unknown_env = client.post(
        "/api/v1/config-sets/", {**body, "environment": "moon", "version": "8"}, format="json"
    )

    assert created.status_code == 201
    assert created.json()["values"]["db_password"] == "vault:payments/db"
    assert refused.status_code == 400
    assert "'db_password' holds a literal secret" in refused.json()["values"][0]
    assert "hunter2" not in refused.content.decode()
    assert unknown_env.status_code == 400 and "environment" in unknown_env.json()
    assert ConfigSet.objects.get().values["db_password"] == "vault:payments/db"


def test_a_migration_plan_answers_with_its_advice(api_client, dave, draft_release, payments):
    item = ScopeItemFactory(release=draft_release, kind="schema_migration", service=payments)

    response = api_client(dave).post(
        "/api/v1/migration-plans/",
        {
            "scope_item": item.pk,
            "backward_compatible": False,
            "phase": "expand",
            "delivery": "separate_step_before",
            "reason": "drops a column",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    advice = response.json()["advice"]
    assert advice["recommendation"] == "separate_step_before"
    assert advice["reasons"][-1]["passed"] is True
    assert MigrationPlan.objects.count() == 1


def test_the_rollback_package_endpoint_shows_the_verdict_and_builds_the_snapshot(
    api_client, dave, alice, audrey, approved_release, payments
):
    migration = packaging.add_artifact(
        dave,
        release=approved_release,
        service=payments,
        kind="db_migration",
        name="V7__ledger",
        version="1.4.2",
        sha256=SHA,
    )
    url = f"/api/v1/releases/{approved_release.key}/rollback-package/"

    before = api_client(audrey).get(url)
    script = api_client(dave).post(
        "/api/v1/compensating-scripts/",
        {"artifact": migration.pk, "script": "DROP TABLE ledger;", "tested": True},
        format="json",
    )
    refused = api_client(audrey).post(url)
    built = api_client(alice).post(url)

    assert before.status_code == 200
    assert before.json()["production_check"]["passed"] is False
    assert before.json()["contents"]["missing_compensation"] == ["V7__ledger 1.4.2"]
    assert before.json()["snapshot"] is None
    assert script.status_code == 201 and len(script.json()["sha256"]) == 64
    assert refused.status_code == 403
    assert built.status_code == 201
    assert built.json()["production_check"]["passed"] is True
    assert built.json()["snapshot"]["built_by"] == "alice"
    assert RollbackPackage.objects.get().contents["complete"] is True
    assert CompensatingScript.objects.count() == 1


def test_packaging_advice_for_a_service(api_client, audrey, payments):
    response = api_client(audrey).get("/api/v1/services/payments-api/packaging-advice/")
    missing = api_client(audrey).get("/api/v1/services/nope/packaging-advice/")

    assert response.status_code == 200
    assert response.json()["recommendation"] == "monolithic"
    assert response.json()["data"]["deployments"] == 0
    assert missing.status_code == 404


@pytest.mark.parametrize("size", [1, 6])
def test_the_artifact_list_costs_the_same_at_any_size(
    api_client, audrey, payments, dave, size, django_assert_max_num_queries
):
    for n in range(size):
        release = ReleaseFactory(author=dave, services=[(payments, f"1.{n}.0")])
        packaging.add_artifact(
            dave, **{**artifact_body(release), "release": release, "service": payments}
        )
    client = api_client(audrey)

    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/artifacts/")

    assert response.json()["count"] == size


@pytest.mark.parametrize("size", [1, 6])
def test_the_config_set_list_costs_the_same_at_any_size(
    api_client, audrey, payments, alice, environments, size, django_assert_max_num_queries
):
    for n in range(size):
        ConfigSet.objects.create(
            service=payments, environment=environments["dev"], version=str(n), values={"a": n}
        )
    client = api_client(audrey)

    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/config-sets/?service=payments-api&environment=dev")

    assert response.json()["count"] == size


def test_filters_by_an_unknown_release_are_a_field_error(api_client, audrey, db):
    response = api_client(audrey).get("/api/v1/artifacts/?release=REL-0000-9999")

    assert response.status_code == 400
    assert "release" in response.json()


def test_a_rollback_package_follows_a_deployed_previous_release(
    api_client, audrey, dave, carol, bob, payments, env_list
):
    previous = ReleaseFactory(author=dave, version="1.0.0", services=[(payments, "1.0.0")])
    builders.approve(previous, dave, carol)
    builders.promote_through(previous, env_list, bob)
    current = ReleaseFactory(author=dave, version="1.1.0", services=[(payments, "1.1.0")])

    body = api_client(audrey).get(f"/api/v1/releases/{current.key}/rollback-package/").json()

    assert body["contents"]["services"][0]["previous_release"] == previous.key
    assert body["production_check"]["passed"] is True
