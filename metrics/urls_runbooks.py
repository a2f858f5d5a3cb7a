"""Runbook pages (issue 6, item 12), under /stabilisation/."""

from django.urls import path

from metrics import views_runbooks as views

urlpatterns = [
    path("runbooks/", views.RunbookListView.as_view(), name="runbook_list"),
    path("runbooks/new/", views.RunbookCreateView.as_view(), name="runbook_create"),
    path("runbooks/<slug:slug>/", views.RunbookDetailView.as_view(), name="runbook_detail"),
    path("runbooks/<slug:slug>/diff/", views.RunbookDiffView.as_view(), name="runbook_diff"),
    path(
        "runbooks/<slug:slug>/versions/new/",
        views.RunbookVersionCreateView.as_view(),
        name="runbook_version_create",
    ),
    path(
        "runbooks/<slug:slug>/versions/<int:number>/",
        views.RunbookVersionDetailView.as_view(),
        name="runbook_version_detail",
    ),
    path(
        "releases/<releasekey:key>/runbook-checks/",
        views.ReleaseRunbookLinkView.as_view(),
        name="release_runbook_check_edit",
    ),
]
