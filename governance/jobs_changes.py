"""The overdue-retrospective job: tell the owner and author of an emergency change whose
review is past its due date (7.5).

Safe to run twice or on two workers at once: notifications are deduplicated per
retrospective and person (``notify_many``), so each is told once.
"""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from governance.change_types import overdue_retrospectives
from releasemgr.jobs import recorded
from releasemgr.notifications import notify_many

JOB_NAME = "overdue_retrospectives"


def run(now=None) -> str:
    now = now or timezone.now()
    sent = 0
    overdue = list(overdue_retrospectives(now))
    for retro in overdue:
        release = retro.release
        sent += notify_many(
            [release.owner, release.author],
            "retrospective_overdue",
            f"The retrospective of emergency change {release.key} was due "
            f"{retro.due_at:%Y-%m-%d %H:%M} UTC and is not written yet.",
            link=retro.get_absolute_url(),
            dedupe_key=f"retrospective-overdue:{retro.pk}",
        )
    return f"{len(overdue)} overdue retrospectives, {sent} notifications sent"


@shared_task(
    name="governance.tasks.notify_overdue_retrospectives_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def notify_overdue_retrospectives_task():
    """Periodic (beat: ``RETROSPECTIVE_CHECK_SECONDS``)."""
    return recorded(JOB_NAME)(run)()
