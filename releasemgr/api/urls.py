from django.urls import include, path, re_path
from rest_framework.routers import DefaultRouter

from governance.api import cab, changes, defects, evidence, log, policy, register
from governance.api.views import ApprovalViewSet
from metrics.api import adaptive as metrics_adaptive
from metrics.api import checklists as metrics_checklists
from metrics.api import dora as metrics_dora
from metrics.api import drift as metrics_drift
from metrics.api import frequency_incidents as metrics_frequency_incidents
from metrics.api import history as metrics_history
from metrics.api import incidents as metrics_incidents
from metrics.api import kpis as metrics_kpis
from metrics.api import postmortems as metrics_postmortems
from metrics.api import quality as metrics_quality
from metrics.api import runbooks as metrics_runbooks
from metrics.api import tickets as metrics_tickets
from releasemgr.api import webhooks as api_webhooks
from releasemgr.api.exceptions import api_not_found
from releases.api import interfaces as release_interfaces
from releases.api import packaging as release_packaging
from releases.api import pipeline as release_pipeline
from releases.api import resilience as release_resilience
from releases.api import rollout as release_rollout
from releases.api import scope_changes as release_scope_changes
from releases.api import trains as release_trains
from releases.api import validation as release_validation
from releases.api import views as rv
from scheduling.api import calendar, exceptions, planning, reservations, vulnerabilities
from scheduling.api.views import EnvironmentViewSet, FreezeWindowViewSet

SCHEDULING_AREAS = [calendar, exceptions, reservations, planning, vulnerabilities]
# Modules of releases/api/ (scope, packaging, validation) with ``register(router)`` and
# ``urlpatterns``.
RELEASE_AREAS = [
    release_validation,
    release_trains,
    release_packaging,
    release_scope_changes,
    release_interfaces,
    release_resilience,
    release_rollout,
    release_pipeline,
]
# Modules of governance/api/ with ``register(router)`` and ``urlpatterns``.
GOVERNANCE_AREAS = [register, evidence, cab, changes, defects, log, policy]
# Modules of metrics/api/ (stabilisation, metrics) with ``register(router)`` and ``urlpatterns``.
METRICS_AREAS = [
    # one entry per area
    metrics_quality,
    metrics_adaptive,
    metrics_incidents,
    metrics_kpis,
    metrics_tickets,
    metrics_drift,
    metrics_runbooks,
    metrics_dora,
    metrics_postmortems,
    metrics_checklists,
    metrics_history,
    metrics_frequency_incidents,
]
ALL_AREAS = SCHEDULING_AREAS + GOVERNANCE_AREAS + RELEASE_AREAS + METRICS_AREAS + [api_webhooks]

router = DefaultRouter()
router.register("teams", rv.TeamViewSet)
router.register("services", rv.ServiceViewSet)
router.register("service-dependencies", rv.ServiceDependencyViewSet)
router.register("releases", rv.ReleaseViewSet)
router.register("scope-items", rv.ScopeItemViewSet)
router.register("approvals", ApprovalViewSet)
router.register("environments", EnvironmentViewSet)
router.register("freeze-windows", FreezeWindowViewSet)
router.register("deployments", rv.DeploymentViewSet)
router.register("gate-decisions", rv.GateDecisionViewSet)
for area in ALL_AREAS:
    area.register(router)

app_name = "api"
urlpatterns = [
    path("gate/", rv.GateView.as_view(), name="gate"),
    *[p for area in ALL_AREAS for p in area.urlpatterns],
    path("", include(router.urls)),
    # Keep last: any other /api/v1/.../ URL (e.g. an id that is not a number) answers JSON 404,
    # not the HTML page. Paths without the trailing slash still get APPEND_SLASH's redirect.
    # [\s\S]: a newline (%0A) in a path segment is matched too (``.`` would stop there).
    re_path(r"^[\s\S]*/$", api_not_found, name="not_found"),
]
