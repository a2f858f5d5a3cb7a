"""Adaptive approval thresholds page: suggestions with their evidence; compliance officers apply
or dismiss them with a reason, or recompute them. Rules in ``metrics.adaptive_policy``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import adaptive_policy
from metrics.filtersets_adaptive import PolicySuggestionFilterSet
from metrics.models import PolicySuggestion
from releasemgr.decisions import DomainError
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, paginate


def _page(request, status=200, errors=None, failed_pk=None):
    queryset = PolicySuggestion.objects.select_related("decided_by")
    filterset = PolicySuggestionFilterSet(request.GET or None, queryset=queryset)
    context = {
        "page": paginate(request, filterset.qs, 25),
        "filter_form": style_filter_form(filterset.form),
        "thresholds": adaptive_policy.thresholds(),
        "can_decide": request.user.has_perm(adaptive_policy.DECIDE_PERMISSION),
        "errors": errors or {},
        "failed_pk": failed_pk,
    }
    return render(request, "metrics/policy_suggestions.html", context, status=status)


class PolicySuggestionListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_policysuggestion"
    model = PolicySuggestion

    def get(self, request):
        return _page(request)


class PolicySuggestionDecideView(RoleRequiredMixin, View):
    permission_required = adaptive_policy.DECIDE_PERMISSION
    model = PolicySuggestion

    def post(self, request, pk):
        suggestion = get_object_or_404(PolicySuggestion, pk=pk)
        action = request.POST.get("action")
        func = {"apply": adaptive_policy.apply, "dismiss": adaptive_policy.dismiss}.get(action)
        if func is None:
            return _page(request, 400, {"action": ["Choose apply or dismiss."]}, pk)
        try:
            row = func(suggestion, request.user, request.POST.get("reason", ""))
        except ValidationError as exc:
            return _page(request, 400, exc.message_dict, pk)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("policy_suggestion_list")
        if row.policy_version:
            messages.success(request, f"Applied; the approval policy is now v{row.policy_version}.")
        else:
            messages.success(request, "Dismissed.")
        return redirect("policy_suggestion_list")


class PolicySuggestionRefreshView(RoleRequiredMixin, View):
    permission_required = adaptive_policy.DECIDE_PERMISSION
    model = PolicySuggestion

    def post(self, request):
        rows = adaptive_policy.refresh()
        messages.success(request, f"Recomputed: {len(rows)} open suggestion(s).")
        return redirect("policy_suggestion_list")
