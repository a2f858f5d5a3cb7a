"""Stabilisation pages, one URL module per area (mounted at /stabilisation/)."""

from django.urls import include, path

urlpatterns = [
    path("", include("metrics.urls_drift")),
    path("", include("metrics.urls_runbooks")),
    # One line per area, e.g. path("", include("metrics.urls_kpis")).
    path("", include("metrics.urls_incidents")),
    path("", include("metrics.urls_kpis")),
    path("", include("metrics.urls_tickets")),
]

__all__ = ["include", "path", "urlpatterns"]
