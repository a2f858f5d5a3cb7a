"""Release success rate (curriculum 8.2): ``success_rate(filters)``.

The releases counted are those with a production deployment record of the scope finished in
the period. One is successful when none of its production records failed or was rolled back
and no critical incident is attributed to it (to the release, or to one of its records).
Imported history without a release is not counted here (it has no release to judge).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from metrics.dora import FAILED_STATUSES, _record_q, production_records
from metrics.models.history import DeploymentRecord
from metrics.models.incidents import Incident, IncidentSeverity
from metrics.periods import Filters
from releases.models import Release


def release_rows(filters: Filters) -> QuerySet[Release]:
    """Releases of the period with ``failed_deployment``, ``critical_incident``, ``successful``."""
    in_period = DeploymentRecord.objects.filter(_record_q(filters), release=OuterRef("pk"))
    failed = production_records().filter(release=OuterRef("pk"), status__in=FAILED_STATUSES)
    # Two EXISTS rather than one over ``release = x OR record.release = x``: each is an
    # index probe (incident.release; record.release then incident.deployment_record), where
    # the OR across the join read every critical incident once per release.
    critical = Incident.objects.filter(severity=IncidentSeverity.CRITICAL)
    on_release = critical.filter(release=OuterRef("pk"))
    on_record = critical.filter(deployment_record__release=OuterRef("pk"))
    return (
        Release.objects.filter(Exists(in_period))
        .annotate(
            failed_deployment=Exists(failed),
            critical_incident=Exists(on_release) | Exists(on_record),
        )
        .annotate(successful=~Q(failed_deployment=True) & ~Q(critical_incident=True))
        .order_by("-pk")
    )


def success_rate(filters: Filters) -> dict[str, Any]:
    """``{"releases", "successful", "success_rate"}`` (rate null without releases)."""
    counts = (
        release_rows(filters)
        .order_by()
        .aggregate(
            releases=Count("pk"),
            successful=Count("pk", filter=Q(failed_deployment=False) & Q(critical_incident=False)),
        )
    )
    total = counts["releases"]
    return {
        "releases": total,
        "successful": counts["successful"],
        "success_rate": round(counts["successful"] / total, 4) if total else None,
    }
