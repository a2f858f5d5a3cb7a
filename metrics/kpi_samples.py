"""Accepting KPI samples from pipelines and monitors (``POST /api/v1/kpis/``).

A batch is all-or-nothing: every sample is checked first (known service, KPI and environment;
the KPI's own unit; a finite number; not measured in the future) and nothing is written unless
all pass. Each refusal is a ``Reason`` naming the sample's index and field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from metrics.models import Kpi, KpiSample
from releasemgr.decisions import DomainError, InvalidInput, Reason  # noqa: F401
from releasemgr.redaction import redact
from scheduling.models import Environment

ADD_PERMISSION = "metrics.add_kpisample"
# Clocks differ a little between monitors and us; more than this ahead is a mistake.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MAX_BATCH = 1000
SOURCE_LENGTH = KpiSample._meta.get_field("source").max_length


@dataclass
class SampleIn:
    service: str
    kpi: str
    environment: str
    value: float
    unit: str
    measured_at: datetime | None = None
    source: str = ""


def record(samples: list[SampleIn], user, now: datetime | None = None) -> list[KpiSample]:
    """Check every sample, then write them all in one transaction (or none)."""
    now = now or timezone.now()
    if not samples:
        raise InvalidInput(
            "No samples.",
            [Reason("samples", False, "Send at least one sample.", {"field": "samples"})],
        )
    if len(samples) > MAX_BATCH:
        raise InvalidInput(
            f"At most {MAX_BATCH} samples per request.",
            [Reason("samples", False, f"At most {MAX_BATCH} samples.", {"field": "samples"})],
        )
    kpis = {
        (k.service.slug, k.name): k
        for k in Kpi.objects.filter(
            service__slug__in={s.service for s in samples}, name__in={s.kpi for s in samples}
        ).select_related("service")
    }
    services_with_kpis = {slug for slug, _ in kpis}
    from releases.models import Service

    known_services = set(
        Service.objects.filter(slug__in={s.service for s in samples}).values_list("slug", flat=True)
    )
    envs = {
        e.slug: e for e in Environment.objects.filter(slug__in={s.environment for s in samples})
    }
    reasons: list[Reason] = []
    rows: list[KpiSample] = []
    for index, s in enumerate(samples):
        prefix = f"Sample {index}: " if len(samples) > 1 else ""

        def bad(field: str, message: str, index=index, prefix=prefix, **data) -> None:
            reasons.append(
                Reason(
                    f"invalid_{field}",
                    False,
                    prefix + message,
                    {"field": field, "index": index, **data},
                )
            )

        kpi = kpis.get((s.service, s.kpi))
        if s.service not in known_services:
            bad("service", f"Unknown service '{s.service}'.")
        elif kpi is None:
            hint = "" if s.service in services_with_kpis else " (define it under KPIs first)"
            bad("kpi", f"Service '{s.service}' has no KPI named '{s.kpi}'{hint}.")
        env = envs.get(s.environment)
        if env is None:
            bad("environment", f"Unknown environment '{s.environment}'.")
        if not isinstance(s.value, (int, float)) or not math.isfinite(s.value):
            bad("value", "The value must be a finite number (not NaN or infinity).")
        if kpi is not None and s.unit != kpi.unit:
            bad(
                "unit",
                f"Unit '{s.unit}' does not match {kpi}: it is measured in '{kpi.unit}'.",
                expected=kpi.unit,
            )
        measured_at = s.measured_at or now
        if measured_at > now + MAX_CLOCK_SKEW:
            bad(
                "measured_at",
                f"measured_at {measured_at.isoformat()} is in the future "
                f"(more than {int(MAX_CLOCK_SKEW.total_seconds() // 60)} minutes ahead).",
            )
        if kpi is not None and env is not None:
            rows.append(
                KpiSample(
                    kpi=kpi,
                    environment=env,
                    measured_at=measured_at,
                    value=float(s.value) if isinstance(s.value, (int, float)) else 0.0,
                    source=redact(s.source or "")[:SOURCE_LENGTH],
                    posted_by=user if getattr(user, "is_authenticated", False) else None,
                )
            )
    if reasons:
        raise InvalidInput(
            "Nothing was recorded: " + " ".join(r.message for r in reasons[:5]), reasons
        )
    with transaction.atomic():
        return KpiSample.objects.bulk_create(rows)
