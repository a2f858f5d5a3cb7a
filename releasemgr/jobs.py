"""Run bookkeeping for background jobs: every run is recorded with its outcome."""

import functools
import traceback

from django.utils import timezone

from releasemgr.models import JobRun


def recorded(name: str):
    """Wrap a job body so each run leaves a JobRun row (status, times, detail or error)."""

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            run = JobRun.objects.create(name=name)
            try:
                detail = func(*args, **kwargs)
            except Exception:
                JobRun.objects.filter(pk=run.pk).update(
                    status=JobRun.Status.FAILED,
                    finished_at=timezone.now(),
                    error=traceback.format_exc()[-4000:],
                )
                raise
            JobRun.objects.filter(pk=run.pk).update(
                status=JobRun.Status.SUCCEEDED, finished_at=timezone.now(), detail=str(detail or "")
            )
            return detail

        return wrapper

    return decorator
