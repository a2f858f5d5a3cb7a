"""Incidents with rollback-or-fix-forward decisions, and data integrity checks (issue 6,
items 8 and 9)."""

from django.urls import path

from metrics import views_incidents as views

urlpatterns = [
    path("incidents/", views.IncidentListView.as_view(), name="incident_list"),
    path("incidents/new/", views.IncidentCreateView.as_view(), name="incident_create"),
    path("incidents/<int:pk>/", views.IncidentDetailView.as_view(), name="incident_detail"),
    path("incidents/<int:pk>/status/", views.IncidentStatusView.as_view(), name="incident_resolve"),
    path("incidents/<int:pk>/decide/", views.IncidentDecideView.as_view(), name="incident_decide"),
    path(
        "releases/<releasekey:key>/integrity-checks/add/",
        views.IntegrityCheckCreateView.as_view(),
        name="release_integrity_check_add",
    ),
    path(
        "integrity-checks/<int:pk>/",
        views.IntegrityCheckDetailView.as_view(),
        name="integrity_check_detail",
    ),
    path(
        "integrity-checks/<int:pk>/results/add/",
        views.IntegrityResultCreateView.as_view(),
        name="integrity_check_result_add",
    ),
    path(
        "integrity-checks/<int:pk>/delete/",
        views.IntegrityCheckDeleteView.as_view(),
        name="integrity_check_delete",
    ),
]
