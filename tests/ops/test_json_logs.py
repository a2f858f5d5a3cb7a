"""Structured logs: one JSON object per line with the request id, user or token, route, method,
status and duration; the request id taken from a sane X-Request-ID and echoed; secrets
redacted in the message, the traceback and extra fields; Celery task lines with the task."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings

from releasemgr.celery import app as celery_app
from releasemgr.logging import (
    JsonFormatter,
    PlainFormatter,
    RedactingFilter,
    RequestContextFilter,
)
from releases.tasks import flag_stalled_deployments_task
from tests.celery_worker import real_worker

pytestmark = pytest.mark.django_db

GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
URL_PASSWORD = "hunter2-Correct-Horse"
DB_PASSWORD = "s3cr3t-Value-42"
BEARER = "eyJhbGciOiJIUzI1NiJ9abcdefghijkl"
SECRETS = (GITHUB, URL_PASSWORD, DB_PASSWORD, BEARER)


@pytest.fixture
def json_log():
    """The console handler as LOG_FORMAT=json configures it, writing to a buffer: ``lines()``."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContextFilter())
    handler.addFilter(RedactingFilter())
    # The root logger, and Django's, which does not propagate to it.
    loggers = [logging.getLogger(), logging.getLogger("django")]
    for logger in loggers:
        logger.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.text = stream.getvalue
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)


def request_lines(lines):
    return [line for line in lines() if line["logger"] == "releasemgr.request"]


def test_a_page_request_writes_one_json_line_with_its_context(client, alice, json_log):
    client.force_login(alice)

    response = client.get("/releases/")

    (line,) = request_lines(json_log)
    assert response.status_code == 200
    assert line["level"] == "INFO"
    assert line["message"] == "GET /releases/ 200"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user"] == "alice"
    assert (line["route"], line["method"], line["status"]) == ("release_list", "GET", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$", line["time"])


def test_a_sane_request_id_is_kept_and_echoed(client, json_log):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.2026:42")

    assert response["X-Request-ID"] == "lb-7f3a.2026:42"


@pytest.mark.parametrize(
    "sent",
    ["has spaces in it", "x" * 129, "line\nbreak", "<script>", "-starts-with-dash", "é-accent"],
)
def test_an_odd_request_id_is_replaced_by_a_new_one(client, sent):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=sent)

    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_every_request_gets_its_own_id(client):
    ids = {client.get("/healthz")["X-Request-ID"] for _ in range(3)}

    assert len(ids) == 3


def test_an_api_request_names_the_token_and_the_route(api_client, pipeline, json_log):
    response = api_client(pipeline).get("/api/v1/releases/")

    (line,) = request_lines(json_log)
    assert response.status_code == 200
    assert line["user"] == "token:test"
    assert line["route"] == "api:release-list"
    assert line["request_id"] == response["X-Request-ID"]


def test_records_written_while_serving_carry_the_request_id(client, alice, json_log):
    client.force_login(alice)

    response = client.get("/releases/REL-2999-9999/")

    assert response.status_code == 404
    warnings = [line for line in json_log() if line["logger"] == "django.request"]
    assert warnings, json_log.text()
    assert warnings[0]["request_id"] == response["X-Request-ID"]
    assert warnings[0]["user"] == "alice"
    assert "request" not in warnings[0]  # the request object itself is not dumped


def test_a_planted_secret_never_reaches_the_json_output(json_log):
    logger = logging.getLogger("releases.deploy")
    logger.warning(
        "pipeline https://ci:%s@ci.example.com/job failed with %s",
        URL_PASSWORD,
        GITHUB,
        extra={
            "password": DB_PASSWORD,
            "detail": f"Authorization: Bearer {BEARER}",
            "payload": {"env": {"DB_PASSWORD": DB_PASSWORD}, "args": [f"token={GITHUB}"]},
        },
    )
    try:
        raise RuntimeError(f"could not reach postgres://app:{URL_PASSWORD}@db/shop")
    except RuntimeError:
        logger.exception("deployment hook failed, key %s", GITHUB)

    text = json_log.text()
    assert [secret for secret in SECRETS if secret in text] == []
    first, second = json_log()
    assert "[REDACTED]" in first["message"]
    assert first["password"] == "[REDACTED]"
    assert first["detail"] == "Authorization: Bearer [REDACTED]"
    assert first["payload"]["env"]["DB_PASSWORD"] == "[REDACTED]"
    assert "RuntimeError" in second["exc_info"]


def test_the_json_formatter_redacts_even_without_the_filter():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token %s", (GITHUB,), None, func="f"
    )
    record.api_key = DB_PASSWORD
    record.note = f"see https://ci:{URL_PASSWORD}@ci/x"

    text = JsonFormatter().format(record)

    assert [secret for secret in SECRETS if secret in text] == []
    assert json.loads(text)["api_key"] == "[REDACTED]"


def test_a_celery_task_line_carries_the_task_name_and_id(json_log):
    result = log_from_a_task.apply()

    (line,) = [line for line in json_log() if line["logger"] == "tests.ops.task"]
    assert line["message"] == "tidying up"
    assert line["task_name"] == "tests.ops.test_json_logs.log_from_a_task"
    assert line["task_id"] == result.id


@celery_app.task(name="tests.ops.test_json_logs.log_from_a_task")
def log_from_a_task():
    logging.getLogger("tests.ops.task").warning("tidying up")


def test_plain_lines_carry_the_request_id_and_user_too(client, alice):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(PlainFormatter())
    handler.addFilter(RequestContextFilter())
    logging.getLogger("releasemgr.request").addHandler(handler)
    try:
        client.force_login(alice)
        response = client.get("/releases/")
    finally:
        logging.getLogger("releasemgr.request").removeHandler(handler)

    line = stream.getvalue().strip()
    assert line.endswith(f"GET /releases/ 200 [request_id={response['X-Request-ID']} user=alice]")


# --- the settings, in a process of their own ---------------------------------------------------


def run_django(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=settings.BASE_DIR,
        env=dict(os.environ, DJANGO_SETTINGS_MODULE="releasemgr.settings", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_log_format_json_makes_the_console_write_json(tmp_path):
    result = run_django(
        "import logging; logging.getLogger('releases').warning('push with %s', "
        f"'{GITHUB}', extra={{'password': '{DB_PASSWORD}'}})",
        LOG_FORMAT="json",
        RELEASEMGR_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    (line,) = [line for line in lines if line["logger"] == "releases"]
    assert line["message"] == "push with [REDACTED]"
    assert line["password"] == "[REDACTED]"
    assert [secret for secret in SECRETS if secret in result.stderr] == []


def test_plain_is_the_default_format(tmp_path):
    result = run_django(
        "import logging; logging.getLogger('releases').warning('hello')",
        RELEASEMGR_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"^\S+ \S+ WARNING releases hello$", result.stderr, re.M), result.stderr


def test_an_unknown_log_format_is_refused_with_a_clear_message(tmp_path):
    result = run_django("pass", LOG_FORMAT="xml", RELEASEMGR_VAR_DIR=str(tmp_path))

    assert result.returncode != 0
    assert "LOG_FORMAT='xml' is not a log format (use plain or json)" in result.stderr


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_logs_json_lines_with_the_task(tmp_path, monkeypatch):
    monkeypatch.setenv("LOG_FORMAT", "json")
    from releasemgr.models import JobRun

    with real_worker(tmp_path) as worker:
        worker.send(flag_stalled_deployments_task)
        worker.wait_until(
            lambda: JobRun.objects.filter(
                name="flag_stalled_deployments", status=JobRun.Status.SUCCEEDED
            ).exists()
        )
        worker.process.terminate()
        output = worker.process.communicate(timeout=30)[0].decode()

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    task_lines = [
        line
        for line in lines
        if line.get("task_name") == "releases.tasks.flag_stalled_deployments_task"
    ]
    assert task_lines, output[-3000:]
    assert all(line["task_id"] for line in task_lines)
