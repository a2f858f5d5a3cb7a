"""Environment pages and calendar-window pages (freezes, blackouts, maintenance, release windows).

The window pages keep their first URL names (``freeze_list``, ``freeze_detail`` ...), which other
pages link to; the UI calls them "calendar windows".
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db.models import Case, Count, F, IntegerField, Max, Q, Value, When
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate
from releases.models import Deployment, Service, Team
from scheduling.choices import BLOCKING_KINDS, WindowKind
from scheduling.filtersets import EnvironmentFilterSet, FreezeWindowFilterSet, WindowListFilterSet
from scheduling.forms import EnvironmentForm, FreezeWindowForm, zone_names
from scheduling.models import Environment, FreezeWindow, Region
from scheduling.windows import Scope, in_scope, next_occurrences, policy_text, windows_at

RECENT_DEPLOYMENTS = 20
NEXT_OCCURRENCES = 10

# Sort key of a window relative to now: what matters today first.
ACTIVE, RECURRING, UPCOMING, PAST = 0, 1, 2, 3


def freeze_status(window: FreezeWindow, now) -> str:
    """``active`` / ``upcoming`` / ``past``, following the recurrence. Sets ``window.next``
    (the occurrence in progress or the next one) for the templates."""
    upcoming = next_occurrences(window, now, 1)
    window.next = upcoming[0] if upcoming else None
    if window.next is None:
        return "past"
    return "active" if window.next.covers(now) else "upcoming"


def _wall(moment, zone):
    """Wall-clock time in ``zone``, naive so the template's date filter does not convert it."""
    return moment.astimezone(zone).replace(tzinfo=None)


def _with_scope(queryset):
    return queryset.select_related("created_by").prefetch_related(
        "services", "environments", "teams", "regions"
    )


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
        active = [
            o.window
            for o in windows_at(timezone.now(), kinds=BLOCKING_KINDS, prefetch=["environments"])
        ]
        environments = list(self.object_list)
        for env in environments:
            scope = Scope(None, None, env.pk, None)
            env.active_freezes = [w for w in active if in_scope(w, scope)]
        context["environments"] = environments
        context["filter_form"] = style_filter_form(self.filterset.form)
        return context


UPCOMING_SHOWN = 8


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
            queryset=_with_scope(FreezeWindow.objects.filter(kind__in=BLOCKING_KINDS)),
        ).qs.order_by("start")
        active, upcoming = [], []
        for window in covering:
            status = freeze_status(window, now)
            if status == "active":
                active.append(window)
            elif status == "upcoming":
                upcoming.append(window)
        upcoming.sort(key=lambda w: w.next.start)
        context["active_freezes"] = active
        # The next few are what a release manager plans around; the calendar has the rest.
        context["upcoming_freezes"] = upcoming[:UPCOMING_SHOWN]
        context["upcoming_more"] = max(len(upcoming) - UPCOMING_SHOWN, 0)
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


# --- calendar windows ---------------------------------------------------------------------


class FreezeListView(RoleRequiredMixin, ListView):
    """Calendar windows: active one-off windows first, then recurring ones (with their next
    occurrence), then upcoming (soonest first), then ended (latest first)."""

    permission_required = "scheduling.view_freezewindow"
    template_name = "scheduling/freeze_list.html"

    def get_queryset(self):
        now = timezone.now()
        self.now = now
        recurring = ~Q(rrule="")
        queryset = _with_scope(FreezeWindow.objects.all()).annotate(
            rank=Case(
                When(recurring & Q(recurrence_until__isnull=True), then=Value(RECURRING)),
                When(recurring & Q(recurrence_until__gt=now), then=Value(RECURRING)),
                When(recurring, then=Value(PAST)),
                When(start__lte=now, end__gt=now, then=Value(ACTIVE)),
                When(start__gt=now, then=Value(UPCOMING)),
                default=Value(PAST),
                output_field=IntegerField(),
            ),
            soon=Case(When(end__gt=now, then=F("start"))),
        )
        self.filterset = WindowListFilterSet(self.request.GET or None, queryset=queryset)
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
            window.group = {ACTIVE: "active", RECURRING: "recurring", UPCOMING: "upcoming"}.get(
                window.rank, "past"
            )
            window.policy = policy_text(window)
        context["page"] = page
        context["filter_form"] = style_filter_form(self.filterset.form)
        context["filter_errors"] = self.filterset.errors if self.filterset.is_bound else {}
        context["kind_choices"] = WindowKind.choices
        context["selected_kinds"] = self.request.GET.getlist("kind")
        context["service_choices"] = Service.objects.order_by("name").values_list("slug", "name")
        context["team_choices"] = Team.objects.order_by("name").values_list("slug", "name")
        context["environment_choices"] = Environment.objects.order_by("order").values_list(
            "slug", "name"
        )
        context["region_choices"] = Region.objects.order_by("rollout_order", "code").values_list(
            "code", "name"
        )
        return context


class FreezeDetailView(RoleRequiredMixin, DetailView):
    """A window with its policy, scope and next occurrences (in its time zone and UTC)."""

    permission_required = "scheduling.view_freezewindow"
    model = FreezeWindow
    template_name = "scheduling/freeze_detail.html"
    context_object_name = "freeze"

    def get_queryset(self):
        return _with_scope(FreezeWindow.objects.all())

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        window = self.object
        now = timezone.now()
        zone = ZoneInfo(window.timezone or "UTC")
        context["status"] = freeze_status(window, now)
        context["now"] = now
        context["zone"] = zone
        context["policy"] = policy_text(window)
        context["imported"] = (window.source_key or "").startswith("holiday:")
        context["local_start"] = _wall(window.start, zone)
        context["local_end"] = _wall(window.end, zone)
        context["local_until"] = (
            _wall(window.recurrence_until, zone) if window.recurrence_until else None
        )
        context["occurrences"] = [
            {
                "start": occ.start,
                "end": occ.end,
                "local_start": _wall(occ.start, zone),
                "local_end": _wall(occ.end, zone),
                "active": occ.covers(now),
            }
            for occ in next_occurrences(window, now, NEXT_OCCURRENCES)
        ]
        context["history"] = history_rows(window)
        return context


class WindowFormMixin(ModelFormSaveMixin):
    template_name = "scheduling/window_form.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["zone_names"] = zone_names()
        return context


class FreezeCreateView(RoleRequiredMixin, WindowFormMixin, CreateView):
    permission_required = "scheduling.add_freezewindow"
    model = FreezeWindow
    form_class = FreezeWindowForm
    cancel_url = reverse_lazy("freeze_list")
    list_url_name = "freeze_list"

    def get_initial(self):
        initial = super().get_initial()
        # Links such as "New release window for eu-de" pre-fill the form.
        if self.request.GET.get("kind") in WindowKind.values:
            initial["kind"] = self.request.GET["kind"]
        region = Region.objects.filter(code=self.request.GET.get("region", "")).first()
        if region is not None:
            initial["regions"] = [region.pk]
            initial["timezone"] = region.timezone
        return initial

    def prepare(self, obj) -> None:
        obj.created_by = self.request.user


class FreezeUpdateView(RoleRequiredMixin, WindowFormMixin, UpdateView):
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
        if freeze_status(self.object, timezone.now()) == "active" and self.object.blocks:
            return ["This window is active now: deleting it lifts the freeze immediately."]
        return []
