"""The landing page: what is happening, what is next, what waits for me."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, F, Prefetch
from django.utils import timezone
from django.views.generic import TemplateView

from governance import policy
from governance.models import Approval
from releasemgr.web import RoleRequiredMixin
from releases.choices import ReleaseState
from releases.models import Deployment, GateDecision, Release
from scheduling import patching, windows
from scheduling.choices import BLOCKING_KINDS

DASHBOARD_ROWS = 8
FREEZE_LOOKAHEAD = timedelta(days=60)


class DashboardView(RoleRequiredMixin, TemplateView):
    template_name = "dashboard.html"
    permission_required = "releases.view_release"

    def get_context_data(self, **kwargs):
        user = self.request.user
        now = timezone.now()
        counts = dict(
            Release.objects.order_by()
            .values("state")
            .annotate(n=Count("pk"))
            .values_list("state", "n")
        )
        state_counts = [
            {"state": value, "label": label, "count": counts.get(value, 0)}
            for value, label in ReleaseState.choices
        ]

        upcoming = list(
            Release.objects.with_related()
            .filter(state__in=[ReleaseState.APPROVED, ReleaseState.DEPLOYING])
            .order_by(F("planned_start").asc(nulls_last=True), "key")[:DASHBOARD_ROWS]
        )

        # The next occurrence of each blocking window (recurring ones included), soonest first.
        freezes, seen = [], set()
        for occ in windows.windows_between(
            now, now + FREEZE_LOOKAHEAD, kinds=BLOCKING_KINDS, prefetch=("services", "environments")
        ):
            if occ.window.pk not in seen and len(freezes) < DASHBOARD_ROWS:
                seen.add(occ.window.pk)
                freezes.append(
                    {
                        "window": occ.window,
                        "start": occ.start,
                        "end": occ.end,
                        "is_active": occ.covers(now),
                    }
                )

        pending = list(
            Release.objects.with_related()
            .filter(state=ReleaseState.SUBMITTED)
            .prefetch_related(Prefetch("approvals", queryset=Approval.objects.order_by("-created")))
            .order_by(F("planned_start").asc(nulls_last=True), "key")[:DASHBOARD_ROWS]
        )
        can_approve = user.has_perm("governance.approve_release")
        if can_approve:
            policy.prime(pending)  # requirements and contributors of every row at once
        for release in pending:
            # Highlight what this reviewer may act on; the lifecycle re-checks on POST.
            release.may_decide = policy.may_decide(user, release) if can_approve else None

        deployments = list(
            Deployment.objects.select_related("release", "environment", "started_by")[
                :DASHBOARD_ROWS
            ]
        )
        gate_decisions = list(
            GateDecision.objects.select_related("release", "requested_by")[:DASHBOARD_ROWS]
        )
        # Overdue and at-risk security patches (three queries: policies, rows, services).
        known = patching.policies()
        patches = patching.annotate_states(
            patching.overdue_or_at_risk(now, known)
            .select_related("patch_release")
            .prefetch_related("services")[:DASHBOARD_ROWS],
            now,
            known,
        )
        return super().get_context_data(
            patches=patches,
            state_counts=state_counts,
            total_releases=sum(counts.values()),
            upcoming=upcoming,
            freezes=freezes,
            pending=pending,
            can_approve=can_approve,
            recent_deployments=deployments,
            recent_gate_decisions=gate_decisions,
            can_add_release=user.has_perm("releases.add_release"),
            now=now,
            **kwargs,
        )
