"""Delivery performance page (/metrics/delivery/): the DORA figures with their trend per week
or month, MTTR after failed releases and the release success rate, each figure clickable to
the rows behind it (``?detail=...``), for a team / service / domain over a period.

Numbers come from ``metrics.dora``, ``metrics.mttr`` and ``metrics.success_rate`` (database
aggregation, exact percentiles); bad filters show the messages with HTTP 400.
"""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.http import urlencode
from django.views import View

from metrics import dora as dora_rules
from metrics.api.dora import as_row
from metrics.filter_form import bad_filters, filter_context
from metrics.models import DeploymentRecord
from metrics.mttr import failure_rows, mttr
from metrics.periods import InvalidFilters, parse_filters
from metrics.success_rate import release_rows, success_rate
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


class DeliveryPerformanceView(RoleRequiredMixin, View):
    permission_required = "metrics.view_deploymentrecord"
    model = DeploymentRecord

    def get(self, request):
        context = {**filter_context(request), "detail_labels": DETAIL_LABELS}
        bucket = request.GET.get("bucket") or "week"
        detail = request.GET.get("detail") or ""
        try:
            filters = parse_filters(request.GET)
            if detail and detail not in DETAIL_LABELS:
                dora_rules.rows(filters, detail)  # raises the clear message
            trend = dora_rules.dora_trend(filters, bucket)
        except InvalidFilters as exc:
            return bad_filters(request, "metrics/delivery.html", context, exc)
        query = filters.as_query()
        context.update(
            filters=filters,
            query=urlencode({**query, "bucket": bucket}),
            bucket=bucket,
            figures=dora_rules.dora(filters),
            mttr=mttr(filters),
            success=success_rate(filters),
            trend=trend,
            chart=trend_chart(trend),
            detail=detail,
            detail_label=DETAIL_LABELS.get(detail, ""),
        )
        if detail:
            if detail == "releases":
                rows = release_rows(filters)
            elif detail == "mttr":
                rows = failure_rows(filters)
            else:
                rows = dora_rules.rows(filters, detail)
            page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
            context["page_obj"] = page
            context["rows"] = (
                list(page) if detail == "releases" else [as_row(detail, obj) for obj in page]
            )
        return render(request, "metrics/delivery.html", context)
