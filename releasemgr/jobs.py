"""Run bookkeeping for background jobs: every run is recorded with its outcome, and a periodic
job runs once per period however many beat schedulers sent it.

How a run is claimed (``start_run``):

- A message that already has a run (same Celery task id) is a redelivery after its worker
  died, or a retry: it takes its row over (one more attempt) unless that run succeeded, in
  which case there is nothing left to do.
- A message sent by beat carries the start of its period (``stamp_period``, connected in the
  beat process by ``releasemgr.celery``). The run is inserted with ``(name, period_start)``,
  which is unique: when a second beat (or a second copy of the same schedule) sent the same
  period, the insert fails and that message does nothing.
- Anything else (a job started by hand, by a request, or called directly) is just recorded.

The job bodies are idempotent as well (each claims its work with a conditional update or a
unique key), so even a run repeated after a crash has its effect once.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import socket
import traceback
from datetime import UTC, datetime

from celery import current_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from releasemgr import observability
from releasemgr.models import JobRun

logger = logging.getLogger(__name__)

PERIOD_HEADER = "period_start"
_current_run: contextvars.ContextVar[JobRun | None] = contextvars.ContextVar(
    "current_job_run", default=None
)


def current_run() -> JobRun | None:
    """The run the current job body belongs to (inside ``recorded``), else ``None``."""
    return _current_run.get()


def is_redelivery() -> bool:
    """True when this message ran before and did not finish (its worker died, or it failed
    and is retried): work it claimed then is its own to take back."""
    run = current_run()
    return run is not None and run.attempt > 1


# --- beat side: stamp each message with its period ---


def period_seconds(schedule) -> int | None:
    """Length of a schedule's period in whole seconds (intervals); ``None`` for others."""
    run_every = getattr(schedule, "run_every", None)
    if run_every is not None and not hasattr(schedule, "minute"):
        return max(1, int(run_every.total_seconds()))
    if isinstance(schedule, (int, float)):
        return max(1, int(schedule))
    if hasattr(schedule, "total_seconds"):
        return max(1, int(schedule.total_seconds()))
    return None


def period_of(task_name: str, now: float) -> datetime | None:
    """The start of the period ``now`` falls in for a task of the beat schedule.

    Periods are aligned on the epoch (multiples of the interval), not on when a beat started,
    so two schedulers started at different moments agree on them. A crontab entry's period is
    the minute it fired in."""
    lengths = []
    crontab = False
    for entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).values():
        if entry.get("task") != task_name:
            continue
        seconds = period_seconds(entry.get("schedule"))
        if seconds is None:
            crontab = True
        else:
            lengths.append(seconds)
    if lengths:
        step = min(lengths)
    elif crontab:
        step = 60
    else:
        return None
    return datetime.fromtimestamp(int(now // step) * step, tz=UTC)


def stamp_period(sender=None, headers=None, **kwargs):
    """``before_task_publish`` receiver for the beat process: add the period to the message."""
    if headers is None or PERIOD_HEADER in headers:
        return
    period = period_of(sender or headers.get("task", ""), timezone.now().timestamp())
    if period is not None:
        headers[PERIOD_HEADER] = period.isoformat()


# --- worker side: claim the run ---


def _request():
    # ``current_task`` is a proxy, never None itself: outside a task it proxies None.
    task = current_task._get_current_object()
    if task is None:
        return None
    request = task.request
    if request is None or getattr(request, "called_directly", True) or not request.id:
        return None
    return request


def _period_from(request) -> datetime | None:
    raw = getattr(request, PERIOD_HEADER, None) or (request.headers or {}).get(PERIOD_HEADER)
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        logger.warning("ignoring a malformed %s header: %r", PERIOD_HEADER, raw)
        return None


def start_run(name: str) -> JobRun | None:
    """Record the start of a run, or return ``None`` when this message must do nothing (its
    period was already claimed by another message, or its run already succeeded)."""
    request = _request()
    if request is None:
        return JobRun.objects.create(name=name, hostname=socket.gethostname())
    hostname = request.hostname or socket.gethostname()
    now = timezone.now()
    # The same message again: redelivered after its worker died, or retried after a failure.
    taken = (
        JobRun.objects.filter(name=name, task_id=request.id)
        .exclude(status=JobRun.Status.SUCCEEDED)
        .update(
            status=JobRun.Status.RUNNING,
            attempt=F("attempt") + 1,
            hostname=hostname,
            started_at=now,
            finished_at=None,
        )
    )
    if taken:
        return JobRun.objects.filter(name=name, task_id=request.id).order_by("-pk").first()
    if JobRun.objects.filter(name=name, task_id=request.id).exists():
        logger.info("%s: message %s already ran to success; nothing to do", name, request.id)
        return None
    period = _period_from(request)
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                name=name,
                task_id=request.id,
                hostname=hostname,
                period_start=period,
                started_at=now,
            )
    except IntegrityError:
        logger.info("%s: period %s already claimed by another message", name, period)
        return None


def recorded(name: str):
    """Wrap a job body so each run leaves a JobRun row (status, times, attempt, worker, detail
    or error), and a periodic job runs once per period (see the module docstring)."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            run = start_run(name)
            if run is None:
                return "skipped: already run for this period or message"
            token = _current_run.set(run)
            try:
                detail = func(*args, **kwargs)
            except Exception:
                JobRun.objects.filter(pk=run.pk).update(
                    status=JobRun.Status.FAILED,
                    finished_at=timezone.now(),
                    error=traceback.format_exc()[-4000:],
                )
                raise
            finally:
                _current_run.reset(token)
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.SUCCEEDED,
                finished_at=timezone.now(),
                detail=str(detail or ""),
                error="",
            )
            return detail

        return observability.counted_job(name, wrapper)

    return decorator
