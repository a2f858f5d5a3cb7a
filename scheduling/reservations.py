"""Environment bookings: capacity, shared test data, and the gate's reservation check (4.1, 2.2).

A non-production environment can validate ``capacity`` releases at once. A
release books it for a period and a purpose (``reserve``); a booking that
would put more than ``capacity`` active reservations in the environment *at
any moment* of its period is refused, naming the bookings it collides with.
Test data sets are shared: one validation at a time, in any environment.

``conflicts`` answers "could this be booked?" without booking (the check
availability page, the planning helper's schedule check); ``free_slots``
proposes the next periods with room; ``check_reservation`` is the gate's
``environment_reservation`` check.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted, Reason
from releasemgr.roles import RELEASE_MANAGER, has_role
from releases.choices import ReleaseState
from scheduling.choices import ReservationPurpose
from scheduling.models import Environment, Reservation, TestDataSet

# A booking may start this much in the past: the time it takes to fill in the form.
PAST_TOLERANCE = timedelta(minutes=10)
# Releases that will never be validated again cannot book anything.
CLOSED_RELEASE_STATES = (
    ReleaseState.CANCELLED,
    ReleaseState.CLOSED,
    ReleaseState.DEPLOYED,
    ReleaseState.ROLLED_BACK,
)
# How far ahead ``free_slots`` looks.
SLOT_HORIZON = timedelta(days=365)


def _fmt(moment: datetime) -> str:
    return timezone.localtime(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def describe(booking: Reservation) -> str:
    """How a person recognises a booking: whose, what for, when."""
    return (
        f"{booking.release.key} ({booking.get_purpose_display()}, "
        f"{_fmt(booking.start)} – {_fmt(booking.end)})"
    )


def active():
    """Reservations not cancelled (past ones included)."""
    return Reservation.objects.filter(cancelled_at__isnull=True)


def active_at(environment: Environment, at: datetime):
    return active().filter(environment=environment, start__lte=at, end__gt=at)


def overlapping(start: datetime, end: datetime):
    """Active reservations that share at least a moment with [start, end); back-to-back is fine."""
    return active().filter(start__lt=end, end__gt=start)


# --- capacity --------------------------------------------------------------------------------


def peak_overlap(bookings: Sequence, start: datetime, end: datetime) -> tuple[int, list]:
    """The most ``bookings`` active at one moment inside [start, end), and those bookings.

    A sweep over start/end events: an end at the same moment as a start is
    processed first, so back-to-back bookings do not overlap. The bookings
    returned are those active during the busiest moment(s).
    """
    events = []
    for booking in bookings:
        lo, hi = max(booking.start, start), min(booking.end, end)
        if lo < hi:
            events.append((lo, 1, booking))
            events.append((hi, 0, booking))
    # Ends (0) before starts (1) at the same moment; pk keeps the order stable.
    events.sort(key=lambda e: (e[0], e[1], e[2].pk or 0))
    current: dict[int, object] = {}
    peak, at_peak = 0, {}
    for _moment, kind, booking in events:
        if kind == 0:
            current.pop(id(booking), None)
            continue
        current[id(booking)] = booking
        if len(current) > peak:
            peak, at_peak = len(current), dict(current)
        elif len(current) == peak:
            at_peak.update(current)
    return peak, sorted(at_peak.values(), key=lambda b: (b.start, b.pk or 0))


def over_capacity(bookings: Sequence, start: datetime, end: datetime, capacity: int) -> list:
    """Bookings that, with one more, would exceed ``capacity`` somewhere in [start, end)."""
    events = []
    for booking in bookings:
        lo, hi = max(booking.start, start), min(booking.end, end)
        if lo < hi:
            events.append((lo, 1, booking))
            events.append((hi, 0, booking))
    events.sort(key=lambda e: (e[0], e[1], e[2].pk or 0))
    current: dict[int, object] = {}
    culprits: dict[int, object] = {}
    for _moment, kind, booking in events:
        if kind == 0:
            current.pop(id(booking), None)
            continue
        current[id(booking)] = booking
        if len(current) >= capacity:
            culprits.update(current)
    return sorted(culprits.values(), key=lambda b: (b.start, b.pk or 0))


# --- what would stop a booking ---------------------------------------------------------------


def conflicts(
    environment: Environment,
    start: datetime | None,
    end: datetime | None,
    data_sets: Iterable[TestDataSet] = (),
    *,
    release=None,
    exclude: Reservation | None = None,
    now: datetime | None = None,
    check_past: bool = True,
) -> list[Reason]:
    """Why [start, end) in ``environment`` (with ``data_sets``) cannot be booked; [] if it can.

    Codes: ``reservation_period`` (end not after start, or in the past),
    ``production_environment``, ``release_state``, ``environment_capacity``
    (names the bookings that fill it), ``test_data_set`` (not loaded in the
    environment, or booked elsewhere at the same time), ``already_reserved``
    (the release already holds the environment then). ``exclude`` is the
    booking being changed; ``check_past=False`` keeps a booking that already
    started (when only its end or data sets change).
    """
    now = now or timezone.now()
    data_sets = list(data_sets)
    reasons: list[Reason] = []
    if environment.is_production:
        reasons.append(
            Reason(
                "production_environment",
                False,
                f"{environment.name} is a production environment; reservations are for "
                "validating in non-production environments.",
                {"environment": environment.slug},
            )
        )
    if start is None or end is None:
        reasons.append(
            Reason("reservation_period", False, "Give both a start and an end for the booking.")
        )
        return reasons
    if end <= start:
        reasons.append(
            Reason(
                "reservation_period",
                False,
                f"The booking must end after it starts ({_fmt(end)} is not after {_fmt(start)}).",
                {"start": start.isoformat(), "end": end.isoformat()},
            )
        )
        return reasons
    if check_past and start < now - PAST_TOLERANCE:
        reasons.append(
            Reason(
                "reservation_period",
                False,
                f"The booking starts in the past ({_fmt(start)}); book from now on.",
                {"start": start.isoformat(), "now": now.isoformat()},
            )
        )
        return reasons
    if release is not None and release.state in CLOSED_RELEASE_STATES:
        reasons.append(
            Reason(
                "release_state",
                False,
                f"{release.key} is {release.get_state_display().lower()}; it has nothing left "
                "to validate.",
                {"state": release.state},
            )
        )
    if environment.is_production:
        return reasons

    same_time = overlapping(start, end).select_related("release", "environment")
    same_time = same_time.prefetch_related("test_data_sets")
    if exclude is not None and exclude.pk:
        same_time = same_time.exclude(pk=exclude.pk)
    same_time = list(same_time)
    here = [b for b in same_time if b.environment_id == environment.pk]

    if release is not None:
        mine = [b for b in here if b.release_id == release.pk]
        if mine:
            reasons.append(
                Reason(
                    "already_reserved",
                    False,
                    f"{release.key} already holds {environment.name} then: "
                    + "; ".join(describe(b) for b in mine)
                    + ". Change that booking instead.",
                    {"reservations": [b.pk for b in mine]},
                )
            )

    capacity = max(environment.capacity, 0)
    peak, _ = peak_overlap(here, start, end)
    if peak + 1 > capacity:
        culprits = over_capacity(here, start, end, capacity) if capacity else []
        if capacity == 0:
            message = f"{environment.name} has no capacity for validation bookings."
        else:
            message = (
                f"{environment.name} can validate {capacity} release"
                f"{'s' if capacity != 1 else ''} at once and is full during that period: "
                + "; ".join(describe(b) for b in culprits)
                + "."
            )
        reasons.append(
            Reason(
                "environment_capacity",
                False,
                message,
                {
                    "capacity": capacity,
                    "peak": peak,
                    "reservations": [b.pk for b in culprits],
                },
            )
        )

    for data_set in data_sets:
        loaded = {e.pk for e in data_set.environments.all()}
        if environment.pk not in loaded:
            reasons.append(
                Reason(
                    "test_data_set",
                    False,
                    f"Test data set '{data_set.name}' is not available in {environment.name}.",
                    {"data_set": data_set.slug, "environment": environment.slug},
                )
            )
            continue
        users = [b for b in same_time if any(d.pk == data_set.pk for d in b.test_data_sets.all())]
        if users:
            reasons.append(
                Reason(
                    "test_data_set",
                    False,
                    f"Test data set '{data_set.name}' is in use then: "
                    + "; ".join(f"{describe(b)} in {b.environment.name}" for b in users)
                    + ".",
                    {"data_set": data_set.slug, "reservations": [b.pk for b in users]},
                )
            )
    return reasons


def _refuse(reasons: list[Reason], what: str) -> DomainError:
    return DomainError(f"{what}: " + " ".join(r.message for r in reasons), reasons)


def _lock(environment: Environment, data_sets: list[TestDataSet]):
    """Lock the environment row, then the data sets in id order (no deadlocks between bookers)."""
    env = Environment.objects.select_for_update().get(pk=environment.pk)
    ids = sorted({d.pk for d in data_sets})
    list(TestDataSet.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    # Reloaded after the lock, with their environments, so the availability check is current.
    return env, list(TestDataSet.objects.filter(pk__in=ids).prefetch_related("environments"))


def may_book(user) -> bool:
    return bool(user and user.has_perm("scheduling.add_reservation"))


def may_cancel(user, reservation: Reservation) -> bool:
    """The booker, the release's author or owner (with the right to book), or a release manager."""
    if not user or not user.is_authenticated:
        return False
    if has_role(user, RELEASE_MANAGER) or user.is_superuser:
        return True
    if not user.has_perm("scheduling.change_reservation"):
        return False
    release = reservation.release
    return user.pk in {reservation.reserved_by_id, release.author_id, release.owner_id}


def reserve(
    release,
    environment: Environment,
    user,
    purpose: str,
    start: datetime,
    end: datetime,
    test_data_sets: Iterable[TestDataSet] = (),
    notes: str = "",
    *,
    now: datetime | None = None,
) -> Reservation:
    """Book ``environment`` for ``release`` over [start, end), or raise ``DomainError`` with why.

    The environment row is locked while checking and writing, so two bookers
    cannot both take its last slot; data sets are locked too (they are shared
    across environments).
    """
    if not may_book(user):
        raise NotPermitted(f"{user.get_username()} may not book environments.")
    if purpose not in ReservationPurpose.values:
        raise DomainError(f"Unknown purpose '{purpose}'.")
    data_sets = list(test_data_sets)
    with transaction.atomic():
        env, data_sets = _lock(environment, data_sets)
        reasons = conflicts(env, start, end, data_sets, release=release, now=now)
        if reasons:
            raise _refuse(reasons, f"{env.name} cannot be booked for {release.key}")
        booking = Reservation(
            environment=env,
            release=release,
            purpose=purpose,
            start=start,
            end=end,
            notes=notes,
            reserved_by=user,
        )
        booking.save_with_reason(f"reserved for {booking.get_purpose_display().lower()}", user=user)
        booking.test_data_sets.set(data_sets)
    return booking


def change(
    reservation: Reservation,
    user,
    *,
    purpose: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    test_data_sets: Iterable[TestDataSet] | None = None,
    notes: str | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Move or edit a booking under the same rules as a new one (it does not collide with itself)."""
    if not may_cancel(user, reservation):
        raise NotPermitted(f"{user.get_username()} may not change this booking.")
    with transaction.atomic():
        current = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if current.cancelled_at is not None:
            raise DomainError("This booking was cancelled; make a new one.")
        new_sets = (
            list(test_data_sets)
            if test_data_sets is not None
            else list(current.test_data_sets.all())
        )
        env, new_sets = _lock(current.environment, new_sets)
        new_start = start or current.start
        new_end = end or current.end
        if (new_start, new_end) != (current.start, current.end) or test_data_sets is not None:
            reasons = conflicts(
                env,
                new_start,
                new_end,
                new_sets,
                release=current.release,
                exclude=current,
                now=now,
                # A booking that already started may keep its start; only a new start is checked.
                check_past=new_start != current.start,
            )
            if reasons:
                raise _refuse(reasons, f"The booking of {env.name} cannot be changed")
        if purpose is not None:
            if purpose not in ReservationPurpose.values:
                raise DomainError(f"Unknown purpose '{purpose}'.")
            current.purpose = purpose
        current.start, current.end = new_start, new_end
        if notes is not None:
            current.notes = notes
        current.save_with_reason("booking changed", user=user)
        if test_data_sets is not None:
            current.test_data_sets.set(new_sets)
    return current


def cancel(reservation: Reservation, user, *, now: datetime | None = None) -> Reservation:
    """Cancel a booking (it stays in history); frees its capacity and data sets at once."""
    now = now or timezone.now()
    if not may_cancel(user, reservation):
        raise NotPermitted(
            f"{user.get_username()} may not cancel {reservation.release.key}'s booking: only the "
            "booker, the release's author or owner, or a release manager may."
        )
    with transaction.atomic():
        current = Reservation.objects.select_for_update().get(pk=reservation.pk)
        if current.cancelled_at is not None:
            raise DomainError("This booking is already cancelled.")
        if current.end <= now:
            raise DomainError("This booking is already over; there is nothing to cancel.")
        current.cancelled_at = now
        current.save_with_reason("cancelled", user=user)
    return current


# --- proposals -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime


def free_slots(
    environment: Environment,
    duration: timedelta,
    after: datetime | None = None,
    *,
    data_sets: Iterable[TestDataSet] = (),
    count: int = 1,
    horizon: timedelta = SLOT_HORIZON,
) -> list[Slot]:
    """The next ``count`` periods of ``duration`` from ``after`` with room in ``environment``
    (and with ``data_sets`` free). Two queries, whatever the number of bookings.

    Candidate starts are ``after``, every moment a booking ends and the end of
    each proposal (so alternatives follow each other); the first candidates
    where a booking fits are proposed. [] for production, a zero
    capacity, or when nothing fits within ``horizon``.
    """
    after = after or timezone.now()
    if environment.is_production or environment.capacity <= 0 or duration <= timedelta(0):
        return []
    wanted = {d.pk for d in data_sets}
    until = after + horizon + duration
    bookings = list(
        overlapping(after, until)
        .filter(Q(environment=environment) | Q(test_data_sets__in=wanted))
        .distinct()
        .prefetch_related("test_data_sets")
    )
    here = [b for b in bookings if b.environment_id == environment.pk]
    sharing = [b for b in bookings if {d.pk for d in b.test_data_sets.all()} & wanted]
    candidates = sorted({after} | {b.end for b in bookings if b.end > after})
    found: list[Slot] = []
    index = 0
    while index < len(candidates) and len(found) < count:
        start = candidates[index]
        index += 1
        end = start + duration
        if start > after + horizon:
            break
        if any(b.start < end and b.end > start for b in sharing):
            continue
        peak, _ = peak_overlap(here, start, end)
        if peak < environment.capacity:
            found.append(Slot(start, end))
            # The next proposal may start right after this one.
            if end not in candidates[index:]:
                candidates.insert(index + bisect_left(candidates[index:], end), end)
    return found


def next_free_slot(
    environment: Environment, duration: timedelta, after: datetime | None = None, **kwargs
) -> Slot | None:
    slots = free_slots(environment, duration, after, count=1, **kwargs)
    return slots[0] if slots else None


# --- the gate ----------------------------------------------------------------------------------


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
