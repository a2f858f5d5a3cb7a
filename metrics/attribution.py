"""Which release caused an incident (DESIGN.md, metric definitions: attribution).

The incident's explicit ``caused_by`` deployment wins (or the release its reporter named);
without it, the latest production deployment of the same service that finished within
``INCIDENT_ATTRIBUTION_HOURS`` (24 by default) before the incident started; else nothing.
The change-failure-rate metric reuses ``latest_production_deployment``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from releasemgr.decisions import Reason
from releases.models import Deployment, Release, Service

CODE = "attribution"


@dataclass(frozen=True)
class AttributionResult:
    method: str  # "explicit", "automatic" or "none" (metrics.models.incidents.Attribution)
    release: Release | None
    deployment: Deployment | None
    reason: Reason


def window_hours() -> int:
    return int(getattr(settings, "INCIDENT_ATTRIBUTION_HOURS", 24))


def production_deployments(service: Service):
    """Finished production deployments of releases that ship ``service``."""
    return Deployment.objects.filter(
        environment__is_production=True,
        finished_at__isnull=False,
        release__release_services__service=service,
    ).select_related("release", "environment")


def latest_production_deployment(
    service: Service, started_at: datetime, hours: int | None = None
) -> Deployment | None:
    """The latest production deployment of ``service`` finished in the ``hours`` before
    ``started_at`` (one query)."""
    hours = window_hours() if hours is None else hours
    return (
        production_deployments(service)
        .filter(finished_at__lte=started_at, finished_at__gte=started_at - timedelta(hours=hours))
        .order_by("-finished_at", "-pk")
        .first()
    )


def attribute(
    service: Service,
    started_at: datetime,
    *,
    caused_by: Deployment | None = None,
    release: Release | None = None,
    hours: int | None = None,
) -> AttributionResult:
    """Attribute an incident of ``service`` that started at ``started_at``."""
    if caused_by is not None:
        return AttributionResult(
            "explicit",
            caused_by.release,
            caused_by,
            Reason(
                CODE,
                True,
                f"Caused by deployment #{caused_by.pk} of {caused_by.release.key} to "
                f"{caused_by.environment.name}, as reported.",
                {
                    "method": "explicit",
                    "deployment": caused_by.pk,
                    "release": caused_by.release.key,
                },
            ),
        )
    if release is not None:
        deployment = (
            release.deployments.filter(
                environment__is_production=True,
                finished_at__isnull=False,
                finished_at__lte=started_at,
            )
            .select_related("environment")
            .order_by("-finished_at", "-pk")
            .first()
        )
        return AttributionResult(
            "explicit",
            release,
            deployment,
            Reason(
                CODE,
                True,
                f"Attributed to {release.key}, as reported"
                + (f" (its production deployment #{deployment.pk})." if deployment else "."),
                {
                    "method": "explicit",
                    "release": release.key,
                    "deployment": deployment.pk if deployment else None,
                },
            ),
        )
    hours = window_hours() if hours is None else hours
    deployment = latest_production_deployment(service, started_at, hours)
    if deployment is None:
        return AttributionResult(
            "none",
            None,
            None,
            Reason(
                CODE,
                False,
                f"No production deployment of {service.name} finished in the {hours} h before "
                "the incident started; it is not attributed to a release.",
                {"method": "none", "hours": hours},
            ),
        )
    gap = started_at - deployment.finished_at
    gap_hours = round(gap.total_seconds() / 3600, 1)
    return AttributionResult(
        "automatic",
        deployment.release,
        deployment,
        Reason(
            CODE,
            True,
            f"Attributed to {deployment.release.key}: its production deployment #{deployment.pk} "
            f"of {service.name} finished {gap_hours} h before the incident started (within "
            f"{hours} h) and was the latest.",
            {
                "method": "automatic",
                "release": deployment.release.key,
                "deployment": deployment.pk,
                "hours_before": gap_hours,
                "hours": hours,
            },
        ),
    )
