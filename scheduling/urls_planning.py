"""Planning pages (issue 3 items 3, 7, 8): schedule check, re-plan, deadlines, vendor
deliverables, go-live rules. Names of pages that only write end in a write suffix."""

from django.urls import path

from scheduling import views_planning as views

urlpatterns = [
    path(
        "releases/<releasekey:key>/schedule/check/",
        views.ReleaseScheduleCheckView.as_view(),
        name="release_schedule_check",
    ),
    path(
        "releases/<releasekey:key>/schedule/replan/",
        views.ReleaseReplanView.as_view(),
        name="release_replan_action",
    ),
    path(
        "releases/<releasekey:key>/schedule/deadlines/",
        views.ReleaseDeadlinesView.as_view(),
        name="release_deadlines_edit",
    ),
    path(
        "releases/<releasekey:key>/vendor-deliverables/new/",
        views.VendorDeliverableFormView.as_view(),
        name="release_vendor_deliverable_create",
    ),
    path(
        "vendor-deliverables/",
        views.VendorDeliverableListView.as_view(),
        name="vendor_deliverable_list",
    ),
    path(
        "vendor-deliverables/<int:pk>/edit/",
        views.VendorDeliverableFormView.as_view(),
        name="vendor_deliverable_edit",
    ),
    path(
        "vendor-deliverables/<int:pk>/delete/",
        views.VendorDeliverableDeleteView.as_view(),
        name="vendor_deliverable_delete",
    ),
    path(
        "vendor-deliverables/<int:pk>/late/",
        views.VendorMarkLateView.as_view(),
        name="vendor_deliverable_late_action",
    ),
    path(
        "vendor-deliverables/<int:pk>/delivered/",
        views.VendorMarkDeliveredView.as_view(),
        name="vendor_deliverable_delivered_action",
    ),
    path("go-live-rules/", views.GoLiveRuleListView.as_view(), name="golive_rule_list"),
    path("go-live-rules/new/", views.GoLiveRuleFormView.as_view(), name="golive_rule_create"),
    path(
        "go-live-rules/<int:pk>/", views.GoLiveRuleDetailView.as_view(), name="golive_rule_detail"
    ),
    path(
        "go-live-rules/<int:pk>/edit/", views.GoLiveRuleFormView.as_view(), name="golive_rule_edit"
    ),
    path(
        "go-live-rules/<int:pk>/delete/",
        views.GoLiveRuleDeleteView.as_view(),
        name="golive_rule_delete",
    ),
]
