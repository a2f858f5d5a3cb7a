"""Environment bookings: capacity, shared test data, and the gate's reservation check (4.1, 2.2)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from releasemgr.decisions import Reason
from scheduling.models import Environment, Reservation


def active_at(environment: Environment, at: datetime):
    return Reservation.objects.filter(
        environment=environment, cancelled_at__isnull=True, start__lte=at, end__gt=at
    )


def check_reservation(release, environment: Environment, at: datetime | None = None) -> Reason:
    """``environment_reservation``: where an environment requires it, the release holds a booking now."""
    at = at or timezone.now()
    if not environment.requires_reservation:
        return Reason("environment_reservation", True, f"{environment.name} needs no reservation.")
    booking = active_at(environment, at).filter(release=release).first()
    if booking:
        return Reason(
            "environment_reservation",
            True,
            f"{release.key} holds {environment.name} for {booking.get_purpose_display()} until "
            f"{booking.end:%Y-%m-%d %H:%M} UTC.",
            {"reservation": booking.pk},
        )
    upcoming = (
        Reservation.objects.filter(
            environment=environment, release=release, cancelled_at__isnull=True, start__gt=at
        )
        .order_by("start")
        .first()
    )
    if upcoming:
        return Reason(
            "environment_reservation",
            False,
            f"{release.key}'s reservation of {environment.name} starts "
            f"{upcoming.start:%Y-%m-%d %H:%M} UTC.",
            {"reservation": upcoming.pk},
            waits=True,
            retry_after=upcoming.start,
        )
    return Reason(
        "environment_reservation",
        False,
        f"{environment.name} must be reserved for {release.key} before deploying there.",
    )
