"""Release trains and shared libraries (issue 5, items 3 and 4)."""

from django.urls import path

from releases import views_libraries as libs
from releases import views_trains as views

urlpatterns = [
    path("trains/", views.TrainListView.as_view(), name="train_list"),
    path("trains/new/", views.TrainFormView.as_view(), name="train_create"),
    path("trains/<slug:slug>/", views.TrainDetailView.as_view(), name="train_detail"),
    path("trains/<slug:slug>/edit/", views.TrainFormView.as_view(), name="train_edit"),
    path(
        "trains/<slug:slug>/releases/add/",
        views.TrainReleaseAddView.as_view(),
        name="train_release_add",
    ),
    path(
        "trains/<slug:slug>/releases/remove/",
        views.TrainReleaseRemoveView.as_view(),
        name="train_release_remove",
    ),
    path(
        "trains/<slug:slug>/decouple/",
        views.TrainDecoupleView.as_view(),
        name="train_decouple_action",
    ),
    path("libraries/", views.LibraryListView.as_view(), name="library_list"),
    path("libraries/usages/new/", libs.LibraryUsageFormView.as_view(), name="library_usage_create"),
    path(
        "libraries/usages/<int:pk>/edit/",
        libs.LibraryUsageFormView.as_view(),
        name="library_usage_edit",
    ),
    path(
        "libraries/usages/<int:pk>/delete/",
        libs.LibraryUsageDeleteView.as_view(),
        name="library_usage_delete",
    ),
    path("libraries/<slug:slug>/", libs.LibraryDetailView.as_view(), name="library_detail"),
    path(
        "releases/<releasekey:key>/library-pins/new/",
        libs.LibraryPinFormView.as_view(),
        name="release_library_pin_create",
    ),
    path("library-pins/<int:pk>/edit/", libs.LibraryPinFormView.as_view(), name="library_pin_edit"),
    path(
        "library-pins/<int:pk>/delete/",
        libs.LibraryPinDeleteView.as_view(),
        name="library_pin_delete",
    ),
]
