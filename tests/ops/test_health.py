"""/healthz and /readyz for load balancers: unauthenticated, no session, cheap, quiet in the
logs, and /readyz answering 503 naming what is down (a real unreachable database or broker)."""

from __future__ import annotations

import logging

import pytest
import redis

from tests.ops.servers import closed_port, get, gunicorn

pytestmark = pytest.mark.django_db


# --- /healthz ----------------------------------------------------------------------------------


def test_healthz_answers_ok_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]
    assert "sessionid" not in response.cookies
    assert response["X-Request-ID"]


def test_probes_need_no_login_and_set_no_session(client):
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
        assert not response.cookies, path  # no session, no CSRF cookie


def test_a_probe_refuses_a_post(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


# --- /readyz -----------------------------------------------------------------------------------


def test_readyz_reports_each_check_when_everything_is_reachable(client):
    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["failed"] == []
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["detail"].startswith("SELECT 1")
    assert body["checks"]["broker"]["ok"] is True


def test_readyz_fails_naming_the_database_when_it_is_unreachable(tmp_path):
    # The app in its own process, its DATABASE_URL pointing at a port nobody listens on.
    unreachable = f"postgres://releasemgr@127.0.0.1:{closed_port()}/releasemgr?connect_timeout=3"
    with gunicorn(tmp_path, DATABASE_URL=unreachable) as base:
        status, body = get(f"{base}/readyz")
        health_status, _ = get(f"{base}/healthz")

    assert status == 503, body
    assert body["status"] == "failing"
    assert body["failed"] == ["database"]
    assert body["checks"]["database"] == {"ok": False, "detail": "unreachable (OperationalError)"}
    assert body["checks"]["broker"]["ok"] is True
    # The process itself is fine: a load balancer keeps it, but sends it no traffic.
    assert health_status == 200


def test_readyz_fails_naming_the_broker_when_redis_is_unreachable(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503, body
    assert body["failed"] == ["broker"]
    assert body["checks"]["broker"]["detail"] == "redis unreachable (ConnectionError)"
    assert body["checks"]["database"]["ok"] is True


def test_readyz_fails_naming_the_broker_when_its_folder_cannot_be_written(
    client, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the broker expects its folder")
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(blocker / "in"),
        "data_folder_out": str(blocker / "in"),
        "processed_folder": str(blocker / "processed"),
    }

    response = client.get("/readyz")

    body = response.json()
    assert response.status_code == 503, body
    assert body["failed"] == ["broker"]
    assert "not writable" in body["checks"]["broker"]["detail"]


def test_readyz_pings_a_real_redis_when_the_broker_is_redis(client, settings):
    url = settings.REDIS_URL or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    settings.CELERY_BROKER_URL = url

    response = client.get("/readyz")

    assert response.status_code == 200, response.content
    assert response.json()["checks"]["broker"] == {"ok": True, "detail": "redis PING answered"}


def test_the_readyz_check_leaves_no_file_in_the_broker_folders(client, settings, tmp_path):
    folders = {key: tmp_path / key for key in ("in", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(folders["in"]),
        "data_folder_out": str(folders["in"]),
        "processed_folder": str(folders["processed"]),
        "control_folder": str(folders["control"]),
    }

    assert client.get("/readyz").status_code == 200
    assert [list(folder.iterdir()) for folder in folders.values()] == [[], [], []]


# --- quiet logs --------------------------------------------------------------------------------


def test_probes_are_logged_at_debug_and_pages_at_info(client, alice, caplog):
    caplog.set_level(logging.DEBUG, logger="releasemgr.request")
    client.get("/healthz")
    client.get("/readyz")
    client.force_login(alice)
    client.get("/releases/")

    lines = {r.route: r.levelno for r in caplog.records if r.name == "releasemgr.request"}
    assert lines == {
        "healthz": logging.DEBUG,
        "readyz": logging.DEBUG,
        "release_list": logging.INFO,
    }


def test_runserver_request_lines_for_probes_are_dropped_but_not_failures():
    from releasemgr.logging import QuietProbesFilter

    quiet = QuietProbesFilter()

    def record(line, status, level=logging.INFO):
        return logging.LogRecord(
            "django.server", level, "", 0, '"%s" %s %s', (line, status, 2), None
        )

    assert quiet.filter(record("GET /healthz HTTP/1.1", "200")) is False
    assert quiet.filter(record("GET /readyz HTTP/1.1", "200")) is False
    assert quiet.filter(record("GET /metrics HTTP/1.1", "200")) is False
    assert quiet.filter(record("GET /readyz HTTP/1.1", "503", logging.ERROR)) is True
    assert quiet.filter(record("GET /metrics/ HTTP/1.1", "200")) is True
    assert quiet.filter(record("GET /releases/ HTTP/1.1", "200")) is True
