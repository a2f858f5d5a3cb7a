"""Rollback-step and DR-test pages (issue 5, items 5 and 14)."""

from django.urls import path

from releases import views_resilience as views

urlpatterns = [
    path(
        "releases/<releasekey:key>/rollback-steps/add/",
        views.RollbackStepFormView.as_view(),
        name="release_rollback_step_add",
    ),
    path(
        "rollback-steps/<int:pk>/edit/",
        views.RollbackStepFormView.as_view(),
        name="rollback_step_edit",
    ),
    path(
        "rollback-steps/<int:pk>/delete/",
        views.RollbackStepDeleteView.as_view(),
        name="rollback_step_delete",
    ),
    path("dr-tests/", views.DrTestListView.as_view(), name="dr_test_list"),
    path("dr-tests/new/", views.DrTestFormView.as_view(), name="dr_test_create"),
    path("dr-tests/<int:pk>/", views.DrTestDetailView.as_view(), name="dr_test_detail"),
    path("dr-tests/<int:pk>/edit/", views.DrTestFormView.as_view(), name="dr_test_edit"),
]
