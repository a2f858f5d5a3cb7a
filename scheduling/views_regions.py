"""Region pages: list, detail (windows, go-live rules, holiday import), create, edit, delete."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils import timezone
from django.views import View
from django.views.generic import CreateView, DetailView, ListView, UpdateView

from releasemgr.views import ConfirmDeleteView, ModelFormSaveMixin, style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from scheduling.filtersets import RegionFilterSet
from scheduling.forms import HolidayImportForm, RegionForm, zone_names
from scheduling.holidays import HolidayImportError, import_holidays
from scheduling.models import Region
from scheduling.windows import Scope, windows_between

UPCOMING_DAYS = 60


class ZoneNamesMixin:
    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["zone_names"] = zone_names()
        return context


class RegionListView(RoleRequiredMixin, ListView):
    permission_required = "scheduling.view_region"
    template_name = "scheduling/regions/region_list.html"

    def get_queryset(self):
        self.filterset = RegionFilterSet(
            self.request.GET or None,
            queryset=Region.objects.annotate(
                window_count=Count("windows", distinct=True),
                rule_count=Count("go_live_rules", distinct=True),
            ).order_by("rollout_order", "code"),
        )
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["page"] = paginate(self.request, self.object_list, per_page=50)
        context["filter_form"] = style_filter_form(self.filterset.form)
        now = timezone.now()
        for region in context["page"]:
            region.local_now = now.astimezone(ZoneInfo(region.timezone)).replace(tzinfo=None)
        return context


class RegionDetailView(RoleRequiredMixin, DetailView):
    permission_required = "scheduling.view_region"
    model = Region
    slug_field = "code"
    slug_url_kwarg = "code"
    template_name = "scheduling/regions/region_detail.html"
    context_object_name = "region"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        region = self.object
        now = timezone.now()
        own = list(
            region.windows.prefetch_related("services", "teams", "environments", "regions")
            .select_related("created_by")
            .order_by("start")
        )
        context["own_windows"] = own
        # What applies to this region soon: its own windows and the global ones.
        context["upcoming"] = windows_between(
            now, now + timedelta(days=UPCOMING_DAYS), Scope(None, None, None, region.pk)
        )[:50]
        context["upcoming_days"] = UPCOMING_DAYS
        context["rules"] = region.go_live_rules.select_related("release", "service").order_by(
            "earliest_at"
        )
        context["local_now"] = now.astimezone(ZoneInfo(region.timezone)).replace(tzinfo=None)
        context["import_form"] = kwargs.get("import_form") or HolidayImportForm()
        context["holiday_count"] = sum(
            1 for w in own if (w.source_key or "").startswith("holiday:")
        )
        context["history"] = history_rows(region)
        return context


class RegionCreateView(RoleRequiredMixin, ZoneNamesMixin, ModelFormSaveMixin, CreateView):
    permission_required = "scheduling.add_region"
    model = Region
    form_class = RegionForm
    template_name = "scheduling/regions/region_form.html"
    cancel_url = reverse_lazy("region_list")
    list_url_name = "region_list"

    def get_initial(self):
        return {"timezone": timezone.get_current_timezone_name()}


class RegionUpdateView(RoleRequiredMixin, ZoneNamesMixin, ModelFormSaveMixin, UpdateView):
    permission_required = "scheduling.change_region"
    model = Region
    form_class = RegionForm
    slug_field = "code"
    slug_url_kwarg = "code"
    template_name = "scheduling/regions/region_form.html"
    list_url_name = "region_list"


class RegionDeleteView(ConfirmDeleteView):
    permission_required = "scheduling.delete_region"
    model = Region
    slug_field = "code"
    slug_url_kwarg = "code"
    success_url = reverse_lazy("region_list")
    list_url_name = "region_list"

    def consequences(self) -> list[str]:
        out = []
        rules = self.object.go_live_rules.count()
        if rules:
            out.append(f"Its {rules} go-live rule(s) are deleted with it.")
        windows = self.object.windows.count()
        if windows:
            out.append(
                f"{windows} window(s) are scoped to it; they stay, and any that name no other "
                "region then apply to every region."
            )
        return out


class HolidayImportView(RoleRequiredMixin, View):
    """POST: turn the region's public holidays of a year into windows (idempotent)."""

    permission_required = "scheduling.add_freezewindow"

    def post(self, request, code):
        region = get_object_or_404(Region, code=code)
        form = HolidayImportForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = import_holidays(
                    region,
                    data["year"],
                    kind=data["kind"],
                    hardness=data["hardness"],
                    allowed_change_types=data["allowed_change_types"],
                    user=request.user,
                )
            except HolidayImportError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                messages.success(request, result.message)
                return redirect(region.get_absolute_url() + "#holidays")
        view = RegionDetailView(request=request, kwargs={"code": code}, object=region)
        context = view.get_context_data(import_form=form)
        messages.error(request, "The holidays were not imported; nothing was written.")
        return render(request, RegionDetailView.template_name, context, status=400)
