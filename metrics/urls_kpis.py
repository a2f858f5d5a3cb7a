"""KPI watch pages (issue 6, item 7): KPIs, stabilisation windows, KPI alerts."""

from django.urls import path

from metrics import views_kpis as views

urlpatterns = [
    path("kpis/", views.KpiListView.as_view(), name="kpi_list"),
    path("kpis/new/", views.KpiCreateView.as_view(), name="kpi_create"),
    path("kpis/<int:pk>/", views.KpiDetailView.as_view(), name="kpi_detail"),
    path("kpis/<int:pk>/edit/", views.KpiEditView.as_view(), name="kpi_edit"),
    path("kpis/<int:pk>/delete/", views.KpiDeleteView.as_view(), name="kpi_delete"),
    path("windows/", views.WindowListView.as_view(), name="stabilisation_window_list"),
    path("windows/<int:pk>/", views.WindowDetailView.as_view(), name="stabilisation_window_detail"),
    path(
        "windows/<int:pk>/edit/", views.WindowEditView.as_view(), name="stabilisation_window_edit"
    ),
    path("alerts/", views.AlertListView.as_view(), name="kpi_alert_list"),
    path(
        "alerts/<int:pk>/acknowledge/",
        views.AlertAcknowledgeView.as_view(),
        name="kpi_alert_acknowledge",
    ),
]
