"""The nightly quality score job: recompute the score of every release deployed to production in
the last ``QUALITY_SCORE_DAYS`` days. Safe to run twice (one row per release, updated)."""

from celery import shared_task

from metrics import quality_score
from releasemgr.jobs import recorded

JOB_NAME = "quality_scores"


@shared_task(
    name="metrics.jobs_quality.quality_scores_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
@recorded(JOB_NAME)
def quality_scores_task():
    n = quality_score.recompute()
    return f"{n} release quality scores recomputed"
