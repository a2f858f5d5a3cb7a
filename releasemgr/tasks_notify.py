"""Celery tasks that send notification and webhook deliveries, the sweep that re-sends
deliveries whose task was lost, and the daily security housekeeping (old sign-in attempts,
expired sessions).

Each send task is idempotent: it claims its row with a conditional UPDATE before sending
(``releasemgr.channels.claim``), so a message delivered twice sends once. A failed attempt
retries the task with an exponential countdown until the row's attempts are spent.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from releasemgr import channels, webhooks
from releasemgr.jobs import recorded
from releasemgr.models_notify import DeliveryStatus, NotificationDelivery, WebhookDelivery

# A pending row this overdue had its task lost (the broker was down, a worker died).
SWEEP_GRACE_SECONDS = 60
SWEEP_BATCH = 500


@shared_task(bind=True, name="releasemgr.tasks_notify.send_notification_delivery")
def send_notification_delivery(self, delivery_id: int):
    countdown = channels.attempt_notification_delivery(delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown, max_retries=None)


@shared_task(bind=True, name="releasemgr.tasks_notify.send_webhook_delivery")
def send_webhook_delivery(self, delivery_id: int):
    countdown = webhooks.attempt(delivery_id)
    if countdown is not None:
        raise self.retry(countdown=countdown, max_retries=None)


def sweep() -> str:
    """Hand back stale claims and re-enqueue overdue pending deliveries."""
    released = channels.release_stale_claims(NotificationDelivery) + channels.release_stale_claims(
        WebhookDelivery
    )
    cutoff = timezone.now() - timedelta(seconds=SWEEP_GRACE_SECONDS)
    resent = 0
    for model, enqueue in (
        (NotificationDelivery, channels.enqueue_notification_delivery),
        (WebhookDelivery, webhooks.enqueue),
    ):
        due = model.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=cutoff
        ).values_list("pk", flat=True)[:SWEEP_BATCH]
        for pk in due:
            enqueue(pk)
            resent += 1
    return f"{released} stale claims released, {resent} overdue deliveries re-enqueued"


@shared_task(name="releasemgr.tasks_notify.sweep_deliveries_task")
def sweep_deliveries_task():
    return recorded("delivery_sweep")(sweep)()


@shared_task(name="releasemgr.tasks_notify.security_housekeeping_task")
def security_housekeeping_task():
    from releasemgr import signins

    return recorded(signins.JOB_NAME)(signins.prune)()
