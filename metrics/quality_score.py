"""Release quality score (curriculum 8.6): 100 minus points for what went wrong after a release
reached production — release-related support tickets, incidents attributed to it (by
severity), KPI breaches in its stabilisation window, and unhappy customer feedback (tickets
attributed to it with negative sentiment or a rating of 1–2). Each component is capped
(``QualityWeights``) and explains itself.

Counts come from the database (one correlated ``COUNT`` subquery per component, annotated on
the releases), not from Python loops over tickets or incidents. Scores are stored per release
(``ReleaseQualityScore``) by ``recompute`` (the periodic job and the on-demand button) and
averaged per week or month by ``trend``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Avg,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

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
from releasemgr.decisions import require_permission
from releases.models import Release, Service, Team

RECOMPUTE_PERMISSION = "metrics.change_releasequalityscore"
WEIGHTS_PERMISSION = "metrics.change_qualityweights"
SEVERITIES = ("critical", "high", "medium", "low")
BUCKETS = {"week": TruncWeek, "month": TruncMonth}


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


def production_records() -> QuerySet:
    return DeploymentRecord.objects.filter(
        is_production=True, status=RecordStatus.SUCCEEDED, release__isnull=False
    )


def annotated_releases(queryset: QuerySet | None = None) -> QuerySet:
    """Releases that reached production, with ``deployed_at`` and every component's count."""
    queryset = Release.objects.all() if queryset is None else queryset
    deployed = (
        production_records()
        .filter(release=OuterRef("pk"))
        .order_by()
        .values("release")
        .annotate(at=Max("finished_at"))
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
    }
    for severity in SEVERITIES:
        annotations[f"n_incident_{severity}"] = _count(
            Incident.objects.filter(severity=severity), "release"
        )
    return queryset.annotate(**annotations).filter(deployed_at__isnull=False)


def _component(code, label, count, points, cap, what) -> dict:
    raw = count * points
    deducted = min(raw, cap)
    if count == 0:
        message = f"No {what}."
    else:
        message = f"{count} {what} × {points} points = {raw}"
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
    ]
    return Score(max(0, 100 - sum(c["deducted"] for c in components)), components)


def recompute(*, release_ids=None, days: int | None = None, user=None, now=None) -> int:
    """Store the score of each release that reached production (those given, or those
    deployed in the last ``days``); returns how many were stored. Safe to run twice: one row
    per release, updated in place (history keeps the previous scores)."""
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
    """On demand, by someone allowed to; None when the release has not reached production."""
    require_permission(user, RECOMPUTE_PERMISSION, "recompute quality scores")
    recompute(release_ids=[release.pk], user=user)
    return ReleaseQualityScore.objects.filter(release=release).first()


# --- filters and trend ---


@dataclass
class Filters:
    team: Team | None = None
    service: Service | None = None
    since: date | None = None
    until: date | None = None
    bucket: str = "week"

    def as_params(self) -> dict:
        return {
            "team": self.team.slug if self.team else "",
            "service": self.service.slug if self.service else "",
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "bucket": self.bucket,
        }


def _date(value: str, field: str, errors: dict) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = [f"“{value}” is not a date (YYYY-MM-DD)."]
        return None


def parse_filters(params, *, default_days: int = 180) -> Filters:
    """``team``, ``service`` (slugs), ``since`` (inclusive), ``until`` (exclusive; UTC dates),
    ``bucket`` (week/month). Raises ``ValidationError`` with a message per field."""
    errors: dict[str, list[str]] = {}
    out = Filters()
    team = (params.get("team") or "").strip()
    if team:
        out.team = Team.objects.filter(slug=team).first()
        if out.team is None:
            errors["team"] = [f"No team “{team}”."]
    service = (params.get("service") or "").strip()
    if service:
        out.service = Service.objects.filter(slug=service).first()
        if out.service is None:
            errors["service"] = [f"No service “{service}”."]
    today = timezone.now().astimezone(UTC).date()
    until = (params.get("until") or "").strip()
    since = (params.get("since") or "").strip()
    out.until = _date(until, "until", errors) if until else today + timedelta(days=1)
    out.since = (
        _date(since, "since", errors)
        if since
        else (out.until or today) - timedelta(days=default_days)
    )
    if out.since and out.until and out.until <= out.since:
        errors["until"] = [
            f"The period ends ({out.until}) on or before it starts ({out.since}); "
            "the end must come after the start."
        ]
    bucket = (params.get("bucket") or "week").strip()
    if bucket not in BUCKETS:
        errors["bucket"] = ["Choose week or month."]
    out.bucket = bucket
    if errors:
        raise ValidationError(errors)
    return out


def _utc(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def scores(filters: Filters) -> QuerySet:
    """Stored scores of releases deployed to production in the period, for the team/service."""
    queryset = ReleaseQualityScore.objects.filter(
        deployed_at__gte=_utc(filters.since), deployed_at__lt=_utc(filters.until)
    )
    records = production_records().filter(release=OuterRef("release_id"))
    if filters.team:
        queryset = queryset.filter(Exists(records.filter(team=filters.team)))
    if filters.service:
        queryset = queryset.filter(Exists(records.filter(service=filters.service)))
    return queryset


def trend(filters: Filters) -> list[dict]:
    """The average score per week (Monday, UTC) or month, with how many releases: one query."""
    rows = (
        scores(filters)
        .order_by()
        .annotate(period=BUCKETS[filters.bucket]("deployed_at", tzinfo=UTC))
        .values("period")
        .annotate(average=Avg("score"), releases=Count("pk"))
        .order_by("period")
    )
    return [
        {
            "period": row["period"].date().isoformat(),
            "average": round(row["average"], 1),
            "releases": row["releases"],
        }
        for row in rows
    ]
