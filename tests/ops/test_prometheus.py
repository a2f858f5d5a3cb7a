"""Prometheus metrics at /metrics: protected, bounded labels, gate answers, job outcomes, queue
depth read at scrape time, and several gunicorn workers added up in multiprocess mode."""

from __future__ import annotations

import uuid

import pytest
import redis
from django.test import Client
from kombu import Connection
from prometheus_client.parser import text_string_to_metric_families

from releasemgr.celery import app as celery_app
from releasemgr.jobs import recorded
from releasemgr.models import JobRun
from tests.factories import FreezeWindowFactory, ReleaseFactory
from tests.ops.servers import fetch, gunicorn

pytestmark = pytest.mark.django_db

OUTSIDER = "203.0.113.9"  # TEST-NET-3: never in the allow-list


def scrape(client=None, **headers) -> dict[tuple, float]:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple, float]:
    """{(sample name, sorted labels): value}"""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def series(samples, name) -> list[dict]:
    return [dict(labels) for (sample, labels) in samples if sample == name]


# --- protection --------------------------------------------------------------------------------


def test_metrics_are_refused_from_an_address_outside_the_allow_list_without_a_token(client):
    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER)

    assert response.status_code == 403
    assert b"METRICS_TOKEN" in response.content
    assert b"releasemgr_http_requests_total" not in response.content


def test_a_wrong_token_is_refused_and_the_right_one_accepted(client, settings):
    settings.METRICS_TOKEN = "scrape-token-0123456789"

    wrong = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer nope")
    no_scheme = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=settings.METRICS_TOKEN
    )
    right = client.get(
        "/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION=f"Bearer {settings.METRICS_TOKEN}"
    )

    assert (wrong.status_code, no_scheme.status_code, right.status_code) == (403, 403, 200)
    assert b"releasemgr_http_requests_total" in right.content


def test_no_token_is_accepted_while_none_is_configured(client, settings):
    settings.METRICS_TOKEN = ""

    response = client.get("/metrics", REMOTE_ADDR=OUTSIDER, HTTP_AUTHORIZATION="Bearer ")

    assert response.status_code == 403


def test_loopback_is_allowed_by_default_and_the_allow_list_takes_networks(client, settings):
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::1").status_code == 200

    settings.METRICS_ALLOWED_IPS = ["198.51.100.0/24"]

    assert client.get("/metrics", REMOTE_ADDR="198.51.100.77").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:198.51.100.77").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_a_logged_in_user_outside_the_allow_list_is_still_refused(client, alice):
    client.force_login(alice)

    assert client.get("/metrics", REMOTE_ADDR=OUTSIDER).status_code == 403


def test_a_bad_allow_list_entry_is_refused_at_startup():
    import os
    import subprocess
    import sys

    from django.conf import settings

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env=dict(os.environ, METRICS_ALLOWED_IPS="127.0.0.1,not-an-address"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "METRICS_ALLOWED_IPS: 'not-an-address' is not an address" in result.stderr


# --- /metrics and /metrics/ side by side -------------------------------------------------------


def test_metrics_without_slash_is_prometheus_and_with_slash_the_metrics_pages(client, alice):
    prometheus = client.get("/metrics")
    client.force_login(alice)
    page = client.get("/metrics/")

    assert prometheus.status_code == 200  # not APPEND_SLASH's redirect to the page
    assert prometheus["Content-Type"].startswith("text/plain; version=0.0.4")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    assert page.resolver_match.view_name != "prometheus_metrics"


def test_openmetrics_is_served_when_prometheus_asks_for_it(client):
    response = client.get(
        "/metrics", HTTP_ACCEPT="application/openmetrics-text; version=1.0.0,text/plain;q=0.5"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.rstrip().endswith(b"# EOF")


# --- requests ----------------------------------------------------------------------------------


def test_requests_are_counted_and_timed_by_route_name_and_status(client, alice):
    before = scrape()
    client.force_login(alice)
    client.get("/releases/")
    client.get("/no-such-page-here/")

    after = scrape()
    labels = {"route": "release_list", "method": "GET", "status": "200"}
    assert value(after, "releasemgr_http_requests_total", **labels) == (
        value(before, "releasemgr_http_requests_total", **labels) + 1
    )
    assert value(after, "releasemgr_http_request_duration_seconds_count", **labels) == (
        value(before, "releasemgr_http_request_duration_seconds_count", **labels) + 1
    )
    missing = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "releasemgr_http_requests_total", **missing) >= 1


def test_two_release_keys_make_one_route_label(client, alice, dave):
    first = ReleaseFactory(author=dave, name="First")
    second = ReleaseFactory(author=dave, name="Second")
    client.force_login(alice)
    before = scrape()

    assert client.get(f"/releases/{first.key}/").status_code == 200
    assert client.get(f"/releases/{second.key}/").status_code == 200

    after = scrape()
    detail = {"route": "release_detail", "method": "GET", "status": "200"}
    assert value(after, "releasemgr_http_requests_total", **detail) == (
        value(before, "releasemgr_http_requests_total", **detail) + 2
    )
    routes = {labels["route"] for labels in series(after, "releasemgr_http_requests_total")}
    assert not any(first.key in route or second.key in route for route in routes)
    assert not any(route.startswith("/") for route in routes), routes  # names, never paths


def test_an_odd_method_is_labelled_other(client):
    before = scrape()
    client.generic("BREW", "/healthz")
    after = scrape()

    labels = {"route": "healthz", "method": "other", "status": "405"}
    assert value(after, "releasemgr_http_requests_total", **labels) == (
        value(before, "releasemgr_http_requests_total", **labels) + 1
    )


# --- gate answers and jobs ---------------------------------------------------------------------


def test_gate_answers_are_counted_by_status(api_client, pipeline, approved_release, environments):
    ci = api_client(pipeline)
    ask = {"service": "payments-api", "version": "1.4.2", "environment": "dev"}
    before = scrape()

    assert ci.post("/api/v1/gate/", ask).json()["status"] == "allowed"
    assert ci.post("/api/v1/gate/", {**ask, "version": "9.9.9"}).json()["status"] == "prevented"
    FreezeWindowFactory(name="Month-end close")
    assert ci.post("/api/v1/gate/", ask).json()["status"] == "waiting"

    after = scrape()
    for status in ("allowed", "prevented", "waiting"):
        assert value(after, "releasemgr_gate_answers_total", status=status) == (
            value(before, "releasemgr_gate_answers_total", status=status) + 1
        ), status


@celery_app.task(name="tests.ops.test_prometheus.tidy_up")
@recorded("observe-tidy-up")
def tidy_up(fail: bool = False):
    if fail:
        raise RuntimeError("the job broke")
    return "tidied 3 things"


def test_job_runs_are_counted_by_outcome():
    before = scrape()

    tidy_up.apply()
    tidy_up.apply()
    failed = tidy_up.apply(kwargs={"fail": True})

    after = scrape()
    assert isinstance(failed.result, RuntimeError)
    for outcome, runs in (("succeeded", 2), ("failed", 1)):
        labels = {"job": "observe-tidy-up", "outcome": outcome}
        assert value(after, "releasemgr_jobs_total", **labels) == (
            value(before, "releasemgr_jobs_total", **labels) + runs
        ), outcome
    assert JobRun.objects.filter(name="observe-tidy-up").count() == 3  # bookkeeping still done


# --- queue depth -------------------------------------------------------------------------------


def test_queue_depth_counts_the_filesystem_brokers_waiting_messages(settings, tmp_path):
    for sub in ("in", "processed", "control"):
        (tmp_path / sub).mkdir()
    options = {
        "data_folder_in": str(tmp_path / "in"),
        "data_folder_out": str(tmp_path / "in"),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
    }
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    settings.CELERY_TASK_DEFAULT_QUEUE = "observe-depth"
    assert value(scrape(), "releasemgr_celery_queue_depth", queue="observe-depth") == 0

    with Connection("filesystem://", transport_options=options) as conn:
        queue = conn.SimpleQueue("observe-depth")
        for n in range(3):
            queue.put({"n": n})
        other = conn.SimpleQueue("another-queue")
        other.put({"n": 99})

    samples = scrape()
    assert value(samples, "releasemgr_celery_queue_depth", queue="observe-depth") == 3
    assert value(samples, "releasemgr_celery_broker_up") == 1


def test_queue_depth_is_the_length_of_the_redis_queue(settings):
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    name = f"observe-depth-{uuid.uuid4().hex}"
    settings.CELERY_BROKER_URL = url
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    try:
        with Connection(url) as conn:
            queue = conn.SimpleQueue(name)
            for n in range(4):
                queue.put({"n": n})
        assert value(scrape(), "releasemgr_celery_queue_depth", queue=name) == 4
    finally:
        client = redis.Redis.from_url(url)
        client.delete(name, f"_kombu.binding.{name}")
        client.close()


def test_an_unreachable_broker_shows_as_down_and_the_scrape_still_works(settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"

    samples = scrape()

    assert value(samples, "releasemgr_celery_broker_up") == 0
    assert series(samples, "releasemgr_celery_queue_depth") == []


# --- several processes -------------------------------------------------------------------------


def test_multiprocess_mode_adds_up_every_gunicorn_worker(tmp_path):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    with gunicorn(tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(folder)) as base:
        baseline = parse(fetch(f"{base}/metrics")[1])
        for _ in range(12):
            assert fetch(f"{base}/healthz")[0] == 200
        status, text = fetch(f"{base}/metrics")
        pids = {path.name for path in folder.iterdir()}

    assert status == 200, text
    healthz = {"route": "healthz", "method": "GET", "status": "200"}
    counted = value(parse(text), "releasemgr_http_requests_total", **healthz)
    assert counted - value(baseline, "releasemgr_http_requests_total", **healthz) == 12
    # Each worker keeps its values in files of its own (the readiness polls are in there too).
    assert len({name.rsplit("_", 1)[-1] for name in pids if name.startswith("counter_")}) >= 1
