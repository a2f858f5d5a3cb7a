"""Schedule validation: may this release be planned for [start, end)? (curriculum 2.1, 2.5)

``check_schedule`` lists every conflict of a planned window with its reason,
``next_free_slot`` proposes the earliest start where no hard conflict applies,
and ``apply_slot`` re-plans a release (with the reason in its history).

Each reason carries ``data["severity"]``:

- ``hard``: the plan cannot ship as it is (a hard freeze or blackout with no
  exception, outside the preferred release windows, an environment fully
  booked, a regional go-live rule or a vendor deliverable not reached yet, a
  start in the past). ``data["free_at"]`` says, where known, the earliest start
  at which that conflict is gone: the slot search jumps there.
- ``warning``: it may ship but someone must know (a soft window needs a reason
  at deploy time, a maintenance window, another release of the same service).
- ``deadline``: the plan ends after the business deadline or the compliance
  (audit) deadline; moving later cannot fix it, so the search ignores it.

The rules read the calendar through ``scheduling.windows`` (occurrences,
scope), the go-live rules through ``scheduling.golive`` and the bookings
through the ``Reservation`` rows; everything is loaded once per question so
the slot search runs in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from releasemgr.decisions import Decision, DomainError, Reason
from releases.choices import DeploymentStatus, ReleaseState
from scheduling import reservations
from scheduling.choices import ExceptionStatus, Hardness, WindowKind
from scheduling.models import (
    Environment,
    FreezeException,
    GoLiveRule,
    Region,
    ReleaseDependency,
    Reservation,
    ValidationNeed,
    VendorDeliverable,
)
from scheduling.windows import (
    LOOKAHEAD,
    Occurrence,
    Scope,
    candidate_windows,
    in_scope,
    occurrences,
)

HARD, WARNING, DEADLINE = "hard", "warning", "deadline"

# Slot search: candidate starts on a 30-minute grid, for up to 90 days.
GRANULARITY = timedelta(minutes=30)
HORIZON = timedelta(days=90)
DEFAULT_DURATION = timedelta(hours=2)

# States in which the plan of a release may still move (a vendor delay re-plans an approved
# release too; once it is deploying or done, its dates are history).
REPLANNABLE_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.REJECTED,
)

# simple-history keeps reasons in a 100-character column.
REASON_LENGTH = 100

_LABEL = {WindowKind.FREEZE: "freeze", WindowKind.BLACKOUT: "blackout"}
_CODE = {WindowKind.FREEZE: "freeze_window", WindowKind.BLACKOUT: "blackout_window"}


def fmt(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return timezone.localtime(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def history_reason(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


def _reason(
    code, passed, message, severity=HARD, free_at=None, **data
) -> tuple[Reason, datetime | None]:
    data["severity"] = severity
    if free_at is not None:
        data["free_at"] = free_at.isoformat()
    return Reason(code, passed, message, data), (
        free_at if not passed and severity == HARD else None
    )


def is_hard(reason: Reason) -> bool:
    return not reason.passed and reason.data.get("severity", HARD) == HARD


def hard_conflicts(decision: Decision) -> list[Reason]:
    return [r for r in decision.reasons if is_hard(r)]


def conflicts(decision: Decision) -> list[Reason]:
    """Failed reasons, hard ones first."""
    order = {HARD: 0, DEADLINE: 1, WARNING: 2}
    return sorted(decision.failed, key=lambda r: order.get(r.data.get("severity", HARD), 0))


def validate_period(start: datetime | None, end: datetime | None, *, allow_past: bool = False):
    """Bad input for a plan: raises ``ValidationError`` with field messages."""
    errors = {}
    if start is None:
        errors["start"] = "Give a start."
    if end is None:
        errors["end"] = "Give an end."
    if not errors and end <= start:
        errors["end"] = "The end must be after the start."
    if not errors and not allow_past and start < timezone.now() - timedelta(minutes=1):
        errors["start"] = "The start is in the past; a release can only be planned forward."
    if errors:
        raise ValidationError(errors)


# ------------------------------------------------------------------ what is loaded once


@dataclass
class _BlockingHit:
    occurrence: Occurrence
    places: list[str] = field(default_factory=list)  # "Production (eu-de)"


@dataclass
class _Context:
    """Everything a check needs, loaded in a bounded number of queries for [since, until)."""

    release: object
    region: Region | None
    now: datetime
    places: list[tuple[Environment | None, Region | None]]
    blocking: list[_BlockingHit]
    maintenance: list[_BlockingHit]
    # place index → (the release windows defined there, their occurrences by start)
    release_windows: dict[int, tuple[list, list[Occurrence]]]
    exceptions: dict[int, list[FreezeException]]
    needs: list[ValidationNeed]
    own_bookings: dict[int, list[Reservation]]
    other_bookings: dict[int, list[Reservation]]
    validated_envs: set[int]
    rules: dict[int, list[GoLiveRule]]
    regions: list[Region]
    deliverables: list[VendorDeliverable]
    neighbours: list  # other releases of the same services with a plan
    predecessors: list = None  # releases this one must ship after (ReleaseDependency)


def _place_name(environment, region) -> str:
    name = environment.name if environment else "any environment"
    return f"{name} ({region.code})" if region else name


def _load(release, since: datetime, until: datetime, region: Region | None = None) -> _Context:
    from releases.models import Deployment, Release

    now = timezone.now()
    if "release_services" in getattr(release, "_prefetched_objects_cache", {}):
        services = [rs.service for rs in release.release_services.all()]
    else:
        services = [rs.service for rs in release.release_services.select_related("service")]
    service_ids = [s.pk for s in services]
    environments = list(Environment.objects.filter(is_production=True).order_by("order")) or [None]
    all_regions = list(Region.objects.order_by("rollout_order", "code"))
    regions = [region] if region is not None else (all_regions or [None])
    places = [(env, reg) for env in environments for reg in regions]
    scopes = [Scope.of(services, env, reg) for env, reg in places]

    blocking: dict[tuple, _BlockingHit] = {}
    maintenance: dict[tuple, _BlockingHit] = {}
    release_windows: dict[int, tuple[list, list[Occurrence]]] = {
        i: ([], []) for i in range(len(places))
    }
    horizon_end = until + LOOKAHEAD
    for window in candidate_windows(since, horizon_end):
        matching = [i for i, scope in enumerate(scopes) if in_scope(window, scope)]
        if not matching:
            continue
        if window.kind == WindowKind.RELEASE_WINDOW:
            occs = occurrences(window, since, horizon_end)
            for i in matching:
                release_windows[i][0].append(window)
                release_windows[i][1].extend(occs)
            continue
        target = maintenance if window.kind == WindowKind.MAINTENANCE else blocking
        for occ in occurrences(window, since, until):
            hit = target.setdefault((window.pk, occ.start), _BlockingHit(occ))
            for i in matching:
                name = _place_name(*places[i])
                if name not in hit.places:
                    hit.places.append(name)
    for _windows, occs in release_windows.values():
        occs.sort(key=lambda o: o.start)

    exceptions: dict[int, list[FreezeException]] = {}
    for exc in FreezeException.objects.filter(
        release=release, status__in=[ExceptionStatus.APPROVED, ExceptionStatus.PENDING]
    ).select_related("decided_by"):
        exceptions.setdefault(exc.window_id, []).append(exc)

    needs = list(
        ValidationNeed.objects.filter(release=release)
        .select_related("environment")
        .order_by("-environment__order")
    )
    need_envs = [n.environment_id for n in needs]
    total_hours = sum(n.hours for n in needs)
    own_bookings: dict[int, list[Reservation]] = {}
    other_bookings: dict[int, list[Reservation]] = {}
    if needs:
        bookings = Reservation.objects.filter(
            environment_id__in=need_envs, cancelled_at__isnull=True
        ).filter(
            Q(release=release)
            | Q(start__lt=until, end__gt=since - timedelta(hours=total_hours) - GRANULARITY)
        )
        for booking in bookings.select_related("release"):
            target = own_bookings if booking.release_id == release.pk else other_bookings
            target.setdefault(booking.environment_id, []).append(booking)
    validated_envs = (
        set(
            Deployment.objects.filter(
                release=release,
                environment_id__in=need_envs,
                status=DeploymentStatus.SUCCEEDED,
            ).values_list("environment_id", flat=True)
        )
        if needs
        else set()
    )

    rules: dict[int, list[GoLiveRule]] = {}
    for rule in GoLiveRule.objects.filter(
        Q(release=release) | Q(release__isnull=True, service_id__in=service_ids)
    ).select_related("region", "service"):
        rules.setdefault(rule.region_id, []).append(rule)

    neighbours = list(
        Release.objects.filter(
            release_services__service_id__in=service_ids,
            planned_start__lt=until,
            planned_end__gt=since,
            state__in=REPLANNABLE_STATES + (ReleaseState.DEPLOYING,),
        )
        .exclude(pk=release.pk)
        .distinct()
        .only("key", "name", "planned_start", "planned_end")
    )

    return _Context(
        release=release,
        region=region,
        now=now,
        places=places,
        blocking=sorted(
            blocking.values(), key=lambda h: (h.occurrence.start, h.occurrence.window.pk)
        ),
        maintenance=sorted(maintenance.values(), key=lambda h: h.occurrence.start),
        release_windows=release_windows,
        exceptions=exceptions,
        needs=needs,
        own_bookings=own_bookings,
        other_bookings=other_bookings,
        validated_envs=validated_envs,
        rules=rules,
        regions=[r for r in regions if r is not None],
        deliverables=list(VendorDeliverable.objects.filter(release=release)),
        neighbours=neighbours,
        predecessors=list(
            ReleaseDependency.objects.filter(release=release).select_related("after")
        ),
    )


# ------------------------------------------------------------------ the rules


def _where(ctx: _Context, places: list[str]) -> str:
    """Where a window hits, shortest first: "Production in every region" rather than the list."""
    regions = {region.pk for _env, region in ctx.places if region is not None}
    if len(regions) > 1 and len(places) == len(ctx.places):
        environments = []
        for env, _region in ctx.places:
            name = env.name if env else "any environment"
            if name not in environments:
                environments.append(name)
        return f"{', '.join(environments)} in every region"
    return ", ".join(places)


def _windows(ctx: _Context, start: datetime, end: datetime):
    release = ctx.release
    found = {WindowKind.FREEZE: False, WindowKind.BLACKOUT: False}
    for hit in ctx.blocking:
        occ = hit.occurrence
        if not (occ.start < end and occ.end > start):
            continue
        window = occ.window
        found[window.kind] = True
        code, label = _CODE[window.kind], _LABEL[window.kind]
        where = _where(ctx, hit.places)
        span = f"{fmt(occ.start)} → {fmt(occ.end)}"
        overlap_from, overlap_to = max(start, occ.start), min(end, occ.end)
        allowed = list(window.allowed_change_types or [])
        data = {
            "window": window.pk,
            "window_name": window.name,
            "kind": window.kind,
            "hardness": window.hardness,
            "occurrence_start": occ.start.isoformat(),
            "occurrence_end": occ.end.isoformat(),
            "places": hit.places,
            "allowed_change_types": allowed,
        }
        if release.change_type in allowed:
            yield _reason(
                code,
                True,
                f"{label.capitalize()} '{window.name}' ({span}) overlaps the plan in {where}, "
                f"but {release.get_change_type_display().lower()} changes may ship during it.",
                covered_by="change_type",
                **data,
            )
            continue
        covering = [
            e
            for e in ctx.exceptions.get(window.pk, [])
            if e.status == ExceptionStatus.APPROVED
            and e.valid_from <= overlap_from
            and e.valid_until >= overlap_to
        ]
        if covering:
            exc = covering[0]
            who = exc.decided_by.username if exc.decided_by else "someone"
            yield _reason(
                code,
                True,
                f"{label.capitalize()} '{window.name}' ({span}) overlaps the plan in {where}; "
                f"exception #{exc.pk} approved by {who} covers it.",
                covered_by="exception",
                exception=exc.pk,
                **data,
            )
            continue
        if window.hardness == Hardness.SOFT:
            yield _reason(
                code,
                False,
                f"Soft {label} '{window.name}' ({span}) overlaps the plan in {where}: "
                "deploying then needs a stated reason.",
                severity=WARNING,
                **data,
            )
            continue
        pending = [
            e for e in ctx.exceptions.get(window.pk, []) if e.status == ExceptionStatus.PENDING
        ]
        if pending:
            remedy = f"exception #{pending[0].pk} is waiting for a decision"
        elif allowed:
            kinds = ", ".join(allowed)
            remedy = (
                f"only {kinds} changes may ship during it, this is a "
                f"{release.get_change_type_display().lower()} change: an approved exception "
                "would cover it"
            )
        else:
            remedy = "an approved exception would cover it"
        yield _reason(
            code,
            False,
            f"Hard {label} '{window.name}' ({span}) overlaps the plan in {where}; {remedy}, "
            f"or start after {fmt(occ.end)}.",
            free_at=occ.end,
            label=f"{label} '{window.name}' until {fmt(occ.end)}",
            exception_possible=True,
            pending_exception=pending[0].pk if pending else None,
            **data,
        )
    for kind, was_found in found.items():
        if not was_found:
            yield _reason(_CODE[kind], True, f"No {_LABEL[kind]} overlaps the plan.")
    for hit in ctx.maintenance:
        occ = hit.occurrence
        if occ.start < end and occ.end > start:
            yield _reason(
                "maintenance_window",
                False,
                f"Maintenance '{occ.window.name}' ({fmt(occ.start)} → {fmt(occ.end)}) overlaps "
                f"the plan in {_where(ctx, hit.places)}.",
                severity=WARNING,
                window=occ.window.pk,
            )


def _release_windows(ctx: _Context, start: datetime):
    """Where preferred release windows are defined, the deployment starts inside one (as the
    gate's ``release_window`` check): outside a hard one is a conflict, outside only soft ones
    a warning (deploying then needs a reason)."""
    outside = []
    any_defined = False
    for index, (windows, occs) in ctx.release_windows.items():
        if not windows:
            continue
        any_defined = True
        if any(o.covers(start) for o in occs):
            continue
        later = [o for o in occs if o.start > start]
        hard = any(w.hardness == Hardness.HARD for w in windows)
        outside.append((ctx.places[index], later[0] if later else None, hard))
    if not any_defined:
        yield _reason("release_window", True, "No release windows are defined; any start is fine.")
        return
    if not outside:
        yield _reason("release_window", True, "The plan starts inside a release window.")
        return
    where = ", ".join(_place_name(*place) for place, _, _ in outside)
    severity = HARD if any(hard for _, _, hard in outside) else WARNING
    openings = [opening for _, opening, _ in outside]
    if any(opening is None for opening in openings):
        yield _reason(
            "release_window",
            False,
            f"The plan starts outside the release windows for {where}, and none opens in the "
            f"next {LOOKAHEAD.days} days.",
            severity=severity,
        )
        return
    # Every place must be inside one of its windows: the latest next opening is a lower bound.
    latest = max(openings, key=lambda o: o.start)
    soft = "" if severity == HARD else " (soft: deploying outside needs a reason)"
    yield _reason(
        "release_window",
        False,
        f"The plan starts outside the release windows for {where}; the next, "
        f"'{latest.window.name}', opens {fmt(latest.start)}{soft}.",
        severity=severity,
        free_at=latest.start,
        label=f"release window '{latest.window.name}' opens {fmt(latest.start)}",
        window=latest.window.pk,
    )


def _environments(ctx: _Context, start: datetime):
    """Each environment the release must be validated in, for its hours right before the start
    (the latest environment last), must have room, unless the release holds it already."""
    slot_end = start
    for need in ctx.needs:
        env = need.environment
        slot_start = slot_end - timedelta(hours=need.hours)
        offset = start - slot_start
        own = ctx.own_bookings.get(env.pk, [])
        data = {"environment": env.slug, "hours": need.hours}
        if env.pk in ctx.validated_envs:
            yield _reason(
                "environment_busy",
                True,
                f"{ctx.release.key} is already deployed successfully to {env.name}.",
                **data,
            )
        elif own:
            done = [b for b in own if b.end <= start]
            if done:
                booking = done[-1]
                yield _reason(
                    "environment_busy",
                    True,
                    f"{env.name} is booked for {ctx.release.key} "
                    f"({booking.get_purpose_display()}, {fmt(booking.start)} → {fmt(booking.end)}).",
                    reservation=booking.pk,
                    **data,
                )
            else:
                booking = min(own, key=lambda b: b.end)
                yield _reason(
                    "environment_busy",
                    False,
                    f"{ctx.release.key}'s booking of {env.name} runs until {fmt(booking.end)}, "
                    "after the planned start: validation would not be finished.",
                    free_at=booking.end,
                    label=f"own booking of {env.name} until {fmt(booking.end)}",
                    reservation=booking.pk,
                    **data,
                )
        elif slot_start < ctx.now:
            yield _reason(
                "environment_busy",
                False,
                f"No time left to validate {need.hours} h in {env.name} before the start "
                "(nothing booked).",
                free_at=ctx.now + offset,
                label=f"{need.hours} h of validation in {env.name}",
                **data,
            )
        else:
            here = ctx.other_bookings.get(env.pk, [])
            peak, _ = reservations.peak_overlap(here, slot_start, slot_end)
            if peak + 1 <= env.capacity:
                yield _reason(
                    "environment_busy",
                    True,
                    f"{env.name} has room for the {need.hours} h validation "
                    f"({fmt(slot_start)} → {fmt(slot_end)}); not booked yet.",
                    **data,
                )
            else:
                busy = reservations.over_capacity(here, slot_start, slot_end, env.capacity)
                names = "; ".join(reservations.describe(b) for b in busy)
                yield _reason(
                    "environment_busy",
                    False,
                    f"{env.name} is fully booked (capacity {env.capacity}) during the "
                    f"{need.hours} h validation before the start ({fmt(slot_start)} → "
                    f"{fmt(slot_end)}): {names or 'no capacity for bookings'}.",
                    # Until one of them ends, the validation slot stays full.
                    free_at=min(b.end for b in busy) + offset if busy else None,
                    label=f"{env.name} fully booked",
                    reservations=[b.pk for b in busy],
                    **data,
                )
        slot_end = slot_start


def _go_live(ctx: _Context, start: datetime):
    if ctx.region is not None:
        pending = [r for r in ctx.rules.get(ctx.region.pk, []) if r.earliest_at > start]
        if not pending:
            yield _reason(
                "regional_go_live",
                True,
                f"No go-live rule holds the plan back in {ctx.region.name}.",
            )
            return
        rule = max(pending, key=lambda r: r.earliest_at)
        yield _reason(
            "regional_go_live",
            False,
            f"{ctx.release.key} may not go live in {ctx.region.name} before "
            f"{fmt(rule.earliest_at)} ({rule.legal_basis}).",
            free_at=rule.earliest_at,
            label=f"go-live in {ctx.region.code} from {fmt(rule.earliest_at)}",
            region=ctx.region.code,
            rule=rule.pk,
        )
        return
    waiting = []
    for region in ctx.regions:
        pending = [r for r in ctx.rules.get(region.pk, []) if r.earliest_at > start]
        if pending:
            waiting.append((region, max(pending, key=lambda r: r.earliest_at)))
    if not waiting:
        yield _reason("regional_go_live", True, "No regional go-live rule holds the plan back.")
        return
    detail = "; ".join(
        f"{region.name} not before {fmt(rule.earliest_at)} ({rule.legal_basis})"
        for region, rule in waiting
    )
    if len(waiting) == len(ctx.regions):
        first = min(rule.earliest_at for _, rule in waiting)
        yield _reason(
            "regional_go_live",
            False,
            f"{ctx.release.key} may not go live in any region at the planned start: {detail}.",
            free_at=first,
            label=f"first regional go-live {fmt(first)}",
            regions=[region.code for region, _ in waiting],
        )
        return
    yield _reason(
        "regional_go_live",
        True,
        f"Staggered rollout: {detail}; the other regions go live at the start.",
        regions=[region.code for region, _ in waiting],
    )


def ready_at(deliverable: VendorDeliverable) -> datetime:
    """When the release can ship after this deliverable: delivery (or expected) + buffer."""
    base = deliverable.delivered_at or deliverable.expected_at
    return base + timedelta(hours=deliverable.buffer_hours)


def _vendors(ctx: _Context, start: datetime):
    for item in ctx.deliverables:
        ready = ready_at(item)
        data = {"deliverable": item.pk, "vendor": item.vendor, "ready_at": ready.isoformat()}
        what = f"{item.vendor}: {item.description}"
        if item.delivered_at and ready <= start:
            yield _reason(
                "vendor_deliverable", True, f"{what} delivered {fmt(item.delivered_at)}.", **data
            )
        elif item.delivered_at:
            yield _reason(
                "vendor_deliverable",
                False,
                f"{what} was delivered {fmt(item.delivered_at)}; with its {item.buffer_hours} h "
                f"buffer the release can start from {fmt(ready)}.",
                free_at=ready,
                label=f"{item.vendor} ready {fmt(ready)}",
                **data,
            )
        elif ready <= start:
            yield _reason(
                "vendor_deliverable",
                True,
                f"{what} is expected {fmt(item.expected_at)} (+{item.buffer_hours} h buffer), "
                "before the start; not delivered yet.",
                **data,
            )
        else:
            yield _reason(
                "vendor_deliverable",
                False,
                f"{what} is not delivered: expected {fmt(item.expected_at)} plus a "
                f"{item.buffer_hours} h buffer means the release can start from {fmt(ready)}.",
                free_at=ready,
                label=f"{item.vendor} ready {fmt(ready)}",
                **data,
            )


def _ships_after(ctx: _Context, start: datetime):
    """ "Ships after" dependencies: the predecessor must have shipped, or be planned to, first."""
    from releases.choices import ReleaseState

    for link in ctx.predecessors or []:
        after = link.after
        data = {"after": after.key}
        if after.state in (ReleaseState.DEPLOYED, ReleaseState.CLOSED):
            yield _reason("ships_after", True, f"{after.key} has shipped.", **data)
        elif after.state in (ReleaseState.CANCELLED, ReleaseState.REJECTED):
            yield _reason(
                "ships_after",
                False,
                f"Must ship after {after.key}, which is {after.get_state_display().lower()}: "
                "remove the dependency or revive it.",
                **data,
            )
        elif after.planned_end and after.planned_end <= start:
            yield _reason(
                "ships_after",
                True,
                f"{after.key} is planned to ship first (ends {fmt(after.planned_end)}).",
                **data,
            )
        elif after.planned_end:
            yield _reason(
                "ships_after",
                False,
                f"Must ship after {after.key}, planned to end {fmt(after.planned_end)}.",
                free_at=after.planned_end,
                label=f"{after.key} ships {fmt(after.planned_end)}",
                **data,
            )
        else:
            yield _reason(
                "ships_after",
                False,
                f"Must ship after {after.key}, which has no planned window yet.",
                **data,
            )


def _deadlines(ctx: _Context, end: datetime):
    release = ctx.release
    for code, value, label in (
        ("deadline_missed", release.deadline, "the business deadline"),
        ("compliance_deadline_missed", release.compliance_deadline, "the compliance deadline"),
    ):
        if value is None:
            continue
        if end > value:
            late = end - value
            yield _reason(
                code,
                False,
                f"The plan ends {fmt(end)}, {_duration(late)} after {label} {fmt(value)}.",
                severity=DEADLINE,
                deadline=value.isoformat(),
            )
        else:
            yield _reason(
                code, True, f"The plan ends before {label} {fmt(value)}.", severity=DEADLINE
            )


def _neighbours(ctx: _Context, start: datetime, end: datetime):
    clashes = [r for r in ctx.neighbours if r.planned_start < end and r.planned_end > start]
    if clashes:
        names = ", ".join(
            f"{r.key} ({fmt(r.planned_start)} → {fmt(r.planned_end)})" for r in clashes
        )
        yield _reason(
            "planned_overlap",
            False,
            f"Other releases of the same services are planned at the same time: {names}.",
            severity=WARNING,
            releases=[r.key for r in clashes],
        )


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{math.ceil(hours)} h"
    return f"{math.ceil(hours / 24)} days"


def _evaluate(ctx: _Context, start: datetime, end: datetime) -> tuple[Decision, datetime | None]:
    """The decision for [start, end) and the earliest start that could clear its hard conflicts."""
    decision = Decision()
    bounds: list[datetime] = []

    def take(pairs):
        for reason, free_at in pairs:
            decision.add(reason)
            if free_at is not None:
                bounds.append(free_at)

    if start < ctx.now - timedelta(minutes=1):
        take(
            [
                _reason(
                    "not_in_past",
                    False,
                    f"The plan starts {fmt(start)}, in the past.",
                    free_at=ctx.now,
                    label="now",
                )
            ]
        )
    take(_windows(ctx, start, end))
    take(_release_windows(ctx, start))
    take(_environments(ctx, start))
    take(_go_live(ctx, start))
    take(_vendors(ctx, start))
    take(_ships_after(ctx, start))
    take(_deadlines(ctx, end))
    take(_neighbours(ctx, start, end))
    if not hard_conflicts(decision):
        return decision, None
    # Each bound is a start before which that conflict certainly stays: all must be passed.
    return decision, max(bounds) if bounds else None


# ------------------------------------------------------------------ public API


def check_schedule(
    release, start: datetime, end: datetime, region: Region | None = None
) -> Decision:
    """Every conflict of planning ``release`` for [start, end) (in ``region``, or its whole
    rollout), each with its reason. Raises ``ValidationError`` if the end is not after the start.
    """
    validate_period(start, end, allow_past=True)
    ctx = _load(release, start, end, region)
    decision, _jump = _evaluate(ctx, start, end)
    return decision


def _ceil(moment: datetime, step: timedelta = GRANULARITY) -> datetime:
    moment = moment.astimezone(UTC)
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    steps = math.ceil((moment - epoch) / step)
    return epoch + steps * step


def next_free_slot(
    release,
    duration: timedelta,
    after: datetime | None = None,
    region: Region | None = None,
    horizon: timedelta = HORIZON,
    step: timedelta = GRANULARITY,
) -> datetime | None:
    """The earliest start at or after ``after`` (on a ``step`` grid, or where a blocking period
    ends) where none of the hard conflicts apply; None if there is none within ``horizon``.
    """
    return _search(release, duration, after, region, horizon, step)[0]


def _search_range(duration: timedelta, after: datetime | None, horizon: timedelta, step: timedelta):
    """The first candidate start and the last one the search may try."""
    if duration <= timedelta(0):
        raise ValidationError({"duration": "The duration must be positive."})
    now = timezone.now()
    first = _ceil(max(after or now, now), step)
    return first, first + horizon


def _search(release, duration, after, region, horizon, step, ctx: _Context | None = None):
    start, limit = _search_range(duration, after, horizon, step)
    ctx = ctx or _load(release, start, limit + duration, region)
    skipped: dict[str, None] = {}  # what the search stepped over, in order (for the "why")
    while start <= limit:
        decision, jump = _evaluate(ctx, start, start + duration)
        blocking = hard_conflicts(decision)
        if not blocking:
            return start, decision, _first(skipped)
        for reason in blocking:
            skipped.setdefault(reason.data.get("label") or reason.code.replace("_", " "))
        candidate = start + step
        if jump is not None and jump > candidate:
            # Whole minutes: window and booking ends are what people entered.
            candidate = jump.replace(second=0, microsecond=0)
            if candidate < jump:
                candidate += timedelta(minutes=1)
        start = candidate
    return None, None, _first(skipped)


def _first(labels: dict, limit: int = 6) -> list[str]:
    """What the search stepped over, for people: the first few and how many more."""
    found = list(labels)
    if len(found) <= limit:
        return found
    return [*found[:limit], f"and {len(found) - limit} more"]


@dataclass
class Proposal:
    """The check of a plan and the next free slot for the same duration."""

    start: datetime | None
    end: datetime | None
    decision: Decision | None
    slot_start: datetime | None
    slot_end: datetime | None
    slot_decision: Decision | None
    why: str
    skipped: list[str] = field(default_factory=list)  # what the slot search stepped over

    @property
    def ok(self) -> bool:
        return self.decision is not None and not self.decision.failed

    @property
    def hard(self) -> list[Reason]:
        return hard_conflicts(self.decision) if self.decision else []

    @property
    def conflicts(self) -> list[Reason]:
        return conflicts(self.decision) if self.decision else []

    @property
    def passed(self) -> list[Reason]:
        return [r for r in self.decision.reasons if r.passed] if self.decision else []

    @property
    def slot_conflicts(self) -> list[Reason]:
        """What the proposed slot still has: warnings and missed deadlines, never hard ones."""
        return conflicts(self.slot_decision) if self.slot_decision else []


def summarize(decision: Decision) -> str:
    """A short why for history: the hard conflicts' codes and names."""
    parts = []
    for reason in hard_conflicts(decision):
        name = (
            reason.data.get("window_name")
            or reason.data.get("vendor")
            or reason.data.get("environment")
            or reason.data.get("region")
            or ""
        )
        label = reason.code.replace("_", " ")
        part = f"{label} {name}".strip()
        if part not in parts:
            parts.append(part)
    return ", ".join(parts) or "moved"


def propose(
    release,
    start: datetime | None = None,
    end: datetime | None = None,
    region: Region | None = None,
) -> Proposal:
    """Check [start, end) (default: the release's plan) and propose the next free slot."""
    start = start or release.planned_start
    end = end or release.planned_end
    if start is None:
        # Nothing planned: propose the first free slot from now with the default duration.
        slot, slot_decision, skipped = _search(
            release, DEFAULT_DURATION, None, region, HORIZON, GRANULARITY
        )
        return Proposal(
            None,
            None,
            None,
            slot,
            slot + DEFAULT_DURATION if slot else None,
            slot_decision,
            "first plan",
            skipped,
        )
    if end is None:
        end = start + DEFAULT_DURATION
    validate_period(start, end, allow_past=True)
    duration = end - start
    first, limit = _search_range(duration, start, HORIZON, GRANULARITY)
    # One load serves the check of the plan and the search for the next slot.
    ctx = _load(release, min(start, first), max(end, limit + duration), region)
    decision, _jump = _evaluate(ctx, start, end)
    if not hard_conflicts(decision):
        return Proposal(start, end, decision, start, end, decision, "")
    slot, slot_decision, skipped = _search(
        release, duration, start, region, HORIZON, GRANULARITY, ctx=ctx
    )
    return Proposal(
        start,
        end,
        decision,
        slot,
        slot + duration if slot else None,
        slot_decision,
        summarize(decision),
        skipped,
    )


def ensure_replannable(release) -> None:
    if release.state not in REPLANNABLE_STATES:
        raise DomainError(
            f"{release.key} is {release.get_state_display().lower()}; its plan can no longer move.",
            [
                Reason(
                    "state", False, f"{release.key} is {release.state}.", {"state": release.state}
                )
            ],
        )


def apply_slot(release, start: datetime, end: datetime, user, why: str = "", region=None):
    """Re-plan ``release`` to [start, end), refusing a slot that has hard conflicts.

    The release row is locked; the history row says ``re-planned: <why>``.
    Returns the decision for the new plan.
    """
    from releases.models import Release

    validate_period(start, end)
    with transaction.atomic():
        locked = Release.objects.select_for_update().get(pk=release.pk)
        ensure_replannable(locked)
        decision = check_schedule(locked, start, end, region)
        blocking = hard_conflicts(decision)
        if blocking:
            raise DomainError(
                "The slot has conflicts; nothing was changed: "
                + " ".join(r.message for r in blocking),
                blocking,
            )
        old = locked.planned_start
        locked.planned_start, locked.planned_end = start, end
        because = why.strip() or (f"moved from {fmt(old)}" if old else "first plan")
        locked.save_with_reason(history_reason(f"re-planned: {because}"), user=user)
    release.planned_start, release.planned_end = start, end
    return decision
