"""Rebuild the daily rollups (``metrics.models.rollups``) from the raw history, and add them up.

``rebuild(days)`` recomputes whole UTC days with database aggregation: one GROUP BY (day,
service) query for the deployments and one for the incidents per run of consecutive days, then
the days' rows are replaced (delete + bulk_create) in one transaction. It is idempotent, and two
rebuilds of the same days at once are safe: each first locks the days' ``RollupDay`` rows
(``select_for_update``, in day order), so the second waits and then writes the same answer.

``mark_dirty(days)`` is what an import (or anything that writes history) calls; the periodic job
(``metrics.jobs_rollups``) rebuilds dirty days, the last few days, and the days of history rows
changed since its previous run.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from metrics.models import DailyRollup, DeploymentRecord, Incident, RollupDay
from metrics.models.history import RecordStatus


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive runs of days as (first, last)."""
    out: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if out and day == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out


def mark_dirty(days: Iterable[date]) -> None:
    """Ask the next rollup job to rebuild these days (safe to call concurrently)."""
    days = sorted(set(days))
    if not days:
        return
    RollupDay.objects.bulk_create(
        [RollupDay(day=d, dirty=True) for d in days], ignore_conflicts=True
    )
    RollupDay.objects.filter(day__in=days, dirty=False).update(dirty=True)


def _deployment_rows(first: date, last: date) -> list[dict]:
    attributed = Incident.objects.filter(deployment_record=OuterRef("pk"))
    return list(
        DeploymentRecord.objects.filter(
            is_production=True,
            finished_at__gte=day_start(first),
            finished_at__lt=day_start(last + timedelta(days=1)),
        )
        .annotate(day=TruncDate("finished_at", tzinfo=UTC), has_incident=Exists(attributed))
        .values("day", "service_id", "service__team_id")
        .annotate(
            deployments=Count("pk"),
            succeeded=Count("pk", filter=Q(status=RecordStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=RecordStatus.FAILED)),
            rolled_back=Count("pk", filter=Q(status=RecordStatus.ROLLED_BACK)),
            failed_or_attributed=Count(
                "pk",
                filter=Q(status__in=[RecordStatus.FAILED, RecordStatus.ROLLED_BACK])
                | Q(has_incident=True),
            ),
        )
        .order_by()
    )


def _incident_rows(first: date, last: date) -> list[dict]:
    return list(
        Incident.objects.filter(
            started_at__gte=day_start(first), started_at__lt=day_start(last + timedelta(days=1))
        )
        .annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values("day", "service_id", "service__team_id")
        .annotate(
            incidents_started=Count("pk"),
            incidents_resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
            restore=Sum(F("resolved_at") - F("started_at"), filter=Q(resolved_at__isnull=False)),
        )
        .order_by()
    )


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def rebuild(days: Iterable[date]) -> int:
    """Recompute the rollups of these UTC days from the raw rows; returns the rows written."""
    written = 0
    for first, last in _runs(days):
        wanted = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        with transaction.atomic():
            # One winner per day, claimed by a row lock: the lock rows must exist first (a new
            # day has none; ON CONFLICT DO NOTHING makes a second inserter wait for the first
            # one's commit instead of failing), then FOR UPDATE in day order (every rebuild
            # takes them in the same order, so two overlapping rebuilds cannot deadlock). The
            # loser waits here and, under READ COMMITTED, its queries below see the winner's
            # rows: it deletes them and writes the same figures. Without the lock both delete
            # nothing and insert the same (day, service): an IntegrityError
            # (tests/metrics/test_rollups_concurrency.py).
            RollupDay.objects.bulk_create([RollupDay(day=d) for d in wanted], ignore_conflicts=True)
            list(RollupDay.objects.select_for_update().filter(day__in=wanted).order_by("day"))
            rows: dict[tuple, DailyRollup] = {}

            def row(item, rows=rows):
                key = (_as_date(item["day"]), item["service_id"])
                if key not in rows:
                    rows[key] = DailyRollup(
                        day=key[0], service_id=key[1], team_id=item["service__team_id"]
                    )
                return rows[key]

            for item in _deployment_rows(first, last):
                r = row(item)
                for name in ("deployments", "succeeded", "failed", "rolled_back"):
                    setattr(r, name, item[name])
                r.failed_or_attributed = item["failed_or_attributed"]
            for item in _incident_rows(first, last):
                r = row(item)
                r.incidents_started = item["incidents_started"]
                r.incidents_resolved = item["incidents_resolved"]
                restore = item["restore"]
                r.restore_seconds_sum = restore.total_seconds() if restore else 0.0
            DailyRollup.objects.filter(day__gte=first, day__lte=last).delete()
            DailyRollup.objects.bulk_create(list(rows.values()))
            RollupDay.objects.filter(day__in=wanted).update(dirty=False, rebuilt_at=timezone.now())
            written += len(rows)
    return written


def touched_days(since: datetime) -> set[date]:
    """UTC days whose figures may have changed because history rows changed after ``since``.

    Index scans on ``updated`` (``deprec_prod_updated``, partial on ``is_production``, and
    ``incident_updated``). ``order_by()`` clears the models' ``Meta.ordering``: with it Django
    adds the ordering columns to SELECT DISTINCT, which then returns one row per changed row."""
    days: set[date] = set()
    for value in (
        DeploymentRecord.objects.filter(updated__gte=since, is_production=True)
        .annotate(day=TruncDate("finished_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .order_by()
        .distinct()
    ):
        days.add(_as_date(value))
    changed = Incident.objects.filter(updated__gte=since).order_by()
    for value in (
        changed.annotate(day=TruncDate("started_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .distinct()
    ):
        days.add(_as_date(value))
    for value in (
        changed.filter(deployment_record__isnull=False)
        .annotate(day=TruncDate("deployment_record__finished_at", tzinfo=UTC))
        .values_list("day", flat=True)
        .distinct()
    ):
        days.add(_as_date(value))
    return days


def rebuild_all(since: date | None = None) -> int:
    """Rebuild every day from ``since`` (default: the first day of history) to today."""
    today = timezone.now().astimezone(UTC).date()
    if since is None:
        firsts = [
            DeploymentRecord.objects.filter(is_production=True)
            .order_by("finished_at")
            .values_list("finished_at", flat=True)
            .first(),
            Incident.objects.order_by("started_at").values_list("started_at", flat=True).first(),
        ]
        firsts = [f.astimezone(UTC).date() for f in firsts if f is not None]
        if not firsts:
            DailyRollup.objects.all().delete()
            return 0
        since = min(firsts)
        DailyRollup.objects.filter(day__lt=since).delete()
    return rebuild(since + timedelta(days=i) for i in range((today - since).days + 1))


def rollups_for(filters):
    """The rollup rows a ``metrics.periods.Filters`` selects (team, service, domain, since
    inclusive, until exclusive)."""
    qs = DailyRollup.objects.filter(filters.scope())
    if filters.since is not None:
        qs = qs.filter(day__gte=filters.since)
    if filters.until is not None:
        qs = qs.filter(day__lt=filters.until)
    return qs


COUNTS = (
    "deployments",
    "succeeded",
    "failed",
    "rolled_back",
    "failed_or_attributed",
    "incidents_started",
    "incidents_resolved",
    "restore_seconds_sum",
)


def totals(filters) -> dict:
    """Counts and sums over the selection, one aggregate query; zeros when nothing matches."""
    found = rollups_for(filters).aggregate(**{name: Sum(name) for name in COUNTS})
    return {name: (found[name] or 0) for name in COUNTS}
