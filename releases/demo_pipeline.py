"""Demo data for strategy advice and the pipeline (curriculum 5.1, 5.6), idempotent.

Spare capacity per environment (so blue-green is possible in some, not in others) and
KPIs with fresh samples for catalog-service in dev, so the deploy form of the catalog
release advises by its risk band and monitoring; ``docs/pipeline-demo.sh`` then drives
that release through the gate, a deployment, node and smoke events and KPI samples.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from metrics.models import Kpi, KpiSample
from releases.models import Service

SPARE_CAPACITY = {"dev": 100, "test": 50, "staging": 100, "production": 40}
# catalog-service: the release the pipeline demo ships (README: 3.1.0 → dev is allowed).
KPIS = [
    ("http_5xx_rate", "error_rate", "%", 1.0, 0.3, "Share of 5xx answers."),
    ("p99_latency", "latency", "ms", None, 220.0, "99th percentile of search latency."),
]


def demo(users: dict, envs: dict) -> None:
    for slug, spare in SPARE_CAPACITY.items():
        env = envs.get(slug)
        if env is not None and env.spare_capacity_percent is None:
            env.spare_capacity_percent = spare
            env.save_with_reason("demo: spare capacity for strategy advice")
    service = Service.objects.filter(slug="catalog-service").first()
    dev = envs.get("dev")
    manager = users.get("release_manager")
    if service is None or dev is None:
        return
    now = timezone.now().replace(second=0, microsecond=0)
    for name, kind, unit, threshold, typical, description in KPIS:
        kpi = Kpi.objects.filter(service=service, name=name).first()
        if kpi is None:
            kpi = Kpi(
                service=service,
                name=name,
                kind=kind,
                unit=unit,
                threshold=threshold,
                description=description,
            )
            kpi.save_with_reason("demo: KPI for canary readiness", user=manager)
        if not KpiSample.objects.filter(kpi=kpi, environment=dev).exists():
            KpiSample.objects.bulk_create(
                KpiSample(
                    kpi=kpi,
                    environment=dev,
                    measured_at=now - timedelta(minutes=15 * n),
                    value=round(typical * (1 + 0.03 * ((n % 5) - 2)), 3),
                    source="demo-monitor",
                )
                for n in range(16)
            )
