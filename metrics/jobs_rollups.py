"""The periodic rollup refresh (beat entry ``metrics-rollups``, every
``ROLLUP_REFRESH_SECONDS``): rebuild the last ``ROLLUP_RECENT_DAYS`` UTC days, every day marked
dirty (``metrics.rollups.mark_dirty``), and the days of deployment records or incidents changed
since the previous successful run started (minus ``ROLLUP_CHANGE_OVERLAP_SECONDS``). Idempotent;
two workers running it at once, or a run and ``rebuild_rollups``, serialise on the days' lock
rows (``metrics.rollups.rebuild``)."""

from __future__ import annotations

from datetime import UTC, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from metrics import rollups
from metrics.models import RollupDay
from releasemgr.jobs import recorded
from releasemgr.models import JobRun

JOB_NAME = "metrics_rollups"


@recorded(JOB_NAME)
def refresh_rollups() -> str:
    now = timezone.now()
    today = now.astimezone(UTC).date()
    recent = {today - timedelta(days=i) for i in range(getattr(settings, "ROLLUP_RECENT_DAYS", 3))}
    dirty = set(RollupDay.objects.filter(dirty=True).values_list("day", flat=True))
    previous = (
        JobRun.objects.filter(name=JOB_NAME, status=JobRun.Status.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if previous is None:  # first run (a new installation, a restored database): everything
        written = rollups.rebuild_all()
        return f"first run: all history rebuilt, {written} rollup rows"
    # ``updated`` is set when a row is written, not when its transaction commits: a run cannot
    # see rows of a transaction still open when it starts (an import of a large file), and those
    # rows' ``updated`` is earlier than this run's start. So look back past the previous run's
    # start by a margin longer than any writing transaction; days found twice are rebuilt twice,
    # which is harmless (``rebuild`` is idempotent).
    overlap = timedelta(seconds=getattr(settings, "ROLLUP_CHANGE_OVERLAP_SECONDS", 3600))
    touched = rollups.touched_days(previous - overlap)
    days = recent | dirty | touched
    written = rollups.rebuild(days)
    return (
        f"{len(days)} days rebuilt ({len(dirty)} dirty, {len(touched)} touched), "
        f"{written} rollup rows"
    )


@shared_task(name="metrics.jobs_rollups.refresh_rollups_task")
def refresh_rollups_task() -> str:
    return refresh_rollups()
