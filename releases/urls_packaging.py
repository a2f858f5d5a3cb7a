"""Packaging pages (issue 5, items 6, 7, 9, 11): artifacts, compensating scripts, migration
plans, the rollback package, configuration sets."""

from django.urls import path

from releases import views_packaging as views

urlpatterns = [
    path("packaging/artifacts/new/", views.ArtifactCreateView.as_view(), name="artifact_create"),
    path(
        "packaging/artifacts/<int:pk>/", views.ArtifactDetailView.as_view(), name="artifact_detail"
    ),
    path(
        "packaging/artifacts/<int:pk>/compensating-scripts/add/",
        views.CompensatingScriptAddView.as_view(),
        name="artifact_compensating_script_add",
    ),
    path(
        "packaging/compensating-scripts/<int:pk>/edit/",
        views.CompensatingScriptEditView.as_view(),
        name="compensating_script_edit",
    ),
    path(
        "packaging/migrations/<int:pk>/edit/",
        views.MigrationPlanEditView.as_view(),
        name="scope_item_migration_plan_edit",
    ),
    path(
        "releases/<releasekey:key>/rollback-package/",
        views.RollbackPackageBuildView.as_view(),
        name="release_rollback_package_create",
    ),
    path("config-sets/", views.ConfigSetListView.as_view(), name="config_set_list"),
    path("config-sets/new/", views.ConfigSetFormView.as_view(), name="config_set_create"),
    path("config-sets/<int:pk>/", views.ConfigSetDetailView.as_view(), name="config_set_detail"),
    path("config-sets/<int:pk>/edit/", views.ConfigSetFormView.as_view(), name="config_set_edit"),
]
