"""Helpers for the ticket triage tests: a production deployment at a known time, tickets."""

from datetime import timedelta

from django.utils import timezone

from metrics import triage
from releases.models import Deployment


def shipped(move_to, hours_ago: float = 10) -> Deployment:
    """dave's payments-api 1.4.2 deployed to production through the lifecycle, its production
    deployment moved back to have finished ``hours_ago`` (tickets cannot be opened in the
    future, so the timeline is placed in the past)."""
    release = move_to("deployed")
    production = release.deployments.get(environment__is_production=True)
    finished = timezone.now() - timedelta(hours=hours_ago)
    Deployment.objects.filter(pk=production.pk).update(
        started_at=finished - timedelta(minutes=20), finished_at=finished
    )
    production.refresh_from_db()
    return production


def row(external_id, opened_at, subject, text="", service="payments-api", rating=None):
    return {
        "external_id": external_id,
        "service": service,
        "opened_at": opened_at.isoformat(),
        "subject": subject,
        "text": text,
        "rating": rating,
    }


def imported(user, *rows):
    return triage.import_tickets(list(rows), user, source="test")
