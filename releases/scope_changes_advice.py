"""Scope advice (curriculum 1.2, 1.3): conflicts between an emergency fix and a scheduled
release with the three ways out, include/defer advice for tech-debt items, and the
maintenance backlog a maintenance release takes from. Import from ``releases.scope_changes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from governance.defects import InvalidInput
from releasemgr.decisions import (
    Decision,
    IllegalTransition,
    Reason,
    require_permission,
)
from releases import lifecycle
from releases.choices import ChangeType, ReleaseKind, ReleaseState, ScopeDecision, ScopeKind
from releases.models import Release, ScopeChangeRequest, ScopeItem, TechDebtEstimate
from releases.models.scope_changes import ScopeChangeKind, ScopeChangeStatus

TAKE_PERMISSION = "releases.change_scopeitem"
# A fix that ships within this many days of the scheduled release is worth folding into it.
FOLD_WITHIN_DAYS = 3
SCHEDULED_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED)
EMERGENCY_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
)


# --- conflicts between an emergency fix and a scheduled release --------------------------------


def is_emergency(release: Release) -> bool:
    return (
        release.kind in (ReleaseKind.HOTFIX, ReleaseKind.SECURITY_PATCH)
        or release.change_type == ChangeType.EMERGENCY
    )


@dataclass
class Conflict:
    """An emergency fix (a release, or a pending emergency-fix request) and a scheduled feature
    release that change the same services, with the three ways out (``passed`` = advised)."""

    scheduled: Release
    services: list[str]
    fix_release: Release | None = None
    fix_request: ScopeChangeRequest | None = None
    options: list[Reason] = field(default_factory=list)

    @property
    def fix_label(self) -> str:
        if self.fix_release is not None:
            return f"{self.fix_release.key} {self.fix_release.name}"
        return f"emergency fix “{self.fix_request.title}” (request #{self.fix_request.pk})"


def _day(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d") if value else "no date"


def _options(conflict: Conflict, fix_start) -> list[Reason]:
    scheduled = conflict.scheduled
    names = ", ".join(conflict.services)
    start = scheduled.planned_start
    days = (start - fix_start).days if start and fix_start else None
    fold = days is not None and days <= FOLD_WITHIN_DAYS
    waits = f"the fix waits {days} day{'s' if days != 1 else ''}" if days is not None else ""
    return [
        Reason(
            "ship_alone",
            not fold,
            f"Ship the fix alone as a hotfix built from the version in production; "
            f"{scheduled.key} must carry it forward because it changes {names} too"
            + (
                f" (advised: {scheduled.key} is {days} days away, too long for the fix to wait)."
                if days is not None and not fold
                else " (advised: the scheduled release has no date)."
                if days is None
                else "."
            ),
            {"days_apart": days},
        ),
        Reason(
            "fold_in",
            fold,
            f"Fold the fix into {scheduled.key} (planned {_day(start)}): one deployment and one "
            f"test cycle for {names}"
            + (f", and {waits} (advised: within {FOLD_WITHIN_DAYS} days)." if fold else "")
            + (f", but {waits}." if waits and not fold else "" if fold else "."),
            {"days_apart": days},
        ),
        Reason(
            "move_release",
            False,
            f"Move {scheduled.key}: ship the fix first and re-plan {scheduled.key} after it, so "
            f"the fix is tested on its own and {scheduled.key} is rebuilt on top of it.",
            {"days_apart": days},
        ),
    ]


def _shared(release: Release, services: dict[int, str]) -> list[str]:
    return sorted(
        services[rs.service_id]
        for rs in release.release_services.all()
        if rs.service_id in services
    )


def conflicts(release: Release, requests=None) -> list[Conflict]:
    """Emergency fixes and scheduled feature releases (submitted or approved, planned after
    the fix) that change the same services; shown on both sides. A fixed number of queries."""
    services = {rs.service_id: rs.service.name for rs in release.release_services.all()}
    now = timezone.now()
    found: list[Conflict] = []
    related = Release.objects.prefetch_related("release_services__service").distinct()
    if is_emergency(release) and release.state in EMERGENCY_STATES and services:
        fix_start = release.planned_start or now
        scheduled = related.filter(
            kind=ReleaseKind.FEATURE,
            state__in=SCHEDULED_STATES,
            release_services__service_id__in=services,
        ).exclude(pk=release.pk)
        for other in scheduled:
            if other.planned_start and other.planned_start < fix_start:
                continue
            c = Conflict(scheduled=other, services=_shared(other, services), fix_release=release)
            c.options = _options(c, fix_start)
            found.append(c)
    if release.kind == ReleaseKind.FEATURE and release.state in SCHEDULED_STATES and services:
        fixes = related.filter(
            Q(kind__in=[ReleaseKind.HOTFIX, ReleaseKind.SECURITY_PATCH])
            | Q(change_type=ChangeType.EMERGENCY),
            state__in=EMERGENCY_STATES,
            release_services__service_id__in=services,
        ).exclude(pk=release.pk)
        for fix in fixes:
            fix_start = fix.planned_start or now
            if release.planned_start and release.planned_start < fix_start:
                continue
            c = Conflict(scheduled=release, services=_shared(fix, services), fix_release=fix)
            c.options = _options(c, fix_start)
            found.append(c)
        others = (
            ScopeChangeRequest.objects.filter(
                kind=ScopeChangeKind.EMERGENCY_FIX,
                status=ScopeChangeStatus.PENDING,
                service_id__in=services,
            )
            .exclude(release=release)
            .select_related("release", "service")
        )
        for req in others:
            c = Conflict(scheduled=release, services=[services[req.service_id]], fix_request=req)
            c.options = _options(c, req.created)
            found.append(c)
    # ``requests``: the release's own change requests, when the caller loaded them already.
    if requests is None:
        requests = ScopeChangeRequest.objects.filter(release=release).select_related("service")
    own = [
        r
        for r in requests
        if r.kind == ScopeChangeKind.EMERGENCY_FIX
        and r.status == ScopeChangeStatus.PENDING
        and r.service_id is not None
    ]
    if own:
        by_service = {r.service_id: r for r in own}
        scheduled = related.filter(
            kind=ReleaseKind.FEATURE,
            state__in=SCHEDULED_STATES,
            release_services__service_id__in=by_service,
        ).exclude(pk=release.pk)
        for other in scheduled:
            for rs in other.release_services.all():
                req = by_service.get(rs.service_id)
                if req is not None:
                    c = Conflict(scheduled=other, services=[rs.service.name], fix_request=req)
                    c.options = _options(c, req.created)
                    found.append(c)
    return found


# --- tech debt: include or defer ----------------------------------------------------------------


def size_limit() -> int:
    """Included items plus services above which a release is too big to take on more debt."""
    return getattr(settings, "SCOPE_SIZE_LIMIT", 15)


def max_effort_days() -> Decimal:
    return Decimal(str(getattr(settings, "TECH_DEBT_MAX_EFFORT_DAYS", 5)))


def risk_budget() -> int:
    """The risk score above which a release takes on no extra change (default: high band)."""
    from governance.models import RiskConfig

    configured = getattr(settings, "TECH_DEBT_RISK_BUDGET", None)
    return int(configured) if configured is not None else RiskConfig.current().high_from


@dataclass
class TechDebtAdvice:
    item: ScopeItem
    estimate: TechDebtEstimate | None
    decision: Decision

    @property
    def recommendation(self) -> str:
        return "include" if self.decision.allowed else "defer"


def tech_debt_recommendation(release: Release, risk_result=None) -> list[TechDebtAdvice]:
    """Include or defer each tech-debt item of ``release``, with the reasons: its estimate,
    whether its service ships anyway (cheap to include), the release's size and its risk
    score against the budget. ``risk_result`` reuses an assessment already made."""
    items = [i for i in release.scope_items.all() if i.decision != ScopeDecision.REMOVED]
    debts = [i for i in items if i.kind == ScopeKind.TECH_DEBT]
    if not debts:
        return []
    estimates = {e.scope_item_id: e for e in TechDebtEstimate.objects.filter(scope_item__in=debts)}
    shipped = {rs.service_id: rs.service.name for rs in release.release_services.all()}
    size = len(shipped) + sum(
        1 for i in items if i.decision == ScopeDecision.INCLUDED and i.kind != ScopeKind.TECH_DEBT
    )
    if risk_result is None:
        from governance import risk

        risk_result = risk.assess(release)
    budget, limit, effort_cap = risk_budget(), size_limit(), max_effort_days()
    advice = []
    for item in debts:
        estimate = estimates.get(item.pk)
        d = Decision()
        if estimate is None:
            d.add(Reason("estimate", False, "No estimate yet: give effort and risk reduction."))
        else:
            d.add(
                Reason(
                    "effort",
                    estimate.effort_days <= effort_cap,
                    f"{estimate.effort_days} days of effort "
                    + ("fits" if estimate.effort_days <= effort_cap else "is more than")
                    + f" the {effort_cap} days a release takes on.",
                    {"effort_days": str(estimate.effort_days)},
                )
            )
        if item.service_id is None or item.service_id in shipped:
            d.add(
                Reason(
                    "services_touched",
                    True,
                    f"{shipped[item.service_id]} ships in this release anyway: cheap to include."
                    if item.service_id
                    else "Not tied to one service.",
                )
            )
        else:
            worth = estimate is not None and estimate.risk_reduction >= 4
            d.add(
                Reason(
                    "services_touched",
                    worth,
                    f"{item.service} is not otherwise in the release; including it adds a "
                    "service to test and deploy"
                    + (
                        f", worth it for a risk reduction of {estimate.risk_reduction}/5."
                        if worth
                        else "."
                    ),
                )
            )
        d.add(
            Reason(
                "release_size",
                size < limit,
                f"The release has {size} items and services "
                + ("(limit " if size < limit else "(at or over the limit of ")
                + f"{limit}).",
                {"size": size, "limit": limit},
            )
        )
        d.add(
            Reason(
                "risk_budget",
                risk_result.score < budget,
                f"Risk score {risk_result.score} is "
                + ("within" if risk_result.score < budget else "at or over")
                + f" the budget of {budget}.",
                {"score": risk_result.score, "budget": budget},
            )
        )
        advice.append(TechDebtAdvice(item, estimate, d))
    return advice


# --- the maintenance backlog --------------------------------------------------------------------


def maintenance_backlog():
    """Deferred tech-debt items of every release, most risk reduced first."""
    return (
        ScopeItem.objects.filter(kind=ScopeKind.TECH_DEBT, decision=ScopeDecision.DEFERRED)
        .exclude(release__state=ReleaseState.CANCELLED)
        .select_related("release", "service", "tech_debt_estimate")
        .order_by(
            F("tech_debt_estimate__risk_reduction").desc(nulls_last=True),
            F("tech_debt_estimate__effort_days").asc(nulls_last=True),
            "pk",
        )
    )


def take_into_release(item: ScopeItem, target: Release, user, note: str = "") -> ScopeItem:
    """Move a backlog item into a maintenance release (the same row: its history follows).

    ``InvalidInput`` (400) for an item not in the backlog or a release that is not a
    maintenance release; ``IllegalTransition`` (409) when the target is not editable.
    """
    require_permission(user, TAKE_PERMISSION, "change scope items")
    errors = []
    if item.kind != ScopeKind.TECH_DEBT or item.decision != ScopeDecision.DEFERRED:
        errors.append(("item", f"“{item.title}” is not a deferred tech-debt item."))
    if target.kind != ReleaseKind.MAINTENANCE:
        errors.append(
            (
                "release",
                f"{target.key} is a {target.get_kind_display().lower()} release; "
                "take backlog items into a maintenance release.",
            )
        )
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        locked_target = Release.objects.select_for_update().get(pk=target.pk)
        lifecycle.ensure_editable(locked_target)
        locked = ScopeItem.objects.select_for_update().select_related("release").get(pk=item.pk)
        if locked.decision != ScopeDecision.DEFERRED:
            raise IllegalTransition(f"“{locked.title}” was already taken from the backlog.")
        source = locked.release.key
        locked.release = locked_target
        locked.decision = ScopeDecision.INCLUDED
        locked.rationale = f"Taken from the maintenance backlog (deferred in {source})" + (
            f": {note.strip()}" if (note or "").strip() else "."
        )
        locked.save_with_reason(f"taken from {source}'s backlog into {target.key}", user=user)
    return locked
