"""The risk configuration page (weights, bands, a preview) and the change-type report.

Scoring is in ``governance.risk``, counting in ``governance.change_types``.
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from governance import risk
from governance.change_types import report_by_type
from governance.choices import BAND_ORDER
from governance.forms_changes import ReportForm, RiskConfigForm
from governance.models import RiskConfig
from releasemgr.decisions import NotPermitted
from releasemgr.web import RoleRequiredMixin, history_rows
from releases.choices import ReleaseState
from releases.models import Release

# How many releases the "what would this score" preview shows.
PREVIEW_RELEASES = 12
PREVIEW_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.REJECTED,
)


def _preview(proposed: RiskConfig | None, release_key: str = ""):
    """Open releases scored with the saved configuration and (if given) the proposed one."""
    current = RiskConfig.current()
    releases = Release.objects.filter(state__in=PREVIEW_STATES).order_by("-created")
    if release_key:
        releases = Release.objects.filter(key=release_key)
    releases = list(releases[:PREVIEW_RELEASES])
    now = timezone.now()
    saved = risk.assess_many(releases, current, now)
    changed = risk.assess_many(releases, proposed, now) if proposed is not None else {}
    rows = []
    for release in releases:
        rows.append(
            {
                "release": release,
                "current": saved[release.pk],
                "proposed": changed.get(release.pk),
            }
        )
    return rows


def _context(config: RiskConfig, form, rows, **extra) -> dict:
    weights = risk.effective_weights(config)
    return {
        "config": config,
        "object": config,
        "factors": [
            {"code": c, "label": risk.FACTOR_LABELS[c], "weight": weights[c]} for c in risk.FACTORS
        ],
        "bands": [
            {"band": b.value, "label": b.label, "from": f}
            for b, f in zip(
                BAND_ORDER,
                [0, config.medium_from, config.high_from, config.critical_from],
                strict=True,
            )
        ],
        "form": form,
        "preview": rows,
        "history": history_rows(config),
        **extra,
    }


class RiskConfigView(RoleRequiredMixin, View):
    """How risk is scored; ``?release=KEY`` previews one release."""

    permission_required = "governance.view_riskconfig"

    def get(self, request):
        config = RiskConfig.current()
        key = request.GET.get("release", "").strip()
        rows = _preview(None, key)
        context = _context(config, None, rows, release_key=key)
        if key and not rows:
            context["preview_error"] = f"No release {key}."
        return render(request, "governance/risk_config.html", context)


class RiskConfigUpdateView(RoleRequiredMixin, View):
    """Edit weights and thresholds; "Preview" shows what open releases would score."""

    permission_required = "governance.change_riskconfig"

    def get(self, request):
        config = RiskConfig.current()
        form = RiskConfigForm(config=config)
        return render(request, "governance/risk_config_form.html", _context(config, form, []))

    def post(self, request):
        config = RiskConfig.current()
        form = RiskConfigForm(request.POST, config=config)
        if not form.is_valid():
            return self._invalid(config, form)
        values = form.values()
        try:
            risk.validate_config(**values)
        except ValidationError as exc:
            form.add_validation_error(exc)
            return self._invalid(config, form)
        if "preview" in request.POST:
            proposed = RiskConfig(**values)
            context = _context(config, form, _preview(proposed), previewing=True)
            return render(request, "governance/risk_config_form.html", context)
        try:
            risk.update_config(request.user, **values, reason=form.cleaned_data["reason"])
        except NotPermitted as exc:  # pragma: no cover - the mixin checked the permission
            messages.error(request, exc.message)
            return self._invalid(config, form, status=403)
        except ValidationError as exc:
            form.add_validation_error(exc)
            return self._invalid(config, form)
        messages.success(request, "Risk configuration saved.")
        return redirect("risk_config")

    def _invalid(self, config, form, status=400):
        return render(
            request=self.request,
            template_name="governance/risk_config_form.html",
            context=_context(config, form, []),
            status=status,
        )


# --- the change-type report ------------------------------------------------------------------

CSV_COLUMNS = [
    "change_type",
    "total",
    "share",
    "deployed",
    "failed",
    "in_flight",
    "stopped",
    "failure_rate",
]


def report_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["section", *CSV_COLUMNS])
    for row in report["by_type"]:
        writer.writerow(["by_type", *[row[c] if row[c] is not None else "" for c in CSV_COLUMNS]])
    writer.writerow([])
    writer.writerow(["section", "month", "standard", "normal", "emergency", "total"])
    for month in report["by_month"]:
        writer.writerow(
            [
                "by_month",
                month["month"],
                month["standard"],
                month["normal"],
                month["emergency"],
                month["total"],
            ]
        )
    return out.getvalue()


def _bars(report: dict) -> list[dict]:
    """Per month, each type's share of the tallest month (for CSS bars)."""
    tallest = max((m["total"] for m in report["by_month"]), default=0) or 1
    return [
        {
            **m,
            "parts": [
                {"type": t, "n": m[t], "pct": round(100 * m[t] / tallest, 1)}
                for t in ("standard", "normal", "emergency")
            ],
        }
        for m in report["by_month"]
    ]


class ChangeTypeReportView(RoleRequiredMixin, View):
    """Releases by change type, their outcomes and a per-month picture; ``?format=csv``."""

    permission_required = "releases.view_release"

    def get(self, request):
        form = ReportForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            if request.GET.get("format") == "csv":
                return HttpResponse(
                    form.errors.as_json(), status=400, content_type="application/json"
                )
            context = {"form": form, "report": None}
            return render(request, "governance/report_change_types.html", context, status=400)
        data = form.cleaned_data if form.is_bound else {}
        report = report_by_type(
            since=data.get("since"),
            until=data.get("until"),
            team=data.get("team"),
            service=data.get("service"),
        )
        if request.GET.get("format") == "csv":
            response = HttpResponse(report_csv(report), content_type="text/csv")
            stamp = timezone.now().strftime("%Y%m%d-%H%M")
            response["Content-Disposition"] = f'attachment; filename="change-types-{stamp}.csv"'
            return response
        query = request.GET.copy()
        query["format"] = "csv"
        context = {
            "form": form,
            "report": report,
            "bars": _bars(report),
            "max_type_total": max((r["total"] for r in report["by_type"]), default=0) or 1,
            "csv_query": query.urlencode(),
        }
        return render(request, "governance/report_change_types.html", context)
