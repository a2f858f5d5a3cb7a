"""History import (DESIGN.md "History import") and native deployments recorded as facts."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from metrics.history import import_lines, record_deployment
from metrics.models import Incident
from metrics.models.history import CommitRecord, DeploymentRecord
from releasemgr.decisions import NotPermitted
from releases import lifecycle
from releases.models import Service
from scheduling.models import Environment
from tests.releases import builders


def dep(ext, **over):
    line = {
        "kind": "deployment",
        "external_id": ext,
        "service": "payments-api",
        "environment": "production",
        "version": "1.0." + ext[-1],
        "started_at": "2026-05-01T10:00:00Z",
        "finished_at": "2026-05-01T10:10:00Z",
        "status": "succeeded",
        "commits": [{"sha": f"sha-{ext}", "authored_at": "2026-04-30T09:00:00Z"}],
    }
    line.update(over)
    return json.dumps(line)


def inc(ext, **over):
    line = {
        "kind": "incident",
        "external_id": ext,
        "service": "payments-api",
        "severity": "high",
        "started_at": "2026-05-01T12:00:00Z",
        "resolved_at": "2026-05-01T13:30:00Z",
        "caused_by": None,
    }
    line.update(over)
    return json.dumps(line)


def counts():
    return (
        DeploymentRecord.objects.count(),
        CommitRecord.objects.count(),
        Incident.objects.count(),
        Service.objects.count(),
        Environment.objects.count(),
    )


@pytest.fixture
def catalog(payments, environments):
    return payments


def test_a_good_file_imports_deployments_commits_and_incidents(catalog, alice):
    lines = [dep("d1"), dep("d2", status="failed"), inc("i1", caused_by="d2")]
    result = import_lines(lines, alice)
    assert result.ok and result.written
    assert (result.deployments_created, result.incidents_created, result.commits_created) == (
        2,
        1,
        2,
    )
    record = DeploymentRecord.objects.get(external_id="d2")
    assert record.source == "import" and record.status == "failed"
    assert record.team.slug == "payments" and record.is_production
    assert record.finished_at == datetime(2026, 5, 1, 10, 10, tzinfo=UTC)
    incident = Incident.objects.get(external_id="i1")
    assert incident.deployment_record == record
    assert incident.attribution == "explicit"
    assert incident.status == "resolved" and incident.title == "i1"
    assert incident.history.count() == 1


def test_reimporting_the_same_file_changes_nothing(catalog, alice):
    lines = [dep("d1"), dep("d2"), inc("i1", caused_by="d1")]
    import_lines(lines, alice)
    before = counts()
    again = import_lines(lines, alice)
    assert again.ok
    assert (again.deployments_created, again.deployments_unchanged) == (0, 2)
    assert (again.incidents_created, again.incidents_unchanged) == (0, 1)
    assert counts() == before


def test_same_external_id_with_different_content_is_an_error_for_that_line(catalog, alice):
    import_lines([dep("d1")], alice)
    before = counts()
    result = import_lines([dep("d2"), dep("d1", status="failed")], alice)
    assert not result.ok
    assert [e.line for e in result.errors] == [2]
    assert "already recorded" in result.errors[0].message
    assert counts() == before  # d2 was not written either


def test_a_repeated_external_id_within_a_file_must_match(catalog, alice):
    result = import_lines([dep("d1"), dep("d1", version="9.9.9")], alice)
    assert [e.line for e in result.errors] == [2]
    assert "line 1" in result.errors[0].message


def test_a_file_with_bad_lines_is_refused_whole_with_every_line_number(catalog, alice):
    before = counts()
    lines = [
        dep("ok1"),
        "{not json",
        dep("d3", service="nope"),
        dep("d4", environment="mars"),
        json.dumps({"kind": "deployment", "external_id": "d5"}),
        dep("d6", status="exploded"),
        dep("d7", finished_at="2026-05-01T09:00:00Z"),
        inc("i8", severity="sev1"),
        inc("i9", caused_by="never-deployed"),
        json.dumps({"kind": "party"}),
        dep("d11", finished_at="yesterday"),
    ]
    result = import_lines(lines, alice)
    assert not result.ok and not result.written
    lines_with_errors = sorted({e.line for e in result.errors})
    assert lines_with_errors == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    messages = " ".join(e.message for e in result.errors)
    for expected in (
        "Not valid JSON",
        "Unknown service 'nope'",
        "Unknown environment 'mars'",
        "Missing field 'service'",
        "'status' must be one of",
        "'finished_at' is before 'started_at'",
        "'severity' must be one of",
        "never-deployed",
        "'kind' must be",
        "ISO 8601",
    ):
        assert expected in messages
    assert counts() == before


def test_caused_by_may_name_a_deployment_later_in_the_file_or_already_recorded(catalog, alice):
    import_lines([dep("old")], alice)
    result = import_lines(
        [inc("i1", caused_by="later"), inc("i2", caused_by="old"), dep("later")], alice
    )
    assert result.ok, result.errors
    assert Incident.objects.get(external_id="i1").deployment_record.external_id == "later"
    assert Incident.objects.get(external_id="i2").deployment_record.external_id == "old"


def test_an_incident_without_cause_is_attributed_by_the_rule_or_not_at_all(
    catalog, alice, settings
):
    settings.INCIDENT_ATTRIBUTION_HOURS = 24
    lines = [
        dep("prod1", finished_at="2026-05-01T10:10:00Z"),
        dep("stag1", environment="staging", finished_at="2026-05-01T11:00:00Z"),
        inc("near", started_at="2026-05-02T09:00:00Z", resolved_at=None),
        inc("far", started_at="2026-05-03T12:00:00Z", resolved_at="2026-05-03T13:00:00Z"),
    ]
    assert import_lines(lines, alice).ok
    near = Incident.objects.get(external_id="near")
    assert near.deployment_record.external_id == "prod1"  # staging does not count
    assert near.attribution == "automatic" and near.status == "open"
    far = Incident.objects.get(external_id="far")
    assert far.deployment_record is None and far.attribution == "none"


def test_create_missing_creates_services_and_environments(payments, alice):
    lines = [
        dep("d1", service="billing", environment="prd"),
        dep("d2", service="billing", environment="qa"),
        dep("d3", service="billing", environment={"slug": "live", "is_production": True}),
    ]
    refused = import_lines(lines, alice)
    assert not refused.ok and not Service.objects.filter(slug="billing").exists()
    result = import_lines(lines, alice, create_missing=True, team="finance")
    assert result.ok
    billing = Service.objects.get(slug="billing")
    assert billing.team.slug == "finance"
    assert Environment.objects.get(slug="prd").is_production
    assert not Environment.objects.get(slug="qa").is_production
    assert Environment.objects.get(slug="live").is_production
    assert sorted(result.environments_created) == ["live", "prd", "qa"]


def test_dry_run_writes_nothing_but_reports(catalog, alice):
    before = counts()
    result = import_lines([dep("d1"), dep("d2")], alice, dry_run=True)
    assert result.ok and not result.written and result.deployments_created == 2
    assert counts() == before


def test_only_release_managers_and_pipelines_may_import(catalog, dave, audrey, pipeline):
    for user in (dave, audrey):
        with pytest.raises(NotPermitted):
            import_lines([dep("d1")], user)
    assert import_lines([dep("d1")], pipeline).ok


def test_batches_of_many_lines_are_written_in_bounded_queries(
    catalog, alice, django_assert_max_num_queries, monkeypatch
):
    from metrics import history

    monkeypatch.setattr(history, "BATCH_SIZE", 50)
    lines = [dep(f"d{i:04d}") for i in range(400)]
    with django_assert_max_num_queries(80):
        result = import_lines(lines, alice)
    assert result.deployments_created == 400
    assert CommitRecord.objects.count() == 400


# --- the command ---


def test_the_command_imports_a_file_and_reports_counts(catalog, tmp_path, capsys):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join([dep("d1"), "", inc("i1", caused_by="d1")]) + "\n")
    call_command("import_history", str(path))
    out = capsys.readouterr().out
    assert "deployments 1 created" in out and "incidents 1 created" in out
    call_command("import_history", str(path))
    assert "1 unchanged" in capsys.readouterr().out


def test_the_command_refuses_a_bad_file_with_line_numbers(catalog, tmp_path, capsys):
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join([dep("d1"), dep("d2", service="ghost")]) + "\n")
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_history", str(path))
    assert "line 2: Unknown service 'ghost'" in capsys.readouterr().err
    assert DeploymentRecord.objects.count() == 0
    call_command("import_history", str(path), "--create-missing")
    assert Service.objects.get(slug="ghost").team.slug == "imported"


# --- the API ---


def test_the_api_imports_a_json_array(catalog, alice, api_client):
    client = api_client(alice)
    body = [json.loads(dep("d1")), json.loads(inc("i1", caused_by="d1"))]
    response = client.post("/api/v1/import/", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["deployments"] == {"created": 1, "unchanged": 0}
    again = client.post("/api/v1/import/", body, format="json")
    assert again.json()["deployments"] == {"created": 0, "unchanged": 1}
    assert again.json()["incidents"] == {"created": 0, "unchanged": 1}


def test_the_api_answers_400_with_line_errors_and_writes_nothing(catalog, pipeline, api_client):
    client = api_client(pipeline)
    body = [json.loads(dep("d1")), json.loads(dep("d2", severity="x", status="boom"))]
    response = client.post("/api/v1/import/", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 2
    assert DeploymentRecord.objects.count() == 0
    assert client.post("/api/v1/import/", {"a": 1}, format="json").status_code == 400


def test_the_api_refuses_other_roles(catalog, dave, api_client):
    assert api_client().post("/api/v1/import/", [], format="json").status_code == 401
    response = api_client(dave).post("/api/v1/import/", [json.loads(dep("d1"))], format="json")
    assert response.status_code == 403
    assert DeploymentRecord.objects.count() == 0


# --- the page ---


def _upload(client, text, **data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("h.jsonl", text.encode(), content_type="application/jsonl")
    return client.post(reverse("history_import_add"), {"file": upload, **data})


def test_the_page_imports_an_upload_and_shows_line_errors(client, catalog, alice):
    client.force_login(alice)
    assert client.get(reverse("history_import_add")).status_code == 200
    bad = _upload(client, dep("d1") + "\n" + dep("d2", environment="mars") + "\n")
    assert bad.status_code == 400
    assert b"Unknown environment" in bad.content and b"import-error-table" in bad.content
    assert DeploymentRecord.objects.count() == 0
    good = _upload(client, dep("d1") + "\n")
    assert good.status_code == 200 and b"deployments 1 created" in good.content
    assert DeploymentRecord.objects.count() == 1


def test_the_page_is_for_release_managers(client, catalog, dave):
    client.force_login(dave)
    assert client.get(reverse("history_import_add")).status_code == 403


# --- native deployments ---


def test_a_native_production_deployment_is_recorded_when_it_finishes(move_to, draft_release):
    release = move_to("deployed")
    records = DeploymentRecord.objects.filter(release=release).order_by("finished_at")
    assert records.count() == 4  # one per environment, one service
    production = records.get(is_production=True)
    assert production.source == "native" and production.status == "succeeded"
    assert production.version == "1.4.2" and production.team.slug == "payments"
    assert production.finished_at == production.deployment.finished_at


def test_a_rollback_after_success_updates_the_record(move_to, bob):
    release = move_to("deployed")
    deployment = release.deployments.get(environment__is_production=True)
    lifecycle.record_event(deployment, bob, type="rolled_back")
    record = DeploymentRecord.objects.get(deployment=deployment)
    assert record.status == "rolled_back"
    assert DeploymentRecord.objects.filter(deployment=deployment).count() == 1


def test_halted_maps_to_failed_and_running_is_not_recorded(approved_release, env_list, bob):
    deployment = builders.deploy(approved_release, env_list[0], bob)
    assert record_deployment(deployment) == []
    lifecycle.record_event(deployment, bob, type="halted")
    assert DeploymentRecord.objects.get(deployment=deployment).status == "failed"


def test_a_reported_incident_points_at_the_record_of_its_deployment(move_to, alice, payments):
    from metrics.incidents import report_incident

    release = move_to("deployed")
    production = release.deployments.get(environment__is_production=True)
    incident, _ = report_incident(
        alice,
        service=payments,
        title="Payments slow",
        severity="high",
        started_at=production.finished_at + timedelta(minutes=1),
        now=production.finished_at + timedelta(hours=1),
    )
    assert incident.deployment_record == DeploymentRecord.objects.get(deployment=production)


# --- demo ---


def test_the_demo_history_imports_half_a_year_once(db, alice):
    from metrics import demo_history
    from tests.factories import EnvironmentFactory, ServiceFactory

    for slug in ("payments-api", "web-storefront", "checkout-service"):
        ServiceFactory(slug=slug)
    envs = {
        "staging": EnvironmentFactory(slug="staging", order=3),
        "production": EnvironmentFactory(slug="production", order=4, is_production=True),
    }
    demo_history.demo({"release_manager": alice}, envs)
    production = DeploymentRecord.objects.filter(is_production=True, source="import")
    assert 100 < production.count() < 400
    assert production.filter(status="failed").exists()
    assert production.filter(status="rolled_back").exists()
    assert 15 <= Incident.objects.count() <= 40
    assert Incident.objects.filter(attribution="explicit").exists()
    assert CommitRecord.objects.exists()
    before = counts()
    demo_history.demo({"release_manager": alice}, envs)
    assert counts() == before


def test_an_import_marks_its_days_for_the_rollup_job_and_a_refused_one_does_not(catalog):
    from metrics.models import RollupDay

    assert not import_lines([dep("r1"), "{not json"]).ok
    assert not RollupDay.objects.exists()
    # The incident starts 22 h after the deployment: attributed to it by the 24 h rule.
    assert import_lines(
        [dep("r1"), inc("i1", started_at="2026-05-02T08:00:00Z", resolved_at=None)]
    ).ok
    assert Incident.objects.get().deployment_record.external_id == "r1"
    assert set(RollupDay.objects.filter(dirty=True).values_list("day", flat=True)) == {
        datetime(2026, 5, 1).date(),  # the deployment finished (its "has an incident" changed)
        datetime(2026, 5, 2).date(),  # the incident started
    }
