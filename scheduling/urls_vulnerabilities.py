from django.urls import path

from scheduling import views_vulnerabilities as views

urlpatterns = [
    path("vulnerabilities/", views.VulnerabilityListView.as_view(), name="vulnerability_list"),
    path(
        "vulnerabilities/new/",
        views.VulnerabilityCreateView.as_view(),
        name="vulnerability_create",
    ),
    path("vulnerabilities/sla/", views.PatchSlaView.as_view(), name="patch_sla"),
    path(
        "vulnerabilities/<int:pk>/",
        views.VulnerabilityDetailView.as_view(),
        name="vulnerability_detail",
    ),
    path(
        "vulnerabilities/<int:pk>/edit/",
        views.VulnerabilityUpdateView.as_view(),
        name="vulnerability_update",
    ),
    path(
        "vulnerabilities/<int:pk>/delete/",
        views.VulnerabilityDeleteView.as_view(),
        name="vulnerability_delete",
    ),
    path(
        "vulnerabilities/<int:pk>/patch-release/",
        views.PatchReleaseCreateView.as_view(),
        name="vulnerability_patch_release",
    ),
]
