"""Environment and freeze-window pages."""

from __future__ import annotations

import django_filters
from django.db.models import Case, Count, F, IntegerField, Max, Value, When
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Deployment, Service
from scheduling.filtersets import EnvironmentFilterSet, FreezeWindowFilterSet
from scheduling.forms import EnvironmentForm, FreezeWindowForm
from scheduling.models import Environment, FreezeWindow

RECENT_DEPLOYMENTS = 20

# Sort key of a window relative to now: what matters today first.
ACTIVE, UPCOMING, PAST = 0, 1, 2


def freeze_status(window: FreezeWindow, now) -> str:
    if window.start <= now < window.end:
        return "active"
    return "upcoming" if window.start > now else "past"


def _with_scope(queryset):
    return queryset.select_related("created_by").prefetch_related("services", "environments")


# --- environments -------------------------------------------------------------------------


class EnvironmentListView(RoleRequiredMixin, ListView):
    """All environments in promotion order (few rows, so one page), with what is frozen now."""

    permission_required = "scheduling.view_environment"
    template_name = "scheduling/environment_list.html"

    def get_queryset(self):
        self.filterset = EnvironmentFilterSet(
            self.request.GET or None,
            queryset=Environment.objects.annotate(
                deployment_count=Count("deployments"),
                last_deployed=Max("deployments__started_at"),
            ).order_by("order"),
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        active = list(FreezeWindow.objects.active_at(now).prefetch_related("environments"))
        environments = list(self.object_list)
        for env in environments:
            env.active_freezes = [
                w for w in active if not w.environments.all() or env in w.environments.all()
            ]
        context["environments"] = environments
        context["filter_form"] = style_filter_form(self.filterset.form)
        return context


class EnvironmentDetailView(RoleRequiredMixin, DetailView):
    permission_required = "scheduling.view_environment"
    model = Environment
    template_name = "scheduling/environment_detail.html"
    context_object_name = "environment"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        env = self.object
        now = timezone.now()
        context["deployments"] = (
            Deployment.objects.filter(environment=env)
            .select_related("release", "started_by")
            .order_by("-started_at")[:RECENT_DEPLOYMENTS]
        )
        # The shared filterset answers "which windows cover this environment".
        covering = FreezeWindowFilterSet(
            {"ends_after": now.isoformat(), "environment": env.slug},
            queryset=_with_scope(FreezeWindow.objects.all()),
        ).qs.order_by("start")
        windows = list(covering)
        context["active_freezes"] = [w for w in windows if w.start <= now]
        context["upcoming_freezes"] = [w for w in windows if w.start > now]
        context["history"] = history_rows(env)
        return context


class EnvironmentCreateView(RoleRequiredMixin, ModelFormSaveMixin, CreateView):
    permission_required = "scheduling.add_environment"
    model = Environment
    form_class = EnvironmentForm
    cancel_url = reverse_lazy("environment_list")
    list_url_name = "environment_list"

    def get_initial(self):
        initial = super().get_initial()
        highest = Environment.objects.aggregate(m=Max("order"))["m"]
        initial["order"] = (highest or 0) + 1
        return initial


class EnvironmentUpdateView(RoleRequiredMixin, ModelFormSaveMixin, UpdateView):
    permission_required = "scheduling.change_environment"
    model = Environment
    form_class = EnvironmentForm
    list_url_name = "environment_list"


class EnvironmentDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_environment"
    model = Environment
    success_url = reverse_lazy("environment_list")
    protected_label = "deployments"
    list_url_name = "environment_list"

    def consequences(self) -> list[str]:
        count = self.object.deployments.count()
        if count:
            return [
                f"{count} deployment(s) went to this environment, so it cannot be deleted: "
                "the deployment record must stay."
            ]
        return []


# --- freeze windows -----------------------------------------------------------------------


class FreezeWindowListFilterSet(FreezeWindowFilterSet):
    """The shared freeze filters plus a "when" choice for the page."""

    when = django_filters.ChoiceFilter(
        choices=[("current", "Active now"), ("upcoming", "Upcoming"), ("past", "Ended")],
        method="filter_when",
        label="When",
        empty_label="Any time",
    )

    class Meta(FreezeWindowFilterSet.Meta):
        fields = ["q"]

    def filter_when(self, queryset, name, value):
        now = timezone.now()
        if value == "current":
            return queryset.active_at(now)
        if value == "upcoming":
            return queryset.filter(start__gt=now)
        if value == "past":
            return queryset.filter(end__lte=now)
        return queryset


class FreezeListView(RoleRequiredMixin, ListView):
    """Active windows first, then upcoming (soonest first), then ended (latest first)."""

    permission_required = "scheduling.view_freezewindow"
    template_name = "scheduling/freeze_list.html"

    def get_queryset(self):
        now = timezone.now()
        self.now = now
        queryset = _with_scope(FreezeWindow.objects.all()).annotate(
            rank=Case(
                When(start__lte=now, end__gt=now, then=Value(ACTIVE)),
                When(start__gt=now, then=Value(UPCOMING)),
                default=Value(PAST),
                output_field=IntegerField(),
            ),
            soon=Case(When(end__gt=now, then=F("start"))),
        )
        self.filterset = FreezeWindowListFilterSet(self.request.GET or None, queryset=queryset)
        return self.filterset.qs.order_by(
            "rank", F("soon").asc(nulls_last=True), F("end").desc(), "pk"
        )

    def get_template_names(self):
        if is_htmx(self.request):
            return ["scheduling/_freeze_table.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = paginate(self.request, self.object_list)
        for window in page:
            window.status = freeze_status(window, self.now)
        context["page"] = page
        context["filter_form"] = style_filter_form(self.filterset.form)
        context["filter_errors"] = self.filterset.errors if self.filterset.is_bound else {}
        context["service_choices"] = Service.objects.order_by("name").values_list("slug", "name")
        context["environment_choices"] = Environment.objects.order_by("order").values_list(
            "slug", "name"
        )
        return context


class FreezeDetailView(RoleRequiredMixin, DetailView):
    permission_required = "scheduling.view_freezewindow"
    model = FreezeWindow
    template_name = "scheduling/freeze_detail.html"
    context_object_name = "freeze"

    def get_queryset(self):
        return _with_scope(FreezeWindow.objects.all())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        context["status"] = freeze_status(self.object, now)
        context["now"] = now
        context["history"] = history_rows(self.object)
        return context


class FreezeCreateView(RoleRequiredMixin, ModelFormSaveMixin, CreateView):
    permission_required = "scheduling.add_freezewindow"
    model = FreezeWindow
    form_class = FreezeWindowForm
    cancel_url = reverse_lazy("freeze_list")
    list_url_name = "freeze_list"

    def prepare(self, obj) -> None:
        obj.created_by = self.request.user


class FreezeUpdateView(RoleRequiredMixin, ModelFormSaveMixin, UpdateView):
    permission_required = "scheduling.change_freezewindow"
    model = FreezeWindow
    form_class = FreezeWindowForm
    list_url_name = "freeze_list"


class FreezeDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_freezewindow"
    model = FreezeWindow
    success_url = reverse_lazy("freeze_list")
    list_url_name = "freeze_list"

    def consequences(self) -> list[str]:
        if freeze_status(self.object, timezone.now()) == "active":
            return ["This window is active now: deleting it lifts the freeze immediately."]
        return []
