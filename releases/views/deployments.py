"""Deployment pages: list, detail with its event timeline, and reporting a final result."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views import View

from releasemgr.decisions import DomainError, NotPermitted
from releasemgr.web import RoleRequiredMixin, history_rows
from releases.choices import DeploymentStatus, EventType
from releases.filtersets import DeploymentFilterSet
from releases.forms import DeploymentEventForm
from releases.lifecycle import record_event
from releases.models import Deployment
from releases.views.common import active_filter_count, filtered_page


class DeploymentListView(RoleRequiredMixin, View):
    permission_required = "releases.view_deployment"

    def get(self, request):
        queryset = Deployment.objects.select_related("release", "environment", "started_by")
        filterset, page = filtered_page(request, DeploymentFilterSet, queryset)
        return render(
            request,
            "deployments/deployment_list.html",
            {
                "filter": filterset,
                "page": page,
                "deployments": page.object_list,
                "active_filters": active_filter_count(filterset),
                "status_field": filterset.form["status"],
            },
        )


def _event_form(deployment: Deployment, data=None) -> DeploymentEventForm | None:
    """The final results still possible for this deployment (the lifecycle re-checks)."""
    if deployment.status == DeploymentStatus.ROLLED_BACK:
        return None
    form = DeploymentEventForm(data)
    if deployment.is_finished:
        form.fields["type"].choices = [
            (v, label) for v, label in form.fields["type"].choices if v == EventType.ROLLED_BACK
        ]
    return form


def commit_rows(deployment) -> list[dict]:
    """The commits the deployment ships: once finished, as recorded for the metrics (with the
    first successful production deployment and the lead time); before, as declared."""
    from metrics.aggregates import hours
    from metrics.models import CommitRecord

    recorded = list(
        CommitRecord.objects.filter(deployment_record__deployment=deployment)
        .select_related("service")
        .order_by("authored_at", "service__slug", "sha")
    )
    if recorded:
        return [
            {
                "sha": c.sha,
                "service": c.service.slug,
                "authored_at": c.authored_at,
                "shipped_at": c.first_shipped_at,
                "lead_hours": hours(c.first_shipped_at - c.authored_at, 1)
                if c.first_shipped_at
                else None,
            }
            for c in recorded
        ]
    return [
        {
            "sha": c.get("sha", ""),
            "service": c.get("service") or "every service",
            "authored_at": parse_datetime(c.get("authored_at") or ""),
            "shipped_at": None,
            "lead_hours": None,
        }
        for c in deployment.commits or []
    ]


def render_deployment_detail(request, pk, status=200, event_form=None):
    deployment = get_object_or_404(
        Deployment.objects.select_related(
            "release", "environment", "started_by", "gate_decision__requested_by"
        ),
        pk=pk,
    )
    can_report = request.user.has_perm("releases.deploy_release")
    if can_report and event_form is None:
        event_form = _event_form(deployment)
    context = {
        "deployment": deployment,
        "release": deployment.release,
        "events": list(deployment.events.select_related("actor")),
        "history": history_rows(deployment),
        "event_form": event_form if can_report else None,
    }
    context["commit_rows"] = commit_rows(deployment)
    from releases.views_rollout import rollout_context

    context.update(rollout_context(request, deployment))  # targets, partial failure, smoke halt
    return render(request, "deployments/deployment_detail.html", context, status=status)


class DeploymentDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_deployment"

    def get(self, request, pk):
        return render_deployment_detail(request, pk)


class DeploymentEventView(RoleRequiredMixin, View):
    """Record a final result (succeeded/failed/halted/rolled back) by hand."""

    permission_required = "releases.deploy_release"

    def post(self, request, pk):
        deployment = get_object_or_404(Deployment.objects.select_related("release"), pk=pk)
        form = _event_form(deployment, request.POST)
        if form is None:
            messages.error(request, f"Deployment #{deployment.pk} is rolled back; it is final.")
            return redirect(deployment)
        if not form.is_valid():
            return render_deployment_detail(request, pk, event_form=form)
        data = form.cleaned_data
        try:
            event = record_event(
                deployment,
                request.user,
                type=data["type"],
                target=data["target"],
                message=data["message"],
            )
        except NotPermitted as exc:
            messages.error(request, exc.message)
            return render_deployment_detail(request, pk, status=403)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(deployment)
        deployment.refresh_from_db()
        messages.success(
            request,
            f"Recorded “{event.get_type_display()}”: deployment #{deployment.pk} is now "
            f"{deployment.get_status_display().lower()}.",
        )
        return redirect(deployment)
