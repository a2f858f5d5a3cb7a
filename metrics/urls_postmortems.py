"""Post-mortem and checklist pages (issue 7, items 6 and 7), under /metrics/."""

from django.urls import path

from metrics import views_checklists as cv
from metrics import views_postmortems as views

urlpatterns = [
    path("post-mortems/", views.PostMortemListView.as_view(), name="postmortem_list"),
    path("post-mortems/new/", views.PostMortemCreateView.as_view(), name="postmortem_create"),
    path("post-mortems/<int:pk>/", views.PostMortemDetailView.as_view(), name="postmortem_detail"),
    path("post-mortems/<int:pk>/edit/", views.PostMortemEditView.as_view(), name="postmortem_edit"),
    path(
        "post-mortems/<int:pk>/status/",
        views.StatusEditView.as_view(),
        name="postmortem_status_edit",
    ),
    path(
        "post-mortems/<int:pk>/timeline/",
        views.TimelineAddView.as_view(),
        name="postmortem_timeline_add",
    ),
    path(
        "post-mortems/<int:pk>/factors/",
        views.FactorAddView.as_view(),
        name="postmortem_factor_add",
    ),
    path(
        "post-mortems/<int:pk>/actions/",
        views.ActionAddView.as_view(),
        name="postmortem_action_add",
    ),
    path(
        "post-mortem-actions/<int:pk>/done/",
        views.ActionDoneView.as_view(),
        name="postmortem_action_close",
    ),
    path("checklists/", cv.ChecklistListView.as_view(), name="checklist_list"),
    path("checklists/<int:pk>/", cv.ChecklistDetailView.as_view(), name="checklist_detail"),
    path(
        "checklists/<int:pk>/accept/",
        cv.ChecklistAcceptView.as_view(),
        name="checklist_proposal_apply",
    ),
    path(
        "deployments/<int:pk>/checklist/",
        cv.DeploymentChecklistStartView.as_view(),
        name="deployment_checklist_start",
    ),
    path(
        "checklist-items/<int:pk>/",
        cv.ChecklistRunItemEditView.as_view(),
        name="checklist_run_item_edit",
    ),
]
