"""The decision log: list, export, one entry, chain verification (issue 4, item 6)."""

from django.urls import path

from governance import views_log as views

urlpatterns = [
    path("decisions/", views.DecisionLogListView.as_view(), name="decision_record_list"),
    path("decisions/export/", views.DecisionLogExportView.as_view(), name="decision_record_export"),
    path("decisions/verify/", views.DecisionLogVerifyView.as_view(), name="decision_record_verify"),
    path(
        "decisions/<int:sequence>/",
        views.DecisionRecordDetailView.as_view(),
        name="decision_record_detail",
    ),
]
