"""Metrics pages (mounted at /metrics/), one URL module per area."""

from django.urls import include, path

urlpatterns = [
    # One line per area, e.g. path("", include("metrics.urls_dora")).
    path("", include("metrics.urls_delivery")),
    path("", include("metrics.urls_dashboard")),
    path("", include("metrics.urls_quality")),
    path("", include("metrics.urls_adaptive")),
    path("", include("metrics.urls_history")),
    path("", include("metrics.urls_postmortems")),
]

__all__ = ["include", "path", "urlpatterns"]
