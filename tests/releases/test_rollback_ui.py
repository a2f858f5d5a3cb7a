"""Rollback UI: removing a rollback step from the release page (confirmation; refused once the
release has shipped), the compensating-script form of a DB-migration artifact, and the service
page's DR tests; per role."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from releases import packaging
from releases.models import CompensatingScript, DrTest, RollbackStep
from releases.templatetags.resilience_tags import service_dr_panel

SHA = "e" * 64


@pytest.fixture
def step(draft_release, payments):
    return RollbackStep.objects.create(
        release=draft_release, service=payments, description="helm rollback", estimated_minutes=6
    )


@pytest.fixture
def migration(dave, draft_release, payments):
    return packaging.add_artifact(
        dave,
        release=draft_release,
        service=payments,
        kind="db_migration",
        name="V9__orders",
        version="1.4.2",
        sha256=SHA,
    )


def delete_url(step):
    return reverse("rollback_step_delete", args=[step.pk])


# --- removing a rollback step ---------------------------------------------------------------


def test_a_developer_removes_a_rollback_step_after_confirming(client, dave, draft_release, step):
    client.force_login(dave)
    panel = client.get(draft_release.get_absolute_url()).content.decode()
    assert delete_url(step) in panel

    confirm = client.get(delete_url(step)).content.decode()
    response = client.post(delete_url(step))

    assert "Remove step 1 of Payments API" in confirm and "Remove the step" in confirm
    assert response.status_code == 302
    assert response.url == draft_release.get_absolute_url() + "#validation"
    assert not RollbackStep.objects.exists()
    removed = RollbackStep.history.get(history_type="-")
    assert (removed.history_user, removed.history_change_reason) == (dave, "rollback step removed")
    page = client.get(response.url).content.decode()
    assert "No rollback steps for Payments API" in page


@pytest.mark.parametrize("state", ["deployed", "closed"])
def test_removing_a_step_is_refused_once_the_release_has_shipped(
    client, alice, move_to, step, state
):
    release = move_to(state)
    client.force_login(alice)

    confirm = client.get(delete_url(step))
    response = client.post(delete_url(step))

    refusal = f"{release.key} is {release.get_state_display().lower()}; its rollback plan can no"
    assert confirm.status_code == 200
    assert refusal in confirm.content.decode() and "Remove the step" not in confirm.content.decode()
    assert response.status_code == 409
    assert refusal in response.content.decode()
    assert RollbackStep.objects.filter(pk=step.pk).exists()
    assert delete_url(step) not in client.get(release.get_absolute_url()).content.decode()


@pytest.mark.parametrize("persona", ["bob", "paula", "audrey", "nobody"])
def test_roles_without_the_right_cannot_remove_a_step(
    client, request, draft_release, step, persona
):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(delete_url(step)).status_code == 403
    assert client.post(delete_url(step)).status_code == 403
    assert RollbackStep.objects.filter(pk=step.pk).exists()


def test_the_auditor_sees_no_remove_link(client, audrey, draft_release, step):
    client.force_login(audrey)

    page = client.get(draft_release.get_absolute_url()).content.decode()

    assert "helm rollback" in page and delete_url(step) not in page


# --- compensating scripts ---------------------------------------------------------------------


def script_url(artifact):
    return reverse("artifact_compensating_script_add", args=[artifact.pk])


def test_a_developer_adds_a_compensating_script_from_the_packaging_panel(
    client, dave, draft_release, environments, migration
):
    client.force_login(dave)
    panel = client.get(draft_release.get_absolute_url()).content.decode()
    assert script_url(migration) in panel
    assert script_url(migration) in client.get(migration.get_absolute_url()).content.decode()

    response = client.post(
        script_url(migration), {"script": "DROP TABLE orders_v9;", "tested": "on"}
    )

    script = CompensatingScript.objects.get()
    assert response.status_code == 302 and response.url == migration.get_absolute_url()
    assert script.tested and len(script.sha256) == 64
    assert packaging.check_rollback_package(draft_release, environments["production"]).passed
    detail = client.get(migration.get_absolute_url()).content.decode()
    assert "tested" in detail[detail.index('data-testid="compensating-scripts"') :]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Give the script text or where it is stored (URI)."),
        ({"uri": "s3://scripts/undo.sql"}, "A stored script needs its SHA-256 checksum."),
        ({"uri": "s3://scripts/undo.sql", "sha256": "123"}, "exactly 64 hexadecimal"),
    ],
)
def test_a_bad_compensating_script_shows_the_error_and_writes_nothing(
    client, dave, migration, data, message
):
    client.force_login(dave)

    response = client.post(script_url(migration), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CompensatingScript.objects.exists()


def test_a_stored_script_with_its_checksum_is_accepted_and_later_marked_tested(
    client, alice, migration
):
    client.force_login(alice)
    client.post(script_url(migration), {"uri": "s3://scripts/undo.sql", "sha256": SHA.upper()})
    script = CompensatingScript.objects.get()
    edit = reverse("compensating_script_edit", args=[script.pk])
    assert SHA in client.get(edit).content.decode()

    response = client.post(edit, {"uri": script.uri, "sha256": script.sha256, "tested": "on"})

    script.refresh_from_db()
    assert response.status_code == 302
    assert (script.sha256, script.tested) == (SHA, True)
    assert "Compensating script changed" in client.get(edit).content.decode()


def test_only_a_db_migration_takes_a_compensating_script(client, dave, draft_release, payments):
    image = packaging.add_artifact(
        dave,
        release=draft_release,
        service=payments,
        kind="container_image",
        name="registry/payments",
        version="1.4.2",
        sha256=SHA,
    )
    client.force_login(dave)

    assert client.get(script_url(image)).status_code == 404
    assert client.post(script_url(image), {"script": "x"}).status_code == 404


@pytest.mark.parametrize("persona", ["bob", "paula", "audrey"])
def test_roles_without_packaging_rights_cannot_record_a_compensating_script(
    client, request, dave, migration, persona
):
    existing = packaging.add_compensating_script(dave, artifact=migration, script="undo")
    edit = reverse("compensating_script_edit", args=[existing.pk])
    client.force_login(request.getfixturevalue(persona))

    assert client.get(script_url(migration)).status_code == 403
    assert client.post(script_url(migration), {"script": "undo 2"}).status_code == 403
    assert client.post(edit, {"script": "changed", "tested": "on"}).status_code == 403
    assert CompensatingScript.objects.get().script == "undo"


# --- the service page's DR tests --------------------------------------------------------------


def a_dr_test(service, **kw):
    values = {
        "tested_at": timezone.now() - timedelta(days=3),
        "scenario": "Region lost",
        "result": "passed",
        "rto_target_minutes": 30,
        "rto_achieved_minutes": 10,
        "rpo_target_minutes": 5,
        "rpo_achieved_minutes": 0,
        **kw,
    }
    return DrTest.objects.create(service=service, **values)


def test_the_service_page_lists_its_dr_tests_and_the_verdict(client, bob, payments):
    payments.ha_required = True
    payments.save()
    a_dr_test(payments, scenario="Database failover")
    client.force_login(bob)

    page = client.get(payments.get_absolute_url()).content.decode()
    panel = page[page.index('data-testid="service-dr-tests"') :]

    assert "Database failover" in panel and "validated" in panel
    assert reverse("dr_test_create") + "?service=payments-api" in panel


def test_the_service_page_says_when_a_service_has_no_dr_test(client, audrey, payments):
    client.force_login(audrey)

    page = client.get(payments.get_absolute_url()).content.decode()
    panel = page[page.index('data-testid="service-dr-tests"') :]

    assert "No DR test recorded for Payments API." in panel
    assert "Record a DR test" not in panel


def test_the_service_dr_panel_costs_the_same_at_any_size(rf, alice, payments):
    payments.ha_required = True
    payments.save()

    def queries():
        request = rf.get("/")
        request.user = alice
        with CaptureQueriesContext(connection) as captured:
            service_dr_panel({"request": request}, payments)
        return len(captured)

    a_dr_test(payments)
    queries()  # warm alice's permission cache
    small = queries()
    for n in range(12):
        a_dr_test(payments, tested_at=timezone.now() - timedelta(days=n + 4))

    assert queries() == small
