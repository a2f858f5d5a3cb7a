"""ITIL change types: the change catalogue, retrospectives, risk configuration, report."""

from django.urls import path

from governance import views_changes as changes
from governance import views_risk as risk

urlpatterns = [
    path("change-models/", changes.ChangeModelListView.as_view(), name="change_model_list"),
    path("change-models/new/", changes.ChangeModelCreateView.as_view(), name="change_model_create"),
    path(
        "change-models/<slug:slug>/",
        changes.ChangeModelDetailView.as_view(),
        name="change_model_detail",
    ),
    path(
        "change-models/<slug:slug>/edit/",
        changes.ChangeModelUpdateView.as_view(),
        name="change_model_update",
    ),
    path(
        "change-models/<slug:slug>/delete/",
        changes.ChangeModelDeleteView.as_view(),
        name="change_model_delete",
    ),
    path("retrospectives/", changes.RetrospectiveListView.as_view(), name="retrospective_list"),
    path(
        "retrospectives/<int:pk>/",
        changes.RetrospectiveDetailView.as_view(),
        name="retrospective_detail",
    ),
    path(
        "retrospectives/<int:pk>/complete/",
        changes.RetrospectiveCompleteView.as_view(),
        name="retrospective_update",
    ),
    path("risk/", risk.RiskConfigView.as_view(), name="risk_config"),
    path("risk/edit/", risk.RiskConfigUpdateView.as_view(), name="risk_config_update"),
    path(
        "reports/change-types/",
        risk.ChangeTypeReportView.as_view(),
        name="change_type_report",
    ),
]
