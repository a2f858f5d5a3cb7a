from django.urls import path

from metrics.views_delivery import DeliveryPerformanceView

urlpatterns = [
    path("delivery/", DeliveryPerformanceView.as_view(), name="metrics_delivery"),
]
