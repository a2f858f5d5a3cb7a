"""Regional staggered go-lives: when may a release go live in a region? (curriculum 2.4)"""

from __future__ import annotations

from datetime import UTC, datetime

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


def rules_by_region(release) -> dict[int, list[GoLiveRule]]:
    """Every go-live rule that applies to ``release``, by region id (one query)."""
    service_ids = [rs.service_id for rs in release.release_services.all()]
    found: dict[int, list[GoLiveRule]] = {}
    for rule in (
        GoLiveRule.objects.filter(
            Q(release=release) | Q(release__isnull=True, service_id__in=service_ids)
        )
        .select_related("service", "release", "region")
        .order_by("earliest_at")
    ):
        found.setdefault(rule.region_id, []).append(rule)
    return found


def rollout_plan(release) -> list[dict]:
    """The release's staggered go-live, region by region, in go-live order.

    Each region goes live at ``max(release.planned_start, its latest earliest-legal date)``;
    ties follow ``Region.rollout_order``. Rows: ``{region, earliest_at, planned_at, order,
    reasons}`` where ``reasons`` explain the date (each rule with its legal basis).
    """
    from scheduling.models import Region

    rules = rules_by_region(release)
    start = release.planned_start
    rows = []
    for region in Region.objects.order_by("rollout_order", "code"):
        region_rules = rules.get(region.pk, [])
        earliest = max((r.earliest_at for r in region_rules), default=None)
        candidates = [m for m in (start, earliest) if m is not None]
        planned = max(candidates) if candidates else None
        reasons = []
        for rule in region_rules:
            target = f"release {release.key}" if rule.release_id else f"service {rule.service}"
            binding = (
                earliest is not None
                and rule.earliest_at == earliest
                and (start is None or earliest > start)
            )
            reasons.append(
                Reason(
                    "regional_go_live",
                    True,
                    f"Not before {rule.earliest_at:%Y-%m-%d %H:%M} UTC for {target}: "
                    f"{rule.legal_basis}.",
                    {"rule": rule.pk, "earliest": rule.earliest_at.isoformat(), "binding": binding},
                )
            )
        if start is not None and (earliest is None or earliest <= start):
            reasons.append(
                Reason(
                    "planned_start",
                    True,
                    f"Goes live with the release's planned start {start:%Y-%m-%d %H:%M} UTC.",
                )
            )
        elif start is None:
            reasons.append(
                Reason("planned_start", False, f"{release.key} has no planned start yet.")
            )
        rows.append(
            {
                "region": region,
                "earliest_at": earliest,
                "planned_at": planned,
                "order": 0,
                "reasons": reasons,
            }
        )
    far = datetime.max.replace(tzinfo=UTC)
    rows.sort(
        key=lambda row: (row["planned_at"] or far, row["region"].rollout_order, row["region"].code)
    )
    for index, row in enumerate(rows, start=1):
        row["order"] = index
    return rows
