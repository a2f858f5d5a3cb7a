from celery import shared_task

from releasemgr.jobs import recorded
from releases.stalls import flag_stalled_deployments


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def flag_stalled_deployments_task():
    return recorded("flag_stalled_deployments")(
        lambda: f"{flag_stalled_deployments()} deployment(s) flagged"
    )()
