"""Secrets are never stored or shown (DESIGN rule 6).

A pipeline and a help desk post planted secrets of every kind through the API (deployment
start, deployment events, test results, a gate question with an override reason, KPI samples,
incidents, support tickets). Afterwards none of them is anywhere: not in any text column of any
table (history tables included), not in the pages people open, not in the API's answers, not in
an evidence pack built for the release, and not in the server logs.
"""

import io
import logging
import zipfile
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Cast
from django.test import Client
from django.utils import timezone

from governance import evidence
from governance.evidence_build import build_pack
from releasemgr.logging import RedactingFilter
from releasemgr.redaction import MASK, found_in, redact, redact_data
from tests.releases import builders

# The secret part of each plant: what must never be found again.
GITHUB = "ghp_R3l34s3M4n4g3rT0k3nF0rT3st1ngXyZ123"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123"
GITLAB = "glpat-Zx9Yw8Vu7Ts6Rq5Po4Nm"
SLACK = "xoxb-123456789012-abcdefghijklMNOP"
SLACK_HOOK = "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/q1w2e3r4t5y6u7i8o9p0"
BEARER = "eyBearerOpaqueValue.0123456789abcdef"
URL_PASSWORD = "Pa55w0rdInTheUrl"
KEY_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
AWS_KEY_ID = "AKIAQ3EGRELEASEMGR7X"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYRELEASEMGRK"
GCP_KEY_BODY = "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkGCPSERVICEACCT"
AZURE_KEY = "Zm9vYmFyYmF6cXV4QXp1cmVTdG9yYWdlS2V5MDEyMzQ1Njc4OQ=="
DB_PASSWORD = "Hunter2-DbPassw0rd"
SECRETS = [
    GITHUB,
    GITHUB_PAT,
    GITLAB,
    SLACK,
    SLACK_HOOK,
    BEARER,
    URL_PASSWORD,
    KEY_BODY,
    AWS_KEY_ID,
    AWS_SECRET,
    GCP_KEY_BODY,
    AZURE_KEY,
    DB_PASSWORD,
]

PLANTS = [
    f"git push https://x-access-token:{GITHUB}@github.com/acme/shop.git",
    f"fine-grained {GITHUB_PAT}",
    f"gitlab token {GITLAB}",
    f"slack {SLACK} hook {SLACK_HOOK}",
    f"curl -H 'Authorization: Bearer {BEARER}' https://api.example.com",
    f"db url postgres://app:{URL_PASSWORD}@db.internal:5432/shop",
    f"-----BEGIN RSA PRIVATE KEY-----\n{KEY_BODY}\nabc\n-----END RSA PRIVATE KEY-----",
    f"AWS_ACCESS_KEY_ID={AWS_KEY_ID} AWS_SECRET_ACCESS_KEY={AWS_SECRET}",
    '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
    + GCP_KEY_BODY
    + '\\n-----END PRIVATE KEY-----\\n", "client_email": "ci@p.iam.gserviceaccount.com"}',
    "DefaultEndpointsProtocol=https;AccountName=shop;"
    f"AccountKey={AZURE_KEY};EndpointSuffix=core.windows.net",
    f"DB_PASSWORD={DB_PASSWORD}",
]
PLANTED = "\n".join(PLANTS)


DOMAIN_APPS = ("releasemgr", "releases", "scheduling", "governance", "metrics")


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


# --- the redaction rules, kind by kind -----------------------------------------------------------


@pytest.mark.parametrize("line", PLANTS)
def test_every_kind_of_planted_secret_is_redacted(line):
    assert leaks(redact(line)) == []


def test_found_in_names_each_kind():
    kinds = set(found_in(PLANTED))

    assert {
        "a GitHub token",
        "a GitLab token",
        "a Slack token",
        "a Slack webhook URL",
        "a bearer or token credential",
        "a password in a URL",
        "a private key",
        "an AWS access key",
        "an Azure account key or signature",
        "a literal value of a secret-named variable",
    } <= kinds


def test_references_to_secrets_are_kept_and_plain_text_is_untouched():
    text = "DB_PASSWORD=vault:secret/shop/db API_TOKEN=${CI_TOKEN} deployed 3 pods to eu-west-1"

    assert redact(text) == text


def test_a_service_account_json_as_data_has_its_key_blanked():
    data = {
        "type": "service_account",
        "private_key_id": "a1b2",
        "private_key": "x\n" + GCP_KEY_BODY,
    }

    assert redact_data(data) == {
        "type": "service_account",
        "private_key_id": MASK,
        "private_key": MASK,
    }


# --- end to end -----------------------------------------------------------------------------------


@pytest.fixture
def evidence_dir(settings, tmp_path):
    settings.EVIDENCE_DIR = tmp_path / "evidence"
    return settings.EVIDENCE_DIR


@pytest.fixture
def planted(
    api_client,
    draft_release,
    dave,
    carol,
    alice,
    pipeline,
    bob,
    environments,
    payments,
    caplog,
    request,
):
    """Everything a pipeline and a help desk could send, with secrets in every free-text field.
    Returns the API's answers (bodies as text)."""
    # caplog's handler stands for the console handler: same filter, and it also listens to
    # runserver's request lines, which do not reach the root logger.
    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.INFO)
    server = logging.getLogger("django.server")
    server.addHandler(caplog.handler)
    request.addfinalizer(lambda: server.removeHandler(caplog.handler))
    release = builders.approve(draft_release, dave, carol)
    client = api_client(pipeline)
    answers = []

    def post(url, body, **headers):
        response = client.post(url, body, format="json", **headers)
        answers.append(response.content.decode())
        return response

    started = post(
        "/api/v1/deployments/",
        {
            "release": release.key,
            "environment": "dev",
            "pipeline_url": f"https://ci:{URL_PASSWORD}@ci.example.com/p/1?token={GITHUB}",
        },
        HTTP_IDEMPOTENCY_KEY="deploy-1",
    )
    assert started.status_code == 201, started.content
    deployment = started.json()["id"]
    for body in (
        {"type": "log", "message": PLANTED, "target": f"node-1 token={GITLAB}"},
        {"type": "smoke", "status": "ok", "message": f"smoke passed with Bearer {BEARER}"},
        {"type": "succeeded", "message": f"done; {AWS_KEY_ID}"},
    ):
        response = post(
            f"/api/v1/deployments/{deployment}/events/", body, HTTP_IDEMPOTENCY_KEY=body["type"]
        )
        assert response.status_code == 201, response.content
    response = post(
        "/api/v1/test-results/",
        {
            "release": release.key,
            "environment": "dev",
            "suite": "smoke",
            "kind": f"k6 token={SLACK}",
            "status": "passed",
            "pipeline_url": f"https://ci:{URL_PASSWORD}@ci.example.com/t/1",
        },
    )
    assert response.status_code == 201, response.content
    response = post(
        "/api/v1/gate/",
        {
            "service": payments.slug,
            "version": release.version,
            "environment": "test",
            "reason": f"override approved, see {SLACK_HOOK} password={DB_PASSWORD}",
        },
    )
    assert response.status_code == 200, response.content
    # The help desk's tickets, and the monitors' and on-call's reports where those APIs exist.
    response = api_client(bob).post(
        "/api/v1/support-tickets/",
        {
            "external_id": "HD-S1",
            "service": payments.slug,
            "opened_at": timezone.now().isoformat(),
            "subject": f"Login fails, my token is {GITHUB}",
            "text": PLANTED,
            "source": f"helpdesk password={DB_PASSWORD}",
        },
        format="json",
    )
    answers.append(response.content.decode())
    assert response.status_code == 201, response.content
    if apps.is_installed("metrics") and _has_model("metrics", "Incident"):
        response = api_client(bob).post(
            "/api/v1/incidents/",
            {
                "title": f"Checkout 502s {AWS_KEY_ID}",
                "description": PLANTED,
                "service": payments.slug,
                "severity": "high",
                "started_at": timezone.now().isoformat(),
            },
            format="json",
        )
        answers.append(response.content.decode())
        assert response.status_code == 201, response.content
    if _has_model("metrics", "Kpi") and _has_model("metrics", "KpiSample"):
        kpi = apps.get_model("metrics", "Kpi")(
            service=payments, name="http_5xx_rate", kind="error_rate", unit="%"
        )
        kpi.save_with_reason("test")
        response = post(
            "/api/v1/kpis/",
            {
                "service": payments.slug,
                "kpi": "http_5xx_rate",
                "environment": "dev",
                "value": 0.1,
                "unit": "%",
                "source": f"prometheus {SLACK_HOOK} apikey={DB_PASSWORD}",
            },
        )
        assert response.status_code in (200, 201), response.content
    # Request lines as runserver logs them, and an error with a secret in its message.
    logging.getLogger("django.server").info('"GET /api/v1/gate/?token=%s HTTP/1.1" 200 12', GITHUB)
    try:
        raise RuntimeError(f"could not reach postgres://app:{URL_PASSWORD}@db/shop")
    except RuntimeError:
        logging.getLogger("releases").exception("deployment hook failed")
    return {"release": release, "deployment": deployment, "answers": answers}


def _has_model(app, name):
    try:
        apps.get_model(app, name)
    except LookupError:
        return False
    return True


def _text_columns(model):
    return [
        f
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField | models.JSONField)
    ]


def rows_with_secrets() -> list[tuple[str, str, list[str]]]:
    """(model, column, secrets) for every text column of every table (history tables too)
    holding a planted secret."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.app_label not in DOMAIN_APPS:
            continue
        for field in _text_columns(model):
            column = field.name
            queryset = model._default_manager.all()
            if isinstance(field, models.JSONField):
                queryset = queryset.annotate(_as_text=Cast(field.name, models.TextField()))
                column = "_as_text"
            match = Q()
            for secret in SECRETS:
                match |= Q(**{f"{column}__contains": secret})
            for value in queryset.filter(match).values_list(column, flat=True)[:3]:
                found.append((model.__name__, field.name, leaks(str(value))))
    return found


def test_no_table_holds_a_planted_secret(planted):
    from metrics.models import SupportTicket
    from releases.models import Deployment, DeploymentEvent, TestResult

    assert rows_with_secrets() == []
    # What was posted is there, redacted, not dropped.
    assert DeploymentEvent.objects.filter(message__contains=MASK).count() == 3
    assert Deployment.objects.get().pipeline_url.startswith(f"https://ci:{MASK}@ci.example.com/")
    assert TestResult.objects.get().kind == f"k6 token={MASK}"
    assert SupportTicket.objects.get().subject == f"Login fails, my token is {MASK}"


def test_the_table_scan_finds_a_secret_stored_behind_redactions_back(payments):
    from releases.models import Team

    team = Team(slug="leaky", name=f"token {GITLAB}")
    team.save_with_reason(f"history too {SLACK}")

    found = rows_with_secrets()

    assert ("Team", "name", [GITLAB]) in found
    assert ("HistoricalTeam", "name", [GITLAB]) in found
    assert ("HistoricalTeam", "history_change_reason", [SLACK]) in found


def test_no_api_answer_shows_a_planted_secret(planted, api_client, audrey):
    client = api_client(audrey)
    release = planted["release"]
    reads = [
        f"/api/v1/deployments/{planted['deployment']}/",
        f"/api/v1/deployments/{planted['deployment']}/events/",
        "/api/v1/deployments/",
        f"/api/v1/releases/{release.key}/",
        "/api/v1/test-results/",
        "/api/v1/gate-decisions/",
        "/api/v1/support-tickets/",
        "/api/v1/decision-log/",
    ]
    if _has_model("metrics", "Incident"):
        reads.append("/api/v1/incidents/")
    if _has_model("metrics", "KpiSample"):
        reads.append("/api/v1/kpis/")
    bodies = planted["answers"] + [client.get(url).content.decode() for url in reads]

    assert [leaks(body) for body in bodies if leaks(body)] == []
    assert any(MASK in body for body in bodies)


def test_no_page_shows_a_planted_secret(planted, alice):
    client = Client()
    client.force_login(alice)
    release = planted["release"]
    from metrics.models import SupportTicket

    pages = [
        f"/deployments/{planted['deployment']}/",
        release.get_absolute_url(),
        SupportTicket.objects.get(external_id="HD-S1").get_absolute_url(),
        "/stabilisation/tickets/",
    ]
    shown = {}
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        if leaks(response.content.decode()):
            shown[url] = leaks(response.content.decode())

    assert shown == {}
    deployment_page = client.get(f"/deployments/{planted['deployment']}/", follow=True)
    assert "[REDACTED]" in deployment_page.content.decode()


def test_no_evidence_pack_file_holds_a_planted_secret(
    planted, audrey, evidence_dir, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        pack = evidence.request_pack(audrey, release=planted["release"])
    pack = build_pack(pack.pk)
    assert pack.status == "ready", pack.error

    with zipfile.ZipFile(evidence.archive_path(pack)) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}

    assert {name: leaks(data.decode(errors="replace")) for name, data in contents.items()} == {
        name: [] for name in contents
    }
    assert any(b"[REDACTED]" in data for data in contents.values())


def test_no_log_line_carries_a_planted_secret(planted, caplog):
    text = "\n".join(
        caplog.handler.format(record)
        for when in ("setup", "call")
        for record in caplog.get_records(when)
    )  # messages and tracebacks as the console handler writes them

    assert leaks(text) == []
    assert "token=[REDACTED]" in text
    assert f"postgres://app:{MASK}@db/shop" in text


def test_the_console_handler_is_configured_with_the_redacting_filter():
    handler = settings.LOGGING["handlers"]["console"]
    assert "redact" in handler["filters"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "releasemgr.logging.RedactingFilter"
    for name in ("django", "django.server"):
        assert settings.LOGGING["loggers"][name]["handlers"] == ["console"]
    configured = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactingFilter) for f in h.filters)
    ]
    assert configured, "the root logger's console handler redacts"


def test_the_filter_writes_redacted_lines_to_a_stream():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("pipeline %s failed with %s", f"https://ci:{URL_PASSWORD}@ci/x", GITLAB)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    assert leaks(stream.getvalue()) == []
    assert "[REDACTED]" in stream.getvalue()


def test_deployment_start_redacts_the_pipeline_url_even_without_the_api(
    draft_release, dave, carol, bob, environments
):
    release = builders.approve(draft_release, dave, carol)
    deployment = builders.deploy(
        release, environments["dev"], bob, pipeline_url=f"https://u:{URL_PASSWORD}@ci.example.com/1"
    )

    deployment.refresh_from_db()
    assert deployment.pipeline_url == f"https://u:{MASK}@ci.example.com/1"
    assert timezone.now() - deployment.started_at < timedelta(minutes=5)
