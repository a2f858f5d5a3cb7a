"""Incidents: attribution, reporting (external ids, bad input, owners told), status, and the
rollback-or-fix-forward decision with its advice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import DecisionRecord
from metrics import attribution, incidents, recovery
from metrics.models import Incident, RecoveryDecision
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from releases.models import Artifact, CompensatingScript, RollbackStep
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ServiceFactory
from tests.metrics.incident_helpers import finished_hours_ago, production_deployment
from tests.releases import builders


@pytest.fixture
def deployed(move_to):
    return move_to("deployed")


def report(user, service, **kwargs):
    kwargs.setdefault("title", "Payments time out")
    kwargs.setdefault("severity", "high")
    kwargs.setdefault("started_at", timezone.now())
    return incidents.report_incident(user, service=service, **kwargs)


# --- attribution -------------------------------------------------------------------------------


def test_an_explicit_caused_by_deployment_is_the_attribution(deployed, payments, bob):
    deployment = production_deployment(deployed)
    finished_hours_ago(deployment, 72)  # far outside the automatic window: explicit wins

    incident, created = report(bob, payments, caused_by=deployment)

    assert created
    assert incident.attribution == "explicit"
    assert incident.caused_by == deployment
    assert incident.release == deployed


def test_a_named_release_is_explicit_and_finds_its_production_deployment(deployed, payments, bob):
    incident, _ = report(bob, payments, release=deployed)

    assert incident.attribution == "explicit"
    assert incident.release == deployed
    assert incident.caused_by == production_deployment(deployed)


def test_without_a_cause_the_latest_production_deployment_within_24h_is_blamed(
    deployed, payments, bob
):
    finished_hours_ago(production_deployment(deployed), 23)

    incident, _ = report(bob, payments)

    assert incident.attribution == "automatic"
    assert incident.release == deployed
    assert incident.caused_by == production_deployment(deployed)
    assert "23" in incident.attribution_reason


def test_a_deployment_more_than_24h_before_the_incident_is_not_blamed(deployed, payments, bob):
    finished_hours_ago(production_deployment(deployed), 25)

    incident, _ = report(bob, payments)

    assert incident.attribution == "none"
    assert incident.release is None
    assert incident.caused_by is None


def test_the_window_follows_the_setting(deployed, payments, bob, settings):
    settings.INCIDENT_ATTRIBUTION_HOURS = 48
    finished_hours_ago(production_deployment(deployed), 30)

    incident, _ = report(bob, payments)

    assert incident.release == deployed


def test_no_production_deployment_means_no_attribution(approved_release, payments, bob):
    incident, _ = report(bob, payments)

    assert incident.attribution == "none"
    assert "No production deployment" in incident.attribution_reason


def test_a_deployment_finished_after_the_incident_started_is_not_its_cause(deployed, payments):
    started = production_deployment(deployed).finished_at - timedelta(minutes=5)

    result = attribution.attribute(payments, started)

    assert result.method == "none"


def test_of_two_deployments_in_the_window_the_latest_is_blamed(
    deployed, payments, dave, carol, bob, env_list
):
    finished_hours_ago(production_deployment(deployed), 20)
    newer = ReleaseFactory(author=dave, version="1.5.0", services=[(payments, "1.5.0")])
    builders.approve(newer, dave, carol)
    builders.promote_through(newer, env_list, bob)
    finished_hours_ago(production_deployment(newer), 2)

    result = attribution.attribute(payments, timezone.now())

    assert result.release == newer


def test_another_services_deployment_is_not_blamed(deployed, bob):
    other = ServiceFactory(slug="ledger", name="Ledger")

    incident, _ = report(bob, other)

    assert incident.release is None


# --- reporting -----------------------------------------------------------------------------------


def test_a_repeated_external_id_with_the_same_details_returns_the_first_incident(
    deployed, payments, bob
):
    started = timezone.now() - timedelta(minutes=30)
    first, created = report(bob, payments, external_id="PD-1", started_at=started)
    again, created_again = report(bob, payments, external_id="PD-1", started_at=started)

    assert created and not created_again
    assert again.pk == first.pk
    assert Incident.objects.count() == 1


def test_a_repeated_external_id_with_other_details_is_refused(deployed, payments, bob):
    started = timezone.now() - timedelta(minutes=30)
    report(bob, payments, external_id="PD-1", started_at=started)

    with pytest.raises(incidents.ExternalIdConflict) as exc:
        report(bob, payments, external_id="PD-1", started_at=started, severity="low")

    assert exc.value.status_code == 409
    assert Incident.objects.count() == 1


def test_bad_times_are_refused_and_nothing_is_written(payments, bob):
    started = timezone.now() - timedelta(hours=1)

    with pytest.raises(incidents.InvalidInput) as exc:
        report(bob, payments, started_at=started, resolved_at=started - timedelta(minutes=1))

    assert {r.data["field"] for r in exc.value.reasons} == {"resolved_at"}
    assert Incident.objects.count() == 0


def test_a_caused_by_outside_production_is_refused(
    draft_release, payments, dave, carol, bob, env_list
):
    builders.approve(draft_release, dave, carol)
    dev = builders.succeed(builders.deploy(draft_release, env_list[0], bob), bob)

    with pytest.raises(incidents.InvalidInput) as exc:
        report(bob, payments, caused_by=dev)

    assert "not production" in exc.value.message
    assert Incident.objects.count() == 0


def test_secrets_in_the_text_are_redacted(payments, bob):
    incident, _ = report(bob, payments, description="db password=hunter2 leaked in logs")

    assert "hunter2" not in incident.description


def test_owners_hear_of_a_high_incident_attributed_to_a_release(deployed, payments, bob):
    owner = make_user("olga")
    payments.owners.add(owner)

    incident, _ = report(bob, payments, severity="critical")

    note = Notification.objects.get(user=owner)
    assert deployed.key in note.message
    assert note.link == incident.get_absolute_url()


def test_owners_are_not_told_of_a_low_incident(deployed, payments, bob):
    owner = make_user("olga")
    payments.owners.add(owner)

    report(bob, payments, severity="low")

    assert not Notification.objects.filter(user=owner).exists()


def test_a_role_without_the_permission_cannot_report(payments, audrey):
    with pytest.raises(NotPermitted):
        report(audrey, payments)


def test_resolving_sets_the_time_and_cannot_happen_twice(payments, bob):
    incident, _ = report(bob, payments)

    resolved = incidents.set_status(incident, bob, "resolved")

    assert resolved.status == "resolved" and resolved.resolved_at is not None
    with pytest.raises(IllegalTransition):
        incidents.set_status(resolved, bob, "resolved")


# --- recovery advice and decisions ----------------------------------------------------------------


def test_a_fresh_critical_incident_with_a_working_rollback_plan_advises_rolling_back(
    deployed, payments, bob
):
    incident, _ = report(bob, payments, severity="critical")

    advice = recovery.advise(incident, bob)

    assert advice.recommendation == "rollback"
    codes = {r.code: r for r in advice.reasons}
    assert codes["rollback_plan"].passed
    assert codes["fix_readiness"].data["favours"] == "rollback"


def test_an_irreversible_migration_and_an_approved_fix_advise_fixing_forward(
    deployed, payments, dave, carol, bob
):
    Artifact(
        release=deployed,
        service=payments,
        kind="db_migration",
        name="V42__drop_legacy_column",
        version="1.4.2",
        sha256="a" * 64,
    ).save()
    RollbackStep.objects.filter(release=deployed).update(estimated_minutes=500)
    fix = ReleaseFactory(author=dave, version="1.4.3", services=[(payments, "1.4.3")])
    builders.approve(fix, dave, carol)
    incident, _ = report(bob, payments, severity="medium")

    advice = recovery.advise(incident, bob)

    assert advice.recommendation == "fix_forward"
    codes = {r.code: r for r in advice.reasons}
    assert "no compensating script" in codes["db_reversible"].message
    assert fix.key in codes["fix_readiness"].message
    assert codes["rollback_plan"].data["favours"] == "fix_forward"


def test_a_tested_compensating_script_makes_the_db_change_reversible(deployed, payments, bob):
    migration = Artifact(
        release=deployed,
        service=payments,
        kind="db_migration",
        name="V43__add_index",
        version="1.4.2",
        sha256="b" * 64,
    )
    migration.save()
    CompensatingScript(artifact=migration, script="DROP INDEX x;", tested=True).save()
    incident, _ = report(bob, payments)

    reason = {r.code: r for r in recovery.advise(incident, bob).reasons}["db_reversible"]

    assert reason.data["favours"] == "rollback"


def test_an_unattributed_incident_has_no_recommendation(payments, bob):
    incident, _ = report(bob, payments)

    advice = recovery.advise(incident, bob)

    assert advice.recommendation is None


def test_a_decision_is_recorded_with_the_advice_and_in_the_decision_log(deployed, payments, bob):
    incident, _ = report(bob, payments, severity="critical")

    decision = incidents.decide(incident, bob, "rollback", "Payments failing for 30% of users.")

    assert decision.advice["recommendation"] == "rollback"
    assert decision.decided_by == bob
    entry = DecisionRecord.objects.get(kind="recovery")
    assert entry.release_key == deployed.key
    assert entry.outcome == "rollback"
    assert "following the advice" in entry.summary


def test_a_decision_needs_a_reason(deployed, payments, bob):
    incident, _ = report(bob, payments)

    with pytest.raises(incidents.InvalidInput) as exc:
        incidents.decide(incident, bob, "rollback", "  ")

    assert exc.value.reasons[0].data["field"] == "reason"
    assert RecoveryDecision.objects.count() == 0


def test_an_unattributed_or_resolved_incident_cannot_be_decided(deployed, payments, bob):
    other = ServiceFactory(slug="ledger", name="Ledger")
    loose, _ = report(bob, other)
    with pytest.raises(IllegalTransition):
        incidents.decide(loose, bob, "rollback", "why not")
    done, _ = report(bob, payments)
    incidents.set_status(done, bob, "resolved")
    with pytest.raises(IllegalTransition):
        incidents.decide(done, bob, "fix_forward", "too late")
    assert RecoveryDecision.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("alice", True), ("bob", True), ("dave", False), ("carol", False), ("pipeline", False)],
)
def test_release_managers_and_deployers_decide(request, deployed, payments, bob, persona, allowed):
    incident, _ = report(bob, payments)
    user = request.getfixturevalue(persona)

    if allowed:
        incidents.decide(incident, user, "fix_forward", "A fix is ready.")
        assert RecoveryDecision.objects.count() == 1
    else:
        with pytest.raises(NotPermitted):
            incidents.decide(incident, user, "fix_forward", "A fix is ready.")
        assert RecoveryDecision.objects.count() == 0
