"""Late defects, residual-risk acceptances and release delays (issue 4, item 7)."""

from django.urls import path

from governance import views_defects as views

urlpatterns = [
    path("defects/", views.DefectListView.as_view(), name="defect_list"),
    path("defects/new/", views.DefectCreateView.as_view(), name="defect_create"),
    path("defects/<int:pk>/", views.DefectDetailView.as_view(), name="defect_detail"),
    path("defects/<int:pk>/edit/", views.DefectEditView.as_view(), name="defect_edit"),
    path("defects/<int:pk>/resolve/", views.DefectResolveView.as_view(), name="defect_resolve"),
    path("risk-acceptances/", views.RiskAcceptanceListView.as_view(), name="risk_acceptance_list"),
    path(
        "risk-acceptances/<int:pk>/",
        views.RiskAcceptanceDetailView.as_view(),
        name="risk_acceptance_detail",
    ),
    path(
        "risk-acceptances/<int:pk>/revoke/",
        views.RiskAcceptanceRevokeView.as_view(),
        name="risk_acceptance_revoke",
    ),
    path(
        "releases/<releasekey:key>/accept-risk/",
        views.ReleaseRiskAcceptanceCreateView.as_view(),
        name="release_risk_acceptance_create",
    ),
    path(
        "releases/<releasekey:key>/delay/", views.ReleaseDelayView.as_view(), name="release_delay"
    ),
]
