"""The deployment gate and freeze exceptions: `freeze_window` fails with `retry_after` = the
window's end, or passes with `exception_applied` while an approved exception is valid."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from governance.models import ChangeModel
from releases import gate, lifecycle
from releases.choices import ChangeType
from releases.models import Deployment
from scheduling import freeze_exceptions
from tests.factories import ReleaseFactory
from tests.releases import builders
from tests.scheduling.exceptions_support import ask, grant, window


@pytest.fixture
def approved(draft_release, dave, carol):
    """dave's payments-api 1.4.2, approved by carol: the gate would let it through."""
    return builders.approve(draft_release, dave, carol)


@pytest.fixture
def freeze(payments):
    return window("Quarter-end freeze")


def checks(result) -> dict[str, dict]:
    return {c["code"]: c for c in result.checks}


def failed(result) -> list[str]:
    return [c["code"] for c in result.checks if not c["passed"]]


def ask_gate(payments, environments, pipeline, at=None):
    return gate.ask(payments, "1.4.2", environments["dev"], pipeline, at=at)


def test_a_freeze_makes_the_gate_wait_until_the_window_ends(
    approved, freeze, payments, environments, pipeline
):
    result = ask_gate(payments, environments, pipeline)

    assert result.status == "waiting"
    assert failed(result) == ["freeze_window"]
    assert result.retry_after == freeze.end
    assert "'Quarter-end freeze'" in checks(result)["freeze_window"]["message"]
    assert "request an exception" in checks(result)["freeze_window"]["message"]
    assert "exception_applied" not in checks(result)
    assert result.record.retry_after == freeze.end


def test_an_approved_valid_exception_lets_the_release_through_and_says_so(
    approved, freeze, payments, environments, pipeline, dave, carol
):
    exception = grant(approved, freeze, dave, carol)

    result = ask_gate(payments, environments, pipeline)

    assert result.status == "allowed"
    assert result.retry_after is None
    assert checks(result)["freeze_window"]["passed"]
    applied = checks(result)["exception_applied"]
    assert applied["passed"]
    assert f"Exception #{exception.pk} approved by carol" in applied["message"]
    assert "'Quarter-end freeze'" in applied["message"]
    # The recorded decision keeps it too.
    assert any(c["code"] == "exception_applied" and c["passed"] for c in result.record.checks)


def test_a_deployment_inside_the_freeze_starts_with_an_approved_exception(
    approved, freeze, environments, dave, carol, bob
):
    with pytest.raises(lifecycle.GateRefused):
        lifecycle.start_deployment(approved, environments["dev"], bob)
    grant(approved, freeze, dave, carol)

    deployment, created = lifecycle.start_deployment(approved, environments["dev"], bob)

    assert created
    assert deployment.status == "running"
    assert Deployment.objects.filter(release=approved).count() == 1


def test_an_expired_exception_does_not_apply(
    approved, freeze, payments, environments, pipeline, dave, carol
):
    now = timezone.now()
    grant(approved, freeze, dave, carol, valid_until=now + timedelta(hours=1))

    later = ask_gate(payments, environments, pipeline, at=now + timedelta(hours=2))

    assert failed(later) == ["freeze_window"]
    assert later.retry_after == freeze.end
    assert "exception_applied" not in checks(later)


def test_an_exception_not_yet_valid_does_not_apply(
    approved, freeze, payments, environments, pipeline, dave, carol
):
    now = timezone.now()
    grant(
        approved,
        freeze,
        dave,
        carol,
        valid_from=now + timedelta(hours=3),
        valid_until=now + timedelta(hours=5),
    )

    assert failed(ask_gate(payments, environments, pipeline)) == ["freeze_window"]
    inside = ask_gate(payments, environments, pipeline, at=now + timedelta(hours=4))
    assert inside.status == "allowed"
    assert checks(inside)["exception_applied"]["passed"]


def test_a_pending_exception_does_not_apply(
    approved, freeze, payments, environments, pipeline, dave
):
    ask(approved, freeze, dave)

    result = ask_gate(payments, environments, pipeline)

    assert failed(result) == ["freeze_window"]
    assert result.retry_after == freeze.end


@pytest.mark.parametrize("outcome", ["rejected", "withdrawn"])
def test_a_rejected_or_withdrawn_exception_does_not_apply(
    approved, freeze, payments, environments, pipeline, dave, carol, outcome
):
    exception = ask(approved, freeze, dave)
    if outcome == "rejected":
        freeze_exceptions.decide(exception, carol, approve=False, comment="Not during close.")
    else:
        freeze_exceptions.withdraw(exception, dave)

    result = ask_gate(payments, environments, pipeline)

    assert failed(result) == ["freeze_window"]
    assert "exception_applied" not in checks(result)


def test_an_exception_for_one_window_does_not_exempt_another(
    approved, freeze, payments, environments, pipeline, dave, carol
):
    audit = window("Audit freeze", lasts=timedelta(days=3))
    exception = grant(approved, freeze, dave, carol)

    result = ask_gate(payments, environments, pipeline)

    assert failed(result) == ["freeze_window"]
    stopping = checks(result)["freeze_window"]
    assert "'Audit freeze'" in stopping["message"]
    assert "'Quarter-end freeze'" not in stopping["message"]
    assert stopping["data"]["windows"] == [audit.pk]
    assert result.retry_after == audit.end
    # The exception that does apply is still reported.
    assert f"Exception #{exception.pk}" in checks(result)["exception_applied"]["message"]


def test_an_exception_covers_a_blackout_as_well(
    approved, payments, environments, pipeline, dave, carol
):
    sale = window("Summer sale", kind="blackout")
    result = ask_gate(payments, environments, pipeline)
    assert failed(result) == ["blackout_window"]
    assert result.retry_after == sale.end

    grant(approved, sale, dave, carol)

    result = ask_gate(payments, environments, pipeline)
    assert result.status == "allowed"
    assert checks(result)["exception_applied"]["passed"]


def test_an_exception_for_another_release_does_not_help(
    approved, freeze, payments, environments, pipeline, dave, carol
):
    other = ReleaseFactory(author=dave, services=[(payments, "1.5.0")])
    grant(other, freeze, dave, carol)

    assert failed(ask_gate(payments, environments, pipeline)) == ["freeze_window"]


def test_a_change_type_the_window_allows_passes_without_an_exception(
    payments, environments, pipeline, dave, carol
):
    model = ChangeModel.objects.create(
        slug="flag-toggle", name="Flag toggle", steps="Flip the flag", risk_ceiling="critical"
    )
    model.services.set([payments])
    standard = ReleaseFactory(
        author=dave,
        change_type=ChangeType.STANDARD,
        change_model=model,
        services=[(payments, "1.4.2")],
    )
    # A standard change that fits its pre-approved model is approved when submitted.
    lifecycle.submit(standard, dave)
    standard.refresh_from_db()
    assert standard.state == "approved"
    window("Holiday freeze", allowed_change_types=["standard", "emergency"])

    result = ask_gate(payments, environments, pipeline)

    assert result.release == standard
    assert result.status == "allowed"
    assert checks(result)["freeze_window"]["passed"]
    assert (
        "Standard changes may ship during 'Holiday freeze'"
        in checks(result)["exception_applied"]["message"]
    )


def test_a_normal_change_is_still_stopped_by_a_window_that_allows_standard_changes(
    approved, payments, environments, pipeline
):
    holiday = window("Holiday freeze", allowed_change_types=["standard"])

    result = ask_gate(payments, environments, pipeline)

    assert failed(result) == ["freeze_window"]
    assert result.retry_after == holiday.end


def test_the_gate_api_reports_the_applied_exception(
    approved, freeze, environments, pipeline, dave, carol, api_client
):
    client = api_client(pipeline)
    body = {"service": "payments-api", "version": "1.4.2", "environment": "dev"}

    before = client.post("/api/v1/gate/", body, format="json").json()
    grant(approved, freeze, dave, carol)
    after = client.post("/api/v1/gate/", body, format="json").json()

    assert before["status"] == "waiting"
    assert datetime.fromisoformat(before["retry_after"]) == freeze.end
    assert after["status"] == "allowed"
    assert {c["code"]: c["passed"] for c in after["checks"]}["exception_applied"] is True
