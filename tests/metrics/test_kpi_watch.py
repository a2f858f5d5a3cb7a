"""The KPI watch rules (metrics.stabilisation) and its job (metrics.jobs_kpis)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from governance.models import DecisionRecord
from metrics import jobs_kpis, stabilisation
from metrics.models import KpiAlert, StabilisationWindow
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from tests.metrics.kpi_helpers import kpi, samples

H = timedelta(hours=1)


@pytest.fixture
def window(move_to):
    release = move_to("deployed")
    return StabilisationWindow.objects.select_related("deployment", "release").get(release=release)


def _codes(evaluation):
    return [r.code for r in evaluation.reasons]


@pytest.mark.django_db
def test_a_production_success_opens_one_window_of_the_configured_length(window):
    assert window.state == "open"
    assert window.deployment.environment.is_production
    assert window.ends_at - window.opened_at == timedelta(hours=72)
    assert window.history.count() == 1
    # Opening again for the same deployment is a no-op.
    assert stabilisation.open_window(window.deployment) == window
    assert StabilisationWindow.objects.count() == 1


@pytest.mark.django_db
@override_settings(STABILISATION_HOURS=12, STABILISATION_BASELINE_HOURS=6)
def test_the_window_length_and_baseline_come_from_settings(move_to):
    release = move_to("deployed")
    window = release.stabilisation_windows.get()
    assert window.hours == 12 and window.baseline_hours == 6
    assert window.ends_at - window.opened_at == timedelta(hours=12)


@pytest.mark.django_db
def test_no_window_for_a_deployment_that_is_not_production(move_to):
    move_to("deploying")
    assert not StabilisationWindow.objects.exists()


@pytest.mark.django_db
def test_a_value_above_the_threshold_is_a_breach(window, payments, environments):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [1.0, 2.0, 3.5, 1.0])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    (reason,) = evaluation.reasons
    assert reason.code == "kpi_breached" and not reason.passed
    assert reason.data["limit"] == 2.0 and reason.data["latest"] == 1.0
    assert "threshold 2%" in reason.message and "worst 3.5%" in reason.message
    assert evaluation.verdict == "breached"


@pytest.mark.django_db
def test_equal_to_the_threshold_is_not_a_breach(window, payments, environments):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [2.0, 1.9])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    assert _codes(evaluation) == ["kpi_within_limits"]
    assert evaluation.verdict == "stable"


@pytest.mark.django_db
def test_higher_is_worse_baseline_tolerance(window, payments, environments):
    k = kpi(payments, name="p99_latency", kind="latency", unit="ms", tolerance_percent=20)
    prod = environments["production"]
    before = window.deployment.started_at - 5 * H
    samples(k, prod, before, [100, 110, 90, 100, 200])  # median 100 → limit 120
    samples(k, prod, window.opened_at + H, [115, 119, 121, 118])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    (reason,) = evaluation.reasons
    assert reason.data["baseline"] == 100 and reason.data["limit"] == pytest.approx(120)
    assert reason.code == "kpi_breached"
    assert len(reason.data["breaches"]) == 1


@pytest.mark.django_db
def test_lower_is_worse_baseline_tolerance(window, payments, environments):
    k = kpi(
        payments,
        name="orders_per_min",
        kind="business",
        unit="orders/min",
        direction="lower_is_worse",
        tolerance_percent=10,
    )
    prod = environments["production"]
    samples(k, prod, window.deployment.started_at - 3 * H, [50, 50, 50])  # limit 45
    samples(k, prod, window.opened_at + H, [46, 60, 45])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    assert _codes(evaluation) == ["kpi_within_limits"]
    samples(k, prod, window.opened_at + 5 * H, [44.9])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    assert _codes(evaluation) == ["kpi_breached"]
    assert "went below" in evaluation.reasons[0].message


@pytest.mark.django_db
def test_samples_older_than_the_baseline_period_or_elsewhere_do_not_count(
    window, payments, environments
):
    k = kpi(payments, name="p99_latency", unit="ms")
    samples(k, environments["production"], window.deployment.started_at - 30 * H, [10])
    samples(k, environments["staging"], window.deployment.started_at - 2 * H, [10])
    samples(k, environments["production"], window.opened_at + H, [500])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    (reason,) = evaluation.reasons
    assert reason.code == "kpi_no_baseline" and reason.passed
    assert reason.data["baseline"] is None
    assert evaluation.verdict == "stable"


@pytest.mark.django_db
def test_a_kpi_without_samples_in_the_window_means_no_data(window, payments, environments):
    quiet = kpi(payments, name="p99_latency", unit="ms", threshold=300)
    measured = kpi(payments, threshold=2.0)
    samples(measured, environments["production"], window.opened_at + H, [0.5])
    evaluation = stabilisation.evaluate(window, window.opened_at + 10 * H)
    by_name = {r.data["name"]: r for r in evaluation.reasons}
    assert by_name[quiet.name].code == "kpi_no_data"
    assert by_name[measured.name].code == "kpi_within_limits"
    assert evaluation.verdict == "no_data"


@pytest.mark.django_db
def test_a_release_whose_services_have_no_kpis_has_no_data(window):
    evaluation = stabilisation.evaluate(window)
    assert _codes(evaluation) == ["no_kpis"] and evaluation.verdict == "no_data"


@pytest.mark.django_db
def test_the_job_raises_one_alert_per_breach_and_tells_owner_author_and_service_owners(
    window, payments, environments, alice, dave
):
    from tests.factories import UserFactory

    owner = UserFactory(username="svc-owner")
    payments.owners.add(owner)
    release = window.release
    release.owner = alice
    release.save_with_reason("test: owner")
    k = kpi(payments, threshold=2.0)
    prod = environments["production"]
    samples(k, prod, window.opened_at + H, [3.0, 4.0, 1.0, 5.0])  # two episodes
    later = window.opened_at + 10 * H

    first = jobs_kpis.run(later)
    again = jobs_kpis.run(later)

    assert first.alerts == 2 and again.alerts == 0
    alerts = list(KpiAlert.objects.order_by("breach_started_at"))
    assert [a.value for a in alerts] == [4.0, 5.0]
    assert alerts[0].history.count() == 1
    told = set(
        Notification.objects.filter(kind="kpi_alert").values_list("user__username", flat=True)
    )
    assert told == {"alice", "dave", "svc-owner"}
    assert Notification.objects.filter(kind="kpi_alert").count() == 6
    window.refresh_from_db()
    assert window.state == "open" and window.evaluated_at == later
    assert window.reasons[0]["code"] == "kpi_breached"


@pytest.mark.django_db
def test_the_window_closes_once_breached_with_its_alerts_in_the_decision_log(
    window, payments, environments
):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [3.0])
    after = window.ends_at + H
    result = jobs_kpis.run(after)
    assert result.closed == 1 and result.alerts == 1
    assert jobs_kpis.run(after).closed == 0  # nothing left to close
    window.refresh_from_db()
    assert (window.state, window.verdict, window.closed_at) == ("closed", "breached", after)
    assert window.history.first().history_change_reason == "closed: breached"
    record = DecisionRecord.objects.get(kind="stabilisation")
    assert record.outcome == "breached" and record.release_key == window.release.key
    assert record.data["alerts"] == [KpiAlert.objects.get().pk]


@pytest.mark.django_db
def test_the_window_closes_stable(window, payments, environments):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [1.0, 1.5])
    jobs_kpis.run(window.ends_at + H)
    window.refresh_from_db()
    assert window.verdict == "stable"
    assert window.reasons[0]["code"] == "kpi_within_limits"


@pytest.mark.django_db
def test_the_window_closes_with_no_data(window, payments):
    kpi(payments, threshold=2.0)
    jobs_kpis.run(window.ends_at + H)
    window.refresh_from_db()
    assert window.verdict == "no_data"
    assert window.reasons[0]["code"] == "kpi_no_data"


@pytest.mark.django_db
def test_samples_after_the_window_end_do_not_count(window, payments, environments):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [1.0])
    samples(k, environments["production"], window.ends_at + H, [9.0])
    jobs_kpis.run(window.ends_at + 2 * H)
    window.refresh_from_db()
    assert window.verdict == "stable"


@pytest.mark.django_db
def test_a_release_manager_changes_an_open_window_and_nobody_else_can(window, alice, bob):
    changed = stabilisation.set_hours(window, alice, 24, "quiet service")
    assert changed.ends_at - changed.opened_at == timedelta(hours=24)
    assert changed.history.first().history_change_reason == "quiet service"
    with pytest.raises(NotPermitted):
        stabilisation.set_hours(window, bob, 48)
    jobs_kpis.run(changed.ends_at + H)
    with pytest.raises(IllegalTransition):
        stabilisation.set_hours(window, alice, 96)


@pytest.mark.django_db
def test_acknowledging_an_alert_is_once_and_by_a_release_manager(
    window, payments, environments, alice, dave
):
    k = kpi(payments, threshold=2.0)
    samples(k, environments["production"], window.opened_at + H, [3.0])
    jobs_kpis.run(window.opened_at + 5 * H)
    alert = KpiAlert.objects.get()
    with pytest.raises(NotPermitted):
        stabilisation.acknowledge(alert, dave)
    done = stabilisation.acknowledge(alert, alice, "fix-forward in 1.4.3")
    assert done.acknowledged_by == alice and done.acknowledgement == "fix-forward in 1.4.3"
    assert done.history.count() == 2
    with pytest.raises(IllegalTransition):
        stabilisation.acknowledge(alert, alice)
