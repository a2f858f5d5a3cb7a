"""The KPI watch on a real Celery worker: samples posted through the API raise an alert."""

from datetime import timedelta

import pytest

from metrics.jobs_kpis import kpi_watch_task
from metrics.models import KpiAlert, StabilisationWindow
from releasemgr.models import JobRun, Notification
from tests.celery_worker import real_worker
from tests.metrics.kpi_helpers import kpi, shift_back


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_turns_posted_breaching_samples_into_one_alert(
    api_client, pipeline, move_to, payments, environments, tmp_path
):
    """Redis when REDIS_URL is set (CI), the filesystem broker otherwise."""
    release = move_to("deployed")
    window = shift_back(StabilisationWindow.objects.get(release=release), 5)
    kpi(payments, threshold=2.0)
    after = window.opened_at + timedelta(hours=1)
    body = {
        "samples": [
            {
                "service": "payments-api",
                "kpi": "http_5xx_rate",
                "environment": "production",
                "value": value,
                "unit": "%",
                "measured_at": (after + timedelta(minutes=10 * i)).isoformat(),
                "source": "prometheus",
            }
            for i, value in enumerate([0.5, 3.2, 4.1, 0.7])
        ]
    }
    posted = api_client(pipeline).post("/api/v1/kpis/", body, format="json")
    assert posted.status_code == 201, posted.json()

    with real_worker(tmp_path) as worker:
        worker.send(kpi_watch_task, times=2)
        worker.wait_until(
            lambda: JobRun.objects.filter(name="kpi_watch", status=JobRun.Status.SUCCEEDED).count()
            == 2
        )

    alert = KpiAlert.objects.get()
    assert alert.window_id == window.pk and alert.value == 4.1 and alert.limit == 2.0
    assert Notification.objects.filter(kind="kpi_alert", user=release.author).count() == 1
    window.refresh_from_db()
    assert window.state == "open" and window.reasons[0]["code"] == "kpi_breached"
