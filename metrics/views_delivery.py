"""Delivery performance page (/metrics/delivery/): the DORA figures with their trend per week
or month, MTTR after failed releases and the release success rate, each figure clickable to
the rows behind it (``?detail=...``), for a team / service / domain over a period.

Numbers come from ``metrics.dora``, ``metrics.mttr`` and ``metrics.success_rate`` (database
aggregation, exact percentiles); bad filters show the messages with HTTP 400.

Both tables download as CSV with the page's filters (``metrics.csv_export``):
``?...&format=csv&table=trend`` and ``?...&detail=<figure>&format=csv&table=detail`` (every
row behind the figure, not only the page shown).
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views import View

from metrics import dora as dora_rules
from metrics.api.dora import as_row
from metrics.csv_export import csv_response, download_name
from metrics.filter_form import bad_filters, filter_context
from metrics.models import DeploymentRecord
from metrics.mttr import failure_rows, mttr
from metrics.periods import Filters, InvalidFilters, parse_filters
from metrics.success_rate import release_rows, success_rate
from releasemgr.decisions import Reason
from releasemgr.web import RoleRequiredMixin

DETAIL_LABELS = {
    "deployments": "Production deployments",
    "lead_time": "Commits and their lead time",
    "change_failure": "Deployments counted as failed changes",
    "time_to_restore": "Resolved incidents and their time to restore",
    "recovery": "Failed deployments and their recovery",
    "mttr": "Failed changes: detection to recovery",
    "releases": "Releases and their success",
}
PAGE_SIZE = 25
TABLES = ("trend", "detail")

TREND_HEADER = (
    "from",
    "until",
    "deployments",
    "deployment_frequency_per_week",
    "lead_time_median_hours",
    "change_failure_rate",
    "time_to_restore_median_hours",
    "recovery_median_hours",
)
RELEASE_HEADER = (
    "release",
    "name",
    "version",
    "failed_deployment",
    "critical_incident",
    "successful",
)
# The drill-down's columns per figure: what identifies the row, then service, release, status,
# the two instants (UTC) and the hours between them, as the page's table shows them.
DETAIL_IDS = {
    "lead_time": ("commit",),
    "time_to_restore": ("incident_id", "title", "external_id"),
}
DEPLOYMENT_IDS = ("deployment_id", "external_id", "version")
DETAIL_TIMES = {
    "lead_time": ("authored_at", "shipped_at"),
    "time_to_restore": ("started_at", "resolved_at"),
    "mttr": ("detected_at", "recovered_at"),
}
DEPLOYMENT_TIMES = ("finished_at", "recovered_at")


def trend_chart(trend: list[dict]) -> dict:
    return {
        "labels": [b["start"].isoformat() for b in trend],
        "frequency": [b["deployment_frequency_per_week"] for b in trend],
        "lead_time": [b["lead_time_hours"]["median"] for b in trend],
        "cfr": [
            None if b["change_failure_rate"] is None else round(b["change_failure_rate"] * 100, 1)
            for b in trend
        ],
        "restore": [b["time_to_restore_hours"]["median"] for b in trend],
    }


def _bad_table(field: str, message: str) -> InvalidFilters:
    return InvalidFilters(message, [Reason(f"bad_{field}", False, message, {"field": field})])


def detail_rows(filters: Filters, detail: str):
    """The rows behind one figure, as the drill-down table lists them (all pages)."""
    if detail == "releases":
        return release_rows(filters)
    if detail == "mttr":
        return failure_rows(filters)
    return dora_rules.rows(filters, detail)


def trend_csv(filters: Filters, trend: list[dict], bucket: str) -> HttpResponse:
    rows = (
        (
            b["start"],
            b["end"],
            b["deployments"],
            b["deployment_frequency_per_week"],
            b["lead_time_hours"]["median"],
            b["change_failure_rate"],
            b["time_to_restore_hours"]["median"],
            b["failed_deployment_recovery_hours"]["median"],
        )
        for b in trend
    )
    name = download_name("delivery", "trend", bucket, filters=filters)
    return csv_response(name, TREND_HEADER, rows)


def detail_csv(filters: Filters, detail: str) -> HttpResponse:
    name = download_name("delivery", detail, filters=filters)
    queryset = detail_rows(filters, detail)
    if detail == "releases":
        rows = (
            (r.key, r.name, r.version, r.failed_deployment, r.critical_incident, r.successful)
            for r in queryset.iterator()
        )
        return csv_response(name, RELEASE_HEADER, rows)
    ids = DETAIL_IDS.get(detail, DEPLOYMENT_IDS)
    status = "severity" if detail == "time_to_restore" else "status"
    header = (
        *ids,
        "service",
        "release",
        status,
        "counts_as_failure",
        *DETAIL_TIMES.get(detail, DEPLOYMENT_TIMES),
        "hours",
    )

    def lines():
        for obj in queryset.iterator():
            r = as_row(detail, obj)
            if detail == "lead_time":
                first = (r["sha"],)
            elif detail == "time_to_restore":
                first = (r["id"], r["title"], r["external_id"])
            else:
                first = (r["id"], r["external_id"], r["version"])
            yield (
                *first,
                r["service"],
                r["release"],
                r["status"],
                r["counts_as_failure"],
                r["at"],
                r["until"],
                r["hours"],
            )

    return csv_response(name, header, lines())


class DeliveryPerformanceView(RoleRequiredMixin, View):
    permission_required = "metrics.view_deploymentrecord"
    model = DeploymentRecord

    def get(self, request):
        context = {**filter_context(request), "detail_labels": DETAIL_LABELS}
        bucket = request.GET.get("bucket") or "week"
        detail = request.GET.get("detail") or ""
        table = request.GET.get("table", "") if request.GET.get("format") == "csv" else None
        try:
            filters = parse_filters(request.GET)
            if detail and detail not in DETAIL_LABELS:
                dora_rules.rows(filters, detail)  # raises the clear message
            if table is not None and table not in TABLES:
                raise _bad_table("table", f"table: '{table}' is not one of {', '.join(TABLES)}.")
            if table == "detail" and not detail:
                raise _bad_table(
                    "detail",
                    f"detail: choose the figure whose rows to download "
                    f"({', '.join(DETAIL_LABELS)}).",
                )
            if table == "detail":
                dora_rules.buckets(filters, bucket)  # a bad bucket is refused as on the page
                return detail_csv(filters, detail)
            trend = dora_rules.dora_trend(filters, bucket)
        except InvalidFilters as exc:
            return bad_filters(request, "metrics/delivery.html", context, exc)
        if table == "trend":
            return trend_csv(filters, trend, bucket)
        query = filters.as_query()
        figures, counts = dora_rules.dora_with_counts(filters)
        context.update(
            filters=filters,
            query=urlencode({**query, "bucket": bucket}),
            bucket=bucket,
            figures=figures,
            succeeded=counts["succeeded"],
            weeks=filters.weeks,
            mttr=mttr(filters),
            success=success_rate(filters),
            trend=trend,
            chart=trend_chart(trend),
            detail=detail,
            detail_label=DETAIL_LABELS.get(detail, ""),
        )
        if detail:
            rows = detail_rows(filters, detail)
            page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
            context["page_obj"] = page
            context["rows"] = (
                list(page) if detail == "releases" else [as_row(detail, obj) for obj in page]
            )
        return render(request, "metrics/delivery.html", context)
