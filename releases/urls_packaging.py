"""Packaging pages (issue 5, items 6, 7, 9, 11)."""

from django.urls import path

from releases import views_packaging as views

urlpatterns = [
    path("packaging/artifacts/new/", views.ArtifactCreateView.as_view(), name="artifact_create"),
    path(
        "packaging/artifacts/<int:pk>/", views.ArtifactDetailView.as_view(), name="artifact_detail"
    ),
    path(
        "packaging/migrations/<int:pk>/edit/",
        views.MigrationPlanEditView.as_view(),
        name="scope_item_migration_plan_edit",
    ),
    path(
        "releases/<str:key>/rollback-package/",
        views.RollbackPackageBuildView.as_view(),
        name="release_rollback_package_create",
    ),
]
