"""Freeze exception pages (issue 3, item 4)."""

from django.urls import path

from scheduling import views_exceptions as views

urlpatterns = [
    path("exceptions/", views.ExceptionListView.as_view(), name="exception_list"),
    path("exceptions/new/", views.ExceptionCreateView.as_view(), name="exception_create"),
    path("exceptions/<int:pk>/", views.ExceptionDetailView.as_view(), name="exception_detail"),
    path(
        "exceptions/<int:pk>/decide/",
        views.ExceptionDecideView.as_view(),
        name="exception_decide",
    ),
    path(
        "exceptions/<int:pk>/withdraw/",
        views.ExceptionWithdrawView.as_view(),
        name="exception_withdraw",
    ),
]
