"""The release page's Config drift panel."""

from django import template
from django.db.models import Count, Q

from metrics import drift
from metrics.models.drift import DriftItem, DriftStatus

register = template.Library()


@register.inclusion_tag("metrics/drift_panel.html", takes_context=True)
def drift_panel(context, release):
    """Per service the release ships: open and to-fix drift per environment (two queries)."""
    services = [rs.service for rs in release.release_services.select_related("service")]
    counts = (
        DriftItem.objects.filter(service__in=services, status__in=drift.ACTIVE)
        .values("service_id", "environment__slug", "environment__name", "environment__order")
        .annotate(
            open=Count("pk", filter=Q(status=DriftStatus.OPEN)),
            to_fix=Count("pk", filter=Q(status=DriftStatus.TO_FIX)),
        )
        .order_by("environment__order")
    )
    by_service: dict[int, list[dict]] = {}
    for row in counts:
        by_service.setdefault(row["service_id"], []).append(row)
    rows = [{"service": s, "environments": by_service.get(s.pk, [])} for s in services]
    return {"release": release, "rows": rows, "request": context.get("request")}


@register.filter
def config_value(value):
    """A configuration value as text: strings as they are, others as JSON, absent as —."""
    import json

    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


STATUS_BADGES = {
    "open": "text-bg-warning",
    "to_fix": "text-bg-danger",
    "accepted_as_baseline": "text-bg-info",
    "fixed": "text-bg-success",
    "added": "text-bg-success",
    "removed": "text-bg-danger",
    "changed": "text-bg-warning",
    "same": "text-bg-light",
}


@register.filter
def drift_badge(status):
    return STATUS_BADGES.get(status, "text-bg-secondary")
