"""Evidence pack pages (issue 4, item 9)."""

from django.urls import path

from governance import views_evidence as views

urlpatterns = [
    path("evidence/", views.EvidenceListView.as_view(), name="evidence_pack_list"),
    path("evidence/new/", views.EvidenceCreateView.as_view(), name="evidence_pack_create"),
    path("evidence/<int:pk>/", views.EvidenceDetailView.as_view(), name="evidence_pack_detail"),
    path(
        "evidence/<int:pk>/progress/",
        views.EvidenceProgressView.as_view(),
        name="evidence_pack_progress",
    ),
    path(
        "evidence/<int:pk>/download/",
        views.EvidenceDownloadView.as_view(),
        name="evidence_pack_download",
    ),
]
