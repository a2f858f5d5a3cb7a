"""Packaging pages: the release's Packaging panel, recording an artifact, planning a migration,
building the rollback package, the service's packaging advice; per role; query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from releases import packaging
from releases.models import Artifact, MigrationPlan, RollbackPackage
from releases.templatetags.packaging_tags import packaging_panel
from tests.factories import ScopeItemFactory

SHA = "d" * 64


def form(release, **extra):
    data = {
        "release": release.key,
        "service": release.services.get().pk,
        "kind": "db_migration",
        "name": "V9__orders",
        "version": "1.4.2",
        "sha256": SHA,
    }
    data.update(extra)
    return data


def test_the_packaging_panel_shows_artifacts_flags_and_the_production_verdict(
    client, alice, dave, draft_release, payments
):
    packaging.add_artifact(
        dave,
        release=draft_release,
        service=payments,
        kind="db_migration",
        name="V9__orders",
        version="1.4.2",
        sha256=SHA,
        content="host: 10.0.0.5",
    )
    client.force_login(alice)

    page = client.get(draft_release.get_absolute_url()).content.decode()

    assert 'data-testid="packaging-panel"' in page
    assert "No compensating script for DB migration V9__orders 1.4.2" in page
    assert "an IP address" in page
    assert "Build the rollback package" in page


def test_a_developer_records_an_artifact_from_the_release(client, dave, draft_release):
    client.force_login(dave)

    response = client.post("/packaging/artifacts/new/", form(draft_release))

    assert response.status_code == 302
    assert response.url == draft_release.get_absolute_url() + "#packaging"
    assert Artifact.objects.get().name == "V9__orders"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"sha256": ""}, "needs its SHA-256 checksum"),
        ({"sha256": "123"}, "exactly 64 hexadecimal"),
        ({"version": "next"}, "Enter a version"),
        ({"content": "token: abcdef123"}, "Line 1: a literal value for &#x27;token&#x27;"),
    ],
)
def test_a_bad_artifact_shows_the_field_error_and_writes_nothing(
    client, dave, draft_release, extra, message
):
    client.force_login(dave)

    response = client.post("/packaging/artifacts/new/", form(draft_release, **extra))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "abcdef123" not in response.content.decode().split("<textarea")[0]
    assert not Artifact.objects.exists()


@pytest.mark.parametrize("persona", ["audrey", "bob", "paula"])
def test_roles_without_packaging_rights_cannot_record_artifacts(
    client, request, draft_release, persona
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get("/packaging/artifacts/new/").status_code == 403
    assert client.post("/packaging/artifacts/new/", form(draft_release)).status_code == 403
    assert not Artifact.objects.exists()


def test_a_release_manager_plans_a_breaking_migration_and_sees_the_advice(
    client, alice, draft_release, payments
):
    item = ScopeItemFactory(release=draft_release, kind="schema_migration", title="Split names")
    client.force_login(alice)
    url = f"/packaging/migrations/{item.pk}/edit/"

    response = client.post(
        url, {"phase": "expand", "delivery": "separate_step_before", "reason": "renames"}
    )
    page = client.get(draft_release.get_absolute_url()).content.decode()

    assert response.status_code == 302
    assert MigrationPlan.objects.get().backward_compatible is False
    assert "advice: separate migration step before it" in page


def test_a_release_manager_builds_the_rollback_package_and_an_auditor_may_not(
    client, alice, audrey, draft_release
):
    url = f"/releases/{draft_release.key}/rollback-package/"
    client.force_login(audrey)
    assert client.post(url).status_code == 403
    client.force_login(alice)

    response = client.post(url)

    assert response.status_code == 302
    assert RollbackPackage.objects.get().built_by == alice


def test_the_service_page_shows_packaging_advice(client, audrey, payments):
    client.force_login(audrey)

    page = client.get(payments.get_absolute_url()).content.decode()

    assert 'data-testid="packaging-advice"' in page
    assert "Monolithic packaging" in page


def test_the_packaging_panel_costs_the_same_at_any_size(rf, alice, dave, draft_release, payments):
    def queries():
        request = rf.get("/")
        request.user = alice
        with CaptureQueriesContext(connection) as captured:
            packaging_panel({"request": request}, draft_release)
        return len(captured)

    small = queries()
    for n in range(8):
        artifact = packaging.add_artifact(
            dave,
            release=draft_release,
            service=payments,
            kind="db_migration",
            name=f"V{n}",
            version="1.4.2",
            sha256=SHA,
        )
        packaging.add_compensating_script(dave, artifact=artifact, script=f"undo {n}")
        ScopeItemFactory(release=draft_release, kind="schema_migration")

    assert queries() == small
