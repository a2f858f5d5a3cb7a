"""What applies to this service/environment/region at time t? The one place that answers.

Calendar windows (``FreezeWindow``: freezes, blackouts, maintenance and
preferred release windows) are one-off or recurring. A recurring window
repeats its first occurrence's *wall-clock* times in its own time zone
(RRULE expanded on local naive times, then localised), so "every weekday
09:00-17:00 Europe/Berlin" stays 09:00-17:00 across a DST change.

Scope: a window lists services, teams, environments and regions; an empty
list means *all*. Services and teams name the same thing (what ships): a
window applies to its listed services plus every service of its listed
teams. Environments and regions narrow it further. A question that does not
say (no environment, no region, no services) could be about any of them, so
scoped windows are included: the conservative answer.

The gate calls ``check_windows``; the calendar, the schedule check and the
jobs call ``occurrences`` / ``windows_at`` / ``windows_between`` /
``blocking_until``.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from django.db.models import Exists, OuterRef, Q, prefetch_related_objects
from django.utils import timezone

from releasemgr.decisions import Reason
from releasemgr.redaction import redact
from releases.choices import ChangeType
from scheduling.choices import BLOCKING_KINDS, Hardness, WindowKind
from scheduling.models import Environment, FreezeWindow

SCOPE_RELATIONS = ("services", "environments", "teams", "regions")
# How far ahead to look for the next opening of a release window or the end of a chain of freezes.
LOOKAHEAD = timedelta(days=120)
# A question "at t" looks at [t, t + INSTANT).
INSTANT = timedelta(seconds=1)


@dataclass(frozen=True)
class Occurrence:
    window: FreezeWindow
    start: datetime  # aware, UTC
    end: datetime

    def covers(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True)
class Scope:
    """What a question is about: services (with their teams), an environment, a region.

    ``None`` means the question does not say (any); an empty set means none.
    """

    service_ids: frozenset[int] | None
    team_ids: frozenset[int] | None
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

    @classmethod
    def anything(cls) -> Scope:
        return cls(None, None, None, None)

    @classmethod
    def for_filters(cls, *, team=None, service=None, environment=None, region=None) -> Scope:
        """The scope of a calendar or API filter: only what the filter names is narrowed."""
        service_ids = team_ids = None
        if service is not None:
            service_ids, team_ids = frozenset([service.pk]), frozenset([service.team_id])
        if team is not None:
            team_services = frozenset(team.services.values_list("pk", flat=True))
            service_ids = team_services if service_ids is None else service_ids & team_services
            team_ids = frozenset([team.pk])
        return cls(
            service_ids,
            team_ids,
            environment.pk if environment else None,
            region.pk if region else None,
        )

    @property
    def names_services(self) -> bool:
        return self.service_ids is not None or self.team_ids is not None


# --- recurrence ------------------------------------------------------------------------------


class _Expansion:
    """The occurrences of one recurring window, in UTC, generated lazily and kept sorted.

    The rule is expanded on local wall-clock times (so 09:00 stays 09:00 across DST) and each
    occurrence is localised once; questions are then answered by bisecting the lists. A pure
    function of (rule, first local start, zone, local duration), so sharing it between requests
    is safe; the lock only protects the lists while a thread extends them.
    """

    def __init__(self, text: str, dtstart: datetime, zone: str, duration: timedelta):
        body = text.strip()
        if body.upper().startswith("RRULE:"):
            body = body[6:]
        self._iter = iter(rrulestr(body, dtstart=dtstart, ignoretz=True))
        self._tz = ZoneInfo(zone)
        self._duration = duration
        # Real durations differ from the local one by the DST shift at most.
        self.longest = duration + timedelta(hours=1)
        self._lock = threading.Lock()
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.done = False

    def extend(self, until: datetime) -> None:
        """Generate occurrences until one starts at or after ``until`` (or the rule ends)."""
        with self._lock:
            while not self.done and (not self.starts or self.starts[-1] < until):
                try:
                    local = next(self._iter)
                except StopIteration:
                    self.done = True
                    break
                self.starts.append(_localise(local, self._tz))
                self.ends.append(_localise(local + self._duration, self._tz))

    def indices(self, since: datetime, until: datetime, last: datetime | None) -> range:
        """Indices of the occurrences overlapping [since, until) that start no later than
        ``last`` (if given)."""
        self.extend(until)
        starts, ends = self.starts, self.ends
        stop = bisect_left(starts, until)
        if last is not None:
            stop = min(stop, bisect_right(starts, last))
        first = bisect_left(starts, since - self.longest)
        while first < stop and ends[first] <= since:
            first += 1
        return range(first, stop)


@lru_cache(maxsize=8192)
def _expansion(text: str, dtstart: datetime, zone: str, duration: timedelta) -> _Expansion:
    return _Expansion(text, dtstart, zone, duration)


def _localise(local: datetime, tz: ZoneInfo) -> datetime:
    # A wall-clock time skipped by a DST change (02:30 on the last Sunday of March in
    # Berlin) is read with the offset before the change, i.e. an hour later on the clock.
    return local.replace(tzinfo=tz).astimezone(UTC)


def _recurrence(window: FreezeWindow) -> _Expansion:
    """The expansion of a recurring window, kept on the instance so that loops asking one
    window many questions look it up once."""
    key = (window.rrule, window.start, window.end, window.timezone)
    cached = window.__dict__.get("_recurrence")
    if cached is not None and cached[0] == key:
        return cached[1]
    zone = window.timezone or "UTC"
    tz = ZoneInfo(zone)
    first_local = window.start.astimezone(tz).replace(tzinfo=None)
    duration = window.end.astimezone(tz).replace(tzinfo=None) - first_local
    expansion = _expansion(window.rrule, first_local, zone, duration)
    window.__dict__["_recurrence"] = (key, expansion)
    return expansion


def occurrences(window: FreezeWindow, since: datetime, until: datetime) -> list[Occurrence]:
    """Occurrences of ``window`` that overlap [since, until), in UTC, ordered by start.

    ``recurrence_until`` is inclusive, like an RRULE's UNTIL: no occurrence starts after it.
    """
    if not window.rrule:
        if window.start < until and window.end > since:
            return [Occurrence(window, window.start, window.end)]
        return []
    expansion = _recurrence(window)
    starts, ends = expansion.starts, expansion.ends
    return [
        Occurrence(window, starts[i], ends[i])
        for i in expansion.indices(since, until, window.recurrence_until)
        if ends[i] > since
    ]


def next_occurrences(window: FreezeWindow, after: datetime, count: int = 10) -> list[Occurrence]:
    """The occurrence in progress at ``after`` (if any) and the next ones, up to ``count``,
    looking at most about two years ahead."""
    if not window.rrule:
        return [Occurrence(window, window.start, window.end)] if window.end > after else []
    found = {o.start: o for o in occurrences(window, after, after + INSTANT)}
    since = max(after, window.start)
    horizon = since + timedelta(days=800)
    step = timedelta(days=62)
    while len(found) < count and since < horizon:
        for occ in occurrences(window, since, since + step):
            found.setdefault(occ.start, occ)
        since += step
    return sorted(found.values(), key=lambda o: o.start)[:count]


# --- scope -----------------------------------------------------------------------------------


def in_scope(window: FreezeWindow, scope: Scope) -> bool:
    """Does ``window`` apply to ``scope``? Uses prefetched relations (see ``candidate_windows``)."""

    def ids(related) -> set[int]:
        return {obj.pk for obj in related.all()}

    if scope.names_services:
        services, teams = ids(window.services), ids(window.teams)
        if (services or teams) and not (
            services & (scope.service_ids or frozenset()) or teams & (scope.team_ids or frozenset())
        ):
            return False
    if scope.environment_id is not None:
        environments = ids(window.environments)
        if environments and scope.environment_id not in environments:
            return False
    if scope.region_id is not None:
        regions = ids(window.regions)
        if regions and scope.region_id not in regions:
            return False
    return True


def scope_q(scope: Scope) -> Q:
    """``in_scope`` as a database filter, so a scoped question loads only the windows it needs."""
    through = {
        "services": FreezeWindow.services.through,
        "teams": FreezeWindow.teams.through,
        "environments": FreezeWindow.environments.through,
        "regions": FreezeWindow.regions.through,
    }

    def has(relation: str, **lookup) -> Exists:
        return Exists(through[relation].objects.filter(freezewindow_id=OuterRef("pk"), **lookup))

    q = Q()
    if scope.names_services:
        q &= (
            (~has("services") & ~has("teams"))
            | has("services", service_id__in=list(scope.service_ids or ()))
            | has("teams", team_id__in=list(scope.team_ids or ()))
        )
    if scope.environment_id is not None:
        q &= ~has("environments") | has("environments", environment_id=scope.environment_id)
    if scope.region_id is not None:
        q &= ~has("regions") | has("regions", region_id=scope.region_id)
    return q


def candidate_windows(
    since: datetime,
    until: datetime,
    kinds: Iterable[str] | None = None,
    scope: Scope | None = None,
    prefetch: Iterable[str] = SCOPE_RELATIONS,
):
    """Windows that may have an occurrence in [since, until) (and apply to ``scope``, filtered in
    the database): one query plus one per prefetched scope relation."""
    try:
        floor = since - LOOKAHEAD
    except OverflowError:  # a moment near year 1: nothing ends before it anyway
        floor = since
    qs = FreezeWindow.objects.filter(
        Q(rrule="", start__lt=until, end__gt=since)
        | (
            ~Q(rrule="")
            & Q(start__lt=until)
            & (Q(recurrence_until__isnull=True) | Q(recurrence_until__gt=floor))
        )
    )
    if prefetch:
        qs = qs.prefetch_related(*prefetch)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    if scope is not None:
        qs = qs.filter(scope_q(scope))
    return qs


def windows_between(
    since: datetime,
    until: datetime,
    scope: Scope | None = None,
    kinds: Iterable[str] | None = None,
    prefetch: Iterable[str] = SCOPE_RELATIONS,
) -> list[Occurrence]:
    """Every occurrence in [since, until) (in scope, if given), ordered by start.

    ``prefetch``: the scope relations the caller will read on ``occurrence.window``; they are
    loaded for the windows that occur only (one query each), not for every candidate."""
    found = []
    for window in candidate_windows(since, until, kinds, scope, prefetch=()):
        found.extend(occurrences(window, since, until))
    found.sort(key=lambda o: (o.start, o.window.pk))
    prefetch = list(prefetch)
    if prefetch and found:
        prefetch_related_objects(list({o.window.pk: o.window for o in found}.values()), *prefetch)
    return found


def windows_at(
    at: datetime,
    scope: Scope | None = None,
    kinds: Iterable[str] | None = None,
    prefetch: Iterable[str] = SCOPE_RELATIONS,
) -> list[Occurrence]:
    """Occurrences active at ``at``: "what applies now"."""
    return [o for o in windows_between(at, at + INSTANT, scope, kinds, prefetch) if o.covers(at)]


# --- policy ----------------------------------------------------------------------------------


def policy_text(window: FreezeWindow) -> str:
    """What may ship during the window, in a sentence for the calendar and the window pages."""
    if window.kind == WindowKind.MAINTENANCE:
        return "Maintenance: informational; deployments are not blocked."
    if window.kind == WindowKind.RELEASE_WINDOW:
        if window.hardness == Hardness.SOFT:
            return "Preferred time to deploy; outside it a reason is required."
        return "Deployments in scope happen only inside this window."
    allowed = [
        ChangeType(c).label.lower()
        for c in ChangeType.values
        if c in (window.allowed_change_types or [])
    ]
    need = [
        ChangeType(c).label.lower()
        for c in ChangeType.values
        if c not in (window.allowed_change_types or [])
    ]
    if not need:
        return "Every change type may ship."
    if window.hardness == Hardness.SOFT:
        gate = "need a written reason"
    else:
        gate = "need an approved exception"
    if not allowed:
        return f"Nothing ships: all changes {gate}."
    return f"Only {' and '.join(allowed)} changes may ship; {' and '.join(need)} changes {gate}."


def _exempt(window: FreezeWindow, release, at: datetime, exceptions: dict):
    """Why this blocking window does not stop this release, and the freeze exception that
    lets it through (if one does); ``(None, None)`` when the window stops it."""
    if release is not None and release.change_type in (window.allowed_change_types or []):
        why = f"{release.get_change_type_display()} changes may ship during '{window.name}'."
        return why, None
    exception = exceptions.get(window.pk)
    if exception is not None and exception.valid_until > at:
        why = (
            f"Exception #{exception.pk} approved by {exception.decided_by.username} "
            f"lets {release.key} deploy during '{window.name}' until "
            f"{exception.valid_until:%Y-%m-%d %H:%M} UTC."
        )
        return why, exception
    return None, None


def _covering(windows: Iterable[FreezeWindow], at: datetime) -> list[Occurrence]:
    return [o for w in windows for o in occurrences(w, at, at + INSTANT) if o.covers(at)]


def _stoppers(windows: Iterable[FreezeWindow], release) -> list[FreezeWindow]:
    """The windows that can stop this release: hard ones its change type may not ship through."""
    change_type = getattr(release, "change_type", None)
    return [
        w
        for w in windows
        if w.hardness == Hardness.HARD
        and (change_type is None or change_type not in (w.allowed_change_types or []))
    ]


def _run_end(window: FreezeWindow, moment: datetime, exceptions: dict, horizon: datetime):
    """If ``window`` stops a deployment at ``moment``: when its own run of back-to-back (or
    overlapping) occurrences ends; else None. Bisects the cached expansion: no occurrence
    objects are built."""
    exception = exceptions.get(window.pk)
    if exception is not None and moment < exception.valid_until:
        return None  # an approved exception lets the release through until it runs out
    if not window.rrule:
        return window.end if window.start <= moment < window.end else None
    expansion = _recurrence(window)
    last = window.recurrence_until
    span = expansion.indices(moment, moment + INSTANT, last)
    starts, ends = expansion.starts, expansion.ends
    covering = [ends[i] for i in span if starts[i] <= moment < ends[i]]
    if not covering:
        return None
    end, following = max(covering), span.stop
    while end < horizon:
        expansion.extend(end + INSTANT)
        if following >= len(starts) or starts[following] > end:
            break
        if last is not None and starts[following] > last:
            break
        end = max(end, ends[following])
        following += 1
    return end


def _blocked_until(
    stoppers: list[FreezeWindow], moment: datetime, exceptions: dict, horizon: datetime
) -> datetime:
    """Follow the chain of stopping windows from ``moment``: the first moment none applies
    (``moment`` itself if none does), or a moment at or past ``horizon``."""
    while moment < horizon:
        ends = [
            end
            for end in (_run_end(w, moment, exceptions, horizon) for w in stoppers)
            if end is not None
        ]
        if not ends:
            break
        moment = max(ends)
    return moment


def _chain_end(
    windows: list[FreezeWindow], at: datetime, release, exceptions: dict
) -> datetime | None:
    """When the hard, non-exempt windows among ``windows`` stop applying from ``at``, following
    back-to-back (or overlapping) occurrences; None if none applies at ``at``. A chain longer
    than ``LOOKAHEAD`` ends at (or just past) the look-ahead's end."""
    end = _blocked_until(_stoppers(windows, release), at, exceptions, at + LOOKAHEAD)
    return end if end > at else None


def blocking_until(
    scope: Scope,
    at: datetime,
    release=None,
    exceptions: dict | None = None,
    kinds: Iterable[str] = BLOCKING_KINDS,
) -> datetime | None:
    """When hard blocking windows stop applying, following back-to-back windows; None if not
    blocked. One query (the windows of the look-ahead period, scope filtered in the database)."""
    windows = list(candidate_windows(at, at + LOOKAHEAD, kinds, scope, prefetch=()))
    return _chain_end(windows, at, release, exceptions or {})


_REGIONAL = Exists(FreezeWindow.regions.through.objects.filter(freezewindow_id=OuterRef("pk")))


def _other_region_only(window: FreezeWindow, scope: Scope) -> bool:
    """A regional *release* window says when that region may deploy; a question that names no
    region is not held to it (blocking windows, by contrast, apply to it: the safe answer)."""
    return scope.region_id is None and bool(getattr(window, "regional", False))


def _fmt(moment: datetime) -> str:
    return timezone.localtime(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _where(environment: Environment, region) -> str:
    return f"{environment.name} in {region.name}" if region is not None else environment.name


def _next_start(window: FreezeWindow, moment: datetime, horizon: datetime) -> datetime | None:
    """The first start of ``window`` at or after ``moment`` and before ``horizon``."""
    if not window.rrule:
        return window.start if moment <= window.start < horizon else None
    expansion = _recurrence(window)
    expansion.extend(horizon)
    index = bisect_left(expansion.starts, moment)
    if index >= len(expansion.starts):
        return None
    start = expansion.starts[index]
    if start >= horizon or (window.recurrence_until and start > window.recurrence_until):
        return None
    return start


def _next_opening(release_windows: list[FreezeWindow], at: datetime) -> Occurrence | None:
    """The first release-window occurrence starting at or after ``at`` (within LOOKAHEAD)."""
    horizon = at + LOOKAHEAD
    best = None
    for window in release_windows:
        start = _next_start(window, at, horizon)
        if start is not None and (best is None or (start, window.pk) < (best[0], best[1].pk)):
            best = (start, window)
    if best is None:
        return None
    return next(o for o in occurrences(best[1], best[0], best[0] + INSTANT) if o.start == best[0])


def next_clear(
    blocking: list[FreezeWindow],
    release_windows: list[FreezeWindow],
    at: datetime,
    release=None,
    exceptions: dict | None = None,
) -> datetime | None:
    """The first moment from ``at`` when no hard blocking window stops the deployment and, where
    hard release windows are defined, one is open. None if there is none within ``LOOKAHEAD``."""
    exceptions = exceptions or {}
    horizon = at + LOOKAHEAD
    stoppers = _stoppers(blocking, release)
    hard_release = [w for w in release_windows if w.hardness == Hardness.HARD]
    moment = at
    while True:
        moment = _blocked_until(stoppers, moment, exceptions, horizon)
        if moment >= horizon:
            return None
        if not hard_release or _covering(hard_release, moment):
            return moment
        opening = _next_opening(hard_release, moment)
        if opening is None or opening.start >= horizon:
            return None
        moment = opening.start


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

    Hard windows deny (``waiting`` until the chain of windows ends: ``retry_after`` is the
    first moment every window check passes); soft windows warn and pass once a reason is
    given. One query for the windows (scope filtered in the database) and one for the
    exceptions.
    """
    from scheduling.freeze_exceptions import active_exceptions

    at = at or timezone.now()
    override_reason = redact((override_reason or "").strip())
    scope = Scope.of(services, environment, region)
    exceptions = active_exceptions(release, at) if release is not None else {}
    horizon = at + LOOKAHEAD
    loaded = list(
        candidate_windows(
            at, horizon, [*BLOCKING_KINDS, WindowKind.RELEASE_WINDOW], scope, prefetch=()
        ).annotate(regional=_REGIONAL)
    )
    blocking = [w for w in loaded if w.kind in BLOCKING_KINDS]
    release_windows = [
        w
        for w in loaded
        if w.kind == WindowKind.RELEASE_WINDOW and not _other_region_only(w, scope)
    ]
    active = _covering(blocking, at)
    where = _where(environment, region)
    clear: list[datetime | None] = []  # computed once, when a check first needs it

    def clear_at() -> datetime | None:
        if not clear:
            clear.append(next_clear(blocking, release_windows, at, release, exceptions))
        return clear[0]

    reasons: list[Reason] = []
    applied: list[str] = []
    used_exceptions: list[int] = []
    for kind, code, label in (
        (WindowKind.FREEZE, "freeze_window", "freeze"),
        (WindowKind.BLACKOUT, "blackout_window", "blackout"),
    ):
        stopping, soft = [], []
        for occ in (o for o in active if o.window.kind == kind):
            why, exception = _exempt(occ.window, release, at, exceptions)
            if why:
                applied.append(why)
                if exception is not None:
                    used_exceptions.append(exception.pk)
            elif occ.window.hardness == Hardness.SOFT:
                soft.append(occ)
            else:
                stopping.append(occ)
        if stopping:
            own_end = _chain_end([w for w in blocking if w.kind == kind], at, release, exceptions)
            until = clear_at()
            names = ", ".join(f"'{o.window.name}'" for o in stopping)
            later = (
                f"; other windows follow, so the next chance to deploy is {_fmt(until)}"
                if until and own_end and until > own_end
                else ""
            )
            reasons.append(
                Reason(
                    code,
                    False,
                    f"{where} is in a {label} ({names}) until {_fmt(own_end or horizon)}{later}; "
                    "request an exception to deploy earlier.",
                    {
                        "windows": [o.window.pk for o in stopping],
                        "until": (own_end or horizon).isoformat(),
                        "next_clear": until.isoformat() if until else None,
                    },
                    waits=until is not None,
                    retry_after=until,
                )
            )
        elif soft and not override_reason:
            names = ", ".join(f"'{o.window.name}'" for o in soft)
            ends = max(o.end for o in soft)
            reasons.append(
                Reason(
                    code,
                    False,
                    f"Soft {label} {names} applies to {where} until {_fmt(ends)}: "
                    "give a reason to deploy anyway, or wait.",
                    {
                        "windows": [o.window.pk for o in soft],
                        "soft": True,
                        "until": ends.isoformat(),
                    },
                    waits=True,
                    retry_after=max(ends, clear_at() or ends),
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
            reasons.append(Reason(code, True, f"No {label} applies to {where} now."))
    if applied:
        reasons.append(
            Reason(
                "exception_applied",
                True,
                " ".join(applied),
                {"exceptions": sorted(set(used_exceptions))},
            )
        )
    reasons.append(_release_window_reason(release_windows, where, at, override_reason, clear_at))
    return reasons


def _release_window_reason(
    release_windows: list[FreezeWindow], where: str, at: datetime, override_reason: str, clear_at
) -> Reason:
    if not release_windows:
        return Reason(
            "release_window",
            True,
            f"No release window binds {where}; any time is fine (regional release windows "
            "bind only questions about their region).",
        )
    inside = _covering(release_windows, at)
    if inside:
        occ = max(inside, key=lambda o: o.end)
        return Reason(
            "release_window",
            True,
            f"Inside release window '{occ.window.name}' until {_fmt(occ.end)}.",
            {"window": occ.window.pk, "until": occ.end.isoformat()},
        )
    nxt = _next_opening(release_windows, at)
    hard = any(w.hardness == Hardness.HARD for w in release_windows)
    if not hard and override_reason:
        return Reason(
            "release_window",
            True,
            f"Outside the preferred release windows; acknowledged: {override_reason}",
            {"soft": True, "reason": override_reason},
        )
    if nxt is None:
        return Reason(
            "release_window",
            False,
            f"No release window for {where} opens in the next {LOOKAHEAD.days} days.",
        )
    retry = clear_at() if hard else nxt.start
    advice = "" if hard else " (or give a reason to deploy now)"
    return Reason(
        "release_window",
        False,
        f"Outside the release windows for {where}; the next one, '{nxt.window.name}', "
        f"opens {_fmt(nxt.start)}{advice}.",
        {"window": nxt.window.pk, "opens": nxt.start.isoformat(), "soft": not hard},
        waits=retry is not None,
        retry_after=retry,
    )


def check_release_window(
    scope: Scope, environment: Environment, at: datetime, override_reason: str = ""
) -> Reason:
    """Where preferred release windows are defined for this scope, deploy inside one."""
    horizon = at + LOOKAHEAD
    release_windows = [
        w
        for w in candidate_windows(
            at, horizon, [WindowKind.RELEASE_WINDOW], scope, prefetch=()
        ).annotate(regional=_REGIONAL)
        if not _other_region_only(w, scope)
    ]
    return _release_window_reason(
        release_windows,
        environment.name,
        at,
        override_reason,
        lambda: next_clear([], release_windows, at),
    )
