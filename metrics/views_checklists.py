"""Checklist pages: the templates, one template (versions with the diff of their items, the
refinement proposals with their evidence, the accept form), and the deployment page's
Checklist panel actions (start a run, tick an item). Rules: ``metrics.checklists`` and
``metrics.checklist_refinement``."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Max
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import checklist_refinement, checklists
from metrics.csv_export import csv_response
from metrics.filter_form import web_errors
from metrics.forms_postmortems import AcceptForm
from metrics.models.checklists import ChecklistRunItem, ChecklistTemplate
from metrics.periods import InvalidFilters, parse_filters
from releasemgr.decisions import DomainError
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Deployment

CHECKLIST_CSV_HEADER = ("name", "slug", "scope", "current_version", "runs", "updated")


class ChecklistListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_checklisttemplate"

    def get(self, request):
        qs = ChecklistTemplate.objects.annotate(
            current=Max("versions__number"), runs=Count("versions__runs", distinct=True)
        ).order_by("name")
        if request.GET.get("format") == "csv":
            rows = ((t.name, t.slug, t.scope, t.current, t.runs, t.updated) for t in qs.iterator())
            return csv_response("checklists.csv", CHECKLIST_CSV_HEADER, rows)
        return render(request, "metrics/checklist_list.html", {"page": paginate(request, qs, 25)})


def _period(request):
    query = {k: request.GET[k] for k in ("since", "until") if request.GET.get(k)}
    return parse_filters(query)


def render_template_page(request, template, status=200, accept_form=None, error=None):
    filters = None
    try:
        filters = _period(request)
    except InvalidFilters as exc:
        error = " ".join(m for msgs in web_errors(exc, request.GET).values() for m in msgs)
        status = 400
    versions = list(template.versions.select_related("created_by").order_by("number"))
    rows = []
    previous = None
    for version in versions:
        rows.append({"version": version, "diff": checklists.diff_items(previous, version)})
        previous = version
    rows.reverse()
    refinement = checklist_refinement.refine(filters, template) if filters else None
    keys = [p.key for p in refinement.proposals] if refinement else []
    context = {
        "template": template,
        "rows": rows,
        "refinement": refinement,
        "filters": filters,
        "error": error,
        "accept_form": accept_form or AcceptForm(keys=keys),
        "can_accept": request.user.has_perm(checklist_refinement.ACCEPT_PERMISSION),
        "history": history_rows(template),
    }
    return render(request, "metrics/checklist_detail.html", context, status=status)


class ChecklistDetailView(RoleRequiredMixin, View):
    model = ChecklistTemplate
    permission_required = "metrics.view_checklisttemplate"

    def get(self, request, pk):
        return render_template_page(request, get_object_or_404(ChecklistTemplate, pk=pk))


class ChecklistAcceptView(RoleRequiredMixin, View):
    """POST the chosen proposal keys (with the period shown) → a new version."""

    model = ChecklistTemplate
    permission_required = checklist_refinement.ACCEPT_PERMISSION

    def get(self, request, pk):
        return redirect(get_object_or_404(ChecklistTemplate, pk=pk))

    def post(self, request, pk):
        template = get_object_or_404(ChecklistTemplate, pk=pk)
        keys = request.POST.getlist("keys")
        form = AcceptForm(request.POST, keys=keys)
        if not form.is_valid():
            return render_template_page(request, template, 400, accept_form=form)
        try:
            filters = parse_filters(
                {k: request.POST[k] for k in ("since", "until") if request.POST.get(k)}
            )
            version = checklist_refinement.accept(
                request.user, template, filters, form.cleaned_data["keys"]
            )
        except DomainError as exc:
            return render_template_page(request, template, 400, error=exc.message)
        messages.success(
            request, f"Version {version.number} of {template.name}: {version.summary}."
        )
        return redirect(template.get_absolute_url() + f"#v{version.number}")


class DeploymentChecklistStartView(RoleRequiredMixin, View):
    model = Deployment
    permission_required = checklists.RUN_PERMISSION

    def get(self, request, pk):
        return redirect(get_object_or_404(Deployment, pk=pk).get_absolute_url() + "#checklist")

    def post(self, request, pk):
        deployment = get_object_or_404(Deployment, pk=pk)
        back = deployment.get_absolute_url() + "#checklist"
        template = ChecklistTemplate.objects.filter(slug=request.POST.get("template", "")).first()
        if template is None:
            messages.error(request, "Choose a checklist to start.")
            return redirect(back)
        try:
            run = checklists.start_run(request.user, deployment, template)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Checklist {run.version} started.")
        return redirect(back)


class ChecklistRunItemEditView(RoleRequiredMixin, View):
    model = ChecklistRunItem
    permission_required = checklists.TICK_PERMISSION

    def _item(self, pk):
        return get_object_or_404(ChecklistRunItem.objects.select_related("run"), pk=pk)

    def get(self, request, pk):
        return redirect(self._item(pk).get_absolute_url())

    def post(self, request, pk):
        item = self._item(pk)
        try:
            checklists.tick(
                request.user, item, request.POST.get("status", ""), request.POST.get("note", "")
            )
        except DomainError as exc:
            messages.error(request, f"{item.key}: {exc.message}")
        else:
            messages.success(request, f"{item.key}: {request.POST.get('status')}.")
        return redirect(item.get_absolute_url())
