"""The four DORA figures (DESIGN.md "Metric definitions", ``GET /api/v1/metrics/dora/``).

Computed from ``DeploymentRecord`` (production only), ``CommitRecord`` and ``Incident`` by
the database: counts in one aggregate, each median/p90 through ``metrics.aggregates``
(``percentile_cont`` on PostgreSQL, two ORDER BY/OFFSET rows on SQLite). No loop over rows,
so the number of queries does not grow with the history.

- deployments: production records (succeeded, failed, rolled back) finished in the period.
- deployment frequency: successful ones ÷ weeks in the period (weeks = days ÷ 7).
- lead time: per commit (sha + service) shipped by a deployment in the period, the first
  successful production deployment of that service containing it, minus ``authored_at``
  (the first success is kept on each commit row: ``CommitRecord.first_shipped_at``).
- change failure rate: failed + rolled back + succeeded-but-an-incident-is-attributed ÷ all.
- time to restore: ``resolved_at − started_at`` of resolved incidents started in the period.
- failed deployment recovery: a failed/rolled-back record's ``finished_at`` to the next
  successful production record of the same service (not yet recovered: left out).

Each figure's rows (the drill-down) come from the ``*_rows`` querysets below.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)

from metrics.aggregates import median_p90_hours
from metrics.models.history import CommitRecord, DeploymentRecord, RecordStatus
from metrics.models.incidents import Incident
from metrics.periods import Filters, InvalidFilters
from releasemgr.decisions import Reason

FAILED_STATUSES = (RecordStatus.FAILED, RecordStatus.ROLLED_BACK)
DETAILS = ("deployments", "lead_time", "change_failure", "time_to_restore", "recovery")
BUCKETS = ("week", "month")
MAX_BUCKETS = 120


def production_records() -> QuerySet[DeploymentRecord]:
    return DeploymentRecord.objects.filter(is_production=True)


def _record_q(filters: Filters, prefix: str = "") -> Q:
    """Production records of the scope finished in the period (``prefix`` to reach them)."""
    q = Q(
        **{
            f"{prefix}is_production": True,
            f"{prefix}finished_at__gte": filters.since_dt,
            f"{prefix}finished_at__lt": filters.until_dt,
        }
    )
    if filters.team is not None:
        q &= Q(**{f"{prefix}team": filters.team})
    if filters.service is not None:
        q &= Q(**{f"{prefix}service": filters.service})
    if filters.domain:
        q &= Q(**{f"{prefix}service__domain": filters.domain})
    return q


def records_in_period(filters: Filters) -> QuerySet[DeploymentRecord]:
    return DeploymentRecord.objects.filter(_record_q(filters))


def has_attributed_incident() -> Exists:
    return Exists(Incident.objects.filter(deployment_record=OuterRef("pk")))


def next_success(after: str = "finished_at") -> Subquery:
    """``finished_at`` of the service's next successful production record after ``after``."""
    return Subquery(
        production_records()
        .filter(
            service=OuterRef("service"),
            status=RecordStatus.SUCCEEDED,
            finished_at__gt=OuterRef(after),
        )
        .order_by("finished_at", "pk")
        .values("finished_at")[:1],
        output_field=DateTimeField(),
    )


def _duration(later: str, earlier: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(later) - F(earlier), output_field=DurationField())


# --- the rows behind each figure ------------------------------------------------------------


def deployment_rows(filters: Filters) -> QuerySet[DeploymentRecord]:
    """Every production record in the period; ``counts_as_failure`` for the CFR."""
    return (
        records_in_period(filters)
        .annotate(has_incident=has_attributed_incident())
        .annotate(
            counts_as_failure=Q(status__in=FAILED_STATUSES) | Q(has_incident=True),
        )
        .select_related("service", "team", "environment", "release")
        .order_by("-finished_at", "-pk")
    )


def change_failure_rows(filters: Filters) -> QuerySet[DeploymentRecord]:
    return deployment_rows(filters).filter(Q(status__in=FAILED_STATUSES) | Q(has_incident=True))


def lead_time_rows(filters: Filters) -> QuerySet[CommitRecord]:
    """One row per commit (sha, service) shipped in the period, with ``shipped_at`` (its
    first successful production deployment, kept on the row as ``first_shipped_at``) and
    ``lead_time`` (null if never shipped)."""
    earlier_copy = CommitRecord.objects.filter(
        _record_q(filters, "deployment_record__"),
        service=OuterRef("service"),
        sha=OuterRef("sha"),
        pk__lt=OuterRef("pk"),
    )
    return (
        CommitRecord.objects.filter(_record_q(filters, "deployment_record__"))
        .filter(~Exists(earlier_copy))
        .annotate(shipped_at=F("first_shipped_at"))
        .annotate(lead_time=_duration("first_shipped_at", "authored_at"))
        .select_related(
            "deployment_record__service",
            "deployment_record__team",
            "deployment_record__environment",
            "deployment_record__release",
        )
        .order_by("-authored_at", "-pk")
    )


def lead_times(filters: Filters) -> QuerySet[CommitRecord]:
    """The lead-time values of the period, one per commit (service, sha), for percentiles:
    grouped in the database (a hash aggregate) rather than the drill-down's per-row
    "no earlier copy" probe. The same commits and values as ``lead_time_rows``."""
    return (
        CommitRecord.objects.filter(_record_q(filters, "deployment_record__"))
        .order_by()
        .values("service_id", "sha")
        .annotate(lead_time=Min(_duration("first_shipped_at", "authored_at")))
    )


def time_to_restore_rows(filters: Filters) -> QuerySet[Incident]:
    return (
        Incident.objects.filter(filters.scope() & filters.in_period("started_at"))
        .filter(resolved_at__isnull=False)
        .annotate(time_to_restore=_duration("resolved_at", "started_at"))
        .select_related("service", "release", "deployment_record")
        .order_by("-started_at", "-pk")
    )


def recovery_rows(filters: Filters) -> QuerySet[DeploymentRecord]:
    """Failed / rolled-back records of the period with ``recovered_at`` (null: not yet)."""
    return (
        records_in_period(filters)
        .filter(status__in=FAILED_STATUSES)
        .annotate(recovered_at=next_success("finished_at"))
        .annotate(recovery=_duration("recovered_at", "finished_at"))
        .select_related("service", "team", "environment", "release")
        .order_by("-finished_at", "-pk")
    )


def rows(filters: Filters, detail: str) -> QuerySet:
    """The rows behind one figure (``detail`` one of ``DETAILS``)."""
    builders = {
        "deployments": deployment_rows,
        "lead_time": lead_time_rows,
        "change_failure": change_failure_rows,
        "time_to_restore": time_to_restore_rows,
        "recovery": recovery_rows,
    }
    if detail not in builders:
        message = f"detail: '{detail}' is not one of {', '.join(DETAILS)}."
        raise InvalidFilters(message, [Reason("bad_detail", False, message, {"field": "detail"})])
    return builders[detail](filters)


# --- the figures ----------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def dora(filters: Filters) -> dict[str, Any]:
    """The DORA figures for ``filters`` (the API's exact shape). A fixed number of queries."""
    return dora_with_counts(filters)[0]


def dora_with_counts(filters: Filters) -> tuple[dict[str, Any], dict[str, int]]:
    """``dora(filters)`` and the counts behind it (``deployments``, ``succeeded``,
    ``failures``), so a page can show the number the frequency divides (the successful
    deployments, not all of them) without a second query or a change to the API's shape."""
    counts = (
        records_in_period(filters)
        .annotate(has_incident=has_attributed_incident())
        .aggregate(
            deployments=Count("pk"),
            succeeded=Count("pk", filter=Q(status=RecordStatus.SUCCEEDED)),
            failures=Count("pk", filter=Q(status__in=FAILED_STATUSES) | Q(has_incident=True)),
        )
    )
    total = counts["deployments"]
    figures = {
        "deployments": total,
        "deployment_frequency_per_week": round(counts["succeeded"] / filters.weeks, 3),
        "lead_time_hours": median_p90_hours(lead_times(filters), "lead_time"),
        "change_failure_rate": _ratio(counts["failures"], total),
        "time_to_restore_hours": median_p90_hours(
            time_to_restore_rows(filters).order_by(), "time_to_restore"
        ),
        "failed_deployment_recovery_hours": median_p90_hours(
            recovery_rows(filters).order_by(), "recovery"
        ),
    }
    return figures, counts


# --- trend ----------------------------------------------------------------------------------


def buckets(filters: Filters, bucket: str) -> list[tuple[date, date]]:
    """``[start, end)`` UTC-date buckets covering the period: ISO weeks (Monday) or calendar
    months, the first and last clipped to the period."""
    if bucket not in BUCKETS:
        message = f"bucket: '{bucket}' is not one of {', '.join(BUCKETS)}."
        raise InvalidFilters(message, [Reason("bad_bucket", False, message, {"field": "bucket"})])
    out = []
    start = filters.since
    while start < filters.until:
        if bucket == "week":
            end = start - timedelta(days=start.weekday()) + timedelta(days=7)
        else:
            end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        end = min(end, filters.until)
        out.append((start, end))
        start = end
    if len(out) > MAX_BUCKETS:
        message = (
            f"The period has {len(out)} {bucket}s; a trend shows at most {MAX_BUCKETS}. "
            "Choose a shorter period or bucket=month."
        )
        raise InvalidFilters(
            message, [Reason("too_many_buckets", False, message, {"field": "bucket"})]
        )
    return out


def dora_trend(filters: Filters, bucket: str = "week") -> list[dict[str, Any]]:
    """The DORA figures per bucket (queries grow with the number of buckets, not rows)."""
    out = []
    for start, end in buckets(filters, bucket):
        figures = dora(replace(filters, since=start, until=end))
        out.append({"start": start, "end": end, **figures})
    return out
