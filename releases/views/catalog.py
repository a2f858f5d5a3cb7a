"""Service catalog pages: teams, services, their dependencies and the dependency picture."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse, reverse_lazy
from django.views.generic import CreateView, DetailView, ListView, UpdateView, View

from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases import impact
from releases.catalog_forms import DependencyForm, ServiceForm, TeamForm
from releases.filtersets import ServiceFilterSet, TeamFilterSet
from releases.models import ReleaseService, Service, ServiceDependency, Team

RECENT_RELEASES = 10


# --- teams --------------------------------------------------------------------------------


class TeamListView(RoleRequiredMixin, ListView):
    permission_required = "releases.view_team"
    template_name = "catalog/team_list.html"

    def get_queryset(self):
        self.filterset = TeamFilterSet(
            self.request.GET or None,
            queryset=Team.objects.annotate(
                service_count=Count("services", distinct=True),
                member_count=Count("members", distinct=True),
            ).order_by("name"),
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = paginate(self.request, self.object_list)
        context["filter_form"] = style_filter_form(self.filterset.form)
        return context


class TeamDetailView(RoleRequiredMixin, DetailView):
    permission_required = "releases.view_team"
    model = Team
    template_name = "catalog/team_detail.html"
    context_object_name = "team"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        team = self.object
        context["services"] = team.services.annotate(
            dependency_count=Count("dependency_links", distinct=True),
            dependent_count=Count("dependent_links", distinct=True),
        ).order_by("name")
        context["members"] = team.members.order_by("username")
        context["history"] = history_rows(team)
        return context


class TeamCreateView(RoleRequiredMixin, ModelFormSaveMixin, CreateView):
    permission_required = "releases.add_team"
    list_url_name = "team_list"
    model = Team
    form_class = TeamForm
    cancel_url = reverse_lazy("team_list")


class TeamUpdateView(RoleRequiredMixin, ModelFormSaveMixin, UpdateView):
    permission_required = "releases.change_team"
    list_url_name = "team_list"
    model = Team
    form_class = TeamForm


class TeamDeleteView(ConfirmDeleteView):
    permission_required = "releases.delete_team"
    list_url_name = "team_list"
    model = Team
    success_url = reverse_lazy("team_list")
    protected_label = "services"


# --- services -----------------------------------------------------------------------------


def service_list_queryset():
    return (
        Service.objects.select_related("team")
        .annotate(
            dependency_count=Count("dependency_links", distinct=True),
            dependent_count=Count("dependent_links", distinct=True),
        )
        .order_by("name", "pk")
    )


class ServiceListView(RoleRequiredMixin, ListView):
    permission_required = "releases.view_service"
    template_name = "catalog/service_list.html"

    def get_queryset(self):
        self.filterset = ServiceFilterSet(
            self.request.GET or None, queryset=service_list_queryset()
        )
        return self.filterset.qs

    def get_template_names(self):
        if is_htmx(self.request):
            return ["catalog/_service_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = paginate(self.request, self.object_list)
        context["filter_form"] = style_filter_form(self.filterset.form)
        context["filter_errors"] = self.filterset.errors if self.filterset.is_bound else {}
        return context


# Room above the top row for edges that jump over a column (drawn as arcs there).
ARC_PAD = 40


def _edge_path(edge: dict, box_w: float, column_step: float) -> tuple[str, bool]:
    """An SVG path for one dependency edge of ``impact.neighbourhood``, and whether it arcs.

    Edges run from the dependent's left side to the dependency's right side.
    Between neighbouring columns that is a smooth S-curve. Within one column
    (e.g. two dependencies of the service that also depend on each other) the
    edge loops out on the left. An edge that jumps over a column (a dependent
    that also needs an upstream service directly) would cut through the boxes
    between, so it arcs above the picture instead; so does a cycle drawn
    backwards.
    """
    x1, y1, x2, y2 = edge["x1"], edge["y1"], edge["x2"], edge["y2"]
    src_left, dst_left = x1, x2 - box_w
    span = round((src_left - dst_left) / column_step)  # columns back to the dependency
    if span == 1:
        mid = (x1 + x2) / 2
        return f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}", False
    if span == 0:
        bulge = 24  # stays inside the gap between columns
        return f"M{x1},{y1} C{x1 - bulge},{y1} {x1 - bulge},{y2} {dst_left},{y2}", False
    if span == -1:
        start = src_left + box_w
        mid = (start + dst_left) / 2
        return f"M{start},{y1} C{mid},{y1} {mid},{y2} {dst_left},{y2}", False
    # Control height chosen so the arc's highest point sits at y = -15.
    top = (-120 - y1 - y2) / 6
    if span > 1:
        return f"M{x1},{y1} C{x1 - 40},{top} {x2 + 40},{top} {x2},{y2}", True
    start = src_left + box_w
    return f"M{start},{y1} C{start + 40},{top} {dst_left - 40},{top} {dst_left},{y2}", True


def dependency_picture(service: Service) -> dict:
    """``impact.neighbourhood`` plus what the SVG template needs: labels, centres, paths."""
    graph = impact.neighbourhood(service)
    box_w = graph["nodes"][0]["w"] if graph["nodes"] else 160
    xs = sorted({node["x"] for node in graph["nodes"]})
    column_step = min((b - a for a, b in zip(xs, xs[1:], strict=False)), default=box_w + 30)
    for node in graph["nodes"]:
        name = node["service"].name
        node["label"] = name if len(name) <= 22 else name[:21] + "…"
        node["cx"] = node["x"] + node["w"] / 2
        node["cy"] = node["y"] + node["h"] / 2
    arcs = False
    for edge in graph["edges"]:
        edge["d"], arcs_here = _edge_path(edge, box_w, column_step)
        arcs = arcs or arcs_here
    graph["view_y"] = -ARC_PAD if arcs else 0
    graph["view_height"] = graph["height"] + (ARC_PAD if arcs else 0)
    graph["has_library"] = any(e["kind"] == "library" for e in graph["edges"])
    return graph


class ServiceDetailView(RoleRequiredMixin, DetailView):
    permission_required = "releases.view_service"
    model = Service
    template_name = "catalog/service_detail.html"
    context_object_name = "service"

    def get_queryset(self):
        return Service.objects.select_related("team").prefetch_related("owners")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        service = self.object
        context["depends_on"] = service.dependency_links.select_related("depends_on__team")
        context["depended_on_by"] = service.dependent_links.select_related("service__team")
        context["releases"] = (
            ReleaseService.objects.filter(service=service)
            .select_related("release")
            .order_by("-release__created")[:RECENT_RELEASES]
        )
        context["release_count"] = service.release_links.count()
        context["impact"] = impact.analyse([service])
        context["graph"] = dependency_picture(service)
        context["history"] = history_rows(service)
        if self.request.user.has_perm("releases.add_servicedependency"):
            context["dependency_form"] = DependencyForm(service=service)
        return context


class ServiceCreateView(RoleRequiredMixin, ModelFormSaveMixin, CreateView):
    permission_required = "releases.add_service"
    list_url_name = "service_list"
    model = Service
    form_class = ServiceForm
    cancel_url = reverse_lazy("service_list")

    def get_initial(self):
        initial = super().get_initial()
        team = self.request.GET.get("team")
        if team:
            initial["team"] = Team.objects.filter(slug=team).first()
        return initial


class ServiceUpdateView(RoleRequiredMixin, ModelFormSaveMixin, UpdateView):
    permission_required = "releases.change_service"
    list_url_name = "service_list"
    model = Service
    form_class = ServiceForm


class ServiceDeleteView(ConfirmDeleteView):
    permission_required = "releases.delete_service"
    list_url_name = "service_list"
    model = Service
    success_url = reverse_lazy("service_list")
    protected_label = "releases"

    def consequences(self) -> list[str]:
        service = self.object
        out = []
        links = ServiceDependency.objects.filter(Q(service=service) | Q(depends_on=service)).count()
        if links:
            out.append(f"Its {links} dependency link(s) in the catalog are removed.")
        releases = service.release_links.count()
        if releases:
            out.append(
                f"It is shipped by {releases} release(s), so it cannot be deleted "
                "while those releases exist."
            )
        sole = [w.name for w in service.freeze_windows.annotate(n=Count("services")).filter(n=1)]
        if sole:
            out.append(
                "It is the only service in the scope of freeze window(s) "
                f"{', '.join(sole)}: without it they would cover all services."
            )
        return out


# --- dependencies -------------------------------------------------------------------------


class DependencyCreateView(RoleRequiredMixin, View):
    """Add “this service depends on …”. Invalid input re-renders the form with its errors."""

    permission_required = "releases.add_servicedependency"
    template_name = "catalog/dependency_form.html"

    def get_service(self):
        return get_object_or_404(Service.objects.select_related("team"), slug=self.kwargs["slug"])

    def get(self, request, slug):
        service = self.get_service()
        return render(
            request,
            self.template_name,
            {"service": service, "form": DependencyForm(service=service)},
        )

    def post(self, request, slug):
        service = self.get_service()
        form = DependencyForm(request.POST, service=service)
        if not form.is_valid():
            return render(
                request, self.template_name, {"service": service, "form": form}, status=400
            )
        with transaction.atomic():
            link = form.save(commit=False)
            link.save_with_reason("Dependency added", request.user)
        messages.success(
            request, f"{service} now depends on {link.depends_on} ({link.get_kind_display()})."
        )
        return redirect(reverse("service_detail", args=[service.slug]) + "#dependencies")


class DependencyDeleteView(ConfirmDeleteView):
    permission_required = "releases.delete_servicedependency"
    list_url_name = "service_list"
    model = ServiceDependency
    template_name = "catalog/object_confirm_delete.html"

    def get_queryset(self):
        return ServiceDependency.objects.select_related("service", "depends_on").filter(
            service__slug=self.kwargs["slug"]
        )

    def get_success_url(self):
        return reverse("service_detail", args=[self.kwargs["slug"]]) + "#dependencies"
