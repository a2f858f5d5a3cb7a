"""Config drift pages (issue 6, item 10), under /stabilisation/."""

from django.urls import path

from metrics import views_drift as views

urlpatterns = [
    path("drift/", views.DriftOverviewView.as_view(), name="drift_overview"),
    path("drift/services/<slug:slug>/", views.DriftServiceView.as_view(), name="drift_service"),
    path(
        "drift/services/<slug:slug>/compare/",
        views.DriftCompareView.as_view(),
        name="drift_compare",
    ),
    path(
        "drift/releases/<releasekey:key>/", views.ReleaseDriftView.as_view(), name="release_drift"
    ),
    path("drift/snapshots/", views.ConfigSnapshotListView.as_view(), name="config_snapshot_list"),
    path(
        "drift/snapshots/<int:pk>/",
        views.ConfigSnapshotDetailView.as_view(),
        name="config_snapshot_detail",
    ),
    path("drift/items/<int:pk>/", views.DriftItemDetailView.as_view(), name="drift_item_detail"),
    path(
        "drift/items/<int:pk>/reconcile/",
        views.DriftItemReconcileView.as_view(),
        name="drift_item_decide",
    ),
]
