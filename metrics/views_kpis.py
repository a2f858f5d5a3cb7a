"""KPI watch pages: KPI definitions (list, detail with chart, create/edit/delete), stabilisation
windows (list, detail with per-KPI charts and reasons, change the length) and KPI alerts
(list, acknowledge).

The rules are in ``metrics.stabilisation``; these views parse input, call it and show its answer.
"""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.db.models import Count, Max, ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views import View

from metrics import stabilisation
from metrics.charts_kpis import kpi_chart, window_charts
from metrics.filtersets_kpis import KpiAlertFilterSet, KpiFilterSet, StabilisationWindowFilterSet
from metrics.forms_kpis import AcknowledgeForm, KpiForm, WindowHoursForm
from metrics.models import Kpi, KpiAlert, StabilisationWindow
from releasemgr.decisions import DomainError
from releasemgr.views import style_filter_form
from releasemgr.web import RoleRequiredMixin, history_rows, is_htmx, paginate

PER_PAGE = 25
CHART_DAYS = 7
CHART_MAX_SAMPLES = 2000


def _text_filter(form, name, placeholder):
    form.fields[name].widget = forms.TextInput(
        attrs={"class": "form-control form-control-sm", "placeholder": placeholder}
    )


# --- KPI definitions ----------------------------------------------------------------------------


class KpiListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_kpi"
    model = Kpi

    def get(self, request):
        queryset = (
            Kpi.objects.select_related("service")
            .annotate(sample_count=Count("samples"), last_sample=Max("samples__measured_at"))
            .order_by("service__slug", "name")
        )
        filterset = KpiFilterSet(request.GET or None, queryset=queryset)
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        _text_filter(form, "service", "service slug")
        _text_filter(form, "q", "name contains…")
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
        }
        template = "metrics/kpi_table.html" if is_htmx(request) else "metrics/kpi_list.html"
        return render(request, template, context)


class KpiDetailView(RoleRequiredMixin, View):
    permission_required = "metrics.view_kpi"
    model = Kpi

    def get(self, request, pk):
        kpi = get_object_or_404(Kpi.objects.select_related("service"), pk=pk)
        since = timezone.now() - timedelta(days=CHART_DAYS)
        samples = list(
            kpi.samples.filter(measured_at__gte=since)
            .select_related("environment")
            .order_by("-measured_at", "-pk")[:CHART_MAX_SAMPLES]
        )
        samples.reverse()
        recent = list(
            kpi.samples.select_related("environment", "posted_by").order_by("-measured_at", "-pk")[
                :20
            ]
        )
        alerts = list(
            kpi.alerts.select_related("window", "window__release", "acknowledged_by")[:20]
        )
        chart = kpi_chart(kpi, samples)
        context = {
            "kpi": kpi,
            "chart": chart,
            "chart_list": [chart],
            "chart_days": CHART_DAYS,
            "recent": recent,
            "alerts": alerts,
            "history": history_rows(kpi),
        }
        return render(request, "metrics/kpi_detail.html", context)


class KpiCreateView(RoleRequiredMixin, View):
    permission_required = "metrics.add_kpi"
    model = Kpi
    template_name = "metrics/kpi_form.html"

    def get(self, request):
        initial = {}
        service = request.GET.get("service")
        if service:
            from releases.models import Service

            initial["service"] = Service.objects.filter(slug=service).first()
        return render(request, self.template_name, {"form": KpiForm(initial=initial)})

    def post(self, request):
        form = KpiForm(request.POST)
        if form.is_valid():
            kpi = form.save(commit=False)
            kpi.save_with_reason("created", user=request.user)
            messages.success(request, f"KPI {kpi} defined.")
            return redirect(kpi)
        return render(request, self.template_name, {"form": form}, status=400)


class KpiEditView(RoleRequiredMixin, View):
    permission_required = "metrics.change_kpi"
    model = Kpi
    template_name = "metrics/kpi_form.html"

    def get(self, request, pk):
        kpi = get_object_or_404(Kpi, pk=pk)
        return render(request, self.template_name, {"form": KpiForm(instance=kpi), "kpi": kpi})

    def post(self, request, pk):
        kpi = get_object_or_404(Kpi, pk=pk)
        form = KpiForm(request.POST, instance=kpi)
        if form.is_valid():
            kpi = form.save(commit=False)
            kpi.save_with_reason(form.cleaned_data.get("reason") or "edited", user=request.user)
            messages.success(request, f"KPI {kpi} saved.")
            return redirect(kpi)
        return render(request, self.template_name, {"form": form, "kpi": kpi}, status=400)


class KpiDeleteView(RoleRequiredMixin, View):
    permission_required = "metrics.delete_kpi"
    model = Kpi
    template_name = "metrics/kpi_confirm_delete.html"

    def get(self, request, pk):
        kpi = get_object_or_404(Kpi.objects.select_related("service"), pk=pk)
        context = {"kpi": kpi, "samples": kpi.samples.count(), "alerts": kpi.alerts.count()}
        return render(request, self.template_name, context)

    def post(self, request, pk):
        kpi = get_object_or_404(Kpi.objects.select_related("service"), pk=pk)
        label = str(kpi)
        try:
            kpi._history_user = request.user
            kpi.delete()
        except ProtectedError:
            messages.error(
                request,
                f"{label} has alerts on stabilisation windows; it stays for their record.",
            )
            context = {"kpi": kpi, "samples": kpi.samples.count(), "alerts": kpi.alerts.count()}
            return render(request, self.template_name, context, status=409)
        messages.success(request, f"KPI {label} and its samples deleted.")
        return redirect("kpi_list")


# --- stabilisation windows ----------------------------------------------------------------------


def _windows():
    return StabilisationWindow.objects.select_related(
        "release", "deployment", "deployment__environment"
    ).annotate(
        alert_count=Count("alerts", distinct=True),
    )


class WindowListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_stabilisationwindow"
    model = StabilisationWindow

    def get(self, request):
        filterset = StabilisationWindowFilterSet(
            request.GET or None, queryset=_windows().order_by("state", "-opened_at", "-pk")
        )
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        _text_filter(form, "release", "REL-…")
        _text_filter(form, "service", "service slug")
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "now": timezone.now(),
        }
        template = "metrics/window_table.html" if is_htmx(request) else "metrics/window_list.html"
        return render(request, template, context)


def window_context(request, window) -> dict:
    """What the window page and the release's Stabilisation panel show."""
    evaluation = stabilisation.evaluate(window)
    reasons = evaluation.reasons
    if window.state == "closed" and window.reasons:
        reasons = window.reasons  # the verdict's own reasons, as recorded at closing
    return {
        "window": window,
        "evaluation": evaluation,
        "reasons": reasons,
        "charts": window_charts(window, evaluation),
        "alerts": list(
            window.alerts.select_related("kpi", "kpi__service", "acknowledged_by").order_by(
                "-breach_started_at", "-pk"
            )
        ),
        "can_change": request.user.has_perm(stabilisation.CHANGE_PERMISSION),
        "can_acknowledge": request.user.has_perm(stabilisation.ACKNOWLEDGE_PERMISSION),
        "now": timezone.now(),
    }


def render_window(request, window, status=200, **extra):
    context = window_context(request, window)
    context["hours_form"] = extra.pop("hours_form", None) or WindowHoursForm(
        initial={"hours": window.hours}
    )
    context["ack_form"] = AcknowledgeForm()
    context["history"] = history_rows(window)
    context.update(extra)
    return render(request, "metrics/window_detail.html", context, status=status)


class WindowDetailView(RoleRequiredMixin, View):
    permission_required = "metrics.view_stabilisationwindow"
    model = StabilisationWindow

    def get(self, request, pk):
        return render_window(request, get_object_or_404(_windows(), pk=pk))


class WindowEditView(RoleRequiredMixin, View):
    """POST only: change how long an open window lasts (the per-release override)."""

    permission_required = stabilisation.CHANGE_PERMISSION
    model = StabilisationWindow
    http_method_names = ["post"]

    def post(self, request, pk):
        window = get_object_or_404(_windows(), pk=pk)
        form = WindowHoursForm(request.POST)
        if not form.is_valid():
            return render_window(request, window, status=400, hours_form=form)
        try:
            window = stabilisation.set_hours(
                window, request.user, form.cleaned_data["hours"], form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_window(request, window, status=exc.status_code, hours_form=form)
        messages.success(
            request,
            f"The window now lasts {window.hours} h (until {window.ends_at:%Y-%m-%d %H:%M} UTC).",
        )
        return redirect(window)


# --- alerts -------------------------------------------------------------------------------------


class AlertListView(RoleRequiredMixin, View):
    permission_required = "metrics.view_kpialert"
    model = KpiAlert

    def get(self, request):
        queryset = KpiAlert.objects.select_related(
            "window", "window__release", "kpi", "kpi__service", "acknowledged_by"
        ).order_by("acknowledged_at", "-breach_started_at", "-pk")
        filterset = KpiAlertFilterSet(request.GET or None, queryset=queryset)
        page = paginate(request, filterset.qs, PER_PAGE)
        form = style_filter_form(filterset.form)
        _text_filter(form, "release", "REL-…")
        _text_filter(form, "service", "service slug")
        context = {
            "page": page,
            "filter_form": form,
            "filter_errors": filterset.errors if filterset.is_bound else {},
            "ack_form": AcknowledgeForm(),
            "can_acknowledge": request.user.has_perm(stabilisation.ACKNOWLEDGE_PERMISSION),
        }
        template = "metrics/alert_table.html" if is_htmx(request) else "metrics/alert_list.html"
        return render(request, template, context)


class AlertAcknowledgeView(RoleRequiredMixin, View):
    permission_required = stabilisation.ACKNOWLEDGE_PERMISSION
    model = KpiAlert
    http_method_names = ["post"]

    def post(self, request, pk):
        alert = get_object_or_404(KpiAlert.objects.select_related("window"), pk=pk)
        form = AcknowledgeForm(request.POST)
        back = request.POST.get("next") or alert.get_absolute_url()
        if not back.startswith("/") or back.startswith("//"):
            back = alert.get_absolute_url()
        if not form.is_valid():
            messages.error(request, "The note is at most 300 characters.")
            return redirect(back)
        try:
            stabilisation.acknowledge(alert, request.user, form.cleaned_data["note"])
        except DomainError as exc:
            messages.error(request, exc.message)
            return render_window(request, alert.window, status=exc.status_code)
        messages.success(request, f"Alert #{alert.pk} acknowledged.")
        return redirect(back)
