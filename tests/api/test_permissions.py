"""Who may call what: anonymous → 401, wrong role → 403 (nothing written), right role → 2xx."""

import pytest

from releasemgr.api.urls import router
from releases.models import Deployment, DeploymentEvent, GateDecision, Release, ScopeItem, Service
from scheduling.models import Environment, FreezeWindow
from tests.factories import ReleaseFactory
from tests.releases import builders

LISTS = [
    "teams",
    "services",
    "service-dependencies",
    "releases",
    "scope-items",
    "approvals",
    "environments",
    "freeze-windows",
    "freeze-exceptions",
    "windows",
    "regions",
    "deployments",
    "gate-decisions",
    "reservations",
    "test-data-sets",
    "validation-needs",
    "release-dependencies",
    "go-live-rules",
    "vendor-deliverables",
    "vulnerabilities",
    "patch-sla-policies",
    "notifications",
    "cab-meetings",
    "agenda-items",
    "votes",
    "register",
    "evidence-packs",
    "defects",
    "risk-acceptances",
    "api-versions",
    "api-consumers",
    "api-changes",
    "integration-flows",
    "test-results",
    "quality-gates",
    "decision-log",
    "change-models",
    "retrospectives",
    "approval-rules",
    "policy-versions",
    "scope-change-requests",
    "tech-debt-estimates",
    "artifacts",
    "config-sets",
    "migration-plans",
    "compensating-scripts",
    "rollback-steps",
    "dr-tests",
    "trains",
    "train-cars",
    "library-usages",
    "library-pins",
    "incidents",
    "integrity-checks",
    "kpi-definitions",
    "kpis",
    "stabilisation-windows",
    "kpi-alerts",
    "deployment-targets",
    "rollout-decisions",
    "support-tickets",
    "config-snapshots",
    "drift-items",
    "runbooks",
    "runbook-versions",
    "post-mortems",
    "post-mortem-actions",
    "checklist-templates",
    "checklist-runs",
    "metrics/policy-suggestions",
    "webhooks",
]

PERSONAS = ["alice", "bob", "carol", "dave", "olivia", "paula", "audrey", "pipeline"]

# Every endpoint, with placeholders; auth is checked before the object is looked up.
ENDPOINTS = [("get", f"/api/v1/{name}/") for name in LISTS] + [
    ("post", "/api/v1/teams/"),
    ("post", "/api/v1/test-results/"),
    ("post", "/api/v1/quality-gates/"),
    ("get", "/api/v1/releases/REL-2026-0001/quality/"),
    ("get", "/api/v1/releases/REL-2026-0001/strategy-advice/?environment=dev"),
    ("get", "/api/v1/config-diff/?service=payments-api&left=staging&right=production"),
    ("post", "/api/v1/config-snapshots/"),
    ("post", "/api/v1/import/"),
    ("post", "/api/v1/webhooks/"),
    ("post", "/api/v1/drift-items/1/reconcile/"),
    ("post", "/api/v1/runbook-versions/"),
    ("get", "/api/v1/releases/REL-2026-0001/runbook-checklist/"),
    ("get", "/api/v1/libraries/conflicts/"),
    ("post", "/api/v1/trains/storefront/decouple/"),
    ("post", "/api/v1/trains/"),
    ("patch", "/api/v1/teams/payments/"),
    ("delete", "/api/v1/teams/payments/"),
    ("post", "/api/v1/services/"),
    ("get", "/api/v1/services/payments-api/"),
    ("post", "/api/v1/service-dependencies/"),
    ("post", "/api/v1/releases/"),
    ("get", "/api/v1/releases/REL-2026-0001/"),
    ("put", "/api/v1/releases/REL-2026-0001/"),
    ("delete", "/api/v1/releases/REL-2026-0001/"),
    ("get", "/api/v1/releases/REL-2026-0001/impact/"),
    *[
        ("post", f"/api/v1/releases/REL-2026-0001/{verb}/")
        for verb in ("submit", "withdraw", "approve", "reject", "reopen", "cancel", "close")
    ],
    ("post", "/api/v1/scope-items/"),
    ("get", "/api/v1/approvals/1/"),
    ("post", "/api/v1/environments/"),
    ("post", "/api/v1/freeze-windows/"),
    ("delete", "/api/v1/freeze-windows/1/"),
    ("post", "/api/v1/deployments/"),
    ("get", "/api/v1/deployments/1/"),
    ("get", "/api/v1/deployments/1/events/"),
    ("post", "/api/v1/deployments/1/events/"),
    ("post", "/api/v1/deployments/1/retry-failed/"),
    ("post", "/api/v1/deployments/1/rollback-succeeded/"),
    ("post", "/api/v1/deployments/1/accept-partial/"),
    ("post", "/api/v1/deployments/1/override-halt/"),
    ("get", "/api/v1/gate-decisions/00000000-0000-0000-0000-000000000000/"),
    ("post", "/api/v1/gate/"),
    ("post", "/api/v1/vulnerabilities/"),
    ("post", "/api/v1/vulnerabilities/1/patch-release/"),
    ("patch", "/api/v1/patch-sla-policies/critical/"),
    ("post", "/api/v1/notifications/1/read/"),
    ("post", "/api/v1/approval-rules/"),
    ("patch", "/api/v1/approval-rules/1/"),
    ("get", "/api/v1/policy-versions/1/"),
    ("get", "/api/v1/releases/REL-2026-0001/policy/"),
    ("post", "/api/v1/cab-meetings/"),
    ("post", "/api/v1/cab-meetings/1/build-agenda/"),
    ("post", "/api/v1/agenda-items/1/votes/"),
    ("post", "/api/v1/register/"),
    ("post", "/api/v1/register/1/status/"),
    ("get", "/api/v1/register/export/"),
    ("post", "/api/v1/evidence-packs/"),
    ("get", "/api/v1/evidence-packs/1/download/"),
    ("post", "/api/v1/defects/"),
    ("patch", "/api/v1/defects/1/"),
    ("post", "/api/v1/defects/1/resolve/"),
    ("post", "/api/v1/risk-acceptances/"),
    ("post", "/api/v1/risk-acceptances/1/revoke/"),
    ("post", "/api/v1/releases/REL-2026-0001/delay/"),
    ("post", "/api/v1/api-versions/"),
    ("post", "/api/v1/integration-flows/1/sign/"),
    ("get", "/api/v1/releases/REL-2026-0001/api-compatibility/"),
    ("get", "/api/v1/releases/REL-2026-0001/carry-forward/"),
    ("get", "/api/v1/releases/REL-2026-0001/integration/"),
    ("get", "/api/v1/decision-log/1/"),
    ("get", "/api/v1/decision-log/verify/"),
    ("post", "/api/v1/change-models/"),
    ("delete", "/api/v1/change-models/certificate-rotation/"),
    ("post", "/api/v1/retrospectives/1/complete/"),
    ("get", "/api/v1/releases/REL-2026-0001/risk/"),
    ("get", "/api/v1/risk-config/"),
    ("patch", "/api/v1/risk-config/"),
    ("get", "/api/v1/reports/change-types/"),
    ("post", "/api/v1/scope-change-requests/1/accept/"),
    ("get", "/api/v1/releases/REL-2026-0001/scope-advice/"),
    ("get", "/api/v1/maintenance-backlog/"),
    ("post", "/api/v1/maintenance-backlog/1/take/"),
    ("post", "/api/v1/artifacts/"),
    ("patch", "/api/v1/config-sets/1/"),
    ("get", "/api/v1/releases/REL-2026-0001/rollback-package/"),
    ("post", "/api/v1/releases/REL-2026-0001/rollback-package/"),
    ("get", "/api/v1/services/payments-api/packaging-advice/"),
    ("post", "/api/v1/rollback-steps/"),
    ("post", "/api/v1/dr-tests/"),
    ("get", "/api/v1/releases/REL-2026-0001/rollback/"),
    ("post", "/api/v1/incidents/"),
    ("patch", "/api/v1/incidents/1/"),
    ("post", "/api/v1/incidents/1/decide/"),
    ("get", "/api/v1/incidents/1/advice/"),
    ("post", "/api/v1/integrity-checks/"),
    ("post", "/api/v1/integrity-checks/1/results/"),
    ("post", "/api/v1/kpis/"),
    ("post", "/api/v1/kpi-definitions/"),
    ("post", "/api/v1/kpi-alerts/1/acknowledge/"),
    ("post", "/api/v1/support-tickets/"),
    ("post", "/api/v1/support-tickets/1/override/"),
    ("get", "/api/v1/metrics/dora/"),
    ("get", "/api/v1/metrics/mttr/rows/"),
    ("post", "/api/v1/post-mortems/"),
    ("post", "/api/v1/post-mortems/1/factors/"),
    ("post", "/api/v1/post-mortem-actions/1/done/"),
    ("post", "/api/v1/checklist-runs/"),
    ("get", "/api/v1/checklist-proposals/?template=x"),
    ("post", "/api/v1/checklist-proposals/accept/"),
    ("get", "/api/v1/metrics/quality/"),
    ("post", "/api/v1/metrics/quality/recompute/"),
    ("post", "/api/v1/metrics/policy-suggestions/1/apply/"),
    ("post", "/api/v1/metrics/policy-suggestions/refresh/"),
]


def test_every_registered_resource_is_in_the_matrix():
    assert {prefix for prefix, _viewset, _basename in router.registry} == set(LISTS)


@pytest.mark.parametrize(("method", "url"), ENDPOINTS, ids=[f"{m} {u}" for m, u in ENDPOINTS])
def test_anonymous_callers_get_401_everywhere(api_client, db, method, url):
    response = getattr(api_client(), method)(url, {})

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["detail"]


@pytest.mark.parametrize("name", LISTS)
def test_a_user_without_a_role_cannot_read_any_list(api_client, nobody, name):
    response = api_client(nobody).get(f"/api/v1/{name}/")

    assert response.status_code == 403


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("name", LISTS)
def test_every_role_can_read_every_list(api_client, request, persona, name):
    response = api_client(request.getfixturevalue(persona)).get(f"/api/v1/{name}/")

    assert response.status_code == 200
    assert "results" in response.json()


# --- wrong role → 403, nothing written ---------------------------------------------------


@pytest.fixture
def world(draft_release, dave, carol, environments):
    """A draft, a submitted and an approved release of payments-api, all by dave."""
    submitted = builders.submit(
        ReleaseFactory(author=dave, services=[(draft_release.services.get(), "2.0.0")]), dave
    )
    approved = builders.approve(
        ReleaseFactory(author=dave, services=[(draft_release.services.get(), "3.0.0")]),
        dave,
        carol,
    )
    return {"draft": draft_release, "submitted": submitted, "approved": approved}


def counts():
    return {
        "releases": Release.objects.count(),
        "release_states": sorted(Release.objects.values_list("key", "state")),
        "services": Service.objects.count(),
        "environments": Environment.objects.count(),
        "freezes": FreezeWindow.objects.count(),
        "scope_items": ScopeItem.objects.count(),
        "deployments": Deployment.objects.count(),
        "events": DeploymentEvent.objects.count(),
        "gate_decisions": GateDecision.objects.count(),
    }


FORBIDDEN = [
    ("dave", "post", "/api/v1/releases/{submitted}/approve/", {}),
    ("dave", "post", "/api/v1/releases/{approved}/cancel/", {}),
    ("carol", "post", "/api/v1/deployments/", {"release": "{approved}", "environment": "dev"}),
    (
        "carol",
        "post",
        "/api/v1/gate/",
        {"service": "payments-api", "version": "3.0.0", "environment": "dev"},
    ),
    ("audrey", "post", "/api/v1/releases/", {"name": "X", "version": "1.0.0"}),
    ("audrey", "post", "/api/v1/releases/{draft}/submit/", {}),
    ("audrey", "delete", "/api/v1/releases/{draft}/", {}),
    ("paula", "post", "/api/v1/services/", {"slug": "x", "name": "X", "team": "payments"}),
    ("paula", "post", "/api/v1/releases/{submitted}/approve/", {}),
    ("bob", "post", "/api/v1/releases/", {"name": "X", "version": "1.0.0"}),
    ("dave", "post", "/api/v1/environments/", {"slug": "uat", "name": "UAT", "order": 99}),
    (
        "dave",
        "post",
        "/api/v1/freeze-windows/",
        {"name": "F", "start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"},
    ),
    ("olivia", "patch", "/api/v1/releases/{draft}/", {"name": "Renamed"}),
    ("pipeline", "post", "/api/v1/releases/{submitted}/approve/", {}),
    (
        "nobody",
        "post",
        "/api/v1/gate/",
        {"service": "payments-api", "version": "3.0.0", "environment": "dev"},
    ),
]


def _fill(value, world):
    keys = {state: release.key for state, release in world.items()}
    if isinstance(value, str):
        return value.format(**keys)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("persona", "method", "url", "body"),
    FORBIDDEN,
    ids=[f"{p} {m} {u}" for p, m, u, _b in FORBIDDEN],
)
def test_the_wrong_role_gets_403_and_nothing_is_written(
    api_client, request, world, nobody, persona, method, url, body
):
    client = api_client(request.getfixturevalue(persona))
    before = counts()

    response = getattr(client, method)(_fill(url, world), _fill(body, world))

    assert response.status_code == 403, response.json()
    assert response.json()["detail"]
    assert counts() == before


def test_a_cab_member_cannot_report_deployment_results(api_client, carol, world, bob, environments):
    deployment = builders.deploy(world["approved"], environments["dev"], bob)

    response = api_client(carol).post(
        f"/api/v1/deployments/{deployment.pk}/events/", {"type": "succeeded"}
    )

    assert response.status_code == 403
    deployment.refresh_from_db()
    assert deployment.status == "running"


# --- right role → 2xx --------------------------------------------------------------------


ALLOWED = [
    ("alice", "post", "/api/v1/teams/", {"slug": "risk", "name": "Risk"}, 201),
    ("alice", "post", "/api/v1/services/", {"slug": "x", "name": "X", "team": "payments"}, 201),
    ("alice", "post", "/api/v1/environments/", {"slug": "uat", "name": "UAT", "order": 99}, 201),
    (
        "alice",
        "post",
        "/api/v1/freeze-windows/",
        {"name": "F", "start": "2030-01-01T00:00Z", "end": "2030-01-02T00:00Z"},
        201,
    ),
    ("alice", "post", "/api/v1/releases/{approved}/cancel/", {}, 200),
    ("dave", "post", "/api/v1/releases/", {"name": "X", "version": "1.0.0"}, 201),
    ("dave", "patch", "/api/v1/releases/{draft}/", {"name": "Renamed"}, 200),
    ("dave", "post", "/api/v1/releases/{draft}/submit/", {}, 200),
    ("dave", "post", "/api/v1/releases/{submitted}/withdraw/", {}, 200),
    ("carol", "post", "/api/v1/releases/{submitted}/approve/", {"comment": "ok"}, 200),
    ("carol", "post", "/api/v1/releases/{submitted}/reject/", {}, 200),
    ("paula", "post", "/api/v1/scope-items/", {"release": "{draft}", "title": "Refund flow"}, 201),
    ("bob", "post", "/api/v1/deployments/", {"release": "{approved}", "environment": "dev"}, 201),
    (
        "pipeline",
        "post",
        "/api/v1/deployments/",
        {"release": "{approved}", "environment": "dev"},
        201,
    ),
    (
        "pipeline",
        "post",
        "/api/v1/gate/",
        {"service": "payments-api", "version": "3.0.0", "environment": "dev"},
        200,
    ),
    (
        "dave",
        "post",
        "/api/v1/gate/",
        {"service": "payments-api", "version": "3.0.0", "environment": "dev"},
        200,
    ),
    ("audrey", "get", "/api/v1/releases/{draft}/impact/", {}, 200),
]


@pytest.mark.parametrize(
    ("persona", "method", "url", "body", "expected"),
    ALLOWED,
    ids=[f"{p} {m} {u}" for p, m, u, _b, _e in ALLOWED],
)
def test_the_right_role_succeeds(api_client, request, world, persona, method, url, body, expected):
    client = api_client(request.getfixturevalue(persona))

    response = getattr(client, method)(_fill(url, world), _fill(body, world))

    assert response.status_code == expected, response.json()


def test_the_pipeline_reports_deployment_results(api_client, pipeline, world, environments):
    deployment = builders.deploy(world["approved"], environments["dev"], pipeline)

    response = api_client(pipeline).post(
        f"/api/v1/deployments/{deployment.pk}/events/", {"type": "succeeded"}
    )

    assert response.status_code == 201
