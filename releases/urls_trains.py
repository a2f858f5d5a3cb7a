"""Release trains and the shared-library view (issue 5, items 3 and 4)."""

from django.urls import path

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
        "trains/<slug:slug>/decouple/",
        views.TrainDecoupleView.as_view(),
        name="train_decouple_action",
    ),
    path("libraries/", views.LibraryListView.as_view(), name="library_list"),
]
