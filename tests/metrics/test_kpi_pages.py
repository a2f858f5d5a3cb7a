"""KPI watch pages: KPI definitions, windows, alerts, the release's Stabilisation panel."""

from datetime import timedelta

import pytest
from django.urls import reverse

from metrics import jobs_kpis
from metrics.models import Kpi, KpiAlert, StabilisationWindow
from tests.factories import ServiceFactory
from tests.metrics.kpi_helpers import kpi, samples, shift_back

H = timedelta(hours=1)


@pytest.fixture
def breached(move_to, payments, environments):
    """A deployed payments release whose error rate breached 6 h after the deployment."""
    release = move_to("deployed")
    window = shift_back(StabilisationWindow.objects.get(release=release), 8)
    k = kpi(payments, threshold=2.0)
    prod = environments["production"]
    samples(k, prod, window.deployment.started_at - 4 * H, [0.5, 0.6, 0.4])
    samples(k, prod, window.opened_at + H, [0.5, 3.0, 0.7])
    jobs_kpis.run()
    return window


@pytest.mark.django_db
def test_a_release_manager_defines_a_kpi_on_its_page(client, alice, payments):
    client.force_login(alice)
    form = {
        "service": payments.pk,
        "name": "p99_latency",
        "kind": "latency",
        "unit": "ms",
        "direction": "higher_is_worse",
        "threshold": "",
        "tolerance_percent": "25",
        "description": "",
    }
    response = client.post(reverse("kpi_create"), form)
    created = Kpi.objects.get()
    assert response.status_code == 302 and response["Location"] == created.get_absolute_url()
    assert created.history.first().history_user == alice
    edit = client.post(
        reverse("kpi_edit", args=[created.pk]), {**form, "threshold": "400", "reason": "SLO"}
    )
    assert edit.status_code == 302
    created.refresh_from_db()
    assert created.threshold == 400
    assert created.history.first().history_change_reason == "SLO"
    page = client.get(created.get_absolute_url())
    assert b"above 400 ms" in page.content and b"SLO" in page.content


@pytest.mark.django_db
def test_a_bad_kpi_form_says_why_and_writes_nothing(client, alice, payments):
    client.force_login(alice)
    kpi(payments, name="p99_latency", unit="ms")
    response = client.post(
        reverse("kpi_create"),
        {
            "service": payments.pk,
            "name": "p99_latency",
            "kind": "latency",
            "unit": "ms",
            "direction": "higher_is_worse",
            "tolerance_percent": "-1",
        },
    )
    assert response.status_code == 400
    assert b"already exists" in response.content
    assert b"greater than or equal to 0" in response.content
    assert Kpi.objects.count() == 1


@pytest.mark.django_db
def test_a_developer_cannot_define_kpis(client, dave, payments):
    client.force_login(dave)
    assert client.get(reverse("kpi_create")).status_code == 403
    assert client.post(reverse("kpi_create"), {"name": "x"}).status_code == 403
    assert not Kpi.objects.exists()


@pytest.mark.django_db
def test_kpi_list_filters_by_service_and_kind_with_bounded_queries(
    client, audrey, payments, environments, django_assert_max_num_queries
):
    client.force_login(audrey)
    empty = client.get(reverse("kpi_list"))
    assert b"No KPIs defined yet" in empty.content
    kpi(payments)
    kpi(payments, name="orders", kind="business", unit="orders/min")
    with django_assert_max_num_queries(12):
        client.get(reverse("kpi_list"))
    for i in range(20):
        kpi(ServiceFactory(), name=f"k{i}", kind="latency", unit="ms")
    with django_assert_max_num_queries(12):
        page = client.get(reverse("kpi_list"))
    assert page.status_code == 200
    only = client.get(reverse("kpi_list"), {"service": "payments-api", "kind": "business"})
    assert only.content.count(b"data-kpi=") == 1


@pytest.mark.django_db
def test_deleting_a_kpi_without_alerts_and_refusing_one_with_alerts(
    client, alice, breached, payments
):
    client.force_login(alice)
    watched = Kpi.objects.get(name="http_5xx_rate")
    spare = kpi(payments, name="spare", unit="ms")
    assert client.post(reverse("kpi_delete", args=[spare.pk])).status_code == 302
    assert not Kpi.objects.filter(pk=spare.pk).exists()
    refused = client.post(reverse("kpi_delete", args=[watched.pk]))
    assert refused.status_code == 409
    assert Kpi.objects.filter(pk=watched.pk).exists()


@pytest.mark.django_db
def test_the_release_page_shows_the_window_chart_data_and_alerts(client, audrey, breached):
    client.force_login(audrey)
    page = client.get(breached.release.get_absolute_url())
    html = page.content.decode()
    assert 'data-testid="kpi-panel"' in html
    assert 'id="kpi-charts-data"' in html and "js/kpi_charts.js" in html
    assert 'data-verdict="open"' in html and "kpi_breached" in html
    assert 'data-testid="kpi-alerts"' in html
    assert "Acknowledge</button>" not in html  # the auditor reads only


@pytest.mark.django_db
def test_the_release_page_panel_is_empty_before_production(client, audrey, draft_release):
    client.force_login(audrey)
    page = client.get(draft_release.get_absolute_url())
    assert b'data-testid="kpi-panel-empty"' in page.content


@pytest.mark.django_db
def test_a_release_manager_acknowledges_an_alert_from_the_window_page(client, alice, breached):
    client.force_login(alice)
    alert = KpiAlert.objects.get()
    page = client.get(breached.get_absolute_url())
    assert b"Acknowledge" in page.content
    url = reverse("kpi_alert_acknowledge", args=[alert.pk])
    response = client.post(url, {"note": "fix-forward", "next": breached.get_absolute_url()})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_by == alice and alert.acknowledgement == "fix-forward"
    again = client.post(url, {"note": "again"})
    assert again.status_code == 409
    alert.refresh_from_db()
    assert alert.acknowledgement == "fix-forward"


@pytest.mark.django_db
def test_a_deployer_cannot_acknowledge_or_change_a_window(client, bob, breached):
    client.force_login(bob)
    alert = KpiAlert.objects.get()
    assert client.post(reverse("kpi_alert_acknowledge", args=[alert.pk])).status_code == 403
    edit = reverse("stabilisation_window_edit", args=[breached.pk])
    assert client.post(edit, {"hours": 5}).status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


@pytest.mark.django_db
def test_a_release_manager_changes_the_window_length_and_bad_hours_are_refused(
    client, alice, breached
):
    client.force_login(alice)
    edit = reverse("stabilisation_window_edit", args=[breached.pk])
    bad = client.post(edit, {"hours": 0})
    assert bad.status_code == 400
    assert StabilisationWindow.objects.get().hours == 72
    ok = client.post(edit, {"hours": 48, "reason": "low-risk change"})
    assert ok.status_code == 302
    window = StabilisationWindow.objects.get()
    assert window.hours == 48 and window.ends_at == window.opened_at + timedelta(hours=48)


@pytest.mark.django_db
def test_window_and_alert_lists_filter_and_use_bounded_queries(
    client, audrey, breached, payments, environments, django_assert_max_num_queries
):
    client.force_login(audrey)
    with django_assert_max_num_queries(10):
        windows = client.get(reverse("stabilisation_window_list"))
    with django_assert_max_num_queries(10):
        alerts = client.get(reverse("kpi_alert_list"))
    assert windows.content.count(b"data-window=") == 1
    assert alerts.content.count(b"data-alert=") == 1
    for i in range(8):
        k = kpi(payments, name=f"extra{i}", threshold=1)
        samples(k, environments["production"], breached.opened_at + H, [5, 0, 5])
    jobs_kpis.run()
    with django_assert_max_num_queries(10):
        alerts = client.get(reverse("kpi_alert_list"))
    with django_assert_max_num_queries(10):
        client.get(reverse("stabilisation_window_list"))
    assert alerts.content.count(b"data-alert=") == 17
    none = client.get(reverse("stabilisation_window_list"), {"verdict": "stable"})
    assert b"No windows match these filters" in none.content
    unacked = client.get(reverse("kpi_alert_list"), {"acknowledged": "false"})
    assert unacked.content.count(b"data-alert=") == 17
