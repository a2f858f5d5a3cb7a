"""Runbook pages: list per service, one runbook (current version rendered, versions, diff form,
history), one version, the diff between two versions, a new runbook or version, and linking a
version to a release's "runbook updated" checklist item. Rules are in ``metrics.runbooks``."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import runbooks
from metrics.filtersets_runbooks import RunbookFilterSet
from metrics.forms_drift_runbooks import LinkRunbookForm, RunbookForm, RunbookVersionForm
from metrics.models.runbooks import Runbook, RunbookVersion
from releasemgr.decisions import IllegalTransition
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release


class RunbookListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_runbook"

    def get(self, request):
        filterset = RunbookFilterSet(
            request.GET or None,
            queryset=Runbook.objects.select_related("service", "service__team")
            .annotate(current=Max("versions__number"), version_count=Count("versions"))
            .order_by("service__name", "title"),
        )
        page = paginate(request, filterset.qs, 25)
        context = {
            "page": page,
            "filter_form": style_filter_form(filterset.form),
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "can_add": request.user.has_perm("metrics.add_runbook"),
        }
        return render(request, "metrics/runbook_list.html", context)


class RunbookCreateView(RoleRequiredMixin, View):
    permission_required = "metrics.add_runbook"
    template_name = "metrics/runbook_form.html"

    def get(self, request):
        initial = {"service": request.GET.get("service")} if request.GET.get("service") else {}
        return render(request, self.template_name, {"form": RunbookForm(initial=initial)})

    def post(self, request):
        form = RunbookForm(request.POST)
        if form.is_valid():
            try:
                runbook = runbooks.create_runbook(request.user, **form.cleaned_data)
            except runbooks.InvalidInput as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Runbook {runbook.title} created (version 1).")
                return redirect(runbook)
        return render(request, self.template_name, {"form": form}, status=400)


def _runbook(slug):
    return get_object_or_404(Runbook.objects.select_related("service"), slug=slug)


class RunbookDetailView(RoleRequiredMixin, View):
    model = Runbook
    permission_required = "metrics.view_runbook"

    def get(self, request, slug):
        runbook = _runbook(slug)
        versions = list(runbook.versions.select_related("author").order_by("-number"))
        current = versions[0] if versions else None
        context = {
            "runbook": runbook,
            "versions": versions,
            "current": current,
            "html": runbooks.render_markdown(current.body) if current else "",
            "history": history_rows(runbook),
            "can_add": request.user.has_perm(runbooks.WRITE_PERMISSION),
        }
        return render(request, "metrics/runbook_detail.html", context)


class RunbookVersionDetailView(RoleRequiredMixin, View):
    model = RunbookVersion
    permission_required = "metrics.view_runbookversion"

    def get(self, request, slug, number):
        runbook = _runbook(slug)
        version = get_object_or_404(
            RunbookVersion.objects.select_related("author"), runbook=runbook, number=number
        )
        context = {
            "runbook": runbook,
            "version": version,
            "html": runbooks.render_markdown(version.body),
            "latest": runbook.versions.aggregate(n=Max("number"))["n"],
        }
        return render(request, "metrics/runbook_version_detail.html", context)


class RunbookDiffView(RoleRequiredMixin, View):
    """``?from=1&to=3``: a side-by-side or unified (``&view=unified``) diff."""

    model = Runbook
    permission_required = "metrics.view_runbookversion"

    def get(self, request, slug):
        runbook = _runbook(slug)
        numbers = list(runbook.versions.order_by("number").values_list("number", flat=True))
        default_from = numbers[-2] if len(numbers) > 1 else (numbers[0] if numbers else None)
        default_to = numbers[-1] if numbers else None
        error, found = None, None
        if numbers:
            try:
                old, new = runbooks.version_pair(
                    runbook,
                    request.GET.get("from") or default_from,
                    request.GET.get("to") or default_to,
                )
            except runbooks.InvalidInput as exc:
                error = exc.message
            else:
                found = runbooks.diff_versions(old, new)
        context = {
            "runbook": runbook,
            "numbers": numbers,
            "found": found,
            "error": error,
            "view": "unified" if request.GET.get("view") == "unified" else "side",
        }
        return render(request, "metrics/runbook_diff.html", context, status=400 if error else 200)


class RunbookVersionCreateView(RoleRequiredMixin, View):
    model = Runbook
    permission_required = runbooks.WRITE_PERMISSION
    template_name = "metrics/runbook_version_form.html"

    def get(self, request, slug):
        runbook = _runbook(slug)
        current = runbook.versions.order_by("-number").first()
        form = RunbookVersionForm(initial={"body": current.body if current else ""})
        return render(request, self.template_name, {"runbook": runbook, "form": form})

    def post(self, request, slug):
        runbook = _runbook(slug)
        form = RunbookVersionForm(request.POST)
        if form.is_valid():
            try:
                version = runbooks.add_version(request.user, runbook, **form.cleaned_data)
            except runbooks.InvalidInput as exc:
                form.add_domain_errors(exc)
            else:
                messages.success(request, f"Version {version.number} of {runbook.title} saved.")
                return redirect(runbook)
        context = {"runbook": runbook, "form": form}
        return render(request, self.template_name, context, status=400)


class ReleaseRunbookLinkView(RoleRequiredMixin, View):
    """POST from the release's Stabilisation panel: link (or unlink) a runbook version."""

    permission_required = runbooks.LINK_PERMISSION

    def get(self, request, key):
        return redirect(get_object_or_404(Release, key=key).get_absolute_url() + "#stabilisation")

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        back = release.get_absolute_url() + "#stabilisation"
        form = LinkRunbookForm(request.POST)
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return redirect(back)
        try:
            check = runbooks.link_version(
                release, form.cleaned_data["service"], form.cleaned_data["version"], request.user
            )
        except (runbooks.InvalidInput, IllegalTransition) as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{check.service.slug}: {check.version} linked."
                if check.version
                else f"{check.service.slug}: runbook version unlinked.",
            )
        return redirect(back)
