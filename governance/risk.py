"""How risky is this release? A score from named factors, each with its weight and value (7.5, 7.1).

Every factor has a weight (the points it adds at full value) and a value from 0 to 1
read from the release: its blast radius over the dependency graph, customer-facing
services, schema migrations, the rollback plan, the ITIL change type, the planned
deployment strategy, how close it ships to a freeze, its open defects and the owning
teams' recent production success rate. The score is the sum of the points (weights
add up to 100); the band comes from the thresholds in ``RiskConfig``.

``assess`` answers for one release, ``assess_many`` for a page of them with the same
fixed number of queries (shared data is loaded once). ``record_assessment`` keeps a
snapshot per submission. The policy, the CAB agenda and the release page all call these.
"""

from __future__ import annotations

import math
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from governance.choices import BAND_ORDER, DecisionKind, DefectSeverity, DefectStatus, RiskBand
from governance.models import RiskAssessment, RiskConfig
from releasemgr.decisions import NotPermitted, Reason
from releases.choices import (
    ChangeType,
    DeploymentStatus,
    DeploymentStrategy,
    ScopeDecision,
    ScopeKind,
)

# Factor code → label, in the order they are shown.
FACTOR_LABELS: dict[str, str] = {
    "blast_radius": "Blast radius",
    "customer_facing": "Customer-facing services",
    "schema_migration": "Schema migration",
    "rollback": "Rollback readiness",
    "change_type": "Change type",
    "deployment_strategy": "Deployment strategy",
    "freeze_proximity": "Closeness to a freeze",
    "open_defects": "Open defects",
    "team_success_rate": "Team's recent change failures",
}
FACTORS = list(FACTOR_LABELS)

# Points each factor adds at full value; they add up to 100.
DEFAULT_WEIGHTS: dict[str, int] = {
    "blast_radius": 15,
    "customer_facing": 10,
    "schema_migration": 10,
    "rollback": 15,
    "change_type": 10,
    "deployment_strategy": 5,
    "freeze_proximity": 10,
    "open_defects": 15,
    "team_success_rate": 10,
}
WEIGHT_TOTAL = 100

CHANGE_TYPE_VALUES = {ChangeType.EMERGENCY: 1.0, ChangeType.NORMAL: 0.4, ChangeType.STANDARD: 0.0}
STRATEGY_VALUES = {
    DeploymentStrategy.RECREATE: 1.0,
    DeploymentStrategy.ROLLING: 0.5,
    DeploymentStrategy.BLUE_GREEN: 0.25,
    DeploymentStrategy.CANARY: 0.1,
}
DEFECT_VALUES = {
    DefectSeverity.CRITICAL: 1.0,
    DefectSeverity.HIGH: 0.7,
    DefectSeverity.MEDIUM: 0.3,
    DefectSeverity.LOW: 0.0,
}
# Services in the blast radius (changed + dependents) at which the factor is full.
BLAST_RADIUS_FULL = 5
# A freeze closer than this counts fully; the factor fades to 0 at FREEZE_FAR.
FREEZE_NEAR = timedelta(hours=24)
FREEZE_FAR = timedelta(days=7)
SUCCESS_RATE_PERIOD = timedelta(days=90)
# Finished production deployments that count towards the success rate.
COUNTED_STATUSES = (
    DeploymentStatus.SUCCEEDED,
    DeploymentStatus.FAILED,
    DeploymentStatus.ROLLED_BACK,
    DeploymentStatus.HALTED,
    DeploymentStatus.PARTIALLY_FAILED,
)


@dataclass(frozen=True)
class Factor:
    """One named contribution to the score."""

    code: str
    label: str
    weight: int
    value: float  # 0..1
    explanation: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def points(self) -> int:
        # Half up (2.5 → 3), as people round; Python's round() would give 2.
        return math.floor(self.weight * self.value + 0.5)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "weight": self.weight,
            "value": self.value,
            "points": self.points,
            "explanation": self.explanation,
        }

    def reason(self) -> Reason:
        return Reason(
            f"risk_{self.code}",
            self.points == 0,
            f"{self.label}: {self.explanation} ({self.points} of {self.weight} points)",
            {"weight": self.weight, "value": self.value, "points": self.points, **self.data},
        )


@dataclass
class RiskResult:
    """A release's score, band and the factors behind it."""

    score: int
    band: str
    factors: list[Factor]
    thresholds: dict[str, int]

    @property
    def reasons(self) -> list[Reason]:
        return [f.reason() for f in self.factors]

    @property
    def band_label(self) -> str:
        return RiskBand(self.band).label

    def as_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "band": self.band,
            "thresholds": self.thresholds,
            "factors": [f.as_dict() for f in self.factors],
        }


# --- configuration ---------------------------------------------------------------------------


def effective_weights(config: RiskConfig) -> dict[str, int]:
    """The default weights, overridden by the configuration's (unknown codes ignored)."""
    weights = dict(DEFAULT_WEIGHTS)
    for code, weight in (config.weights or {}).items():
        if code in weights and isinstance(weight, int) and not isinstance(weight, bool):
            weights[code] = weight
    return weights


def thresholds(config: RiskConfig) -> dict[str, int]:
    return {
        RiskBand.MEDIUM.value: config.medium_from,
        RiskBand.HIGH.value: config.high_from,
        RiskBand.CRITICAL.value: config.critical_from,
    }


def band_for(score: int, config: RiskConfig | None = None) -> str:
    """The band a score falls in: each band starts at its threshold (inclusive)."""
    config = config or RiskConfig.current()
    if score >= config.critical_from:
        return RiskBand.CRITICAL.value
    if score >= config.high_from:
        return RiskBand.HIGH.value
    if score >= config.medium_from:
        return RiskBand.MEDIUM.value
    return RiskBand.LOW.value


def band_at_least(band: str, minimum: str) -> bool:
    """Is ``band`` as high as ``minimum`` or higher? ("at least high": high or critical)."""
    return BAND_ORDER.index(RiskBand(band)) >= BAND_ORDER.index(RiskBand(minimum))


def validate_config(weights: Any, medium_from: Any, high_from: Any, critical_from: Any) -> None:
    """Refuse a configuration that would score nonsense; errors keyed by field."""
    errors: dict[str, list[str]] = defaultdict(list)
    if not isinstance(weights, dict):
        errors["weights"].append("Weights must map factor codes to whole numbers.")
    else:
        unknown = sorted(set(weights) - set(FACTORS))
        if unknown:
            errors["weights"].append(
                f"Unknown factor(s): {', '.join(unknown)}. Known: {', '.join(FACTORS)}."
            )
        bad = sorted(
            code
            for code, w in weights.items()
            if code in FACTOR_LABELS
            and (not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= WEIGHT_TOTAL)
        )
        if bad:
            errors["weights"].append(
                f"Weights must be whole numbers from 0 to {WEIGHT_TOTAL} ({', '.join(bad)})."
            )
        if not unknown and not bad:
            total = sum({**DEFAULT_WEIGHTS, **weights}.values())
            if total != WEIGHT_TOTAL:
                errors["weights"].append(
                    f"Weights must add up to {WEIGHT_TOTAL} points (they add up to {total})."
                )
    values = {"medium_from": medium_from, "high_from": high_from, "critical_from": critical_from}
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= WEIGHT_TOTAL:
            errors[name].append(f"A threshold is a whole number from 1 to {WEIGHT_TOTAL}.")
    if not errors and not (medium_from < high_from < critical_from):
        errors["high_from"].append(
            "Band thresholds must rise: medium < high < critical "
            f"(got {medium_from}, {high_from}, {critical_from})."
        )
    if errors:
        raise ValidationError(dict(errors))


def update_config(
    user, *, weights: dict, medium_from: int, high_from: int, critical_from: int, reason: str = ""
) -> RiskConfig:
    """Change the weights and thresholds (compliance officers); kept in history and the log.

    Raises ``NotPermitted`` without ``governance.change_riskconfig`` and
    ``ValidationError`` (nothing written) for a bad configuration.
    """
    from governance import decision_log

    if not user.has_perm("governance.change_riskconfig"):
        raise NotPermitted(f"{user.username} may not change the risk configuration.")
    validate_config(weights, medium_from, high_from, critical_from)
    with transaction.atomic():
        config = RiskConfig.current()
        config = RiskConfig.objects.select_for_update().get(pk=config.pk)
        before = {"weights": effective_weights(config), **thresholds(config)}
        config.weights = {**DEFAULT_WEIGHTS, **weights}
        config.medium_from, config.high_from, config.critical_from = (
            medium_from,
            high_from,
            critical_from,
        )
        config.full_clean()
        config.save_with_reason(reason or "Risk configuration changed", user=user)
        after = {"weights": effective_weights(config), **thresholds(config)}
        decision_log.append(
            kind=DecisionKind.POLICY_CHANGE,
            outcome="changed",
            summary=f"{user.username} changed the risk configuration"
            + (f": {reason}" if reason else "."),
            actor=user,
            subject=f"riskconfig:{config.pk}",
            data={"before": before, "after": after},
        )
    return config


# --- the factors -----------------------------------------------------------------------------


@dataclass
class _Shared:
    """What every release of a page needs, loaded once."""

    now: datetime
    dependents: dict[int, list[int]]
    services: dict[int, Any]  # service id → Service (changed and affected ones)
    windows: list  # blocking FreezeWindows with prefetched scopes
    team_deployments: dict[int, dict[int, str]]  # team id → {deployment id: status}
    scoped: bool = False  # the windows were already narrowed to the (single) release's scope


def _reachable(changed: list[int], dependents: dict[int, list[int]]) -> set[int]:
    """Services depending on ``changed`` directly or through others (cycles visited once)."""
    seen = set(changed)
    queue = deque(changed)
    while queue:
        for other in dependents.get(queue.popleft(), ()):
            if other not in seen:
                seen.add(other)
                queue.append(other)
    return seen - set(changed)


def _load(releases: list, now: datetime) -> _Shared:
    from releases.models import Deployment, Service, ServiceDependency
    from scheduling.choices import BLOCKING_KINDS
    from scheduling.windows import Scope, candidate_windows

    dependents: dict[int, list[int]] = defaultdict(list)
    for service_id, depends_on_id in ServiceDependency.objects.values_list(
        "service_id", "depends_on_id"
    ):
        dependents[depends_on_id].append(service_id)
    reached: set[int] = set()
    teams: set[int] = set()
    starts, ends = [], []
    for release in releases:
        changed = [rs.service_id for rs in release.release_services.all()]
        reached.update(changed, _reachable(changed, dependents))
        teams.update(rs.service.team_id for rs in release.release_services.all())
        if release.planned_start:
            starts.append(release.planned_start)
            ends.append(release.planned_end or release.planned_start)
    services = Service.objects.in_bulk(reached) if reached else {}
    windows = []
    scoped = len(releases) == 1
    if starts and scoped:
        # One release: the database picks the windows in its scope (no scope prefetches).
        only = releases[0]
        scope = Scope.of([rs.service for rs in only.release_services.all()], None)
        windows = list(
            candidate_windows(
                starts[0] - FREEZE_FAR, ends[0] + FREEZE_FAR, BLOCKING_KINDS, scope, prefetch=()
            )
        )
    elif starts:
        windows = list(
            candidate_windows(min(starts) - FREEZE_FAR, max(ends) + FREEZE_FAR, BLOCKING_KINDS)
        )
    team_deployments: dict[int, dict[int, str]] = defaultdict(dict)
    if teams:
        rows = (
            Deployment.objects.filter(
                environment__is_production=True,
                status__in=COUNTED_STATUSES,
                finished_at__gte=now - SUCCESS_RATE_PERIOD,
                finished_at__lte=now,
                release__release_services__service__team_id__in=teams,
            )
            .values_list("pk", "status", "release__release_services__service__team_id")
            .distinct()
        )
        for pk, status, team_id in rows:
            team_deployments[team_id][pk] = status
    return _Shared(now, dependents, services, windows, team_deployments, scoped)


def _blast_radius(release, shared: _Shared, weight: int) -> Factor:
    changed = [rs.service_id for rs in release.release_services.all()]
    code, label = "blast_radius", FACTOR_LABELS["blast_radius"]
    if not changed:
        return Factor(
            code, label, weight, 0.5, "The release names no services yet, so its impact is unknown."
        )
    affected = _reachable(changed, shared.dependents)
    total = len(changed) + len(affected)
    value = min(1.0, (total - 1) / (BLAST_RADIUS_FULL - 1))
    if total == 1:
        explanation = "A single application: one service changes and nothing depends on it."
    else:
        explanation = (
            f"Multi-system: {len(changed)} changed service(s) and {len(affected)} dependent(s) "
            f"({total} in the blast radius; {BLAST_RADIUS_FULL} or more counts fully)."
        )
    return Factor(
        code,
        label,
        weight,
        round(value, 2),
        explanation,
        {"changed": len(changed), "affected": len(affected)},
    )


def _customer_facing(release, shared: _Shared, weight: int) -> Factor:
    changed = [rs.service_id for rs in release.release_services.all()]
    ids = set(changed) | _reachable(changed, shared.dependents)
    names = sorted(
        shared.services[pk].name
        for pk in ids
        if pk in shared.services and shared.services[pk].customer_facing
    )
    code, label = "customer_facing", FACTOR_LABELS["customer_facing"]
    if names:
        return Factor(
            code,
            label,
            weight,
            1.0,
            f"Customers use {', '.join(names)} (shipped or in the blast radius).",
            {"services": names},
        )
    return Factor(code, label, weight, 0.0, "No customer-facing service is shipped or affected.")


def _schema_migration(release, weight: int) -> Factor:
    items = [
        item.title
        for item in release.scope_items.all()
        if item.kind == ScopeKind.SCHEMA_MIGRATION and item.decision == ScopeDecision.INCLUDED
    ]
    code, label = "schema_migration", FACTOR_LABELS["schema_migration"]
    declared = "schema" in (release.touches or [])
    if items:
        return Factor(
            code,
            label,
            weight,
            1.0,
            f"Includes {len(items)} schema migration(s): {', '.join(sorted(items))}.",
            {"items": sorted(items)},
        )
    if declared:
        return Factor(code, label, weight, 1.0, "The release says it touches the database schema.")
    return Factor(code, label, weight, 0.0, "No schema migration is included.")


def _rollback(release, weight: int) -> Factor:
    code, label = "rollback", FACTOR_LABELS["rollback"]
    if not (release.rollback_plan or "").strip():
        return Factor(code, label, weight, 1.0, "There is no rollback plan.")
    if not release.rollback_tested:
        return Factor(code, label, weight, 0.5, "A rollback plan exists but was not rehearsed.")
    return Factor(code, label, weight, 0.0, "The rollback plan was rehearsed.")


def _change_type(release, weight: int) -> Factor:
    value = CHANGE_TYPE_VALUES.get(release.change_type, 0.4)
    explanation = {
        ChangeType.EMERGENCY: "An emergency change skips the normal assessment.",
        ChangeType.NORMAL: "A normal change is assessed and approved case by case.",
        ChangeType.STANDARD: "A standard change follows a pre-approved procedure.",
    }.get(release.change_type, "Unknown change type, scored as normal.")
    return Factor("change_type", FACTOR_LABELS["change_type"], weight, value, explanation)


def _deployment_strategy(release, weight: int) -> Factor:
    value = STRATEGY_VALUES.get(release.planned_strategy, 0.5)
    explanation = {
        DeploymentStrategy.RECREATE: "Recreate stops everything before starting the new version.",
        DeploymentStrategy.ROLLING: "Rolling replaces nodes in turn; users see both versions.",
        DeploymentStrategy.BLUE_GREEN: "Blue-green switches traffic and can switch back at once.",
        DeploymentStrategy.CANARY: "Canary exposes a small share of traffic first.",
    }.get(release.planned_strategy, "Unknown strategy, scored as rolling.")
    return Factor(
        "deployment_strategy", FACTOR_LABELS["deployment_strategy"], weight, value, explanation
    )


def _freeze_proximity(release, shared: _Shared, weight: int) -> Factor:
    from scheduling.windows import Scope, in_scope, occurrences

    code, label = "freeze_proximity", FACTOR_LABELS["freeze_proximity"]
    if not release.planned_start:
        return Factor(code, label, weight, 0.0, "No planned start yet, so no freeze is near.")
    start = release.planned_start
    end = max(release.planned_end or start, start)
    scope = Scope.of([rs.service for rs in release.release_services.all()], None)
    nearest = None  # (gap, window name)
    for window in shared.windows:
        # As freeze_exceptions: a window allowing this change type does not stop it.
        if release.change_type in (window.allowed_change_types or []):
            continue
        if not shared.scoped and not in_scope(window, scope):
            continue
        for occ in occurrences(window, start - FREEZE_FAR, end + FREEZE_FAR):
            if occ.start <= end and occ.end > start:
                gap = timedelta(0)
            else:
                gap = occ.start - end if occ.start > end else start - occ.end
            if nearest is None or gap < nearest[0]:
                nearest = (gap, window.name)
    if nearest is None:
        return Factor(code, label, weight, 0.0, "No freeze or blackout within 7 days of the plan.")
    gap, name = nearest
    if gap == timedelta(0):
        return Factor(
            code, label, weight, 1.0, f"Planned inside '{name}'.", {"window": name, "hours": 0}
        )
    hours = round(gap.total_seconds() / 3600, 1)
    # Full under a day away, fading linearly to nothing at a week.
    value = 1.0 if gap < FREEZE_NEAR else 1 - (gap - FREEZE_NEAR) / (FREEZE_FAR - FREEZE_NEAR)
    return Factor(
        code,
        label,
        weight,
        round(max(0.0, value), 2),
        f"'{name}' is {hours} h from the planned deployment (under 24 h counts fully, "
        "7 days not at all).",
        {"window": name, "hours": hours},
    )


def _open_defects(release, weight: int) -> Factor:
    open_defects = [d for d in release.defects.all() if d.status == DefectStatus.OPEN]
    code, label = "open_defects", FACTOR_LABELS["open_defects"]
    if not open_defects:
        return Factor(code, label, weight, 0.0, "No open defects.")
    worst = max(open_defects, key=lambda d: DEFECT_VALUES.get(d.severity, 0))
    counts: dict[str, int] = defaultdict(int)
    for defect in open_defects:
        counts[defect.get_severity_display().lower()] += 1
    summary = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items()))
    return Factor(
        code,
        label,
        weight,
        DEFECT_VALUES.get(worst.severity, 0.0),
        f"Open defects: {summary}; the worst is {worst.get_severity_display().lower()}.",
        {"open": len(open_defects), "worst": worst.severity},
    )


def _team_success_rate(release, shared: _Shared, weight: int) -> Factor:
    code, label = "team_success_rate", FACTOR_LABELS["team_success_rate"]
    teams = {rs.service.team_id for rs in release.release_services.all()}
    names = sorted({rs.service.team.name for rs in release.release_services.all()})
    if not teams:
        return Factor(code, label, weight, 0.5, "No owning team yet; no history to go by.")
    deployments: dict[int, str] = {}
    for team_id in teams:
        deployments.update(shared.team_deployments.get(team_id, {}))
    if not deployments:
        return Factor(
            code,
            label,
            weight,
            0.5,
            f"{', '.join(names)} made no production deployment in the last 90 days; "
            "without history the factor counts half.",
        )
    succeeded = sum(1 for s in deployments.values() if s == DeploymentStatus.SUCCEEDED)
    rate = succeeded / len(deployments)
    return Factor(
        code,
        label,
        weight,
        round(1 - rate, 2),
        f"{', '.join(names)}: {succeeded} of {len(deployments)} production deployments "
        f"succeeded in the last 90 days ({rate:.0%}).",
        {"deployments": len(deployments), "succeeded": succeeded},
    )


# --- assessing -------------------------------------------------------------------------------

PREFETCH = ("release_services__service__team", "scope_items", "defects")


def assess_many(
    releases: Iterable, config: RiskConfig | None = None, now: datetime | None = None
) -> dict[int, RiskResult]:
    """Assess several releases with a fixed number of queries; release pk → result.

    Services, scope items and defects are prefetched onto the instances given (what the
    caller already prefetched is reused), so re-read a release after changing those.
    """
    releases = list(releases)
    if not releases:
        return {}
    config = config or RiskConfig.current()
    now = now or timezone.now()
    # Skips what the caller already prefetched.
    prefetch_related_objects(releases, *PREFETCH)
    shared = _load(releases, now)
    weights = effective_weights(config)
    results = {}
    for release in releases:
        factors = [
            _blast_radius(release, shared, weights["blast_radius"]),
            _customer_facing(release, shared, weights["customer_facing"]),
            _schema_migration(release, weights["schema_migration"]),
            _rollback(release, weights["rollback"]),
            _change_type(release, weights["change_type"]),
            _deployment_strategy(release, weights["deployment_strategy"]),
            _freeze_proximity(release, shared, weights["freeze_proximity"]),
            _open_defects(release, weights["open_defects"]),
            _team_success_rate(release, shared, weights["team_success_rate"]),
        ]
        score = max(0, min(WEIGHT_TOTAL, sum(f.points for f in factors)))
        results[release.pk] = RiskResult(
            score, band_for(score, config), factors, thresholds(config)
        )
    return results


def assess(release, config: RiskConfig | None = None, now: datetime | None = None) -> RiskResult:
    """Score ``release`` now: each factor with its weight, value, points and explanation."""
    return assess_many([release], config, now)[release.pk]


def record_assessment(release, user) -> RiskAssessment:
    """Keep a snapshot of the release's risk for its current approval round."""
    result = assess(release)
    assessment = RiskAssessment(
        release=release,
        round=release.approval_round,
        score=result.score,
        band=result.band,
        factors=[f.as_dict() for f in result.factors],
        assessed_by=user if getattr(user, "is_authenticated", False) else None,
    )
    assessment.save_with_reason(
        f"Risk assessed at submission {release.approval_round}: {result.band} ({result.score})",
        user=user,
    )
    return assessment
