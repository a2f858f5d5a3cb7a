"""Strategy advice (curriculum 5.1): blue-green, canary or rolling, and why."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.models import RiskAssessment
from metrics.models import Kpi, KpiSample
from releases import strategy
from releases.models import Deployment
from releases.strategy import InvalidCanarySteps, validate_canary_steps
from tests.releases import builders

URL = "/api/v1/deployments/"


def set_band(release, band):
    RiskAssessment(
        release=release, round=release.approval_round, score=50, band=band, factors=[]
    ).save_with_reason("test: risk band")


def monitored(service, environment, hours_ago=1):
    kpi = Kpi(service=service, name="http_5xx_rate", kind="error_rate", unit="%")
    kpi.save_with_reason("test: KPI")
    KpiSample.objects.create(
        kpi=kpi,
        environment=environment,
        value=0.1,
        measured_at=timezone.now() - timedelta(hours=hours_ago),
    )
    return kpi


def codes(option):
    return {r.code: r.passed for r in option.reasons}


def test_a_low_risk_release_without_monitoring_or_capacity_is_advised_rolling(
    approved_release, environments
):
    set_band(approved_release, "low")

    advice = strategy.advise(approved_release, environments["dev"])

    assert advice.recommended == "rolling"
    assert advice.risk_band == "low"
    canary = advice.option("canary")
    assert not canary.feasible
    assert codes(canary)["monitoring"] is False
    assert "no KPIs defined for payments-api" in canary.reasons[1].message
    assert codes(advice.option("blue_green"))["capacity"] is False


def test_a_high_risk_release_with_monitoring_is_advised_canary_with_cautious_steps(
    approved_release, environments, payments
):
    set_band(approved_release, "high")
    monitored(payments, environments["dev"])

    advice = strategy.advise(approved_release, environments["dev"])

    assert advice.recommended == "canary"
    assert codes(advice.option("canary"))["monitoring"] is True
    assert advice.canary_steps[0] == {"percent": 5, "hold_minutes": 30}
    assert advice.canary_steps[-1]["percent"] == 100
    # The reasons against rolling are visible too.
    assert codes(advice.option("rolling"))["risk_band"] is False


def test_stale_kpi_samples_do_not_count_as_monitoring(approved_release, environments, payments):
    set_band(approved_release, "high")
    monitored(payments, environments["dev"], hours_ago=30)

    advice = strategy.advise(approved_release, environments["dev"])

    assert advice.recommended == "rolling"
    assert "no KPI samples from payments-api in Dev in the last 24 h" in " ".join(
        r.message for r in advice.option("canary").reasons
    )


def test_samples_from_another_environment_do_not_make_this_one_ready(
    approved_release, environments, payments
):
    set_band(approved_release, "critical")
    monitored(payments, environments["staging"])

    assert strategy.advise(approved_release, environments["dev"]).recommended != "canary"


def test_blue_green_needs_the_spare_capacity(approved_release, environments):
    set_band(approved_release, "medium")
    dev = environments["dev"]
    dev.spare_capacity_percent = 60
    dev.save()
    assert strategy.advise(approved_release, dev).recommended == "rolling"

    dev.spare_capacity_percent = 100
    dev.save()
    advice = strategy.advise(approved_release, dev)
    assert advice.recommended == "blue_green"
    assert codes(advice.option("blue_green"))["capacity"] is True


def test_ha_services_are_named_in_the_reasons(approved_release, environments, payments):
    payments.ha_required = True
    payments.save()
    advice = strategy.advise(approved_release, environments["dev"])
    assert codes(advice.option("rolling"))["ha"] is True


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "non-empty"),
        (
            [
                {"percent": 25, "hold_minutes": 5},
                {"percent": 5, "hold_minutes": 5},
                {"percent": 100, "hold_minutes": 0},
            ],
            "must go up",
        ),
        (
            [{"percent": 5, "hold_minutes": 5}, {"percent": 50, "hold_minutes": 0}],
            "last step must send 100%",
        ),
        ([{"percent": 5, "hold_minutes": -1}, {"percent": 100, "hold_minutes": 0}], "0 or more"),
        (
            [{"percent": "5", "hold_minutes": 1}, {"percent": 100, "hold_minutes": 0}],
            "whole number",
        ),
        ([{"percent": 5, "hold": 1}, {"percent": 100}], "exactly"),
    ],
)
def test_canary_steps_must_ascend_to_100_with_non_negative_holds(steps, message):
    with pytest.raises(InvalidCanarySteps) as exc:
        validate_canary_steps(steps)
    assert message in exc.value.message


def test_a_deployment_records_the_advice_and_that_it_was_overridden(
    approved_release, environments, bob
):
    set_band(approved_release, "low")

    deployment = builders.deploy(approved_release, environments["dev"], bob, strategy="canary")

    assert deployment.strategy == "canary"
    assert deployment.advised_strategy == "rolling"
    assert deployment.advice_overridden is True
    assert deployment.canary_steps == strategy.default_canary_steps("low")
    against = [
        r for r in deployment.advice_reasons if r["strategy"] == "canary" and not r["passed"]
    ]
    assert any(r["code"] == "monitoring" for r in against)


def test_without_a_choice_the_advised_strategy_is_used(approved_release, environments, bob):
    deployment = builders.deploy(approved_release, environments["dev"], bob)
    assert deployment.strategy == deployment.advised_strategy == "rolling"
    assert deployment.advice_overridden is False


# --- API ------------------------------------------------------------------------------------


@pytest.fixture
def ci(api_client, pipeline):
    return api_client(pipeline)


def test_the_api_answers_the_strategy_advice_with_reasons(
    ci, approved_release, environments, payments
):
    set_band(approved_release, "high")
    monitored(payments, environments["dev"])

    response = ci.get(f"/api/v1/releases/{approved_release.key}/strategy-advice/?environment=dev")

    assert response.status_code == 200
    body = response.json()
    assert body["recommended"] == "canary"
    assert body["risk_band"] == "high"
    assert [o["strategy"] for o in body["options"]] == ["canary", "blue_green", "rolling"]
    assert body["canary_steps"][-1] == {"percent": 100, "hold_minutes": 0}


@pytest.mark.parametrize("query", ["", "?environment=mars"])
def test_strategy_advice_needs_a_known_environment(ci, approved_release, environments, query):
    response = ci.get(f"/api/v1/releases/{approved_release.key}/strategy-advice/{query}")
    assert response.status_code == 400
    assert "environment" in response.json()


def test_a_pipeline_starts_a_canary_with_its_own_steps(ci, approved_release, environments):
    steps = [{"percent": 10, "hold_minutes": 20}, {"percent": 100, "hold_minutes": 0}]

    response = ci.post(
        URL,
        {
            "release": approved_release.key,
            "environment": "dev",
            "strategy": "canary",
            "canary_steps": steps,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["canary_steps"] == steps
    assert body["advised_strategy"] == "rolling"
    assert body["advice_overridden"] is True
    assert Deployment.objects.get().canary_steps == steps


@pytest.mark.parametrize(
    "extra",
    [
        {"strategy": "canary", "canary_steps": [{"percent": 50, "hold_minutes": 5}]},
        {"strategy": "rolling", "canary_steps": [{"percent": 100, "hold_minutes": 0}]},
    ],
)
def test_bad_canary_steps_are_400_and_write_nothing(ci, approved_release, environments, extra):
    response = ci.post(
        URL, {"release": approved_release.key, "environment": "dev", **extra}, format="json"
    )

    assert response.status_code == 400, response.json()
    assert "canary" in str(response.json()).lower()
    assert not Deployment.objects.exists()


def test_the_deployment_references_its_change_record(ci, approved_release, environments):
    from governance.models import DecisionRecord

    response = ci.post(URL, {"release": approved_release.key, "environment": "dev"}, format="json")

    record = DecisionRecord.objects.get(pk=response.json()["change_record"])
    assert record.release_key == approved_release.key
    assert record.kind == "approval" and record.outcome == "approved"
