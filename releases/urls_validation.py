"""Quality gates and test results (issue 5, item 12)."""

from django.urls import path

from releases import views_validation as views

urlpatterns = [
    path("quality-gates/", views.QualityGateListView.as_view(), name="quality_gate_list"),
    path("quality-gates/new/", views.QualityGateFormView.as_view(), name="quality_gate_create"),
    path(
        "quality-gates/<int:pk>/", views.QualityGateDetailView.as_view(), name="quality_gate_detail"
    ),
    path(
        "quality-gates/<int:pk>/edit/",
        views.QualityGateFormView.as_view(),
        name="quality_gate_edit",
    ),
    path(
        "quality-gates/<int:pk>/delete/",
        views.QualityGateDeleteView.as_view(),
        name="quality_gate_delete",
    ),
    path("test-results/", views.TestResultListView.as_view(), name="test_result_list"),
    path("test-results/<int:pk>/", views.TestResultDetailView.as_view(), name="test_result_detail"),
]
