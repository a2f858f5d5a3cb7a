"""What the Jobs page shows: the latest run of every job, and the runs filtered (job, status,
since), newest first. Who may see it: release managers and administrators (superusers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from releasemgr.models import JobRun
from releasemgr.roles import RELEASE_MANAGER, has_role

STATUSES = [value for value, _ in JobRun.Status.choices]


def may_see_jobs(user) -> bool:
    return bool(getattr(user, "is_superuser", False)) or has_role(user, RELEASE_MANAGER)


@dataclass
class JobFilters:
    name: str = ""
    status: str = ""
    since: date | None = None


class InvalidJobFilters(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def parse_filters(params) -> JobFilters:
    """Read ``?job=&status=&since=YYYY-MM-DD``; anything else is a clear error."""
    errors: dict[str, str] = {}
    name = (params.get("job") or "").strip()
    if len(name) > JobRun._meta.get_field("name").max_length:
        errors["job"] = "No job has a name that long."
    status = (params.get("status") or "").strip()
    if status and status not in STATUSES:
        errors["status"] = f"Status must be one of {', '.join(STATUSES)}."
    since = None
    raw = (params.get("since") or "").strip()
    if raw:
        try:
            since = date.fromisoformat(raw)
        except ValueError:
            errors["since"] = f"'{raw[:20]}' is not a date (YYYY-MM-DD)."
    if errors:
        raise InvalidJobFilters(errors)
    return JobFilters(name=name, status=status, since=since)


def runs(filters: JobFilters) -> QuerySet[JobRun]:
    queryset = JobRun.objects.all()
    if filters.name:
        queryset = queryset.filter(name=filters.name)
    if filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.since:
        start = timezone.make_aware(datetime.combine(filters.since, time.min))
        queryset = queryset.filter(started_at__gte=start)
    return queryset.order_by("-started_at", "-pk")


def summary() -> list[dict]:
    """One row per job: its latest run, and how many runs failed or are still running. Two
    queries whatever the number of jobs and runs."""
    per_job = list(
        JobRun.objects.order_by()
        .values("name")
        .annotate(
            last_started=Max("started_at"),
            runs=Count("pk"),
            failed=Count("pk", filter=Q(status=JobRun.Status.FAILED)),
            running=Count("pk", filter=Q(status=JobRun.Status.RUNNING)),
        )
        .order_by("name")
    )
    if not per_job:
        return []
    latest_filter = Q()
    for row in per_job:
        latest_filter |= Q(name=row["name"], started_at=row["last_started"])
    latest = {run.name: run for run in JobRun.objects.filter(latest_filter).order_by("pk")}
    return [{**row, "latest": latest.get(row["name"])} for row in per_job]


def job_names() -> list[str]:
    return list(JobRun.objects.order_by("name").values_list("name", flat=True).distinct())
