"""What applies to this service/environment/region at time t? The one place that answers.

Calendar windows (``FreezeWindow``: freezes, blackouts, maintenance and
preferred release windows) are one-off or recurring. A recurring window
repeats its first occurrence's *wall-clock* times in its own time zone
(RRULE expanded on local naive times, then localised), so "every weekday
09:00-17:00 Europe/Berlin" stays 09:00-17:00 across a DST change.

The gate calls ``check_windows``; the calendar, the schedule check and the
jobs call ``occurrences`` / ``windows_at`` / ``blocking_until``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from django.db.models import Q
from django.utils import timezone

from releasemgr.decisions import Reason
from scheduling.choices import BLOCKING_KINDS, Hardness, WindowKind
from scheduling.models import Environment, FreezeWindow

# How far ahead to look for the next opening of a release window or the end of a chain of freezes.
LOOKAHEAD = timedelta(days=120)


@dataclass(frozen=True)
class Occurrence:
    window: FreezeWindow
    start: datetime  # aware, UTC
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Scope:
    """What a question is about: services (with their teams), an environment, a region."""

    service_ids: frozenset[int]
    team_ids: frozenset[int]
    environment_id: int | None
    region_id: int | None

    @classmethod
    def of(cls, services: Iterable, environment: Environment | None, region=None) -> Scope:
        services = list(services)
        return cls(
            frozenset(s.pk for s in services),
            frozenset(s.team_id for s in services),
            environment.pk if environment else None,
            region.pk if region else None,
        )


@lru_cache(maxsize=256)
def _rule(text: str, dtstart: datetime):
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    return rrulestr(body, dtstart=dtstart, ignoretz=True)


def occurrences(window: FreezeWindow, since: datetime, until: datetime) -> list[Occurrence]:
    """Occurrences of ``window`` that overlap [since, until), in UTC."""
    if not window.rrule:
        if window.start < until and window.end > since:
            return [Occurrence(window, window.start, window.end)]
        return []
    tz = ZoneInfo(window.timezone or "UTC")
    first_local = window.start.astimezone(tz).replace(tzinfo=None)
    duration = window.end.astimezone(tz).replace(tzinfo=None) - first_local
    rule = _rule(window.rrule, first_local)
    lo = (since.astimezone(tz).replace(tzinfo=None)) - duration - timedelta(days=1)
    hi = until.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    out = []
    for local_start in rule.between(max(lo, first_local - timedelta(seconds=1)), hi, inc=True):
        start = local_start.replace(tzinfo=tz).astimezone(UTC)
        end = (local_start + duration).replace(tzinfo=tz).astimezone(UTC)
        if window.recurrence_until and start >= window.recurrence_until:
            break
        if start < until and end > since:
            out.append(Occurrence(window, start, end))
    return out


def in_scope(window: FreezeWindow, scope: Scope) -> bool:
    """Empty scope lists mean *all*. Uses prefetched relations (see ``candidate_windows``)."""

    def ids(related) -> set[int]:
        return {obj.pk for obj in related.all()}

    services, teams = ids(window.services), ids(window.teams)
    environments, regions = ids(window.environments), ids(window.regions)
    if services and not services & scope.service_ids:
        return False
    if teams and not teams & scope.team_ids:
        return False
    if environments and scope.environment_id not in environments:
        return False
    # A regional window applies to that region only; a question without a region
    # could be about any region, so regional windows apply to it too.
    return not (regions and scope.region_id is not None and scope.region_id not in regions)


def candidate_windows(since: datetime, until: datetime, kinds: Iterable[str] | None = None):
    """Windows that may have an occurrence in [since, until): one query plus prefetches."""
    qs = FreezeWindow.objects.filter(
        Q(rrule="", start__lt=until, end__gt=since)
        | (
            ~Q(rrule="")
            & Q(start__lt=until)
            & (Q(recurrence_until__isnull=True) | Q(recurrence_until__gt=since - LOOKAHEAD))
        )
    ).prefetch_related("services", "environments", "teams", "regions")
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    return qs


def windows_between(
    since: datetime, until: datetime, scope: Scope | None = None, kinds: Iterable[str] | None = None
) -> list[Occurrence]:
    """Every occurrence in [since, until) (in scope, if given), ordered by start."""
    found = []
    for window in candidate_windows(since, until, kinds):
        if scope is not None and not in_scope(window, scope):
            continue
        found.extend(occurrences(window, since, until))
    found.sort(key=lambda o: (o.start, o.window.pk))
    return found


def windows_at(at: datetime, scope: Scope | None = None, kinds: Iterable[str] | None = None):
    """Occurrences active at ``at``."""
    return [o for o in windows_between(at, at + timedelta(seconds=1), scope, kinds) if o.covers(at)]


def _exempt(window: FreezeWindow, release, at: datetime, exceptions: dict) -> str | None:
    """Why this blocking window does not stop this release, or None."""
    if release is not None and release.change_type in (window.allowed_change_types or []):
        return f"{release.get_change_type_display()} changes may ship during '{window.name}'."
    exception = exceptions.get(window.pk)
    if exception is not None:
        return (
            f"Exception #{exception.pk} approved by {exception.decided_by.username} "
            f"lets {release.key} deploy during '{window.name}' until "
            f"{exception.valid_until:%Y-%m-%d %H:%M} UTC."
        )
    return None


def blocking_until(
    scope: Scope,
    at: datetime,
    release=None,
    exceptions: dict | None = None,
    kinds: Iterable[str] = BLOCKING_KINDS,
) -> datetime | None:
    """When blocking windows stop applying, following back-to-back windows; None if not blocked."""
    exceptions = exceptions or {}
    moment = at
    end_of_search = at + LOOKAHEAD
    blocked = False
    while moment < end_of_search:
        active = [
            o
            for o in windows_at(moment, scope, kinds)
            if o.window.hardness == Hardness.HARD
            and not _exempt(o.window, release, moment, exceptions)
        ]
        if not active:
            return moment if blocked else None
        blocked = True
        moment = max(o.end for o in active)
    return moment


def _fmt(moment: datetime) -> str:
    return timezone.localtime(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_windows(
    release,
    services: list,
    environment: Environment,
    region=None,
    at: datetime | None = None,
    override_reason: str = "",
) -> list[Reason]:
    """The gate's calendar checks: ``freeze_window``, ``blackout_window``, ``release_window``
    and, when an approved exception or a change-type allowance lets a window pass,
    ``exception_applied``.
    """
    from scheduling.freeze_exceptions import active_exceptions

    at = at or timezone.now()
    scope = Scope.of(services, environment, region)
    exceptions = active_exceptions(release, at) if release is not None else {}
    reasons: list[Reason] = []
    active = windows_at(at, scope)
    applied: list[str] = []

    for kind, code, label in (
        (WindowKind.FREEZE, "freeze_window", "freeze"),
        (WindowKind.BLACKOUT, "blackout_window", "blackout"),
    ):
        hits = [o for o in active if o.window.kind == kind]
        stopping, soft = [], []
        for occ in hits:
            why = _exempt(occ.window, release, at, exceptions)
            if why:
                applied.append(why)
            elif occ.window.hardness == Hardness.SOFT:
                soft.append(occ)
            else:
                stopping.append(occ)
        if stopping:
            until = blocking_until(scope, at, release, exceptions, kinds=[kind])
            names = ", ".join(f"'{o.window.name}'" for o in stopping)
            reasons.append(
                Reason(
                    code,
                    False,
                    f"{environment.name} is in a {label} ({names}) until {_fmt(until)}; "
                    "request an exception to deploy earlier.",
                    {"windows": [o.window.pk for o in stopping], "until": until.isoformat()},
                    waits=True,
                    retry_after=until,
                )
            )
        elif soft and not override_reason:
            names = ", ".join(f"'{o.window.name}'" for o in soft)
            reasons.append(
                Reason(
                    code,
                    False,
                    f"Soft {label} {names} applies: give a reason to deploy anyway.",
                    {"windows": [o.window.pk for o in soft], "soft": True},
                )
            )
        elif soft:
            names = ", ".join(f"'{o.window.name}'" for o in soft)
            reasons.append(
                Reason(
                    code,
                    True,
                    f"Soft {label} {names} acknowledged: {override_reason}",
                    {
                        "windows": [o.window.pk for o in soft],
                        "soft": True,
                        "reason": override_reason,
                    },
                )
            )
        else:
            reasons.append(Reason(code, True, f"No {label} applies to {environment.name} now."))
    if applied:
        reasons.append(Reason("exception_applied", True, " ".join(applied)))
    reasons.append(check_release_window(scope, environment, at))
    return reasons


def check_release_window(scope: Scope, environment: Environment, at: datetime) -> Reason:
    """Where preferred release windows are defined for this scope, deploy inside one."""
    defined = [
        w
        for w in candidate_windows(at, at + LOOKAHEAD, [WindowKind.RELEASE_WINDOW])
        if in_scope(w, scope)
    ]
    if not defined:
        return Reason(
            "release_window", True, "No release windows are defined here; any time is fine."
        )
    upcoming = []
    for window in defined:
        for occ in occurrences(window, at, at + LOOKAHEAD):
            if occ.covers(at):
                return Reason(
                    "release_window",
                    True,
                    f"Inside release window '{window.name}' until {_fmt(occ.end)}.",
                    {"window": window.pk},
                )
            upcoming.append(occ)
    if not upcoming:
        return Reason(
            "release_window",
            False,
            f"No release window for {environment.name} opens in the next {LOOKAHEAD.days} days.",
        )
    nxt = min(upcoming, key=lambda o: o.start)
    return Reason(
        "release_window",
        False,
        f"Outside the release windows; the next one, '{nxt.window.name}', opens {_fmt(nxt.start)}.",
        {"window": nxt.window.pk, "opens": nxt.start.isoformat()},
        waits=True,
        retry_after=nxt.start,
    )


# Kept for callers of the foundation API.
def freezes_covering(
    services: Iterable, environment: Environment, at: datetime
) -> list[FreezeWindow]:
    scope = Scope.of(services, environment)
    return [o.window for o in windows_at(at, scope, BLOCKING_KINDS)]
