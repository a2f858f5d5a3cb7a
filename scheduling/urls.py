from django.urls import include, path

from scheduling import views

urlpatterns = [
    path("environments/", views.EnvironmentListView.as_view(), name="environment_list"),
    path("environments/new/", views.EnvironmentCreateView.as_view(), name="environment_create"),
    path(
        "environments/<slug:slug>/",
        views.EnvironmentDetailView.as_view(),
        name="environment_detail",
    ),
    path(
        "environments/<slug:slug>/edit/",
        views.EnvironmentUpdateView.as_view(),
        name="environment_update",
    ),
    path(
        "environments/<slug:slug>/delete/",
        views.EnvironmentDeleteView.as_view(),
        name="environment_delete",
    ),
    path("freezes/", views.FreezeListView.as_view(), name="freeze_list"),
    path("freezes/new/", views.FreezeCreateView.as_view(), name="freeze_create"),
    path("freezes/<int:pk>/", views.FreezeDetailView.as_view(), name="freeze_detail"),
    path("freezes/<int:pk>/edit/", views.FreezeUpdateView.as_view(), name="freeze_update"),
    path("freezes/<int:pk>/delete/", views.FreezeDeleteView.as_view(), name="freeze_delete"),
    # One module per area, each owned by its feature.
    path("", include("scheduling.urls_calendar")),
    path("", include("scheduling.urls_exceptions")),
    path("", include("scheduling.urls_reservations")),
    path("", include("scheduling.urls_planning")),
    path("", include("scheduling.urls_vulnerabilities")),
]
