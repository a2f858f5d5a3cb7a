"""Packaging pages: record an artifact, one artifact, plan a schema migration, build the
rollback package. The rules are in ``releases.packaging``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from releasemgr.web import RoleRequiredMixin, history_rows
from releases import packaging
from releases.forms_packaging import ArtifactForm, MigrationPlanForm
from releases.models import Artifact, Release, ScopeItem


class ArtifactCreateView(RoleRequiredMixin, View):
    """``/packaging/artifacts/new/?release=<key>``."""

    permission_required = "releases.add_artifact"
    template_name = "releases/artifact_form.html"

    def get(self, request):
        release = Release.objects.filter(key=request.GET.get("release") or "").first()
        form = ArtifactForm(initial={"release": release.key} if release else {})
        return render(request, self.template_name, {"form": form, "release": release})

    def post(self, request):
        form = ArtifactForm(request.POST)
        release = Release.objects.filter(key=request.POST.get("release") or "").first()
        if form.is_valid():
            try:
                artifact = packaging.add_artifact(request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_module_errors(exc)
            else:
                flags = packaging.scan_artifact(artifact).failed
                messages.success(
                    request,
                    f"{artifact} recorded"
                    + (
                        f" with {len(flags)} environment-specific value(s) flagged."
                        if flags
                        else "."
                    ),
                )
                return redirect(artifact.release.get_absolute_url() + "#packaging")
        context = {"form": form, "release": release}
        return render(request, self.template_name, context, status=400)


class ArtifactDetailView(RoleRequiredMixin, View):
    permission_required = "releases.view_artifact"
    model = Artifact

    def get(self, request, pk):
        artifact = get_object_or_404(Artifact.objects.select_related("release", "service"), pk=pk)
        context = {
            "artifact": artifact,
            "scan": packaging.scan_artifact(artifact),
            "scripts": list(artifact.compensating_scripts.all()),
            "history": history_rows(artifact),
        }
        return render(request, "releases/artifact_detail.html", context)


class MigrationPlanEditView(RoleRequiredMixin, View):
    """Plan (or re-plan) the delivery of a schema-migration scope item."""

    permission_required = "releases.add_migrationplan"
    model = ScopeItem
    template_name = "releases/packaging_migration_form.html"

    def _item(self, pk):
        return get_object_or_404(
            ScopeItem.objects.select_related("release", "migration_plan"),
            pk=pk,
            kind="schema_migration",
        )

    def _render(self, request, item, form, status=200):
        context = {"item": item, "form": form, "advice": packaging.migration_advice(item)}
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        item = self._item(pk)
        plan = getattr(item, "migration_plan", None)
        initial = (
            {
                "backward_compatible": plan.backward_compatible,
                "phase": plan.phase,
                "delivery": plan.delivery,
                "reason": plan.reason,
            }
            if plan
            else {}
        )
        return self._render(request, item, MigrationPlanForm(initial=initial))

    def post(self, request, pk):
        item = self._item(pk)
        form = MigrationPlanForm(request.POST)
        if form.is_valid():
            try:
                packaging.save_migration_plan(
                    request.user,
                    getattr(item, "migration_plan", None),
                    scope_item=item,
                    **form.cleaned_data,
                )
            except ValidationError as exc:
                form.add_module_errors(exc)
            else:
                messages.success(request, f"Migration plan of '{item.title}' saved.")
                return redirect(item.release.get_absolute_url() + "#packaging")
        return self._render(request, item, form, status=400)


class RollbackPackageBuildView(RoleRequiredMixin, View):
    permission_required = "releases.add_rollbackpackage"

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        package = packaging.build_rollback_package(release, request.user)
        if package.contents["complete"]:
            messages.success(request, f"Rollback package of {release.key} built.")
        else:
            missing = ", ".join(package.contents["missing_compensation"])
            messages.warning(
                request,
                f"Rollback package of {release.key} built; no compensating script for {missing}.",
            )
        return redirect(release.get_absolute_url() + "#packaging")
