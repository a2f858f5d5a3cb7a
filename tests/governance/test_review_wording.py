"""Wording: decision-log summaries with one full stop, the entry page naming its kind once,
the evidence pack page and history following the build, run.sh using the var dir."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse

from governance import decision_log, evidence
from governance.choices import DecisionKind, EvidenceStatus
from governance.evidence_build import build_pack
from governance.models import ApprovalRule, DecisionRecord, EvidencePack
from releasemgr.web import history_rows
from releases import gate, lifecycle
from scheduling import freeze_exceptions
from tests.scheduling.exceptions_support import ask, window

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "as_sentence", "as_clause"),
    [
        ("Deploy after 02:00.", "Deploy after 02:00.", "Deploy after 02:00"),
        ("Deploy after 02:00", "Deploy after 02:00.", "Deploy after 02:00"),
        ("Really?", "Really?", "Really?"),
        ("Wait for it...", "Wait for it...", "Wait for it..."),
        ("  spaced.  ", "spaced.", "spaced"),
    ],
)
def test_summaries_are_joined_from_messages_with_one_full_stop(text, as_sentence, as_clause):
    assert decision_log.sentence(text) == as_sentence
    assert decision_log.clause(text) == as_clause


def test_a_freeze_exception_summary_ends_with_one_full_stop(alice, dave, draft_release):
    freeze = window("Quarter-end freeze")
    for approve, comment in ((False, "Asked finance"), (True, "Asked finance.")):
        request = ask(draft_release, freeze, dave)
        freeze_exceptions.decide(request, alice, approve=approve, comment=comment)

    summaries = DecisionRecord.objects.filter(kind=DecisionKind.FREEZE_EXCEPTION).values_list(
        "summary", flat=True
    )
    assert [s[-16:] for s in summaries] == [": Asked finance."] * 2


def test_a_gate_summary_lists_missing_approvals_without_doubled_punctuation(
    draft_release, dave, pipeline, payments, environments
):
    ApprovalRule.objects.create(
        name="CAB and product owner",
        approvers=[{"group": "cab_member", "count": 1}, {"group": "product_owner", "count": 1}],
    )
    lifecycle.submit(draft_release, dave)

    gate.ask(payments, draft_release.version, environments["dev"], pipeline)

    summary = DecisionRecord.objects.get(kind=DecisionKind.GATE).summary
    assert ".;" not in summary and ".." not in summary
    assert "still needs 1 more from cab_member" in summary
    assert summary.endswith(".")


def test_the_entry_page_names_its_kind_once(client, audrey):
    entry = decision_log.append(DecisionKind.APPROVAL, "approved", "carol approved it.")
    client.force_login(audrey)

    page = client.get(entry.get_absolute_url()).content.decode()

    kind = re.search(r'data-testid="entry-kind">(.*?)</dd>', page).group(1)
    assert re.sub(r"<[^>]+>", "", kind) == "Approval"
    assert f'href="{reverse("decision_record_list")}?kind=approval"' in kind


# --- the evidence pack page -----------------------------------------------------------------


@pytest.fixture
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"


def test_the_pack_history_shows_each_status_change(
    evidence_dir, audrey, draft_release, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        pack = evidence.request_pack(audrey, release=draft_release)

    build_pack(pack.pk)

    rows = history_rows(pack)
    statuses = [
        (change["old"], change["new"])
        for row in reversed(rows)
        for change in row["changes"]
        if change["field"] == "status"
    ]
    assert statuses == [("Queued", "Building"), ("Building", "Ready")]
    assert [row["reason"] for row in reversed(rows)][:2] == ["requested", "build started"]


def test_the_request_message_does_not_go_stale_once_the_pack_is_ready(
    client, evidence_dir, audrey, draft_release, django_capture_on_commit_callbacks
):
    client.force_login(audrey)
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("evidence_pack_create"), {"release": draft_release.key})
    build_pack(EvidencePack.objects.get().pk)

    page = client.get(response["Location"])

    body = page.content.decode()
    assert page.context["pack"].status == EvidenceStatus.READY
    assert f"Evidence for {draft_release.key} requested" in body
    assert "is queued" not in body


# --- make run -----------------------------------------------------------------------------------


def test_run_sh_puts_its_files_in_the_var_dir_and_says_so(tmp_path):
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_DIR")
    }
    # A stand-in Python that prints its arguments; the "web server" waits a moment so the
    # background "worker" has written its line before the script stops it.
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "$@"\n[ "$1" = manage.py ] && sleep 1\nexit 0\n')
    fake.chmod(0o755)
    env.update(RELEASEMGR_VAR_DIR=str(var), PY=str(fake), PORT="8123")

    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 0, done.stderr
    assert f"Database: SQLite ({var}/releasemgr.sqlite3)" in done.stdout
    assert f"Broker: filesystem ({var}/broker)" in done.stdout
    assert f"Worker log: {var}/log/celery.log" in done.stdout
    assert f"--schedule {var}/celerybeat-schedule" in (var / "log" / "celery.log").read_text()
