"""Is now frozen? The one place that answers which calendar windows apply."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from scheduling.models import Environment, FreezeWindow


def freezes_covering(
    services: Iterable, environment: Environment, at: datetime
) -> list[FreezeWindow]:
    """Freeze windows active at ``at`` that cover the environment and any of the services.

    A window with no services listed covers every service; likewise environments.
    """
    service_ids = [s.pk for s in services]
    qs = (
        FreezeWindow.objects.active_at(at)
        .filter(Q(environments__isnull=True) | Q(environments=environment))
        .filter(Q(services__isnull=True) | Q(services__in=service_ids))
        .distinct()
        .order_by("end")
    )
    return list(qs)


def frozen_until(windows: list[FreezeWindow]) -> datetime | None:
    """When the last of the given windows ends (back-to-back windows are not chained yet)."""
    return max((w.end for w in windows), default=None)
