"""The KPI watch job (curriculum 6.1): for every open stabilisation window, compare the KPI
samples posted since the deployment with their limits, raise one alert per breach episode and
tell the release owner, its author and the owners of the shipped services; close the windows
whose end has passed with their verdict.

Safe to run twice or on two workers at once: an alert is unique per (window, KPI, breach
start), notifications are deduplicated per alert, and a window is closed under a row lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from celery import shared_task
from django.contrib.auth import get_user_model
from django.utils import timezone

from metrics import stabilisation
from metrics.models import KpiAlert, StabilisationWindow
from metrics.models.stabilisation import Verdict, WindowState
from releasemgr.jobs import recorded
from releasemgr.notifications import notify_many

JOB_NAME = "kpi_watch"


@dataclass
class WatchRun:
    windows: int = 0
    alerts: int = 0
    closed: int = 0
    notifications: int = 0

    def describe(self) -> str:
        return (
            f"{self.windows} open windows checked, {self.alerts} alerts raised, "
            f"{self.closed} windows closed, {self.notifications} notifications sent"
        )


def recipients(window: StabilisationWindow) -> list:
    release = window.release
    owners = list(
        get_user_model()
        .objects.filter(owned_services__release_links__release=release, is_active=True)
        .distinct()
    )
    return [u for u in [release.owner, release.author, *owners] if u is not None]


def raise_alerts(window: StabilisationWindow, evaluation) -> list[KpiAlert]:
    """One alert per breach episode; returns the alerts this call created."""
    wanted = []
    for item in evaluation.kpis:
        for episode in item.breaches:
            kpi = item.kpi
            wanted.append(
                KpiAlert(
                    window=window,
                    kpi=kpi,
                    breach_started_at=episode["start"],
                    value=episode["worst"],
                    limit=item.limit,
                    baseline=item.baseline,
                    message=(
                        f"{kpi.service.slug} {kpi.name} at {episode['worst']:.4g} {kpi.unit} "
                        f"(limit {item.limit:.4g} {kpi.unit}) after {window.release.key} "
                        f"reached production"
                    )[:300],
                )
            )
    if not wanted:
        return []
    existing = set(
        KpiAlert.objects.filter(window=window).values_list("kpi_id", "breach_started_at")
    )
    new = [a for a in wanted if (a.kpi_id, a.breach_started_at) not in existing]
    created = []
    for alert in new:
        # Saved one by one for the history row; a concurrent run losing the race is fine.
        obj, was_created = KpiAlert.objects.get_or_create(
            window=window,
            kpi=alert.kpi,
            breach_started_at=alert.breach_started_at,
            defaults={
                "value": alert.value,
                "limit": alert.limit,
                "baseline": alert.baseline,
                "message": alert.message,
            },
        )
        if was_created:
            created.append(obj)
    return created


def run(now: datetime | None = None) -> WatchRun:
    now = now or timezone.now()
    result = WatchRun()
    windows = StabilisationWindow.objects.filter(state=WindowState.OPEN).select_related(
        "release", "release__owner", "release__author", "deployment"
    )
    for window in windows:
        result.windows += 1
        evaluation = stabilisation.evaluate(window, now)
        StabilisationWindow.objects.filter(pk=window.pk, state=WindowState.OPEN).update(
            reasons=[r.as_dict() for r in evaluation.reasons], evaluated_at=now
        )
        created = raise_alerts(window, evaluation)
        result.alerts += len(created)
        people = recipients(window) if created or window.ends_at <= now else []
        for alert in created:
            result.notifications += notify_many(
                people,
                "kpi_alert",
                f"{window.release.key}: {alert.message}.",
                link=window.get_absolute_url(),
                dedupe_key=f"kpi-alert:{alert.pk}",
            )
        if window.ends_at <= now:
            closed = stabilisation.close_window(window, now)
            if closed is not None:
                result.closed += 1
                label = Verdict(closed.verdict).label.lower()
                result.notifications += notify_many(
                    people,
                    "stabilisation_closed",
                    f"{closed.release.key}: stabilisation window closed — {label}.",
                    link=closed.get_absolute_url(),
                    dedupe_key=f"stabilisation-closed:{closed.pk}",
                )
    return result


@shared_task(
    name="metrics.jobs_kpis.kpi_watch_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=3,
)
@recorded(JOB_NAME)
def kpi_watch_task():
    return run().describe()
