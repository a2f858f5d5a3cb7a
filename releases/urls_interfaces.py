"""API versions and their consumers, releases' API changes, integration flows (issue 5,
items 8 and 13)."""

from django.urls import path

from releases import views_interfaces as views

urlpatterns = [
    path("api-versions/", views.ApiVersionListView.as_view(), name="api_version_list"),
    path("api-versions/new/", views.ApiVersionFormView.as_view(), name="api_version_create"),
    path("api-versions/<int:pk>/", views.ApiVersionDetailView.as_view(), name="api_version_detail"),
    path(
        "api-versions/<int:pk>/edit/", views.ApiVersionFormView.as_view(), name="api_version_edit"
    ),
    path(
        "api-versions/<int:pk>/consumers/add/",
        views.ApiConsumerAddView.as_view(),
        name="api_version_consumer_add",
    ),
    path(
        "api-consumers/<int:pk>/remove/",
        views.ApiConsumerRemoveView.as_view(),
        name="api_consumer_remove",
    ),
    path(
        "releases/<releasekey:key>/api-changes/add/",
        views.ReleaseApiChangeAddView.as_view(),
        name="release_api_change_add",
    ),
    path(
        "releases/<releasekey:key>/integration-flows/add/",
        views.ReleaseIntegrationFlowAddView.as_view(),
        name="release_integration_flow_add",
    ),
    path(
        "integration-flows/<int:pk>/sign/",
        views.IntegrationFlowSignView.as_view(),
        name="integration_flow_sign",
    ),
]
