"""May this deploy right now? The deployment gate (DESIGN.md "The deployment gate").

``ask`` answers a pipeline's question about a service version; ``evaluate_release``
answers for a whole release and is what ``lifecycle.start_deployment`` re-checks
under the release's row lock. Every answer is stored as a ``GateDecision``.

Status: ``allowed`` when every check passes; ``waiting`` when every failed
check will clear without anyone changing the release (approval pending, a
freeze that ends at ``retry_after``); ``prevented`` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils import timezone

from governance import decision_log, sod
from governance.defects import check_open_defects
from governance.policy import approval_status
from releasemgr import observability, webhooks
from releasemgr.decisions import Decision, Reason
from releases.choices import DeploymentStatus, GateStatus, ReleaseState
from releases.dr import check_dr_validation
from releases.models import Deployment, GateDecision, Release, ReleaseService, Service
from releases.packaging import check_rollback_package
from releases.quality import check_quality_gates
from releases.rollback_scope import check_rollback_plan
from releases.rollout import check_smoke_tests
from scheduling.golive import check_regional_go_live
from scheduling.models import Environment
from scheduling.reservations import check_reservation
from scheduling.windows import check_windows

GATE_PASSING_STATES = (ReleaseState.APPROVED, ReleaseState.DEPLOYING)
# Which release a (service, version) question refers to, when several match.
_STATE_PREFERENCE = [
    ReleaseState.DEPLOYING,
    ReleaseState.APPROVED,
    ReleaseState.SUBMITTED,
    ReleaseState.DRAFT,
    ReleaseState.REJECTED,
    ReleaseState.DEPLOYED,
    ReleaseState.ROLLED_BACK,
    ReleaseState.CLOSED,
]


@dataclass
class GateResult:
    decision: Decision
    release: Release | None
    status: str
    retry_after: datetime | None
    record: GateDecision | None = None

    @property
    def allowed(self) -> bool:
        return self.status == GateStatus.ALLOWED

    @property
    def checks(self) -> list[dict]:
        return [
            {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
            for r in self.decision.reasons
        ]


def _fmt(moment: datetime) -> str:
    return timezone.localtime(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def check_approved(release: Release) -> Reason:
    if release.state in GATE_PASSING_STATES:
        status = approval_status(release)
        approvers = [u for r in status.reasons for u in r.data.get("approvers", [])]
        who = f" by {', '.join(approvers)}" if approvers else ""
        return Reason(
            "approved", True, f"{release.key} is approved{who}.", {"state": release.state}
        )
    if release.state == ReleaseState.SUBMITTED:
        pending = approval_status(release).messages()
        return Reason(
            "approved",
            False,
            f"{release.key} is waiting for approval: "
            + "; ".join(decision_log.clause(m) for m in pending)
            + ".",
            {"state": release.state},
            waits=True,
        )
    if release.state == ReleaseState.DEPLOYED:
        message = f"{release.key} is already deployed to production; ship changes in a new release."
    else:
        message = (
            f"{release.key} is {release.get_state_display().lower()}, not approved; "
            "it must be submitted and approved first."
        )
    return Reason("approved", False, message, {"state": release.state})


def check_promotion_order(release: Release, environment: Environment) -> Reason:
    previous = Environment.objects.filter(order__lt=environment.order).order_by("-order").first()
    if previous is None:
        return Reason(
            "promotion_order",
            True,
            f"{environment.name} is the first environment in the promotion order.",
        )
    done = Deployment.objects.filter(
        release=release, environment=previous, status=DeploymentStatus.SUCCEEDED
    ).exists()
    if done:
        return Reason(
            "promotion_order",
            True,
            f"{release.key} was deployed successfully to {previous.name} first.",
            {"previous": previous.slug},
        )
    return Reason(
        "promotion_order",
        False,
        f"{release.key} must be deployed successfully to {previous.name} before {environment.name}.",
        {"previous": previous.slug},
    )


def check_segregation(release: Release, environment: Environment, user) -> Reason:
    if not environment.is_production:
        return Reason(
            "segregation_of_duties",
            True,
            f"{environment.name} is not production; no separation needed.",
        )
    relations = sod.contributor_relations(release)
    if user is not None:
        refusal = sod.check(user, release, "deploy_production", relations)
        if not refusal.passed:
            return refusal
    bad = [a.approver.username for a in release.approvals.all() if a.approver_id in relations]
    if bad:
        return Reason(
            "segregation_of_duties",
            False,
            f"Approvals by contributors do not count: {', '.join(bad)}.",
            {"approvers": bad},
        )
    who = user.username if user is not None else "The deployer"
    return Reason(
        "segregation_of_duties",
        True,
        f"{who} did not author or contribute to {release.key}.",
    )


def check_running(release: Release) -> Reason:
    running = (
        Deployment.objects.filter(release=release, status=DeploymentStatus.RUNNING)
        .select_related("environment")
        .first()
    )
    if running is None:
        return Reason("deployment_in_progress", True, f"No deployment of {release.key} is running.")
    return Reason(
        "deployment_in_progress",
        False,
        f"Deployment #{running.pk} of {release.key} to {running.environment.name} is still running.",
        {"deployment": running.pk},
        waits=True,
    )


def evaluate_release(
    release: Release,
    environment: Environment,
    user,
    at: datetime | None = None,
    region=None,
    override_reason: str = "",
) -> Decision:
    at = at or timezone.now()
    services = [rs.service for rs in release.release_services.select_related("service")]
    decision = Decision()
    decision.add(
        Reason(
            "release_found",
            True,
            f"{release.key} '{release.name}' ({release.get_state_display()}).",
            {"release": release.key},
        )
    )
    decision.add(check_approved(release))
    for reason in check_windows(release, services, environment, region, at, override_reason):
        decision.add(reason)
    decision.add(check_regional_go_live(release, region, at))
    decision.add(check_promotion_order(release, environment))
    decision.add(check_reservation(release, environment, at))
    decision.add(check_quality_gates(release, environment))
    decision.add(check_smoke_tests(release, environment))
    decision.add(check_open_defects(release, at))
    decision.add(check_rollback_package(release, environment))
    decision.add(check_rollback_plan(release, environment))
    decision.add(check_dr_validation(release, environment, at))
    decision.add(check_segregation(release, environment, user))
    decision.add(check_running(release))
    return decision


def outcome(decision: Decision) -> tuple[str, datetime | None]:
    failed = decision.failed
    if not failed:
        return GateStatus.ALLOWED, None
    if all(r.waits for r in failed):
        times = [r.retry_after for r in failed]
        retry = max(times) if all(times) else None
        return GateStatus.WAITING, retry
    return GateStatus.PREVENTED, None


def find_release(service: Service, version: str) -> Release | None:
    candidates = list(
        Release.objects.filter(
            pk__in=ReleaseService.objects.filter(service=service, version=version).values(
                "release_id"
            )
        ).exclude(state=ReleaseState.CANCELLED)
    )
    if not candidates:
        return None
    candidates.sort(key=lambda r: (_STATE_PREFERENCE.index(r.state), -r.pk))
    return candidates[0]


def record(
    result: GateResult,
    *,
    user,
    environment: Environment,
    service: Service | None = None,
    version: str = "",
    region=None,
    purpose: str = "query",
) -> GateDecision:
    result.record = GateDecision.objects.create(
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        service_slug=service.slug if service else "",
        version=version,
        environment_slug=environment.slug,
        region=getattr(region, "code", region or ""),
        release=result.release,
        status=result.status,
        allowed=result.allowed,
        checks=result.checks,
        retry_after=result.retry_after,
        purpose=purpose,
    )
    observability.gate_answered(result.status)
    decision_log.record_gate_answer(
        result, user=user, environment=environment, service=service, version=version, region=region
    )
    sod.record_gate_refusal(result, user)
    webhooks.emit(
        webhooks.GATE_ANSWERED,
        webhooks.gate_payload(
            result, environment=environment, service=service, version=version, region=region
        ),
    )
    return result.record


def ask(
    service: Service,
    version: str,
    environment: Environment,
    user,
    region=None,
    at: datetime | None = None,
    override_reason: str = "",
) -> GateResult:
    """Answer a pipeline: may ``service`` at ``version`` go to ``environment`` now? Recorded."""
    at = at or timezone.now()
    release = find_release(service, version)
    if release is None:
        decision = Decision()
        decision.add(
            Reason(
                "release_found",
                False,
                f"No release ships {service.slug} {version}; create and approve one first.",
                {"service": service.slug, "version": version},
            )
        )
        for reason in check_windows(None, [service], environment, region, at, override_reason):
            decision.add(reason)
    else:
        decision = evaluate_release(release, environment, user, at, region, override_reason)
    status, retry_after = outcome(decision)
    result = GateResult(decision, release, status, retry_after)
    record(
        result, user=user, environment=environment, service=service, version=version, region=region
    )
    return result
