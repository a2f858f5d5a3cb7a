"""Adaptive approval thresholds pages (issue 7, item 8.7), mounted at /metrics/."""

from django.urls import path

from metrics import views_adaptive as views

urlpatterns = [
    path(
        "policy-suggestions/",
        views.PolicySuggestionListView.as_view(),
        name="policy_suggestion_list",
    ),
    path(
        "policy-suggestions/<int:pk>/decide/",
        views.PolicySuggestionDecideView.as_view(),
        name="policy_suggestion_decide",
    ),
    path(
        "policy-suggestions/refresh/",
        views.PolicySuggestionRefreshView.as_view(),
        name="policy_suggestion_refresh_action",
    ),
]
