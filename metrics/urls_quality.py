"""Release quality pages (issue 7, item 8.6), mounted at /metrics/."""

from django.urls import path

from metrics import views_quality as views

urlpatterns = [
    path("quality/", views.QualityPageView.as_view(), name="metrics_quality"),
    path(
        "quality/weights/edit/", views.QualityWeightsEditView.as_view(), name="quality_weights_edit"
    ),
    path(
        "quality/releases/<str:key>/recompute/",
        views.ReleaseQualityRecomputeView.as_view(),
        name="release_quality_score_update",
    ),
]
