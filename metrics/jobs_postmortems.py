"""Daily reminder of overdue post-mortem actions: each owner is told once per day per action
(dedupe key ``pm-action-overdue:<id>:<date>``), so running the job twice, or on two workers,
notifies once."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.utils import timezone

from metrics.postmortems import overdue_actions
from releasemgr.jobs import recorded
from releasemgr.notifications import notify

JOB_NAME = "postmortem_overdue_actions"


def run(today: date | None = None) -> str:
    today = today or timezone.localdate()
    actions = overdue_actions(today).filter(owner__is_active=True)
    checked = sent = 0
    for action in actions:
        checked += 1
        days = (today - action.due_date).days
        _, created = notify(
            action.owner,
            "postmortem_action_overdue",
            f"Post-mortem action overdue by {days} day{'s' if days != 1 else ''} "
            f"(due {action.due_date.isoformat()}): {action.description[:150]}",
            link=action.get_absolute_url(),
            dedupe_key=f"pm-action-overdue:{action.pk}:{today.isoformat()}",
        )
        sent += int(created)
    return f"{checked} overdue actions, {sent} owners notified"


@shared_task(
    name="metrics.jobs_postmortems.overdue_actions_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
@recorded(JOB_NAME)
def overdue_actions_task():
    return run()
