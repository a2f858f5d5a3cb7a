"""Celery tasks of the scheduling app (run by beat; see CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from releasemgr.jobs import recorded
from scheduling import freeze_watch


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def freeze_check_task():
    """The periodic freeze check (windows opened/closed, blocked plans, patch deadlines)."""
    return recorded(freeze_watch.JOB_NAME)(lambda: freeze_watch.run().describe())()
