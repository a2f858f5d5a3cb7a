"""Web UI for releases, the dashboard, deployments and gate decisions."""

from django.urls import include, path

from releases.views import dashboard, deployments, gate, releases

urlpatterns = [
    path("", dashboard.DashboardView.as_view(), name="dashboard"),
    path("releases/", releases.ReleaseListView.as_view(), name="release_list"),
    path("releases/new/", releases.ReleaseFormView.as_view(), name="release_create"),
    path("releases/<releasekey:key>/", releases.ReleaseDetailView.as_view(), name="release_detail"),
    path(
        "releases/<releasekey:key>/edit/", releases.ReleaseFormView.as_view(), name="release_edit"
    ),
    path(
        "releases/<releasekey:key>/delete/",
        releases.ReleaseDeleteView.as_view(),
        name="release_delete",
    ),
    path(
        "releases/<releasekey:key>/actions/<slug:action>/",
        releases.ReleaseActionView.as_view(),
        name="release_action",
    ),
    path(
        "releases/<releasekey:key>/deploy/",
        releases.ReleaseDeployView.as_view(),
        name="release_deploy",
    ),
    path(
        "releases/<releasekey:key>/scope/add/",
        releases.ScopeItemView.as_view(),
        name="scope_item_add",
    ),
    path(
        "releases/<releasekey:key>/scope/<int:pk>/edit/",
        releases.ScopeItemView.as_view(),
        name="scope_item_edit",
    ),
    path(
        "releases/<releasekey:key>/scope/<int:pk>/delete/",
        releases.ScopeItemDeleteView.as_view(),
        name="scope_item_delete",
    ),
    path("deployments/", deployments.DeploymentListView.as_view(), name="deployment_list"),
    path(
        "deployments/<int:pk>/",
        deployments.DeploymentDetailView.as_view(),
        name="deployment_detail",
    ),
    path(
        "deployments/<int:pk>/events/",
        deployments.DeploymentEventView.as_view(),
        name="deployment_event",
    ),
    path("gate/", gate.GateDecisionListView.as_view(), name="gate_decision_list"),
    path("gate/<uuid:pk>/", gate.GateDecisionDetailView.as_view(), name="gate_decision_detail"),
    path("", include("releases.urls_packaging")),
    path("", include("releases.urls_validation")),
    path("", include("releases.urls_trains")),
    path("", include("releases.urls_interfaces")),
    path("", include("releases.urls_scope_changes")),
    path("", include("releases.urls_resilience")),
    path("", include("releases.urls_pipeline")),
    path("", include("releases.urls_rollout")),
]
