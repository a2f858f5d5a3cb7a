"""The KPI watch API: definitions, samples (bad input writes nothing), windows and alerts."""

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import jobs_kpis
from metrics.models import Kpi, KpiAlert, KpiSample, StabilisationWindow
from tests.factories import ServiceFactory
from tests.metrics.kpi_helpers import kpi, samples, shift_back

H = timedelta(hours=1)


@pytest.fixture
def error_rate(payments):
    return kpi(payments, threshold=2.0)


def _sample(**overrides):
    body = {
        "service": "payments-api",
        "kpi": "http_5xx_rate",
        "environment": "production",
        "value": 0.4,
        "unit": "%",
        "source": "prometheus",
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_a_pipeline_posts_one_sample(api_client, pipeline, error_rate, environments):
    response = api_client(pipeline).post("/api/v1/kpis/", _sample(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kpi"] == "http_5xx_rate" and body["value"] == 0.4 and body["unit"] == "%"
    assert body["posted_by"] == "pipeline"
    sample = KpiSample.objects.get()
    assert abs((sample.measured_at - timezone.now()).total_seconds()) < 60


@pytest.mark.django_db
def test_a_batch_is_recorded_whole(api_client, pipeline, error_rate, environments):
    when = (timezone.now() - 2 * H).isoformat()
    batch = {"samples": [_sample(value=1.0, measured_at=when), _sample(value=1.2)]}
    response = api_client(pipeline).post("/api/v1/kpis/", batch, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["recorded"] == 2
    assert KpiSample.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"unit": "ms"}, "unit", "measured in '%'"),
        ({"service": "nope"}, "service", "Unknown service 'nope'"),
        ({"kpi": "nope"}, "kpi", "no KPI named 'nope'"),
        ({"environment": "mars"}, "environment", "Unknown environment 'mars'"),
        ({"measured_at": "2099-01-01T00:00:00Z"}, "measured_at", "in the future"),
        ({"value": "abc"}, "value", "valid number"),
        ({"value": None}, "value", "null"),
    ],
)
def test_a_bad_sample_is_refused_with_its_reason_and_nothing_is_written(
    api_client, pipeline, error_rate, environments, bad, field, words
):
    batch = {"samples": [_sample(), _sample(**bad)]}
    response = api_client(pipeline).post("/api/v1/kpis/", batch, format="json")
    assert response.status_code == 400
    errors = response.json()["samples"]
    text = str(errors)
    assert field in text and words in text, text
    assert KpiSample.objects.count() == 0
    single = api_client(pipeline).post("/api/v1/kpis/", _sample(**bad), format="json")
    assert single.status_code == 400 and words in str(single.json()[field])
    assert KpiSample.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_values_are_refused(api_client, pipeline, error_rate, environments, value):
    raw = f'{{"service": "payments-api", "kpi": "http_5xx_rate", "environment": "production", "value": {value}, "unit": "%"}}'
    response = api_client(pipeline).post("/api/v1/kpis/", raw, content_type="application/json")
    assert response.status_code == 400
    assert KpiSample.objects.count() == 0
    assert not math.isnan(0.0)


@pytest.mark.django_db
def test_a_retried_post_with_the_same_idempotency_key_records_once(
    api_client, pipeline, error_rate, environments
):
    client = api_client(pipeline)
    batch = {"samples": [_sample(value=1.0), _sample(value=1.1)]}
    first = client.post("/api/v1/kpis/", batch, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    again = client.post("/api/v1/kpis/", batch, format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert KpiSample.objects.count() == 2
    other = client.post("/api/v1/kpis/", _sample(), format="json", HTTP_IDEMPOTENCY_KEY="run-42")
    assert other.status_code == 422
    assert KpiSample.objects.count() == 2


@pytest.mark.django_db
def test_an_empty_batch_is_refused(api_client, pipeline, error_rate):
    response = api_client(pipeline).post("/api/v1/kpis/", {"samples": []}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_source_text_is_redacted(api_client, pipeline, error_rate, environments):
    source = "probe password=hunter2"
    response = api_client(pipeline).post("/api/v1/kpis/", _sample(source=source), format="json")
    assert response.status_code == 201
    assert "hunter2" not in KpiSample.objects.get().source


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["carol", "dave", "olivia", "paula", "audrey", "alice"])
def test_only_pipelines_and_deployers_post_samples(
    api_client, request, who, error_rate, environments
):
    user = request.getfixturevalue(who)
    response = api_client(user).post("/api/v1/kpis/", _sample(), format="json")
    assert response.status_code == 403
    assert KpiSample.objects.count() == 0


@pytest.mark.django_db
def test_a_deployer_may_post_samples(api_client, bob, error_rate, environments):
    assert api_client(bob).post("/api/v1/kpis/", _sample(), format="json").status_code == 201


@pytest.mark.django_db
def test_samples_are_listed_with_filters(api_client, audrey, error_rate, payments, environments):
    other = kpi(payments, name="p99_latency", unit="ms")
    start = timezone.now() - 10 * H
    samples(error_rate, environments["production"], start, [1, 2, 3])
    samples(other, environments["staging"], start, [100])
    client = api_client(audrey)
    assert client.get("/api/v1/kpis/").json()["count"] == 4
    assert client.get("/api/v1/kpis/?kpi=p99_latency").json()["count"] == 1
    assert client.get("/api/v1/kpis/?environment=production").json()["count"] == 3
    since = (start + 90 * timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    assert client.get("/api/v1/kpis/", {"since": since}).json()["count"] == 1
    assert client.get("/api/v1/kpis/?service=nope").json()["count"] == 0


@pytest.mark.django_db
def test_sample_and_definition_lists_use_a_bounded_number_of_queries(
    api_client, audrey, payments, environments, django_assert_max_num_queries
):
    client = api_client(audrey)
    k = kpi(payments, threshold=1)
    samples(k, environments["production"], timezone.now() - 50 * H, [1])
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/kpis/").status_code == 200
        assert client.get("/api/v1/kpi-definitions/").status_code == 200
    for i in range(15):
        kpi(ServiceFactory(), name=f"kpi{i}")
    samples(k, environments["production"], timezone.now() - 40 * H, list(range(30)))
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/kpis/").status_code == 200
        assert client.get("/api/v1/kpi-definitions/").status_code == 200


@pytest.mark.django_db
def test_a_release_manager_defines_edits_and_deletes_a_kpi(api_client, alice, payments):
    client = api_client(alice)
    body = {
        "service": "payments-api",
        "name": "p99_latency",
        "kind": "latency",
        "unit": "ms",
        "tolerance_percent": 25,
    }
    created = client.post("/api/v1/kpi-definitions/", body, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert created.json()["direction"] == "higher_is_worse"
    dup = client.post("/api/v1/kpi-definitions/", body, format="json")
    assert dup.status_code == 400 and "already has a KPI" in str(dup.json()["name"])
    patched = client.patch(f"/api/v1/kpi-definitions/{pk}/", {"threshold": 400}, format="json")
    assert patched.status_code == 200 and patched.json()["threshold"] == 400
    assert Kpi.objects.get(pk=pk).history.count() == 2
    assert client.delete(f"/api/v1/kpi-definitions/{pk}/").status_code == 204
    assert not Kpi.objects.exists()


@pytest.mark.django_db
def test_bad_kpi_definitions_write_nothing(api_client, alice, payments):
    client = api_client(alice)
    for bad in (
        {"kind": "mood"},
        {"service": "nope"},
        {"tolerance_percent": -5},
        {"name": "has spaces"},
        {"unit": ""},
    ):
        body = {"service": "payments-api", "name": "x", "kind": "latency", "unit": "ms", **bad}
        assert client.post("/api/v1/kpi-definitions/", body, format="json").status_code == 400
    assert Kpi.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["bob", "carol", "dave", "olivia", "paula", "audrey", "pipeline"])
def test_only_release_managers_define_kpis(api_client, request, who, payments):
    user = request.getfixturevalue(who)
    body = {"service": "payments-api", "name": "x", "kind": "latency", "unit": "ms"}
    assert api_client(user).post("/api/v1/kpi-definitions/", body, format="json").status_code == 403
    assert Kpi.objects.count() == 0


@pytest.mark.django_db
def test_a_kpi_with_alerts_cannot_be_deleted(api_client, alice, move_to, payments, environments):
    move_to("deployed")
    window = StabilisationWindow.objects.get()
    k = kpi(payments, threshold=1)
    samples(k, environments["production"], window.opened_at + H, [5])
    jobs_kpis.run(window.opened_at + 3 * H)
    response = api_client(alice).delete(f"/api/v1/kpi-definitions/{k.pk}/")
    assert response.status_code == 409
    assert Kpi.objects.filter(pk=k.pk).exists()


@pytest.mark.django_db
def test_windows_and_alerts_read_with_verdict_reasons_and_acknowledge(
    api_client, alice, audrey, dave, move_to, payments, environments
):
    move_to("deployed")
    window = shift_back(StabilisationWindow.objects.get(), 6)
    k = kpi(payments, threshold=1)
    samples(k, environments["production"], window.opened_at + H, [5, 0.5])
    jobs_kpis.run()
    reader = api_client(audrey)
    listed = reader.get("/api/v1/stabilisation-windows/").json()["results"]
    assert listed[0]["state"] == "open" and listed[0]["reasons"][0]["code"] == "kpi_breached"
    detail = reader.get(f"/api/v1/stabilisation-windows/{window.pk}/").json()
    assert detail["reasons"][0]["data"]["limit"] == 1
    assert reader.get("/api/v1/stabilisation-windows/?state=closed").json()["count"] == 0
    alerts = reader.get("/api/v1/kpi-alerts/?acknowledged=false").json()["results"]
    assert len(alerts) == 1 and alerts[0]["value"] == 5
    pk = alerts[0]["id"]
    assert api_client(dave).post(f"/api/v1/kpi-alerts/{pk}/acknowledge/").status_code == 403
    ok = api_client(alice).post(
        f"/api/v1/kpi-alerts/{pk}/acknowledge/", {"note": "rolling forward"}, format="json"
    )
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "alice"
    again = api_client(alice).post(f"/api/v1/kpi-alerts/{pk}/acknowledge/")
    assert again.status_code == 409
    assert KpiAlert.objects.get().history.count() == 2
    assert reader.post("/api/v1/stabilisation-windows/", {}, format="json").status_code in (
        403,
        405,
    )


@pytest.mark.django_db
def test_window_and_alert_lists_use_a_bounded_number_of_queries(
    api_client, audrey, move_to, payments, environments, django_assert_max_num_queries
):
    move_to("deployed")
    window = StabilisationWindow.objects.get()
    client = api_client(audrey)
    with django_assert_max_num_queries(12):
        client.get("/api/v1/stabilisation-windows/")
        client.get("/api/v1/kpi-alerts/")
    for i in range(6):
        k = kpi(payments, name=f"k{i}", threshold=1)
        samples(k, environments["production"], window.opened_at + H, [5, 0, 6])
    jobs_kpis.run(window.opened_at + 10 * H)
    assert KpiAlert.objects.count() == 12
    with django_assert_max_num_queries(12):
        client.get("/api/v1/stabilisation-windows/")
        client.get("/api/v1/kpi-alerts/")
