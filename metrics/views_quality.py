"""Quality score pages: the trend per team/service/domain over a period (chart, per-release
table, CSV), the weights (release managers edit them), and recomputing one release's score on
demand. Filters are every metrics page's (``metrics.periods``, the shared form); bad ones show
the messages with HTTP 400.

The rules are in ``metrics.quality_score``; these views parse input, call it and show its answer.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.validators import MaxValueValidator
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View

from metrics import quality_score
from metrics.csv_export import csv_response, download_name
from metrics.filter_form import bad_filters, filter_context
from metrics.models import QualityWeights, ReleaseQualityScore
from metrics.periods import InvalidFilters, parse_filters
from releasemgr.decisions import DomainError
from releasemgr.forms import BootstrapFormMixin
from releasemgr.web import RoleRequiredMixin, history_rows, paginate
from releases.models import Release

PER_PAGE = 25


class QualityPageView(RoleRequiredMixin, View):
    permission_required = "metrics.view_releasequalityscore"
    model = ReleaseQualityScore

    def get(self, request):
        context = filter_context(request)
        bucket = request.GET.get("bucket") or "week"
        try:
            filters = parse_filters(request.GET)
            trend = quality_score.trend(filters, bucket)  # refuses a bad bucket, as DORA's
        except InvalidFilters as exc:
            return bad_filters(request, "metrics/quality_page.html", context, exc)
        rows = quality_score.scores(filters).select_related("release").order_by("-deployed_at")
        if request.GET.get("format") == "csv":
            return _csv(filters, rows)
        total = sum(p["releases"] for p in trend)
        context.update(
            filters=filters,
            bucket=bucket,
            trend=trend,
            chart={
                "labels": [p["period"] for p in trend],
                "values": [p["average"] for p in trend],
                "counts": [p["releases"] for p in trend],
            },
            total=total,
            average=(
                round(sum(p["average"] * p["releases"] for p in trend) / total, 1)
                if total
                else None
            ),
            page=paginate(request, rows, PER_PAGE),
            weights=quality_score.current_weights(),
            query=request.GET.urlencode(),
        )
        return render(request, "metrics/quality_page.html", context)


CSV_CODES = ("tickets", "incidents", "kpi_breaches", "feedback", "production_failures")
CSV_HEADER = (
    "release",
    "name",
    "version",
    "deployed_at",
    "score",
    *(f"{c}_deducted" for c in CSV_CODES),
)


def _csv(filters, rows) -> HttpResponse:
    """The per-release table, every page of it (``metrics.csv_export``)."""

    def lines():
        for row in rows.iterator():
            deducted = {c.get("code"): c.get("deducted", 0) for c in row.components}
            yield (
                row.release.key,
                row.release.name,
                row.release.version,
                row.deployed_at,
                row.score,
                *(deducted.get(c, 0) for c in CSV_CODES),
            )

    return csv_response(download_name("quality", filters=filters), CSV_HEADER, lines())


CAP_HELP = "The most this component takes off the score of 100."
MAX_WEIGHT = 100  # a score starts at 100: more points or a higher cap could not be taken off


class WeightsForm(BootstrapFormMixin, forms.ModelForm):
    """The weights in the quality page's words (labels and help here, not on the model, so the
    edit needs no migration); each is 0-100, checked by the form."""

    reason = forms.CharField(
        max_length=100, help_text="Why the weights change (kept in the history)."
    )

    class Meta:
        model = QualityWeights
        fields = [
            "ticket_points",
            "ticket_cap",
            "incident_critical_points",
            "incident_high_points",
            "incident_medium_points",
            "incident_low_points",
            "incident_cap",
            "kpi_alert_points",
            "kpi_alert_cap",
            "feedback_points",
            "feedback_cap",
            "production_failure_points",
            "production_failure_cap",
        ]
        labels = {
            "ticket_points": "Per support ticket",
            "ticket_cap": "Support tickets: most taken",
            "incident_critical_points": "Per critical incident",
            "incident_high_points": "Per high incident",
            "incident_medium_points": "Per medium incident",
            "incident_low_points": "Per low incident",
            "incident_cap": "Incidents: most taken",
            "kpi_alert_points": "Per KPI breach",
            "kpi_alert_cap": "KPI breaches: most taken",
            "feedback_points": "Per unhappy customer",
            "feedback_cap": "Unhappy customers: most taken",
            "production_failure_points": "Per failed or rolled-back production deployment",
            "production_failure_cap": "Failed or rolled-back production deployments: most taken",
        }
        help_texts = {
            "ticket_points": "Points off for each release-related support ticket.",
            "kpi_alert_points": "Points off for each KPI breach in the release's "
            "stabilisation window.",
            "feedback_points": "Points off for each ticket attributed to the release with "
            "negative sentiment or a rating of 1 or 2.",
            "production_failure_points": "Points off for each production deployment of the "
            "release that failed or was rolled back.",
            **{
                name: CAP_HELP
                for name in (
                    "ticket_cap",
                    "incident_cap",
                    "kpi_alert_cap",
                    "feedback_cap",
                    "production_failure_cap",
                )
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.Meta.fields:
            field = self.fields[name]
            field.max_value = MAX_WEIGHT
            field.widget.attrs["max"] = MAX_WEIGHT
            field.validators.append(
                MaxValueValidator(
                    MAX_WEIGHT,
                    f"At most {MAX_WEIGHT}: a score starts at 100, so no weight can take off more.",
                )
            )


class QualityWeightsEditView(RoleRequiredMixin, View):
    permission_required = quality_score.WEIGHTS_PERMISSION
    model = QualityWeights

    def _weights(self):
        return QualityWeights.objects.order_by("-pk").first() or QualityWeights()

    def get(self, request):
        weights = self._weights()
        return render(
            request,
            "metrics/quality_weights_form.html",
            {"form": WeightsForm(instance=weights), "history": _history(weights)},
        )

    def post(self, request):
        weights = self._weights()
        form = WeightsForm(request.POST, instance=weights)
        if not form.is_valid():
            return render(
                request,
                "metrics/quality_weights_form.html",
                {"form": form, "history": _history(weights)},
                status=400,
            )
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.save_with_reason(form.cleaned_data["reason"], user=request.user)
            n = quality_score.recompute(user=request.user)
        messages.success(
            request,
            f"Weights saved; {n} recent release score{'s' if n != 1 else ''} recomputed.",
        )
        return redirect("metrics_quality")


def _history(weights):
    return history_rows(weights) if weights.pk else []


class ReleaseQualityRecomputeView(RoleRequiredMixin, View):
    permission_required = quality_score.RECOMPUTE_PERMISSION
    model = Release

    def post(self, request, key):
        release = get_object_or_404(Release, key=key)
        try:
            row = quality_score.recompute_for(release, request.user)
        except DomainError as exc:
            messages.error(request, str(exc))
            return redirect(release.get_absolute_url() + "#stabilisation")
        if row is None:
            messages.warning(request, f"{release.key} has not reached production: no score yet.")
        else:
            messages.success(request, f"{release.key} quality score: {row.score}/100.")
        return redirect(release.get_absolute_url() + "#stabilisation")
