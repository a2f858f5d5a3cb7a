"""Regional staggered go-lives: when may a release go live in a region? (curriculum 2.4)"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from releasemgr.decisions import Reason
from scheduling.models import GoLiveRule


def rules_for(release, region):
    service_ids = list(release.release_services.values_list("service_id", flat=True))
    return (
        GoLiveRule.objects.filter(region=region)
        .filter(Q(release=release) | Q(release__isnull=True, service_id__in=service_ids))
        .select_related("service", "release")
    )


def check_regional_go_live(release, region, at: datetime | None = None) -> Reason:
    """``regional_go_live``: no go-live in ``region`` before its earliest legal date."""
    at = at or timezone.now()
    if region is None:
        return Reason(
            "regional_go_live", True, "No region asked about; regional rules not applied."
        )
    pending = [r for r in rules_for(release, region) if r.earliest_at > at]
    if not pending:
        return Reason("regional_go_live", True, f"{release.key} may go live in {region.name} now.")
    latest = max(pending, key=lambda r: r.earliest_at)
    return Reason(
        "regional_go_live",
        False,
        f"{release.key} may not go live in {region.name} before "
        f"{latest.earliest_at:%Y-%m-%d %H:%M} UTC ({latest.legal_basis}).",
        {"region": region.code, "earliest": latest.earliest_at.isoformat()},
        waits=True,
        retry_after=latest.earliest_at,
    )
