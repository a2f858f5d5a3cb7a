"""The metrics page (/metrics/): DORA cards (``metrics.dora``), weekly charts from the daily
rollups (deployments stacked by outcome, change failure rate, incidents, deployments vs incidents
with the correlation verdict from ``metrics.frequency_incidents``), MTTR and success rate, for a
team / service / domain over a period; each table exports as CSV (``?format=csv&table=...``,
``metrics.csv_export``).

Bad filters (``metrics.periods``) give the page with the messages and HTTP 400. The number of
queries does not depend on the number of deployments or incidents.
"""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views import View

from metrics import rollups
from metrics.csv_export import csv_response, download_name
from metrics.dora import dora
from metrics.filter_form import bad_filters, filter_context
from metrics.frequency_incidents import frequency_vs_incidents
from metrics.models import DailyRollup
from metrics.periods import InvalidFilters, parse_filters, today_utc
from releasemgr.web import RoleRequiredMixin

PRESETS = (30, 90, 365)
TABLES = ("dora", "weekly", "points")


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def summary(filters) -> dict:
    """Figures the rollups add up: success rate and mean time to restore."""
    t = rollups.totals(filters)
    mttr = (
        t["restore_seconds_sum"] / t["incidents_resolved"] / 3600
        if t["incidents_resolved"]
        else None
    )
    return {
        **t,
        "success_rate": _rate(t["succeeded"], t["deployments"]),
        "change_failure_rate": _rate(t["failed_or_attributed"], t["deployments"]),
        "mttr_hours": round(mttr, 2) if mttr is not None else None,
    }


def chart_data(result) -> dict:
    weeks = result.weeks
    return {
        "labels": [w.week.isoformat() for w in weeks],
        "succeeded": [w.succeeded for w in weeks],
        "failed": [w.failed for w in weeks],
        "rolled_back": [w.rolled_back for w in weeks],
        "cfr": [
            round(w.change_failure_rate * 100, 1) if w.change_failure_rate is not None else None
            for w in weeks
        ],
        "incidents": [w.incidents_started for w in weeks],
        "points": [
            {
                "x": p["deployments"],
                "y": p["incidents"],
                "team": p["team"],
                "week": p["week"].isoformat(),
            }
            for p in result.points
        ],
    }


def dora_rows(figures: dict) -> list[tuple[str, str, object, object]]:
    def pair(name):
        value = figures[name] or {}
        return value.get("median"), value.get("p90")

    return [
        ("Deployments", "count", figures["deployments"], None),
        (
            "Deployment frequency",
            "successful per week",
            figures["deployment_frequency_per_week"],
            None,
        ),
        ("Lead time for changes", "hours (median, p90)", *pair("lead_time_hours")),
        ("Change failure rate", "fraction 0..1", figures["change_failure_rate"], None),
        ("Time to restore", "hours (median, p90)", *pair("time_to_restore_hours")),
        (
            "Failed deployment recovery",
            "hours (median, p90)",
            *pair("failed_deployment_recovery_hours"),
        ),
    ]


WEEKLY_HEADER = (
    "week",
    "deployments",
    "succeeded",
    "failed",
    "rolled_back",
    "change_failure_rate",
    "incidents",
    "incidents_resolved",
)


def table_csv(table: str, filters) -> HttpResponse:
    """One of ``TABLES`` as a download (``metrics.csv_export``), computing only that table."""
    name = download_name("metrics", table, filters=filters)
    if table == "dora":
        header = ("metric", "unit", "value_or_median", "p90")
        return csv_response(name, header, dora_rows(dora(filters)))
    result = frequency_vs_incidents(filters)
    if table == "weekly":
        rows = [
            (
                w.week,
                w.deployments,
                w.succeeded,
                w.failed,
                w.rolled_back,
                None if w.change_failure_rate is None else round(w.change_failure_rate, 4),
                w.incidents_started,
                w.incidents_resolved,
            )
            for w in result.weeks
        ]
        return csv_response(name, WEEKLY_HEADER, rows)
    rows = [(p["team"], p["week"], p["deployments"], p["incidents"]) for p in result.points]
    return csv_response(name, ("team", "week", "deployments", "incidents"), rows)


class MetricsDashboardView(RoleRequiredMixin, View):
    permission_required = "metrics.view_dailyrollup"
    model = DailyRollup

    def get(self, request):
        context = filter_context(request)
        try:
            filters = parse_filters(request.GET)
        except InvalidFilters as exc:
            return bad_filters(request, "metrics/dashboard.html", context, exc)
        table = request.GET.get("table", "")
        if request.GET.get("format") == "csv":
            if table not in TABLES:
                context["filters"] = filters
                context["errors"] = {
                    "table": [f"table: '{table}' is not one of {', '.join(TABLES)}."]
                }
                return render(request, "metrics/dashboard.html", context, status=400)
            return table_csv(table, filters)
        figures = dora(filters)
        result = frequency_vs_incidents(filters)
        query = filters.as_query()
        scope = {k: v for k, v in query.items() if k not in ("since", "until")}
        end = today_utc() + timedelta(days=1)
        context.update(
            filters=filters,
            query=urlencode(query),
            figures=figures,
            dora_rows=dora_rows(figures),
            summary=summary(filters),
            result=result,
            chart=chart_data(result),
            presets=[
                (
                    days,
                    urlencode(
                        {
                            **scope,
                            "since": (end - timedelta(days=days)).isoformat(),
                            "until": end.isoformat(),
                        }
                    ),
                )
                for days in PRESETS
            ],
            has_data=any(w.deployments or w.incidents_started for w in result.weeks),
        )
        return render(request, "metrics/dashboard.html", context)
