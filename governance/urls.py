"""Governance pages, one URL module per area (mounted at /governance/)."""

from django.urls import include, path

urlpatterns = [
    # One line per area, e.g. path("", include("governance.urls_cab")).
    path("", include("governance.urls_register")),
    path("", include("governance.urls_evidence")),
    path("", include("governance.urls_cab")),
    path("", include("governance.urls_policy")),
    path("", include("governance.urls_changes")),
    path("", include("governance.urls_defects")),
    path("", include("governance.urls_log")),
]

__all__ = ["include", "path", "urlpatterns"]
