"""Pages of scope negotiation and the maintenance backlog."""

from django.urls import path

from releases import views_scope_changes as v

urlpatterns = [
    path("scope-changes/", v.ScopeChangeListView.as_view(), name="scope_change_list"),
    path("scope-changes/<int:pk>/", v.ScopeChangeDetailView.as_view(), name="scope_change_detail"),
    path(
        "scope-changes/new/<releasekey:key>/",
        v.ScopeChangeCreateView.as_view(),
        name="release_scope_change_create",
    ),
    path(
        "scope-changes/<int:pk>/decide/",
        v.ScopeChangeDecideView.as_view(),
        name="scope_change_decide",
    ),
    path(
        "scope-changes/<int:pk>/withdraw/",
        v.ScopeChangeWithdrawView.as_view(),
        name="scope_change_withdraw",
    ),
    path(
        "scope-changes/tech-debt/<int:pk>/estimate/",
        v.TechDebtEstimateView.as_view(),
        name="tech_debt_estimate_edit",
    ),
    path("maintenance-backlog/", v.BacklogView.as_view(), name="maintenance_backlog"),
    path(
        "maintenance-backlog/<int:pk>/take/",
        v.BacklogTakeView.as_view(),
        name="backlog_item_update",
    ),
]
