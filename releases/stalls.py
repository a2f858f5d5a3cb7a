"""Which running deployments have gone quiet? (a deployment nobody finished is a risk)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from releases.choices import DeploymentStatus, EventStatus, EventType
from releases.models import Deployment, DeploymentEvent

STALL_MARKER = "No result reported"


def flag_stalled_deployments(now=None) -> int:
    """Add one warning event to each deployment running longer than the stall threshold.

    Idempotent: a deployment already flagged is skipped, so running it twice
    (or on two workers) flags each stalled deployment once.
    """
    now = now or timezone.now()
    threshold = timedelta(hours=settings.DEPLOYMENT_STALL_HOURS)
    flagged = 0
    candidates = Deployment.objects.filter(
        status=DeploymentStatus.RUNNING, started_at__lt=now - threshold
    ).exclude(events__type=EventType.LOG, events__message__startswith=STALL_MARKER)
    for deployment_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            dep = Deployment.objects.select_for_update().get(pk=deployment_id)
            if (
                dep.status != DeploymentStatus.RUNNING
                or dep.events.filter(type=EventType.LOG, message__startswith=STALL_MARKER).exists()
            ):
                continue
            DeploymentEvent.objects.create(
                deployment=dep,
                type=EventType.LOG,
                status=EventStatus.FAILED,
                message=f"{STALL_MARKER} for {settings.DEPLOYMENT_STALL_HOURS} h: check the pipeline.",
            )
            flagged += 1
    return flagged
