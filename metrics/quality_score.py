"""Release quality score (curriculum 8.6): 100 minus points for what went wrong after a release
reached production — release-related support tickets, incidents attributed to it (by
severity), KPI breaches in its stabilisation window, unhappy customer feedback (tickets
attributed to it with negative sentiment or a rating of 1–2), and its production deployments
that failed or were rolled back. Each component is capped
(``QualityWeights``) and explains itself.

A release reached production when it has a production deployment record with a final status
— succeeded, failed or rolled back (``RecordStatus``): a deployment that failed or was rolled
back in production still exposed customers to the release, and its incidents and tickets are
attributed to it. Its ``deployed_at`` is the first time it did (the earliest such record's
``finished_at``); a release never deployed to production gets no score.

Counts come from the database (one correlated ``COUNT`` subquery per component, annotated on
the releases), not from Python loops over tickets or incidents. Scores are stored per release
(``ReleaseQualityScore``) by ``recompute`` (the periodic job and the on-demand button) and
averaged per week or month by ``trend``, for the filters every metrics page reads
(``metrics.periods``) and the DORA trend's buckets (``metrics.dora.buckets``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from metrics import dora
from metrics.models import (
    DeploymentRecord,
    Incident,
    KpiAlert,
    QualityWeights,
    ReleaseQualityScore,
    SupportTicket,
    TicketClassification,
)
from metrics.models.history import RecordStatus
from metrics.models.tickets import TicketSentiment
from metrics.periods import Filters
from releasemgr.decisions import require_permission
from releases.models import Release

RECOMPUTE_PERMISSION = "metrics.change_releasequalityscore"
WEIGHTS_PERMISSION = "metrics.change_qualityweights"
SEVERITIES = ("critical", "high", "medium", "low")
_TRUNC = {"week": TruncWeek, "month": TruncMonth}  # keyed by metrics.dora.BUCKETS


def recompute_days() -> int:
    return int(getattr(settings, "QUALITY_SCORE_DAYS", 30))


def current_weights() -> QualityWeights:
    """The weights in force: the newest saved row, or the defaults (unsaved)."""
    return QualityWeights.objects.order_by("-pk").first() or QualityWeights()


def _count(queryset: QuerySet, fk: str) -> Coalesce:
    """``COUNT(*)`` of ``queryset`` rows whose ``fk`` is the outer release, as a subquery."""
    sub = (
        queryset.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))


# Every final status counts: a production deployment that failed or was rolled back reached
# production too (its incidents and tickets are attributed to the release).
REACHED_PRODUCTION = (RecordStatus.SUCCEEDED, RecordStatus.FAILED, RecordStatus.ROLLED_BACK)


def production_records() -> QuerySet:
    """Production deployment records of releases, whatever their final status."""
    return DeploymentRecord.objects.filter(
        is_production=True, status__in=REACHED_PRODUCTION, release__isnull=False
    )


def annotated_releases(queryset: QuerySet | None = None) -> QuerySet:
    """Releases that reached production (succeeded, failed or rolled back there), with
    ``deployed_at`` (the first time they did) and every component's count."""
    queryset = Release.objects.all() if queryset is None else queryset
    deployed = (
        production_records()
        .filter(release=OuterRef("pk"))
        .order_by()
        .values("release")
        .annotate(at=Min("finished_at"))
        .values("at")
    )
    related = SupportTicket.objects.filter(classification=TicketClassification.RELEASE_RELATED)
    annotations = {
        "deployed_at": Subquery(deployed),
        "n_tickets": _count(related, "attributed_release"),
        "n_feedback": _count(
            related.filter(Q(sentiment=TicketSentiment.NEGATIVE) | Q(rating__lte=2)),
            "attributed_release",
        ),
        "n_kpi_alerts": _count(KpiAlert.objects.all(), "window__release"),
        "n_production_failures": _count(
            production_records().exclude(status=RecordStatus.SUCCEEDED), "release"
        ),
    }
    for severity in SEVERITIES:
        annotations[f"n_incident_{severity}"] = _count(
            Incident.objects.filter(severity=severity), "release"
        )
    return queryset.annotate(**annotations).filter(deployed_at__isnull=False)


def _component(code, label, count, points, cap, what, one: str = "") -> dict:
    """A capped component; ``what`` names the things counted, ``one`` names a single one
    (when the plural does not just drop an "s")."""
    raw = count * points
    deducted = min(raw, cap)
    if count == 0:
        message = f"No {what}."
    else:
        message = f"{count} {(one or what) if count == 1 else what} × {points} points = {raw}"
        message += f", capped at {cap}." if raw > cap else "."
    return {
        "code": code,
        "label": label,
        "count": count,
        "points": points,
        "cap": cap,
        "deducted": deducted,
        "message": message,
    }


@dataclass
class Score:
    score: int
    components: list[dict]


def score_of(release, weights: QualityWeights) -> Score:
    """The score of a release from ``annotated_releases``' counts (no queries)."""
    incidents = {s: getattr(release, f"n_incident_{s}") for s in SEVERITIES}
    incident_points = {s: getattr(weights, f"incident_{s}_points") for s in SEVERITIES}
    raw = sum(incidents[s] * incident_points[s] for s in SEVERITIES)
    total = sum(incidents.values())
    if total:
        parts = ", ".join(
            f"{incidents[s]} {s} × {incident_points[s]}" for s in SEVERITIES if incidents[s]
        )
        message = f"{total} incident{'s' if total != 1 else ''}: {parts} = {raw}"
        message += f", capped at {weights.incident_cap}." if raw > weights.incident_cap else "."
    else:
        message = "No incidents attributed to it."
    components = [
        _component(
            "tickets",
            "Support tickets",
            release.n_tickets,
            weights.ticket_points,
            weights.ticket_cap,
            "release-related support tickets",
        ),
        {
            "code": "incidents",
            "label": "Incidents",
            "count": total,
            "by_severity": incidents,
            "points": incident_points,
            "cap": weights.incident_cap,
            "deducted": min(raw, weights.incident_cap),
            "message": message,
        },
        _component(
            "kpi_breaches",
            "KPI breaches",
            release.n_kpi_alerts,
            weights.kpi_alert_points,
            weights.kpi_alert_cap,
            "KPI breaches in its stabilisation window",
        ),
        _component(
            "feedback",
            "Customer feedback",
            release.n_feedback,
            weights.feedback_points,
            weights.feedback_cap,
            "unhappy customers (negative sentiment or rating 1–2)",
        ),
        _component(
            "production_failures",
            "Failed or rolled-back production deployments",
            release.n_production_failures,
            weights.production_failure_points,
            weights.production_failure_cap,
            "production deployments that failed or were rolled back",
            "production deployment that failed or was rolled back",
        ),
    ]
    return Score(max(0, 100 - sum(c["deducted"] for c in components)), components)


def recompute(*, release_ids=None, days: int | None = None, user=None, now=None) -> int:
    """Store the score of each release that reached production, whatever the deployment's
    final status (those given, or those that first reached it in the last ``days``); returns
    how many were stored. Safe to run twice: one row per release, updated in place (history
    keeps the previous scores)."""
    now = now or timezone.now()
    queryset = annotated_releases()
    if release_ids is not None:
        queryset = queryset.filter(pk__in=list(release_ids))
    else:
        queryset = queryset.filter(deployed_at__gte=now - timedelta(days=days or recompute_days()))
    weights = current_weights()
    releases = list(queryset)
    existing = {
        s.release_id: s
        for s in ReleaseQualityScore.objects.filter(release__in=[r.pk for r in releases])
    }
    for release in releases:
        result = score_of(release, weights)
        with transaction.atomic():
            row = existing.get(release.pk) or ReleaseQualityScore(release=release)
            row.score = result.score
            row.components = result.components
            row.deployed_at = release.deployed_at
            row.computed_at = now
            row.save_with_reason("quality score recomputed", user=user)
    return len(releases)


def recompute_for(release, user) -> ReleaseQualityScore | None:
    """On demand, by someone allowed to; None when the release has not reached production
    (no production deployment record at all: a failed or rolled-back one still counts)."""
    require_permission(user, RECOMPUTE_PERMISSION, "recompute quality scores")
    recompute(release_ids=[release.pk], user=user)
    return ReleaseQualityScore.objects.filter(release=release).first()


# --- scope and trend ---
# Filters are metrics.periods' (team / service / domain / period, 90 days by default, the same
# messages as every metrics page); the trend's buckets are the DORA trend's (metrics.dora).


def scores(filters: Filters) -> QuerySet:
    """Stored scores of releases that first reached production in the period (succeeded,
    failed or rolled back), for the scope: a release counts for a team/service/domain when
    one of its production deployments does."""
    queryset = ReleaseQualityScore.objects.filter(filters.in_period("deployed_at"))
    if filters.team is not None or filters.service is not None or filters.domain:
        records = production_records().filter(release=OuterRef("release_id"))
        queryset = queryset.filter(Exists(records.filter(filters.record_scope())))
    return queryset


def trend(filters: Filters, bucket: str = "week") -> list[dict]:
    """The average score per bucket of ``metrics.dora.buckets`` (ISO week from Monday or
    calendar month, UTC; the first one starts on the period's first day), with how many
    releases; buckets without a release are left out. One query.

    Raises ``InvalidFilters`` (field ``bucket``) for a bucket that is not week or month, or
    a period with too many of them, in the DORA trend's words."""
    starts = [start for start, _ in dora.buckets(filters, bucket)]
    rows = (
        scores(filters)
        .order_by()
        .annotate(period=_TRUNC[bucket]("deployed_at", tzinfo=UTC))
        .values("period")
        .annotate(average=Avg("score"), releases=Count("pk"))
        .order_by("period")
    )
    # A truncated date before the period's start belongs to the first (clipped) bucket.
    by_start = {max(row["period"].date(), filters.since): row for row in rows}
    return [
        {
            "period": start.isoformat(),
            "average": round(by_start[start]["average"], 1),
            "releases": by_start[start]["releases"],
        }
        for start in starts
        if start in by_start
    ]
