from django.urls import path

from releases.views import catalog as views

urlpatterns = [
    path("services/", views.ServiceListView.as_view(), name="service_list"),
    path("services/new/", views.ServiceCreateView.as_view(), name="service_create"),
    path("services/<slug:slug>/", views.ServiceDetailView.as_view(), name="service_detail"),
    path("services/<slug:slug>/edit/", views.ServiceUpdateView.as_view(), name="service_update"),
    path("services/<slug:slug>/delete/", views.ServiceDeleteView.as_view(), name="service_delete"),
    path(
        "services/<slug:slug>/dependencies/add/",
        views.DependencyCreateView.as_view(),
        name="service_dependency_add",
    ),
    path(
        "services/<slug:slug>/dependencies/<int:pk>/delete/",
        views.DependencyDeleteView.as_view(),
        name="service_dependency_delete",
    ),
    path("teams/", views.TeamListView.as_view(), name="team_list"),
    path("teams/new/", views.TeamCreateView.as_view(), name="team_create"),
    path("teams/<slug:slug>/", views.TeamDetailView.as_view(), name="team_detail"),
    path("teams/<slug:slug>/edit/", views.TeamUpdateView.as_view(), name="team_update"),
    path("teams/<slug:slug>/delete/", views.TeamDeleteView.as_view(), name="team_delete"),
]
