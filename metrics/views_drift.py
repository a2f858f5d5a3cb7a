"""Config drift pages: the overview per service and environment, one service's environments,
the side-by-side diff between two environments, a release's expected configuration against the
observed one, snapshots, and reconciling a drift item. Rules are in ``metrics.drift``."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import drift
from metrics.filtersets_drift import ConfigSnapshotFilterSet, DriftItemFilterSet
from metrics.forms_drift_runbooks import ReconcileForm
from metrics.models.drift import ConfigSnapshot, DriftItem, DriftStatus
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release, Service
from scheduling.models import Environment

VIEW = "metrics.view_driftitem"


class DriftOverviewView(RoleRequiredMixin, View):
    """``/stabilisation/drift/``: open drift per service and environment, and the items."""

    permission_required = VIEW

    def get(self, request):
        rows, environments = drift.overview()
        filterset = DriftItemFilterSet(
            request.GET or {"status": DriftStatus.OPEN},
            queryset=DriftItem.objects.select_related("service", "environment", "release").order_by(
                "service__name", "environment__order", "key", "-pk"
            ),
        )
        page = paginate(request, filterset.qs, 25)
        context = {
            "rows": rows,
            "environments": environments,
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors,
        }
        return render(request, "metrics/drift_overview.html", context)


class DriftServiceView(RoleRequiredMixin, View):
    """``/stabilisation/drift/services/<slug>/``: each environment's expected and observed
    configuration, open items, and the form to compare two environments."""

    model = Service
    permission_required = VIEW

    def get(self, request, slug):
        service = get_object_or_404(Service, slug=slug)
        environments = list(Environment.objects.order_by("order"))
        items = list(
            DriftItem.objects.filter(service=service, status__in=drift.ACTIVE)
            .select_related("environment")
            .order_by("environment__order", "key")
        )
        cards = []
        for environment in environments:
            expected = drift.expected_configuration(service, environment)
            snapshot = drift.latest_snapshot(service, environment)
            cards.append(
                {
                    "environment": environment,
                    "expected": expected,
                    "snapshot": snapshot,
                    "items": [i for i in items if i.environment_id == environment.pk],
                }
            )
        with_snapshots = [c["environment"] for c in cards if c["snapshot"]]
        context = {
            "service": service,
            "cards": cards,
            "environments": environments,
            "left": with_snapshots[0] if with_snapshots else None,
            "right": with_snapshots[-1] if with_snapshots else None,
        }
        return render(request, "metrics/drift_service.html", context)


class DriftCompareView(RoleRequiredMixin, View):
    """``/stabilisation/drift/services/<slug>/compare/?left=&right=``: latest snapshots of two
    environments side by side, differences highlighted."""

    model = Service
    permission_required = "metrics.view_configsnapshot"

    def get(self, request, slug):
        service = get_object_or_404(Service, slug=slug)
        environments = list(Environment.objects.order_by("order"))
        by_slug = {e.slug: e for e in environments}
        errors = []
        left = by_slug.get(request.GET.get("left") or "")
        right = by_slug.get(request.GET.get("right") or "")
        if left is None:
            left = environments[-2] if len(environments) > 1 else None
            if request.GET.get("left"):
                errors.append(f"No environment {request.GET['left']!r}.")
        if right is None:
            right = environments[-1] if environments else None
            if request.GET.get("right"):
                errors.append(f"No environment {request.GET['right']!r}.")
        found = drift.environment_diff(service, left, right) if left and right else None
        context = {
            "service": service,
            "environments": environments,
            "left": left,
            "right": right,
            "found": found,
            "rows": found["diff"].rows() if found else [],
            "errors": errors,
        }
        return render(request, "metrics/drift_compare.html", context, status=400 if errors else 200)


class ReleaseDriftView(RoleRequiredMixin, View):
    """``/stabilisation/drift/releases/<key>/?service=&environment=``: the release's expected
    configuration against the latest observed one."""

    permission_required = "metrics.view_configsnapshot"

    def get(self, request, key):
        release = get_object_or_404(Release, key=key)
        services = [rs.service for rs in release.release_services.select_related("service")]
        environments = list(Environment.objects.order_by("order"))
        service = next(
            (s for s in services if s.slug == request.GET.get("service")),
            services[0] if services else None,
        )
        environment = next(
            (e for e in environments if e.slug == request.GET.get("environment")),
            next(
                (e for e in environments if e.is_production),
                environments[-1] if environments else None,
            ),
        )
        found = (
            drift.expected_diff(service, environment, release) if service and environment else None
        )
        context = {
            "release": release,
            "services": services,
            "environments": environments,
            "service": service,
            "environment": environment,
            "found": found,
            "rows": found["diff"].rows() if found else [],
        }
        return render(request, "metrics/drift_release.html", context)


class ConfigSnapshotListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_configsnapshot"

    def get(self, request):
        filterset = ConfigSnapshotFilterSet(
            request.GET or None,
            queryset=ConfigSnapshot.objects.select_related(
                "service", "environment", "posted_by"
            ).order_by("-taken_at", "-pk"),
        )
        page = paginate(request, filterset.qs, 25)
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        return render(request, "metrics/config_snapshot_list.html", context)


class ConfigSnapshotDetailView(RoleRequiredMixin, View):
    model = ConfigSnapshot
    permission_required = "metrics.view_configsnapshot"

    def get(self, request, pk):
        snapshot = get_object_or_404(
            ConfigSnapshot.objects.select_related("service", "environment", "posted_by"), pk=pk
        )
        context = {
            "snapshot": snapshot,
            "values": sorted(drift.flatten(snapshot.values).items()),
            "items": snapshot.drift_items.select_related("environment").order_by("key"),
        }
        return render(request, "metrics/config_snapshot_detail.html", context)


def _item_page(request, item, form, status=200):
    context = {
        "item": item,
        "form": form,
        "history": history_rows(item),
        "can_reconcile": request.user.has_perm(drift.RECONCILE_PERMISSION)
        and item.status in drift.ACTIVE,
    }
    return render(request, "metrics/drift_item_detail.html", context, status=status)


class DriftItemDetailView(RoleRequiredMixin, View):
    model = DriftItem
    permission_required = VIEW

    def get(self, request, pk):
        item = get_object_or_404(
            DriftItem.objects.select_related(
                "service", "environment", "release", "snapshot", "decided_by"
            ),
            pk=pk,
        )
        return _item_page(request, item, ReconcileForm())


class DriftItemReconcileView(RoleRequiredMixin, View):
    """POST: accept as the new baseline or mark to fix, with a reason."""

    model = DriftItem
    permission_required = drift.RECONCILE_PERMISSION

    def get(self, request, pk):
        return redirect("drift_item_detail", pk=pk)

    def post(self, request, pk):
        item = get_object_or_404(DriftItem, pk=pk)
        form = ReconcileForm(request.POST)
        if form.is_valid():
            try:
                item = drift.reconcile(item, request.user, **form.cleaned_data)
            except drift.InvalidValues as exc:
                form.add_domain_errors(exc)
            except drift.IllegalTransition as exc:
                form.add_error(None, exc.message)
                return _item_page(request, item, form, status=409)
            else:
                messages.success(request, f"{item.key}: {item.get_status_display().lower()}.")
                return redirect(item)
        return _item_page(request, item, form, status=400)
