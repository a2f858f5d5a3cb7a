"""Approval policy pages (issue 4, item 3), under /governance/policy/."""

from django.urls import path

from governance import views_policy as views

urlpatterns = [
    path("policy/", views.ApprovalRuleListView.as_view(), name="approval_rule_list"),
    path("policy/try/", views.PolicyPreviewView.as_view(), name="policy_preview"),
    path("policy/rules/new/", views.ApprovalRuleFormView.as_view(), name="approval_rule_create"),
    path(
        "policy/rules/<int:pk>/",
        views.ApprovalRuleDetailView.as_view(),
        name="approval_rule_detail",
    ),
    path(
        "policy/rules/<int:pk>/edit/",
        views.ApprovalRuleFormView.as_view(),
        name="approval_rule_edit",
    ),
    path(
        "policy/rules/<int:pk>/delete/",
        views.ApprovalRuleDeleteView.as_view(),
        name="approval_rule_delete",
    ),
    path("policy/versions/", views.PolicyVersionListView.as_view(), name="policy_version_list"),
    path(
        "policy/versions/<int:number>/",
        views.PolicyVersionDetailView.as_view(),
        name="policy_version_detail",
    ),
]
