"""Roll back or fix forward? The decision aid for an incident attributed to a release.

Each fact about the situation is a reason that favours one way (``data["favours"]``) with a
weight; the recommendation is the way with the larger total (a tie goes to rolling back when
the rollback plan works, since it restores a known state, else to fixing forward). A reason
*passes* when it supports the recommendation, so the page shows ✔ for the reasons behind it
and ✖ for those against it. The people deciding record their choice (``metrics.incidents``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from releasemgr.decisions import Reason
from releases.choices import DeploymentStatus, ReleaseState
from releases.models import Artifact, Deployment, MigrationPlan, Release
from releases.models.packaging import ArtifactKind
from releases.rollback_scope import rollback_scope

ROLLBACK = "rollback"
FIX_FORWARD = "fix_forward"
NEUTRAL = "neutral"
# How far a fix release is, best first.
FIX_STATES = (ReleaseState.APPROVED, ReleaseState.SUBMITTED, ReleaseState.DRAFT)
# Within this many hours of the deployment, little has been built on the new version.
FRESH_HOURS = 4
# After this many, rolling back undoes a day or more of data and follow-up work.
STALE_HOURS = 24


@dataclass
class RecoveryAdvice:
    incident: object
    release: Release | None
    recommendation: str | None = None
    reasons: list[Reason] = field(default_factory=list)
    scores: dict[str, int] = field(default_factory=dict)

    @property
    def summary(self) -> str:
        if self.recommendation is None:
            return "No release to roll back: the incident is not attributed to one."
        label = "Roll back" if self.recommendation == ROLLBACK else "Fix forward"
        return (
            f"{label} {self.release.key} (rollback {self.scores.get(ROLLBACK, 0)} vs "
            f"fix forward {self.scores.get(FIX_FORWARD, 0)})."
        )

    def as_dict(self) -> dict:
        return {
            "incident": self.incident.pk,
            "release": self.release.key if self.release else None,
            "recommendation": self.recommendation,
            "summary": self.summary,
            "scores": dict(self.scores),
            "reasons": [
                {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
                for r in self.reasons
            ],
        }


def _r(code: str, favours: str, weight: int, message: str, **data) -> tuple:
    return (code, favours, weight, message, data)


def _rollback_plan(release: Release, service) -> tuple:
    scope = rollback_scope(release)
    rows = [s for s in scope.services if s.service.pk == service.pk] or scope.services
    if not rows:
        return _r("rollback_plan", FIX_FORWARD, 2, f"{release.key} ships no services to roll back.")
    missing = [s for s in rows if not s.has_plan]
    if missing:
        names = ", ".join(s.service.name for s in missing)
        return _r(
            "rollback_plan",
            FIX_FORWARD,
            2,
            f"No rollback steps for {names}: a rollback would be improvised.",
            missing=[s.service.slug for s in missing],
        )
    over = [s for s in rows if not s.meets_sla]
    minutes = ", ".join(f"{s.service.name} {s.total_minutes} of {s.sla_minutes} min" for s in rows)
    if over:
        return _r(
            "rollback_plan",
            FIX_FORWARD,
            1,
            f"The rollback plan overruns the recovery SLA ({minutes}).",
            overruns=[s.service.slug for s in over],
        )
    return _r(
        "rollback_plan",
        ROLLBACK,
        2,
        f"The rollback plan restores the service within its recovery SLA ({minutes}).",
        services=[s.service.slug for s in rows],
    )


def _db_changes(release: Release) -> tuple:
    migrations = list(
        Artifact.objects.filter(release=release, kind=ArtifactKind.DB_MIGRATION)
        .prefetch_related("compensating_scripts")
        .order_by("name")
    )
    plans = list(
        MigrationPlan.objects.filter(scope_item__release=release).select_related("scope_item")
    )
    if not migrations and not plans:
        return _r("db_reversible", ROLLBACK, 1, f"{release.key} changes no database schema.")
    uncovered = [f"{a.name} {a.version}" for a in migrations if not a.compensating_scripts.all()]
    untested = [
        f"{a.name} {a.version}"
        for a in migrations
        if a.compensating_scripts.all() and not any(s.tested for s in a.compensating_scripts.all())
    ]
    breaking = [p.scope_item.title for p in plans if not p.backward_compatible]
    if uncovered:
        return _r(
            "db_reversible",
            FIX_FORWARD,
            3,
            f"DB migration {', '.join(uncovered)} has no compensating script: the data changes "
            "cannot be undone by a rollback.",
            uncovered=uncovered,
        )
    if breaking:
        return _r(
            "db_reversible",
            FIX_FORWARD,
            2,
            f"Migration {', '.join(breaking)} is not backward compatible: the old version does "
            "not run on the new schema without running the compensating scripts first.",
            not_backward_compatible=breaking,
        )
    if untested:
        return _r(
            "db_reversible",
            FIX_FORWARD,
            1,
            f"The compensating script of {', '.join(untested)} was never run against a copy "
            "of production data.",
            untested=untested,
        )
    return _r(
        "db_reversible",
        ROLLBACK,
        1,
        "Every DB change is backward compatible or has a tested compensating script.",
    )


def _time_since(release: Release, deployment: Deployment | None, now: datetime) -> tuple:
    deployment = deployment or (
        release.deployments.filter(environment__is_production=True, finished_at__isnull=False)
        .order_by("-finished_at", "-pk")
        .first()
    )
    if deployment is None:
        return _r(
            "time_since_deployment",
            NEUTRAL,
            0,
            f"{release.key} has no finished production deployment.",
        )
    hours = round((now - deployment.finished_at).total_seconds() / 3600, 1)
    if hours <= FRESH_HOURS:
        return _r(
            "time_since_deployment",
            ROLLBACK,
            1,
            f"Deployed to production {hours} h ago: little has been built on it yet.",
            hours=hours,
        )
    if hours >= STALE_HOURS:
        return _r(
            "time_since_deployment",
            FIX_FORWARD,
            1,
            f"Deployed to production {hours} h ago: a rollback undoes everything written since.",
            hours=hours,
        )
    return _r(
        "time_since_deployment", NEUTRAL, 0, f"Deployed to production {hours} h ago.", hours=hours
    )


def _later_deployments(release: Release, service, deployment: Deployment | None) -> tuple | None:
    if deployment is None or deployment.finished_at is None:
        return None
    later = (
        Deployment.objects.filter(
            environment__is_production=True,
            status=DeploymentStatus.SUCCEEDED,
            release__release_services__service=service,
            finished_at__gt=deployment.finished_at,
        )
        .exclude(release=release)
        .select_related("release")
        .order_by("finished_at")
        .first()
    )
    if later is None:
        return None
    return _r(
        "later_deployments",
        FIX_FORWARD,
        2,
        f"{later.release.key} was deployed to production after it: rolling back "
        f"{release.key} would undo it too.",
        release=later.release.key,
    )


def _fix_readiness(release: Release, service, user) -> tuple:
    candidates = list(
        Release.objects.filter(release_services__service=service, state__in=FIX_STATES)
        .exclude(pk=release.pk)
        .order_by("-created")
        .distinct()
    )
    if not candidates:
        return _r(
            "fix_readiness",
            ROLLBACK,
            2,
            f"No fix release for {service.name} is in the making (draft, submitted or approved).",
        )
    rank = {state: i for i, state in enumerate(FIX_STATES)}
    fix = min(candidates, key=lambda r: rank[r.state])
    if fix.state == ReleaseState.APPROVED:
        gate_note, weight = _gate_note(fix, user)
        return _r(
            "fix_readiness",
            FIX_FORWARD,
            weight,
            f"Fix release {fix.key} is approved{gate_note}",
            release=fix.key,
            state=fix.state,
        )
    if fix.state == ReleaseState.SUBMITTED:
        return _r(
            "fix_readiness",
            FIX_FORWARD,
            1,
            f"Fix release {fix.key} is submitted and waits for approval.",
            release=fix.key,
            state=fix.state,
        )
    return _r(
        "fix_readiness",
        ROLLBACK,
        1,
        f"Fix release {fix.key} is still a draft: it needs review and approval first.",
        release=fix.key,
        state=fix.state,
    )


def _gate_note(fix: Release, user) -> tuple[str, int]:
    """Would the production gate let the fix through now? (segregation is left out: it
    depends on who deploys, not on the fix)."""
    from releases import gate
    from scheduling.models import Environment

    production = Environment.objects.filter(is_production=True).order_by("order").first()
    if production is None or user is None:
        return ".", 2
    decision = gate.evaluate_release(fix, production, user)
    failed = [r for r in decision.failed if r.code != "segregation_of_duties"]
    if not failed:
        return " and the production gate would let it through now.", 3
    codes = ", ".join(sorted({r.code for r in failed}))
    return f"; the production gate would not let it through yet ({codes}).", 1


def _severity(incident) -> tuple:
    if incident.severity == "critical":
        return _r(
            "severity", ROLLBACK, 2, "Critical: restoring the service now comes before the fix."
        )
    if incident.severity == "high":
        return _r("severity", ROLLBACK, 1, "High severity: restoring the service quickly matters.")
    return _r(
        "severity",
        FIX_FORWARD,
        1,
        f"{incident.get_severity_display()} severity: there is time for a proper fix.",
    )


def advise(incident, user=None, now: datetime | None = None) -> RecoveryAdvice:
    """Lay out rollback vs fix forward for ``incident`` with the reasons and a recommendation."""
    now = now or timezone.now()
    release = incident.release
    advice = RecoveryAdvice(incident, release)
    if release is None:
        advice.reasons.append(
            Reason(
                "attribution",
                False,
                "The incident is not attributed to a release: there is nothing to roll back.",
            )
        )
        return advice
    deployment = incident.caused_by
    facts = [
        _rollback_plan(release, incident.service),
        _db_changes(release),
        _time_since(release, deployment, now),
        _later_deployments(release, incident.service, deployment),
        _fix_readiness(release, incident.service, user),
        _severity(incident),
    ]
    facts = [f for f in facts if f is not None]
    scores = {ROLLBACK: 0, FIX_FORWARD: 0}
    for _code, favours, weight, _message, _data in facts:
        if favours in scores:
            scores[favours] += weight
    plan_works = any(f[0] == "rollback_plan" and f[1] == ROLLBACK for f in facts)
    if scores[ROLLBACK] != scores[FIX_FORWARD]:
        recommendation = max(scores, key=scores.get)
    else:
        recommendation = ROLLBACK if plan_works else FIX_FORWARD
    advice.recommendation = recommendation
    advice.scores = scores
    for code, favours, weight, message, data in facts:
        advice.reasons.append(
            Reason(
                code,
                favours in (recommendation, NEUTRAL),
                message,
                {**data, "favours": favours, "weight": weight},
            )
        )
    return advice
