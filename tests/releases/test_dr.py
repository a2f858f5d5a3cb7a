"""DR validation (issue 5, item 14): the gate's ``dr_validation`` check and recording tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.decisions import NotPermitted
from releases import dr, gate
from releases.models import DrTest
from releases.rollback_scope import InvalidInput
from tests.factories import ReleaseFactory, ServiceFactory
from tests.releases import builders


@pytest.fixture
def ha_payments(payments):
    payments.ha_required = True
    payments.recovery_sla_minutes = 30
    payments.save()
    return payments


def dr_test(service, days_ago=10, result="passed", rto=20, rpo=0, rto_target=30, rpo_target=5):
    return DrTest.objects.create(
        service=service,
        tested_at=timezone.now() - timedelta(days=days_ago),
        scenario="Primary region lost",
        result=result,
        rto_target_minutes=rto_target,
        rto_achieved_minutes=rto,
        rpo_target_minutes=rpo_target,
        rpo_achieved_minutes=rpo,
    )


def check(release, env):
    return dr.check_dr_validation(release, env)


def test_a_recent_passed_test_within_targets_validates_the_service(
    ha_payments, draft_release, environments
):
    dr_test(ha_payments)

    reason = check(draft_release, environments["production"])

    assert reason.passed
    assert "Payments API recovered on" in reason.message
    assert "RTO 20/30 min" in reason.message


def test_an_ha_service_never_tested_fails_for_production(ha_payments, draft_release, environments):
    reason = check(draft_release, environments["production"])

    assert not reason.passed
    assert "Payments API has no recorded DR test" in reason.message
    assert reason.data["services"][0]["status"] == "missing"


def test_a_failed_latest_test_fails_even_after_an_earlier_pass(
    ha_payments, draft_release, environments
):
    dr_test(ha_payments, days_ago=40)
    dr_test(ha_payments, days_ago=5, result="failed")

    reason = check(draft_release, environments["production"])

    assert not reason.passed
    assert "Payments API's latest DR test on" in reason.message
    assert reason.message.endswith("failed.")


def test_a_partial_result_does_not_count(ha_payments, draft_release, environments):
    dr_test(ha_payments, result="partial")

    assert not check(draft_release, environments["production"]).passed


def test_a_test_older_than_the_validity_period_has_expired(
    ha_payments, draft_release, environments, settings
):
    settings.DR_VALIDITY_DAYS = 90
    old = dr_test(ha_payments, days_ago=120)

    reason = check(draft_release, environments["production"])

    assert not reason.passed
    assert f"last DR-tested on {old.tested_at:%Y-%m-%d}, more than 90 days ago" in reason.message
    assert reason.data["services"][0]["status"] == "expired"


def test_a_pass_that_missed_the_rto_does_not_validate(ha_payments, draft_release, environments):
    dr_test(ha_payments, rto=45, rto_target=30)

    reason = check(draft_release, environments["production"])

    assert not reason.passed
    assert "missed its targets: RTO 45 min over the 30 min target" in reason.message


def test_a_pass_that_missed_the_rpo_does_not_validate(ha_payments, draft_release, environments):
    dr_test(ha_payments, rpo=10, rpo_target=5)

    reason = check(draft_release, environments["production"])

    assert not reason.passed
    assert "RPO 10 min over the 5 min target" in reason.message


def test_services_without_ha_need_no_dr_test(payments, draft_release, environments):
    reason = check(draft_release, environments["production"])

    assert reason.passed
    assert "requires high availability" in reason.message


def test_non_production_passes_saying_so(ha_payments, draft_release, environments):
    reason = check(draft_release, environments["staging"])

    assert reason.passed
    assert "Staging is not production" in reason.message


def test_the_gate_prevents_production_until_the_ha_service_is_dr_tested(
    ha_payments, approved_release, bob, pipeline, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)
    DrTest.objects.all().delete()

    refused = gate.ask(ha_payments, "1.4.2", env_list[3], pipeline)
    assert refused.status == "prevented"
    assert [c["code"] for c in refused.checks if not c["passed"]] == ["dr_validation"]

    dr_test(ha_payments)
    allowed = gate.ask(ha_payments, "1.4.2", env_list[3], pipeline)
    assert allowed.status == "allowed"


def test_the_check_names_each_failing_service(draft_release, dave, environments):
    a = ServiceFactory(slug="alpha", name="Alpha", ha_required=True)
    b = ServiceFactory(slug="beta", name="Beta", ha_required=True)
    release = ReleaseFactory(author=dave, services=[(a, "1.0"), (b, "1.0")])
    dr_test(b, result="failed")

    reason = check(release, environments["production"])

    assert "Alpha has no recorded DR test" in reason.message
    assert "Beta's latest DR test" in reason.message


def test_the_check_uses_two_queries_at_most_after_the_services(
    draft_release, dave, environments, django_assert_max_num_queries
):
    services = [ServiceFactory(ha_required=True) for _ in range(6)]
    for s in services[:3]:
        dr_test(s)
    release = ReleaseFactory(author=dave, services=[(s, "1.0") for s in services])

    with django_assert_max_num_queries(3):
        check(release, environments["production"])


# --- recording tests ----------------------------------------------------------------------------


def test_recording_a_test_defaults_the_rto_target_to_the_recovery_sla(ha_payments, alice):
    test = dr.record_test(
        ha_payments,
        alice,
        tested_at=timezone.now() - timedelta(days=1),
        scenario="DB failover",
        result="passed",
        rto_achieved_minutes=12,
        rpo_target_minutes=5,
        rpo_achieved_minutes=1,
    )

    assert test.rto_target_minutes == 30
    assert test.recorded_by == alice
    assert test.history.first().history_change_reason == "DR test recorded"


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"rto_achieved_minutes": -1}, "rto_achieved_minutes", "cannot be negative"),
        ({"rpo_achieved_minutes": -5}, "rpo_achieved_minutes", "cannot be negative"),
        ({"rto_target_minutes": 0}, "rto_target_minutes", "at least 1 minute"),
        ({"result": "maybe"}, "result", "is not a valid choice"),
        ({"scenario": ""}, "scenario", "cannot be blank"),
        ({"evidence_link": "not a url"}, "evidence_link", "valid URL"),
        (
            {"tested_at": timezone.now() + timedelta(days=2)},
            "tested_at",
            "cannot be in the future",
        ),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_written(
    ha_payments, alice, change, field, message
):
    fields = {
        "tested_at": timezone.now() - timedelta(days=1),
        "scenario": "DB failover",
        "result": "passed",
        "rto_achieved_minutes": 12,
        "rpo_target_minutes": 5,
        "rpo_achieved_minutes": 1,
        **change,
    }

    with pytest.raises(InvalidInput) as info:
        dr.record_test(ha_payments, alice, **fields)

    reasons = {r.data["field"]: r.message for r in info.value.reasons}
    assert message in reasons[field]
    assert not DrTest.objects.exists()


def test_a_developer_cannot_record_dr_tests(ha_payments, dave):
    with pytest.raises(NotPermitted):
        dr.record_test(ha_payments, dave, scenario="x")
    assert not DrTest.objects.exists()


def test_a_deployer_may_record_and_edit_a_test(ha_payments, bob):
    test = dr.record_test(
        ha_payments,
        bob,
        tested_at=timezone.now() - timedelta(days=1),
        scenario="DB failover",
        result="partial",
        rto_achieved_minutes=12,
        rpo_target_minutes=5,
        rpo_achieved_minutes=1,
    )

    dr.edit_test(test, bob, "re-run passed", result="passed")

    test.refresh_from_db()
    assert test.result == "passed"
    assert test.history.first().history_change_reason == "re-run passed"
