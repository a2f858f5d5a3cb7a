"""API versions and their consumers (issue 5, item 8)."""

from django.urls import path

from releases import views_interfaces as views

urlpatterns = [
    path("api-versions/", views.ApiVersionListView.as_view(), name="api_version_list"),
    path("api-versions/<int:pk>/", views.ApiVersionDetailView.as_view(), name="api_version_detail"),
]
