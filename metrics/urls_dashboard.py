from django.urls import path

from metrics.views_dashboard import MetricsDashboardView

urlpatterns = [
    path("", MetricsDashboardView.as_view(), name="metrics_dashboard"),
]
