"""Chart data for the KPI charts (drawn by static/js/kpi_charts.js from a json_script)."""

from __future__ import annotations

from metrics.stabilisation import Evaluation


def _points(samples) -> list[dict]:
    return [{"x": t.isoformat(), "y": v} for t, v in samples]


def window_charts(window, evaluation: Evaluation) -> list[dict]:
    """One chart per KPI: samples before and after the deployment, baseline, limit, markers."""
    charts = []
    for item in evaluation.kpis:
        kpi = item.kpi
        lines = []
        if item.baseline is not None:
            lines.append({"label": "Baseline (median before)", "value": item.baseline})
        if item.limit is not None:
            lines.append(
                {
                    "label": "Threshold"
                    if kpi.threshold is not None
                    else "Limit (baseline ± tolerance)",
                    "value": item.limit,
                }
            )
        charts.append(
            {
                "id": f"kpi-chart-{window.pk}-{kpi.pk}",
                "title": f"{kpi.service.slug} · {kpi.name}",
                "unit": kpi.unit,
                "breached": bool(item.breaches),
                "series": [
                    {"label": "Before the deployment", "points": _points(item.baseline_samples)},
                    {"label": "After the deployment", "points": _points(item.samples)},
                ],
                "lines": lines,
                "markers": [
                    {"label": "Deployment started", "at": window.deployment.started_at.isoformat()},
                    {"label": "Deployed", "at": window.opened_at.isoformat()},
                ],
                "start": (window.deployment.started_at - _hours(window.baseline_hours)).isoformat(),
                "end": window.ends_at.isoformat(),
            }
        )
    return charts


def kpi_chart(kpi, samples) -> dict:
    """Recent samples of one KPI, one series per environment, with its threshold."""
    by_env: dict[str, list] = {}
    for s in samples:
        by_env.setdefault(s.environment.name, []).append((s.measured_at, s.value))
    lines = [{"label": "Threshold", "value": kpi.threshold}] if kpi.threshold is not None else []
    return {
        "id": f"kpi-chart-{kpi.pk}",
        "title": f"{kpi.service.slug} · {kpi.name}",
        "unit": kpi.unit,
        "breached": False,
        "series": [{"label": env, "points": _points(pts)} for env, pts in sorted(by_env.items())],
        "lines": lines,
        "markers": [],
        "start": None,
        "end": None,
    }


def _hours(n):
    from datetime import timedelta

    return timedelta(hours=n)
