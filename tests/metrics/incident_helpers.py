"""Shared set-up for the incident and integrity tests: a release deployed to production."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from releases.models import Deployment


def production_deployment(release) -> Deployment:
    return release.deployments.get(environment__is_production=True)


def finished_hours_ago(deployment: Deployment, hours: float) -> Deployment:
    """Move a deployment's finish back in time (as if it had happened then)."""
    Deployment.objects.filter(pk=deployment.pk).update(
        finished_at=timezone.now() - timedelta(hours=hours)
    )
    deployment.refresh_from_db()
    return deployment
