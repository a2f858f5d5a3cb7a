"""Risk assessment (governance.risk): each factor, weights from the configuration, bands."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance import risk
from governance.models import DecisionRecord, Defect, RiskAssessment, RiskConfig
from releasemgr.decisions import NotPermitted
from releases.models import Deployment, Release
from tests.factories import (
    DependencyFactory,
    FreezeWindowFactory,
    ReleaseFactory,
    ScopeItemFactory,
    ServiceFactory,
    TeamFactory,
)


def factor(release, code):
    return next(f for f in risk.assess(release).factors if f.code == code)


@pytest.fixture
def internal(db):
    """A single internal service nothing depends on."""
    return ServiceFactory(slug="reporting", name="Reporting", team=TeamFactory(slug="data"))


@pytest.fixture
def quiet_release(dave, internal):
    """As little risk as a release can carry."""
    return ReleaseFactory(
        author=dave,
        services=[(internal, "2.0.0")],
        change_type="standard",
        planned_strategy="canary",
        rollback_plan="Redeploy 1.9.0.",
        rollback_tested=True,
    )


def deployments(release, env, user, statuses, days_ago=3):
    finished = timezone.now() - timedelta(days=days_ago)
    for status in statuses:
        Deployment.objects.create(
            release=release,
            environment=env,
            status=status,
            started_by=user,
            started_at=finished - timedelta(minutes=20),
            finished_at=finished,
        )


# --- the factors ------------------------------------------------------------------------------


def test_every_factor_is_reported_with_its_weight_value_points_and_explanation(draft_release):
    result = risk.assess(draft_release)

    assert [f.code for f in result.factors] == risk.FACTORS
    for f in result.factors:
        assert f.weight == risk.DEFAULT_WEIGHTS[f.code]
        assert 0 <= f.value <= 1
        assert abs(f.points - f.weight * f.value) <= 0.5
        assert f.explanation
    assert result.score == sum(f.points for f in result.factors)
    assert [r.code for r in result.reasons] == [f"risk_{code}" for code in risk.FACTORS]
    assert result.as_dict()["factors"][0].keys() == {
        "code",
        "label",
        "weight",
        "value",
        "points",
        "explanation",
    }


def test_a_quiet_single_service_release_scores_low(quiet_release, environments, bob):
    deployments(quiet_release, environments["production"], bob, ["succeeded"] * 3)

    result = risk.assess(quiet_release)

    # Only the canary's small share of traffic counts: half a point, rounded up.
    assert result.score == 1
    assert result.band == "low"
    assert [r.code for r in result.reasons if not r.passed] == ["risk_deployment_strategy"]


def test_blast_radius_grows_with_the_services_that_depend_on_the_changed_one(
    quiet_release, internal
):
    assert factor(quiet_release, "blast_radius").value == 0
    for n in range(2):
        DependencyFactory(service=ServiceFactory(slug=f"consumer-{n}"), depends_on=internal)

    blast = factor(quiet_release, "blast_radius")

    assert blast.value == 0.5
    assert "2 dependent(s)" in blast.explanation


def test_a_release_with_no_services_has_an_unknown_blast_radius(dave):
    release = ReleaseFactory(author=dave)

    assert factor(release, "blast_radius").value == 0.5


def test_a_customer_facing_service_in_the_blast_radius_counts(quiet_release, internal):
    assert factor(quiet_release, "customer_facing").value == 0
    DependencyFactory(
        service=ServiceFactory(slug="shop", name="Shop", customer_facing=True), depends_on=internal
    )

    customer = factor(quiet_release, "customer_facing")

    assert customer.value == 1
    assert "Shop" in customer.explanation


def test_an_included_schema_migration_counts_and_a_deferred_one_does_not(quiet_release):
    ScopeItemFactory(
        release=quiet_release,
        kind="schema_migration",
        decision="deferred",
        rationale="next train",
    )
    assert factor(quiet_release, "schema_migration").value == 0

    ScopeItemFactory(release=quiet_release, kind="schema_migration", title="Add ledger index")

    assert factor(Release.objects.get(pk=quiet_release.pk), "schema_migration").value == 1


def test_declaring_that_the_release_touches_the_schema_counts(quiet_release):
    quiet_release.touches = ["schema"]

    assert factor(quiet_release, "schema_migration").value == 1


@pytest.mark.parametrize(
    ("plan", "tested", "value"),
    [("", False, 1.0), ("Redeploy 1.9.0.", False, 0.5), ("Redeploy 1.9.0.", True, 0.0)],
)
def test_rollback_counts_when_missing_or_not_rehearsed(quiet_release, plan, tested, value):
    quiet_release.rollback_plan, quiet_release.rollback_tested = plan, tested

    assert factor(quiet_release, "rollback").value == value


@pytest.mark.parametrize(
    ("change_type", "value"), [("emergency", 1.0), ("normal", 0.4), ("standard", 0.0)]
)
def test_change_type_values(quiet_release, change_type, value):
    quiet_release.change_type = change_type

    assert factor(quiet_release, "change_type").value == value


@pytest.mark.parametrize(
    ("strategy", "value"),
    [("recreate", 1.0), ("rolling", 0.5), ("blue_green", 0.25), ("canary", 0.1)],
)
def test_deployment_strategy_values(quiet_release, strategy, value):
    quiet_release.planned_strategy = strategy

    assert factor(quiet_release, "deployment_strategy").value == value


def _plan(release, starts_in):
    release.planned_start = timezone.now() + starts_in
    release.planned_end = release.planned_start + timedelta(hours=2)
    release.save()


def test_planned_inside_a_freeze_counts_fully(quiet_release):
    _plan(quiet_release, timedelta(days=10))
    FreezeWindowFactory(
        name="Quarter end",
        start=quiet_release.planned_start - timedelta(hours=1),
        end=quiet_release.planned_start + timedelta(days=1),
    )

    freeze = factor(quiet_release, "freeze_proximity")

    assert freeze.value == 1
    assert "Quarter end" in freeze.explanation


@pytest.mark.parametrize(
    ("gap", "value"),
    [(timedelta(hours=12), 1.0), (timedelta(days=4), 0.5), (timedelta(days=8), 0.0)],
)
def test_a_freeze_near_the_plan_fades_from_a_day_to_a_week(quiet_release, gap, value):
    _plan(quiet_release, timedelta(days=20))
    start = quiet_release.planned_end + gap
    FreezeWindowFactory(name="Peak", kind="blackout", start=start, end=start + timedelta(days=2))

    assert factor(quiet_release, "freeze_proximity").value == value


def test_a_freeze_for_other_services_or_allowing_the_change_type_does_not_count(quiet_release):
    _plan(quiet_release, timedelta(days=10))
    elsewhere = FreezeWindowFactory(
        start=quiet_release.planned_start, end=quiet_release.planned_end
    )
    elsewhere.services.set([ServiceFactory(slug="search")])
    FreezeWindowFactory(
        start=quiet_release.planned_start,
        end=quiet_release.planned_end,
        allowed_change_types=["standard"],
    )
    FreezeWindowFactory(
        kind="maintenance", start=quiet_release.planned_start, end=quiet_release.planned_end
    )

    assert factor(quiet_release, "freeze_proximity").value == 0


def test_a_release_without_a_planned_start_is_not_near_a_freeze(quiet_release):
    quiet_release.planned_start = quiet_release.planned_end = None
    FreezeWindowFactory()

    freeze = factor(quiet_release, "freeze_proximity")

    assert freeze.value == 0
    assert "No planned start" in freeze.explanation


@pytest.mark.parametrize(
    ("severities", "value"),
    [(["low"], 0.0), (["medium", "low"], 0.3), (["high", "medium"], 0.7), (["critical"], 1.0)],
)
def test_the_worst_open_defect_sets_the_value(quiet_release, severities, value):
    for severity in severities:
        Defect.objects.create(release=quiet_release, title=f"{severity} bug", severity=severity)
    Defect.objects.create(
        release=quiet_release, title="fixed crash", severity="critical", status="resolved"
    )

    assert factor(quiet_release, "open_defects").value == value


def test_the_team_success_rate_comes_from_recent_production_deployments(
    quiet_release, environments, bob
):
    prod = environments["production"]
    deployments(quiet_release, prod, bob, ["succeeded", "succeeded", "succeeded", "failed"])
    # Not counted: staging, too old, still running.
    deployments(quiet_release, environments["staging"], bob, ["failed"])
    deployments(quiet_release, prod, bob, ["rolled_back"], days_ago=120)
    deployments(quiet_release, prod, bob, ["running"])

    rate = factor(quiet_release, "team_success_rate")

    assert rate.value == 0.25
    assert "3 of 4" in rate.explanation


def test_a_team_without_history_counts_half_and_says_so(quiet_release):
    rate = factor(quiet_release, "team_success_rate")

    assert rate.value == 0.5
    assert "no production deployment" in rate.explanation


# --- weights and bands -----------------------------------------------------------------------


def test_weights_come_from_the_configuration(quiet_release):
    config = RiskConfig.current()
    config.weights = {**risk.DEFAULT_WEIGHTS, "change_type": 30, "open_defects": 0}
    config.save()
    quiet_release.change_type = "emergency"

    change = factor(quiet_release, "change_type")

    assert (change.weight, change.points) == (30, 30)


def test_bands_follow_the_configured_thresholds(quiet_release):
    config = RiskConfig.current()
    assert [risk.band_for(s, config) for s in (0, 24, 25, 50, 75, 100)] == [
        "low",
        "low",
        "medium",
        "high",
        "critical",
        "critical",
    ]
    config.medium_from, config.high_from, config.critical_from = 5, 10, 20
    config.save()
    quiet_release.change_type = "emergency"  # 10 points

    assert risk.assess(quiet_release).band == "high"


def test_band_at_least_orders_bands():
    assert risk.band_at_least("critical", "high")
    assert risk.band_at_least("high", "high")
    assert not risk.band_at_least("medium", "high")


def test_a_compliance_officer_changes_the_configuration_and_it_is_logged(olivia):
    weights = {**risk.DEFAULT_WEIGHTS, "rollback": 20, "deployment_strategy": 0}

    config = risk.update_config(
        olivia, weights=weights, medium_from=20, high_from=45, critical_from=70, reason="audit"
    )

    config.refresh_from_db()
    assert config.weights["rollback"] == 20
    assert (config.medium_from, config.high_from, config.critical_from) == (20, 45, 70)
    assert config.history.first().history_change_reason == "audit"
    entry = DecisionRecord.objects.get()
    assert entry.kind == "policy_change"
    assert entry.data["after"]["weights"]["rollback"] == 20


@pytest.mark.parametrize(
    ("weights", "thresholds", "field", "message"),
    [
        ({"rollback": 25}, (25, 50, 75), "weights", "add up to 100"),
        ({"luck": 5}, (25, 50, 75), "weights", "Unknown factor(s): luck"),
        ({"rollback": -5}, (25, 50, 75), "weights", "whole numbers"),
        ({"rollback": "15"}, (25, 50, 75), "weights", "whole numbers"),
        ({}, (50, 50, 75), "high_from", "must rise"),
        ({}, (25, 75, 50), "high_from", "must rise"),
        ({}, (0, 50, 75), "medium_from", "from 1 to 100"),
        ({}, (25, 50, 101), "critical_from", "from 1 to 100"),
    ],
)
def test_a_bad_configuration_is_refused_and_nothing_is_written(
    olivia, weights, thresholds, field, message
):
    before = RiskConfig.current()

    with pytest.raises(ValidationError) as excinfo:
        risk.update_config(
            olivia,
            weights=weights,
            medium_from=thresholds[0],
            high_from=thresholds[1],
            critical_from=thresholds[2],
        )

    assert message in " ".join(excinfo.value.message_dict[field])
    after = RiskConfig.objects.get()
    assert (after.weights, after.high_from) == (before.weights, before.high_from)
    assert not DecisionRecord.objects.exists()


def test_only_compliance_officers_change_the_configuration(carol, alice):
    for user in (carol, alice):
        with pytest.raises(NotPermitted):
            risk.update_config(user, weights={}, medium_from=25, high_from=50, critical_from=75)


# --- snapshots and queries -------------------------------------------------------------------


def test_an_assessment_snapshot_keeps_the_round_and_factors(draft_release, dave):
    draft_release.approval_round = 2

    snapshot = risk.record_assessment(draft_release, dave)

    snapshot = RiskAssessment.objects.get(pk=snapshot.pk)
    assert snapshot.round == 2
    assert snapshot.assessed_by == dave
    result = risk.assess(draft_release)
    assert (snapshot.score, snapshot.band) == (result.score, result.band)
    assert [f["code"] for f in snapshot.factors] == risk.FACTORS


def _many(n, env, user):
    team = TeamFactory(slug="bulk")
    for i in range(n):
        svc = ServiceFactory(slug=f"bulk-{n}-{i}", team=team)
        release = ReleaseFactory(author=user, services=[(svc, "1.0.0")])
        ScopeItemFactory(release=release, kind="schema_migration")
        Defect.objects.create(release=release, title="bug", severity="high")
        deployments(release, env, user, ["succeeded"])
        FreezeWindowFactory(start=release.planned_start, end=release.planned_end)


def test_assessing_many_releases_takes_a_fixed_number_of_queries(
    environments, dave, django_assert_max_num_queries
):
    RiskConfig.current()
    _many(3, environments["production"], dave)
    with django_assert_max_num_queries(15):
        risk.assess_many(Release.objects.all())
    _many(12, environments["production"], dave)
    with django_assert_max_num_queries(15):
        results = risk.assess_many(Release.objects.all())
    assert len(results) == 15
