"""What the Jobs page shows: every job the application runs (even before its first run) with
what it does, how often, its latest run and when it is next due; and the runs filtered (job,
status, since), newest first. Who may see it: release managers and administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from releasemgr.jobs import period_seconds
from releasemgr.models import JobRun
from releasemgr.roles import RELEASE_MANAGER, has_role


@dataclass(frozen=True)
class Job:
    label: str
    what: str
    # The CELERY_BEAT_SCHEDULE entry that runs it; "" for a job started on demand.
    beat_entry: str = ""


# Every job the application runs, by the name its runs are recorded under. A test checks that
# each beat entry and each recorded name is here, so the page cannot silently miss one.
JOBS: dict[str, Job] = {
    "freeze_check": Job(
        "Freeze check",
        "Tells owners when a freeze window starts blocking their planned deployment and when "
        "it lifts.",
        "freeze-check",
    ),
    "flag_stalled_deployments": Job(
        "Stalled deployments",
        "Flags deployments still running after DEPLOYMENT_STALL_HOURS.",
        "flag-stalled-deployments",
    ),
    "defect_escalation": Job(
        "Late defect escalation",
        "Escalates blocking defects of releases about to start.",
        "escalate-late-defects",
    ),
    "overdue_retrospectives": Job(
        "Overdue retrospectives",
        "Reminds owners of emergency-change retrospectives past their due date.",
        "notify-overdue-retrospectives",
    ),
    "kpi_watch": Job(
        "KPI watch",
        "Checks the KPIs of releases in their stabilisation window and raises alerts.",
        "kpi-watch",
    ),
    "postmortem_overdue_actions": Job(
        "Overdue post-mortem actions",
        "Reminds owners of post-mortem actions past their due date (each owner once a day).",
        "postmortem-overdue-actions",
    ),
    "metrics_rollups": Job(
        "Metrics rollups",
        "Rebuilds the daily aggregates behind the metrics pages for the days that changed.",
        "metrics-rollups",
    ),
    "quality_scores": Job(
        "Quality scores",
        "Recomputes the quality score of recently deployed releases.",
        "quality-scores",
    ),
    "delivery_sweep": Job(
        "Delivery sweep",
        "Sends email, chat and webhook deliveries whose task was lost and frees stuck claims.",
        "notify-delivery-sweep",
    ),
    "security_housekeeping": Job(
        "Security housekeeping",
        "Deletes sign-in attempts past their retention and expired sessions.",
        "security-housekeeping",
    ),
    "build_evidence_pack": Job(
        "Evidence pack",
        "Builds an evidence pack when someone asks for one (on demand).",
    ),
}


def every_seconds(job: Job) -> int | None:
    """How often beat runs the job (its period in seconds), or None (on demand, crontab)."""
    entry = settings.CELERY_BEAT_SCHEDULE.get(job.beat_entry) if job.beat_entry else None
    return period_seconds(entry["schedule"]) if entry else None


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
    """One row per job (every known job, and any other name that has runs): what it does, how
    often it runs, its latest run, how many runs failed or are still running, and when it is
    next due. Two queries whatever the number of jobs and runs."""
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
    latest = {}
    if per_job:
        latest_filter = Q()
        for row in per_job:
            latest_filter |= Q(name=row["name"], started_at=row["last_started"])
        latest = {run.name: run for run in JobRun.objects.filter(latest_filter).order_by("pk")}
    counted = {row["name"]: row for row in per_job}
    rows = []
    for name in sorted(set(JOBS) | set(counted), key=lambda n: (n not in JOBS, n)):
        job = JOBS.get(name) or Job(name.replace("_", " ").capitalize(), "")
        every = every_seconds(job)
        run = latest.get(name)
        due = None
        if every and run is not None:
            due = max(run.started_at + timedelta(seconds=every), timezone.now())
        rows.append(
            {
                "runs": 0,
                "failed": 0,
                "running": 0,
                **counted.get(name, {}),
                "name": name,
                "label": job.label,
                "what": job.what,
                "every": every,
                "latest": run,
                "next_due": due,
            }
        )
    return rows


def job_names() -> list[str]:
    ran = JobRun.objects.order_by("name").values_list("name", flat=True).distinct()
    return sorted(set(JOBS) | set(ran))
