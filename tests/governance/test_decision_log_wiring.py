"""Decisions taken elsewhere land in the decision log: every recorded gate answer, freeze
exceptions approved or rejected, and out-of-cycle deployments (an exception or an override)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import DecisionRecord
from releases import gate, lifecycle
from scheduling import freeze_exceptions
from scheduling.choices import Hardness
from tests.releases import builders
from tests.scheduling import calendar_support
from tests.scheduling.exceptions_support import ask, grant, window

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(draft_release, dave, carol, environments):
    return builders.approve(draft_release, dave, carol)


def entries(kind):
    return list(DecisionRecord.objects.filter(kind=kind).order_by("sequence"))


def test_every_gate_answer_is_one_gate_entry_with_its_checks(
    approved, payments, environments, pipeline
):
    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    (entry,) = entries(DecisionKind.GATE)
    assert entry.outcome == "allowed" and entry.actor == pipeline
    assert entry.release_key == approved.key
    assert entry.subject == f"gate-decision:{result.record.pk}"
    assert entry.data["gate_decision"] == str(result.record.pk)
    assert entry.data["environment"] == "dev" and entry.data["service"] == "payments-api"
    assert [r["code"] for r in entry.reasons] == [c["code"] for c in result.checks]
    assert entry.subject_object() == result.record
    assert decision_log.verify().intact


def test_a_refused_answer_is_logged_with_why(submitted_release, payments, environments, pipeline):
    gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    (entry,) = entries(DecisionKind.GATE)
    assert entry.outcome == "waiting"
    assert "waiting for approval" in entry.summary


def test_an_unknown_version_is_logged_without_a_release(payments, environments, pipeline):
    gate.ask(payments, "9.9.9", environments["dev"], pipeline)

    (entry,) = entries(DecisionKind.GATE)
    assert entry.outcome == "prevented" and entry.release_key == ""
    assert "payments-api 9.9.9" in entry.summary


def test_a_refused_deployment_start_is_still_logged(submitted_release, environments, bob):
    with pytest.raises(lifecycle.GateRefused):
        lifecycle.start_deployment(submitted_release, environments["dev"], bob)

    (entry,) = entries(DecisionKind.GATE)
    assert entry.data["purpose"] == "deployment" and entry.outcome == "waiting"


def test_an_approved_freeze_exception_is_logged_with_its_validity(approved, payments, dave, carol):
    freeze = window("Quarter-end freeze")

    exception = grant(approved, freeze, dave, carol)

    (entry,) = entries(DecisionKind.FREEZE_EXCEPTION)
    assert entry.outcome == "approved" and entry.actor == carol
    assert entry.subject == f"freeze-exception:{exception.pk}"
    assert entry.release_key == approved.key
    assert "valid" in entry.summary and "'Quarter-end freeze'" in entry.summary
    assert entry.data["requested_by"] == "dave"
    assert entry.data["valid_until"].startswith(exception.valid_until.isoformat()[:16])
    assert [r["code"] for r in entry.reasons] == ["justification", "risk"]


def test_a_rejected_freeze_exception_is_logged(approved, payments, dave, carol):
    exception = ask(approved, window("Quarter-end freeze"), dave)

    freeze_exceptions.decide(exception, carol, approve=False, comment="Wait for Monday.")

    (entry,) = entries(DecisionKind.FREEZE_EXCEPTION)
    assert entry.outcome == "rejected"
    assert entry.summary.endswith("Wait for Monday.")


def test_a_refused_decision_on_an_exception_logs_nothing(approved, payments, dave):
    exception = ask(approved, window("Quarter-end freeze"), dave)

    with pytest.raises(freeze_exceptions.NotPermitted):
        freeze_exceptions.decide(exception, dave, approve=True)

    assert entries(DecisionKind.FREEZE_EXCEPTION) == []


def test_a_gate_answer_that_used_an_exception_is_an_out_of_cycle_entry(
    approved, payments, environments, pipeline, dave, carol
):
    exception = grant(approved, window("Quarter-end freeze"), dave, carol)

    gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    (entry,) = entries(DecisionKind.OUT_OF_CYCLE)
    assert entry.outcome == "allowed" and entry.release_key == approved.key
    assert entry.data["exceptions"] == [exception.pk]
    assert f"freeze exception #{exception.pk}" in entry.summary
    assert [r["code"] for r in entry.reasons] == ["exception_applied"]


def test_a_deployment_started_with_an_override_is_an_out_of_cycle_entry(
    approved, environments, bob
):
    now = timezone.now()
    calendar_support.window(
        "Soft month-end", now - timedelta(hours=1), now + timedelta(hours=4), hardness=Hardness.SOFT
    )

    lifecycle.start_deployment(
        approved, environments["dev"], bob, override_reason="Sev-1 card failures"
    )

    (entry,) = entries(DecisionKind.OUT_OF_CYCLE)
    assert entry.actor == bob and entry.data["purpose"] == "deployment"
    assert entry.data["override"] is True
    assert "override: Sev-1 card failures" in entry.summary
    assert decision_log.verify().intact


def test_an_ordinary_allowed_answer_is_not_out_of_cycle(approved, payments, environments, pipeline):
    gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert entries(DecisionKind.OUT_OF_CYCLE) == []
