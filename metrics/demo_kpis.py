"""Demo KPI watch (run by ``seed_demo``; idempotent): KPIs for the demo services, hourly samples
around the demo production deployments, then one run of the watch job.

- "Ledger settlement report" reached production about two days ago: its window is open; ledger's
  p99 latency rose well past its baseline for a few hours after the deployment (one alert).
- "Notification templates" reached production ten days ago: its window closed stable.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from metrics import jobs_kpis
from metrics.models import Kpi, KpiSample, StabilisationWindow
from releases.models import Service

# service: [(name, kind, unit, direction, threshold, tolerance %, typical value, description)]
KPIS = {
    "ledger": [
        (
            "http_5xx_rate",
            "error_rate",
            "%",
            "higher_is_worse",
            1.0,
            20,
            0.2,
            "Share of 5xx answers.",
        ),
        ("p99_latency", "latency", "ms", "higher_is_worse", None, 25, 180, "99th percentile."),
        (
            "settlements_per_hour",
            "business",
            "settlements/h",
            "lower_is_worse",
            None,
            15,
            1200,
            "Settlements booked per hour.",
        ),
    ],
    "payouts-batch": [
        (
            "batch_duration",
            "latency",
            "min",
            "higher_is_worse",
            None,
            30,
            42,
            "Nightly run length.",
        ),
    ],
    "notification-service": [
        ("delivery_error_rate", "error_rate", "%", "higher_is_worse", 0.5, 20, 0.1, ""),
        ("p95_send_latency", "latency", "ms", "higher_is_worse", None, 20, 350, ""),
    ],
    "checkout-service": [
        ("http_5xx_rate", "error_rate", "%", "higher_is_worse", 2.0, 20, 0.4, ""),
        ("p99_latency", "latency", "ms", "higher_is_worse", 800, 20, 420, ""),
        ("orders_per_min", "business", "orders/min", "lower_is_worse", None, 20, 85, ""),
    ],
    "payments-api": [
        ("http_5xx_rate", "error_rate", "%", "higher_is_worse", 1.0, 20, 0.15, ""),
        ("throughput", "throughput", "rps", "lower_is_worse", None, 25, 340, ""),
    ],
    "web-storefront": [
        (
            "p75_lcp",
            "latency",
            "ms",
            "higher_is_worse",
            2500,
            20,
            1700,
            "Largest contentful paint.",
        ),
    ],
}
SOURCE = "prometheus (demo)"


def _define(users) -> dict:
    manager = users.get("release_manager")
    services = {s.slug: s for s in Service.objects.filter(slug__in=KPIS)}
    kpis = {}
    for slug, rows in KPIS.items():
        if slug not in services:
            continue
        for name, kind, unit, direction, threshold, tolerance, typical, description in rows:
            kpi = Kpi(
                service=services[slug],
                name=name,
                kind=kind,
                unit=unit,
                direction=direction,
                threshold=threshold,
                tolerance_percent=tolerance,
                description=description,
            )
            kpi.save_with_reason("demo: KPI to watch after releases", user=manager)
            kpis[(slug, name)] = (kpi, typical)
    return kpis


def _series(kpi, typical, env, start, end, rng, spike=None) -> list[KpiSample]:
    """Hourly samples from ``start`` to ``end`` with a little noise (and an optional spike)."""
    rows = []
    at = start
    while at <= end:
        value = typical * (1 + rng.uniform(-0.06, 0.06))
        if spike and spike[0] <= at <= spike[1]:
            value = typical * spike[2] * (1 + rng.uniform(-0.03, 0.03))
        rows.append(
            KpiSample(
                kpi=kpi,
                environment=env,
                measured_at=at,
                value=round(value, 3),
                source=SOURCE,
            )
        )
        at += timedelta(hours=1)
    return rows


def _align(window: StabilisationWindow) -> StabilisationWindow:
    """Demo deployments are moved back in time after they ran; their windows follow them."""
    deployment = window.deployment
    opened = deployment.finished_at or window.opened_at
    StabilisationWindow.objects.filter(pk=window.pk).update(
        opened_at=opened, ends_at=opened + timedelta(hours=window.hours)
    )
    window.refresh_from_db()
    return window


def demo(users: dict, envs: dict) -> None:
    if Kpi.objects.filter(service__slug="ledger", name="p99_latency").exists():
        return  # already seeded
    production = envs.get("production")
    if production is None:
        return
    rng = random.Random(7)
    now = timezone.now().replace(second=0, microsecond=0)
    kpis = _define(users)
    windows = {
        w.release.name: _align(w)
        for w in StabilisationWindow.objects.select_related("release", "deployment").filter(
            state="open"
        )
    }
    rows: list[KpiSample] = []
    ledger = windows.get("Ledger settlement report")
    templates = windows.get("Notification templates")
    watched = set()
    if ledger is not None:
        begin = ledger.deployment.started_at - timedelta(hours=26)
        spike_from = ledger.opened_at + timedelta(hours=5)
        spike = (spike_from, spike_from + timedelta(hours=3), 1.6)
        for slug in ("ledger", "payouts-batch"):
            for (s, name), (kpi, typical) in kpis.items():
                if s != slug:
                    continue
                watched.add(kpi.pk)
                rows += _series(
                    kpi,
                    typical,
                    production,
                    begin,
                    now,
                    rng,
                    spike if name == "p99_latency" else None,
                )
    if templates is not None:
        begin = templates.deployment.started_at - timedelta(hours=26)
        for (s, _name), (kpi, typical) in kpis.items():
            if s == "notification-service":
                watched.add(kpi.pk)
                rows += _series(kpi, typical, production, begin, templates.ends_at, rng)
    # The other KPIs: the last three days, so their pages show a chart.
    for kpi, typical in kpis.values():
        if kpi.pk not in watched:
            rows += _series(kpi, typical, production, now - timedelta(days=3), now, rng)
    KpiSample.objects.bulk_create(rows, batch_size=1000)
    jobs_kpis.run(now)  # raises the ledger alert (left unacknowledged) and closes the old window
