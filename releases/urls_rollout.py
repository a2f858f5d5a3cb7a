"""Deployment targets: retry / roll back / accept a partial failure, override a smoke halt."""

from django.urls import path

from releases import views_rollout as views

urlpatterns = [
    path(
        "deployments/<int:pk>/retry-failed/",
        views.RetryFailedView.as_view(),
        name="deployment_retry_failed_action",
    ),
    path(
        "deployments/<int:pk>/rollback-succeeded/",
        views.RollbackSucceededView.as_view(),
        name="deployment_rollback_succeeded_action",
    ),
    path(
        "deployments/<int:pk>/accept-partial/",
        views.AcceptPartialView.as_view(),
        name="deployment_accept_partial_action",
    ),
    path(
        "deployments/<int:pk>/override-halt/",
        views.OverrideHaltView.as_view(),
        name="deployment_override_halt_action",
    ),
]
