"""Building an evidence pack: the manifest matches the files, the content matches the database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import decision_log, evidence
from governance.choices import EvidenceStatus
from governance.evidence_build import build_pack, claim
from governance.models import Approval, DecisionRecord, EvidencePack
from releases.models import DeploymentEvent, GateDecision
from tests.factories import ReleaseFactory, ServiceFactory
from tests.governance.evidence_support import (
    csv_rows,
    eventful_release,
    json_file,
    open_pack,
    sha256,
)
from tests.releases import builders


@pytest.fixture(autouse=True)
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    return settings.EVIDENCE_DIR


@pytest.fixture
def world(draft_release, dave, carol, bob, alice, pipeline, environments, payments):
    made = eventful_release(
        draft_release,
        dave=dave,
        carol=carol,
        bob=bob,
        alice=alice,
        pipeline=pipeline,
        environments=environments,
        payments=payments,
    )
    return {"release": draft_release, **made}


def requested(user, django_capture_on_commit_callbacks, **scope):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pack = evidence.request_pack(user, **scope)
    assert len(callbacks) == 1, "the build is enqueued when the request commits"
    return pack


def test_a_release_pack_has_a_manifest_whose_hashes_match_every_file(
    world, audrey, django_capture_on_commit_callbacks
):
    pack = requested(audrey, django_capture_on_commit_callbacks, release=world["release"])
    assert pack.status == EvidenceStatus.QUEUED

    pack = build_pack(pack.pk)

    assert pack.status == EvidenceStatus.READY
    assert pack.progress == 100
    path = evidence.archive_path(pack)
    assert sha256(path.read_bytes()) == pack.archive_sha256
    files = open_pack(path)
    manifest = json_file(files, "manifest.json")
    assert manifest == pack.manifest
    listed = {f["name"]: f for f in manifest["files"]}
    assert set(listed) == set(files) - {"manifest.json"}
    for name, content in files.items():
        if name != "manifest.json":
            assert listed[name]["sha256"] == sha256(content), name
            assert listed[name]["size"] == len(content), name
    assert {"report.html", "chain_verification.json", "json/approvals.json"} <= set(files)
    assert {f"csv/{name}.csv" for name in evidence.KIND_NAMES} <= set(files)
    assert manifest["releases"] == [world["release"].key]
    assert manifest["requested_by"] == "audrey"


def test_a_release_pack_holds_what_the_database_holds(
    world, audrey, django_capture_on_commit_callbacks
):
    release = world["release"]
    pack = build_pack(requested(audrey, django_capture_on_commit_callbacks, release=release).pk)
    files = open_pack(evidence.archive_path(pack))

    approvals = json_file(files, "json/approvals.json")
    expected = Approval.objects.get(release=release)
    assert [(a["approver"], a["decision"], a["created"]) for a in approvals] == [
        ("carol", "approved", expected.created.isoformat())
    ]
    assert csv_rows(files, "csv/approvals.csv")[0]["approver"] == "carol"

    gates = {g["id"]: g for g in json_file(files, "json/gate_decisions.json")}
    in_db = GateDecision.objects.filter(release=release)
    assert set(gates) == {str(g.pk) for g in in_db}
    for decision in in_db:
        assert gates[str(decision.pk)]["checks"] == decision.checks

    events = json_file(files, "json/deployment_events.json")
    assert [e["message"] for e in events if e["type"] == "log"] == ["migrated 3 tables"]
    assert len(events) == DeploymentEvent.objects.filter(deployment__release=release).count()
    tests = json_file(files, "json/test_results.json")
    assert [(t["type"], t["status"], t["environment"]) for t in tests] == [("smoke", "ok", "dev")]

    exceptions = json_file(files, "json/freeze_exceptions.json")
    assert [(x["id"], x["status"], x["decided_by"]) for x in exceptions] == [
        (world["exception"].pk, "approved", "alice")
    ]
    assert [e["title"] for e in json_file(files, "json/register_entries.json")] == [
        world["entry"].title
    ]

    history = json_file(files, "json/history.json")
    release_rows = [h for h in history if h["record_type"] == "releases"]
    assert len(release_rows) == release.history.count()
    assert release_rows[0]["type"] == "created"
    # The submission: by dave, changing the state, with the lifecycle's reason.
    assert any(
        h["who"] == "dave" and "state" in h["changed_fields"] and h["reason"] for h in release_rows
    )
    assert any(h["record_type"] == "approvals" for h in history)
    assert any(h["record_type"] == "freeze_exceptions" for h in history)

    decisions = json_file(files, "json/decision_log.json")
    assert [d["sequence"] for d in decisions] == list(
        DecisionRecord.objects.filter(release_key=release.key)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )

    chain = json_file(files, "chain_verification.json")
    assert chain["intact"] is True
    assert chain["entries"] == DecisionRecord.objects.count()
    assert pack.chain_verification["intact"] is True

    report = files["report.html"].decode()
    assert release.key in report and "carol" in report
    assert "checkout smoke 12/12 passed" in report
    assert 'id="chain-status">intact' in report


def test_a_broken_chain_is_reported_in_the_pack(world, audrey, django_capture_on_commit_callbacks):
    from django.db import connection

    # Tamper with the log in the database, as an attacker with SQL access would.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {DecisionRecord._meta.db_table} SET summary = 'edited' WHERE sequence = 1"
        )
    assert not decision_log.verify().intact

    pack = build_pack(
        requested(audrey, django_capture_on_commit_callbacks, release=world["release"]).pk
    )

    chain = json_file(open_pack(evidence.archive_path(pack)), "chain_verification.json")
    assert chain["intact"] is False
    assert chain["first_break"]["sequence"] == 1
    assert pack.manifest["chain_verification"]["intact"] is False


def test_a_service_pack_selects_releases_planned_or_deployed_in_the_range(
    dave, carol, bob, audrey, payments, env_list, django_capture_on_commit_callbacks
):
    now = timezone.now()
    planned_in = ReleaseFactory(author=dave, services=[(payments, "2.0.0")])  # in 7 days
    planned_later = ReleaseFactory(
        author=dave, services=[(payments, "3.0.0")], planned_start=now + timedelta(days=60)
    )
    deployed_in = ReleaseFactory(
        author=dave, services=[(payments, "4.0.0")], planned_start=now + timedelta(days=60)
    )
    builders.approve(deployed_in, dave, carol)
    builders.deploy(deployed_in, env_list[0], bob)
    other = ReleaseFactory(author=dave, services=[(ServiceFactory(), "1.0.0")])
    today = now.date()

    pack = requested(
        audrey,
        django_capture_on_commit_callbacks,
        service=payments,
        since=today - timedelta(days=1),
        until=today + timedelta(days=14),
    )
    pack = build_pack(pack.pk)

    assert sorted(pack.manifest["releases"]) == sorted([planned_in.key, deployed_in.key])
    assert pack.release_count == 2
    assert planned_later.key not in pack.manifest["releases"]
    assert other.key not in pack.manifest["releases"]


def test_only_one_worker_builds_a_pack(world, audrey, django_capture_on_commit_callbacks):
    pack = requested(audrey, django_capture_on_commit_callbacks, release=world["release"])

    assert claim(pack.pk) is True
    assert claim(pack.pk) is False
    # A second delivery of the job leaves the running build alone.
    assert build_pack(pack.pk).status == EvidenceStatus.RUNNING


def test_an_abandoned_build_is_taken_over(world, audrey, django_capture_on_commit_callbacks):
    pack = requested(audrey, django_capture_on_commit_callbacks, release=world["release"])
    EvidencePack.objects.filter(pk=pack.pk).update(
        status=EvidenceStatus.RUNNING, started_at=timezone.now() - timedelta(hours=2)
    )

    assert build_pack(pack.pk).status == EvidenceStatus.READY
