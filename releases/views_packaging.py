"""Packaging pages: record an artifact, one artifact, its compensating script, plan a schema
migration, build the rollback package, configuration sets. The rules are in
``releases.packaging``."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases import packaging
from releases.filtersets_packaging import ConfigSetFilterSet
from releases.forms_packaging import (
    ArtifactForm,
    CompensatingScriptForm,
    ConfigSetForm,
    MigrationPlanForm,
    values_as_text,
)
from releases.models import Artifact, CompensatingScript, ConfigSet, Release, ScopeItem
from releases.models.packaging import ArtifactKind


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
            "can_add_script": request.user.has_perm("releases.add_compensatingscript"),
            "can_change_script": request.user.has_perm("releases.change_compensatingscript"),
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


class CompensatingScriptFormView(RoleRequiredMixin, View):
    """The form of the script undoing a DB migration; see the two views below."""

    template_name = "releases/compensating_script_form.html"

    def _objects(self, pk) -> tuple[Artifact, CompensatingScript | None]:
        raise NotImplementedError

    def _render(self, request, artifact, script, form, status=200):
        context = {"artifact": artifact, "script": script, "form": form}
        if script is not None:
            context["history"] = history_rows(script)
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        artifact, script = self._objects(pk)
        initial = {}
        if script is not None:
            initial = {"script": script.script, "uri": script.uri, "tested": script.tested}
            if not script.script.strip():  # a checksum computed from the text is recomputed
                initial["sha256"] = script.sha256
        return self._render(request, artifact, script, CompensatingScriptForm(initial=initial))

    def post(self, request, pk):
        artifact, script = self._objects(pk)
        form = CompensatingScriptForm(request.POST)
        if form.is_valid():
            try:
                packaging.save_compensating_script(
                    request.user, script, artifact=artifact, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_module_errors(exc)
            else:
                messages.success(request, f"Compensating script for {artifact} saved.")
                return redirect(artifact)
        return self._render(request, artifact, script, form, status=400)


class CompensatingScriptAddView(CompensatingScriptFormView):
    """``/packaging/artifacts/<pk>/compensating-scripts/add/`` (a DB-migration artifact)."""

    model = Artifact
    permission_required = "releases.add_compensatingscript"

    def _objects(self, pk):
        migrations = Artifact.objects.filter(kind=ArtifactKind.DB_MIGRATION)
        return get_object_or_404(migrations.select_related("release"), pk=pk), None


class CompensatingScriptEditView(CompensatingScriptFormView):
    """``/packaging/compensating-scripts/<pk>/edit/``."""

    model = CompensatingScript
    permission_required = "releases.change_compensatingscript"

    def _objects(self, pk):
        script = get_object_or_404(
            CompensatingScript.objects.select_related("artifact__release"), pk=pk
        )
        return script.artifact, script


# --- configuration sets ----------------------------------------------------------------------


def shown_values(values: dict) -> list[dict]:
    """Rows of a configuration set as shown: references as references, anything that still
    looks like a secret hidden (the rules are ``releases.packaging``'s)."""
    rows = []
    for key, value in (values or {}).items():
        if packaging.config_secret_errors({key: value}):
            rows.append({"key": key, "value": "********", "kind": "hidden"})
        elif packaging.is_reference(value):
            rows.append({"key": key, "value": value, "kind": "reference"})
        else:
            rows.append({"key": key, "value": value, "kind": "value"})
    return rows


def _masked_history(config_set: ConfigSet) -> list[dict]:
    rows = history_rows(config_set)
    for row in rows:
        for change in row["changes"]:
            for side in ("old", "new"):
                if isinstance(change[side], dict):
                    change[side] = values_as_text(packaging.mask_values(change[side])).replace(
                        "\n", ", "
                    )
    return rows


class ConfigSetListView(RoleRequiredMixin, View):
    """``/config-sets/``: every service's settings per environment, filtered."""

    permission_required = "releases.view_configset"

    def get(self, request):
        filterset = ConfigSetFilterSet(
            request.GET or None,
            queryset=ConfigSet.objects.select_related("service", "environment").order_by(
                "service__name", "environment__order", "-created", "-pk"
            ),
        )
        page = paginate(request, filterset.qs, 25)
        for config_set in page:
            config_set.references = sum(
                1 for v in config_set.values.values() if packaging.is_reference(v)
            )
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "can_add": request.user.has_perm("releases.add_configset"),
        }
        return render(request, "releases/config_set_list.html", context)


class ConfigSetDetailView(RoleRequiredMixin, View):
    model = ConfigSet
    permission_required = "releases.view_configset"

    def get(self, request, pk):
        config_set = get_object_or_404(
            ConfigSet.objects.select_related("service", "environment"), pk=pk
        )
        versions = ConfigSet.objects.filter(
            service_id=config_set.service_id, environment_id=config_set.environment_id
        ).order_by("-created", "-pk")
        context = {
            "config_set": config_set,
            "rows": shown_values(config_set.values),
            "versions": list(versions.only("pk", "version", "created")[:20]),
            "history": _masked_history(config_set),
            "can_change": request.user.has_perm("releases.change_configset"),
            "can_add": request.user.has_perm("releases.add_configset"),
        }
        return render(request, "releases/config_set_detail.html", context)


class ConfigSetFormView(RoleRequiredMixin, View):
    """Record (``/config-sets/new/``) or change (``/config-sets/<pk>/edit/``) a set."""

    model = ConfigSet
    template_name = "releases/config_set_form.html"

    def get_permission_required(self):
        if "pk" in self.kwargs:
            return ["releases.change_configset"]
        return ["releases.add_configset"]

    def _render(self, request, config_set, form, status=200):
        context = {"config_set": config_set, "form": form}
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk=None):
        config_set = get_object_or_404(ConfigSet, pk=pk) if pk else None
        if config_set is None:
            initial = {
                k: request.GET.get(k) for k in ("service", "environment") if k in request.GET
            }
        else:
            initial = {
                "service": config_set.service.slug,
                "environment": config_set.environment.slug,
                "version": config_set.version,
                "values": values_as_text(packaging.mask_values(config_set.values)),
                "description": config_set.description,
            }
        return self._render(request, config_set, ConfigSetForm(initial=initial))

    def post(self, request, pk=None):
        config_set = get_object_or_404(ConfigSet, pk=pk) if pk else None
        original = config_set.values if config_set else {}
        form = ConfigSetForm(request.POST, original=original)
        if form.is_valid():
            try:
                config_set = packaging.save_config_set(
                    request.user, config_set, **form.cleaned_data
                )
            except ValidationError as exc:
                form.add_module_errors(exc)
            else:
                messages.success(request, f"Configuration set {config_set} saved.")
                return redirect(config_set)
        return self._render(request, config_set, form, status=400)
