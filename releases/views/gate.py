"""Gate decision pages: every answer the deployment gate gave, with its checks."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, render
from django.views import View

from releasemgr.web import RoleRequiredMixin
from releases.filtersets import GateDecisionFilterSet
from releases.models import Deployment, GateDecision
from releases.views.common import active_filter_count, filtered_page


class GateDecisionListView(RoleRequiredMixin, View):
    permission_required = "releases.view_gatedecision"

    def get(self, request):
        queryset = GateDecision.objects.select_related("release", "requested_by")
        filterset, page = filtered_page(request, GateDecisionFilterSet, queryset)
        return render(
            request,
            "gate/gate_decision_list.html",
            {
                "filter": filterset,
                "page": page,
                "decisions": page.object_list,
                "active_filters": active_filter_count(filterset),
            },
        )


class GateDecisionDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_gatedecision"

    def get(self, request, pk):
        decision = get_object_or_404(
            GateDecision.objects.select_related("release", "requested_by"), pk=pk
        )
        # The deployment this answer let through, if it was asked to start one.
        deployment = (
            Deployment.objects.select_related("environment").filter(gate_decision=decision).first()
        )
        return render(
            request,
            "gate/gate_decision_detail.html",
            {
                "decision": decision,
                "deployment": deployment,
                "failed_checks": [c for c in decision.checks if not c.get("passed")],
            },
        )
