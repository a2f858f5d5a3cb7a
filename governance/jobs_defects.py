"""The late-defect escalation job (curriculum 4.4): a critical or high defect still open, and
not covered by a residual-risk acceptance, shortly before its release's planned start is
escalated to the release owner and the owners of the services it ships, once.

Safe to run twice or on two workers at once: each defect is claimed under a row lock
(``escalated_at`` set once), and notifications are deduplicated per defect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from governance import defects
from governance.choices import DefectStatus
from governance.models import BLOCKING_SEVERITIES, Defect
from releasemgr.jobs import recorded
from releasemgr.notifications import notify_many

JOB_NAME = "defect_escalation"
# Releases still to ship (deploying ones too: production may not have been reached).
SHIPPING_STATES = (*defects.PRE_DEPLOYMENT_STATES, "deploying")


@dataclass
class Escalation:
    escalated: int = 0
    notifications: int = 0

    def describe(self) -> str:
        return f"{self.escalated} defects escalated, {self.notifications} notifications sent"


def candidates(now: datetime):
    """Open critical/high defects not escalated yet whose release is planned to start within
    ``DEFECT_ESCALATION_DAYS`` (or should have started already)."""
    horizon = now + timedelta(days=defects.escalation_days())
    return (
        Defect.objects.filter(
            status=DefectStatus.OPEN,
            severity__in=BLOCKING_SEVERITIES,
            escalated_at__isnull=True,
            release__state__in=SHIPPING_STATES,
            release__planned_start__isnull=False,
            release__planned_start__lte=horizon,
        )
        .select_related("release", "release__owner")
        .order_by("release__planned_start", "pk")
    )


def _recipients(release) -> list:
    from django.contrib.auth import get_user_model

    owners = list(
        get_user_model()
        .objects.filter(owned_services__release_links__release=release, is_active=True)
        .distinct()
    )
    return [u for u in [release.owner, *owners] if u is not None]


def run(now: datetime | None = None) -> Escalation:
    now = now or timezone.now()
    result = Escalation()
    covered_cache: dict[int, set[int]] = {}
    for defect in candidates(now):
        release = defect.release
        if release.pk not in covered_cache:
            covered_cache[release.pk] = {d.pk for d in defects.blocking_defects(release, now)}
        if defect.pk not in covered_cache[release.pk]:
            continue  # a residual-risk acceptance covers it: nobody needs to be chased
        with transaction.atomic():
            claimed = (
                Defect.objects.select_for_update()
                .filter(pk=defect.pk, escalated_at__isnull=True)
                .first()
            )
            if claimed is None:
                continue  # another run got there first
            when = timezone.localtime(release.planned_start).strftime("%Y-%m-%d %H:%M %Z")
            result.notifications += notify_many(
                _recipients(release),
                "defect_escalated",
                f"{defect.get_severity_display()} defect '{defect.title}' is still open and "
                f"{release.key} is planned for {when}: fix it, delay the release, or have the "
                "residual risk accepted.",
                link=defect.get_absolute_url(),
                dedupe_key=f"defect-escalated:{defect.pk}",
            )
            claimed.escalated_at = now
            claimed.save_with_reason(f"escalated: {release.key} planned for {when}")
            result.escalated += 1
    return result


@shared_task(
    name="governance.tasks.escalate_defects_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def escalate_defects_task():
    """Periodic (beat: ``DEFECT_ESCALATION_CHECK_SECONDS``)."""
    return recorded(JOB_NAME)(lambda: run().describe())()
