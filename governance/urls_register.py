"""Risk and known-error register pages (issue 4, item 8)."""

from django.urls import path

from governance import views_register as views

urlpatterns = [
    path("register/", views.RegisterListView.as_view(), name="register_entry_list"),
    path("register/export.csv", views.RegisterExportCsvView.as_view(), name="register_export_csv"),
    path(
        "register/export.json", views.RegisterExportJsonView.as_view(), name="register_export_json"
    ),
    path("register/new/", views.RegisterCreateView.as_view(), name="register_entry_create"),
    path("register/<int:pk>/", views.RegisterDetailView.as_view(), name="register_entry_detail"),
    path("register/<int:pk>/edit/", views.RegisterEditView.as_view(), name="register_entry_edit"),
    path(
        "register/<int:pk>/status/",
        views.RegisterStatusView.as_view(),
        name="register_entry_status_update",
    ),
]
