"""Environment booking, test data sets, validation needs, dependencies and sequencing pages."""

from django.urls import path

from scheduling import views_reservations as views

urlpatterns = [
    path("reservations/", views.ReservationListView.as_view(), name="reservation_list"),
    path("reservations/new/", views.ReservationCreateView.as_view(), name="reservation_create"),
    path("reservations/occupancy/", views.OccupancyView.as_view(), name="reservation_occupancy"),
    path(
        "reservations/<int:pk>/", views.ReservationDetailView.as_view(), name="reservation_detail"
    ),
    path(
        "reservations/<int:pk>/cancel/",
        views.ReservationCancelView.as_view(),
        name="reservation_cancel",
    ),
    path("test-data-sets/", views.TestDataSetListView.as_view(), name="test_data_set_list"),
    path("test-data-sets/new/", views.TestDataSetCreateView.as_view(), name="test_data_set_create"),
    path(
        "test-data-sets/<slug:slug>/",
        views.TestDataSetDetailView.as_view(),
        name="test_data_set_detail",
    ),
    path(
        "test-data-sets/<slug:slug>/edit/",
        views.TestDataSetUpdateView.as_view(),
        name="test_data_set_update",
    ),
    path(
        "releases/<releasekey:key>/validation-needs/add/",
        views.ValidationNeedAddView.as_view(),
        name="release_validation_need_add",
    ),
    path(
        "validation-needs/<int:pk>/delete/",
        views.ValidationNeedDeleteView.as_view(),
        name="validation_need_delete",
    ),
    path(
        "releases/<releasekey:key>/dependencies/add/",
        views.ReleaseDependencyAddView.as_view(),
        name="release_dependency_add",
    ),
    path(
        "release-dependencies/<int:pk>/delete/",
        views.ReleaseDependencyDeleteView.as_view(),
        name="release_dependency_delete",
    ),
    path("sequencing/", views.SequencingView.as_view(), name="sequencing"),
    path("sequencing/apply/", views.SequencingApplyView.as_view(), name="sequencing_update"),
]
