"""The release and deployment state machines: the one door through which state changes.

Every function here runs in a transaction with the release row locked
(``select_for_update``), so two concurrent requests cannot both move the same
release. Illegal moves raise ``IllegalTransition`` (HTTP 409) with the reason;
acts forbidden to this person raise ``NotPermitted`` (HTTP 403).

    draft ──submit──▶ submitted ──approve──▶ approved ──deploy──▶ deploying
      ▲  ◀─withdraw──┘    │                                        │
      └──reopen── rejected◀┘reject                   prod succeeded ▼
                                                deployed ──close──▶ closed
    draft/submitted/approved/rejected ──cancel──▶ cancelled
    deploying/deployed ──prod rolled back──▶ rolled_back ──close──▶ closed
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import change_types, decision_log, policy, risk, sod
from governance.choices import DecisionKind
from governance.models import Approval, ApprovalDecision
from releasemgr import webhooks
from releasemgr.decisions import (
    DomainError,
    IllegalTransition,
    NotPermitted,
    Reason,
    require_permission,
)
from releasemgr.redaction import redact
from releases import gate, rollout
from releases import strategy as release_strategy
from releases.choices import ChangeType, DeploymentStatus, EventStatus, EventType, ReleaseState
from releases.models import Deployment, DeploymentEvent, Release
from scheduling.models import Environment

S = ReleaseState


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]
    target: str
    permission: str | None
    label: str


TRANSITIONS: dict[str, Transition] = {
    t.name: t
    for t in [
        Transition(
            "submit", (S.DRAFT,), S.SUBMITTED, "releases.submit_release", "Submit for approval"
        ),
        Transition("withdraw", (S.SUBMITTED,), S.DRAFT, "releases.submit_release", "Withdraw"),
        Transition("approve", (S.SUBMITTED,), S.APPROVED, "governance.approve_release", "Approve"),
        Transition("reject", (S.SUBMITTED,), S.REJECTED, "governance.approve_release", "Reject"),
        Transition("reopen", (S.REJECTED,), S.DRAFT, "releases.change_release", "Reopen as draft"),
        Transition(
            "cancel",
            (S.DRAFT, S.SUBMITTED, S.APPROVED, S.REJECTED),
            S.CANCELLED,
            "releases.cancel_release",
            "Cancel",
        ),
        Transition(
            "close", (S.DEPLOYED, S.ROLLED_BACK), S.CLOSED, "releases.close_release", "Close"
        ),
        # Driven by deployments, not by a button.
        Transition(
            "start_deployment",
            (S.APPROVED, S.DEPLOYING),
            S.DEPLOYING,
            "releases.deploy_release",
            "Deploy",
        ),
        Transition("production_succeeded", (S.DEPLOYING,), S.DEPLOYED, None, "Deployed"),
        Transition(
            "production_rolled_back", (S.DEPLOYING, S.DEPLOYED), S.ROLLED_BACK, None, "Rolled back"
        ),
    ]
}
USER_ACTIONS = ("submit", "withdraw", "approve", "reject", "reopen", "cancel", "close")


class AlreadyApproved(DomainError):
    """The person's approval of this round is already recorded (409: nothing to do)."""

    code = "already_approved"


def _lock(release: Release) -> Release:
    return Release.objects.select_for_update().get(pk=release.pk)


def _move(release: Release, transition: Transition, user, comment: str = "") -> None:
    if release.state not in transition.sources:
        allowed = ", ".join(transition.sources)
        raise IllegalTransition(
            f"Cannot {transition.name.replace('_', ' ')} {release.key}: it is "
            f"{release.state}, and this is only possible from {allowed}.",
            [
                Reason(
                    "state",
                    False,
                    f"{release.key} is {release.state}.",
                    {"state": release.state, "allowed_from": list(transition.sources)},
                )
            ],
        )
    previous = release.state
    release.state = transition.target
    reason = f"{transition.name}: {previous} → {transition.target}"
    if comment:
        reason += f" — {comment}"
    release.save_with_reason(reason[:100], user=user)
    webhooks.emit(
        webhooks.RELEASE_STATE_CHANGED,
        webhooks.release_payload(release, previous, transition.name, user, comment),
    )


def available_actions(release: Release, user) -> list[Transition]:
    """The buttons to show this user on this release (the lifecycle still re-checks)."""
    out = []
    for name in USER_ACTIONS:
        t = TRANSITIONS[name]
        if release.state in t.sources and (t.permission is None or user.has_perm(t.permission)):
            out.append(t)
    return out


def transition(release: Release, action: str, user, comment: str = "") -> Release:
    """Apply a user action (submit, withdraw, approve, reject, reopen, cancel, close)."""
    if action not in USER_ACTIONS:
        raise IllegalTransition(f"Unknown action '{action}'.")
    handler = {"approve": approve, "reject": reject, "submit": submit}.get(action)
    if handler:
        return handler(release, user, comment)
    t = TRANSITIONS[action]
    require_permission(user, t.permission, f"{action} releases")
    with transaction.atomic():
        locked = _lock(release)
        if action == "close" and locked.state in t.sources:
            from metrics.integrity import require_passed_for_close

            require_passed_for_close(locked)  # data integrity checks must have passed (6.3)
        _move(locked, t, user, comment)
    return locked


def submit(release: Release, user, comment: str = "") -> Release:
    t = TRANSITIONS["submit"]
    require_permission(user, t.permission, "submit releases")
    with transaction.atomic():
        locked = _lock(release)
        if locked.state in t.sources and not locked.release_services.exists():
            raise IllegalTransition(
                f"{locked.key} ships no services; add at least one service and version first.",
                [Reason("services", False, "No services in the release.")],
            )
        standard = locked.state in t.sources and locked.change_type == ChangeType.STANDARD
        if standard:
            fit = change_types.standard_change_fit(locked)
            if not fit.allowed:
                raise IllegalTransition(
                    f"{locked.key} cannot go ahead as a standard change: "
                    + " ".join(fit.messages()),
                    fit.failed,
                )
        # Bumped before the move so the submission is one save and one history row.
        locked.approval_round += 1
        _move(locked, t, user, comment)
        risk.record_assessment(locked, user)
        policy.freeze_requirements(locked, user)
        if standard:
            _preapprove_standard(locked, user, fit)
    return locked


def _preapprove_standard(release: Release, user, fit) -> None:
    """A standard change that fits its change model is approved by the model, not the CAB."""
    model = release.change_model
    _move(
        release,
        TRANSITIONS["approve"],
        user,
        f"standard change '{model.name}' is pre-approved",
    )
    decision_log.append(
        kind=DecisionKind.STANDARD_CHANGE,
        outcome="approved",
        summary=f"{release.key} follows the pre-approved standard change '{model.name}' "
        f"(approved by {model.approved_by.username if model.approved_by else 'the CAB'}); "
        "no CAB approval needed.",
        actor=user,
        release=release,
        subject=f"change-model:{model.slug}",
        reasons=fit.reasons,
        data={"change_model": model.slug, "round": release.approval_round},
    )


def _decide(
    release: Release,
    user,
    comment: str,
    decision: str,
    *,
    conditions: str = "",
    agenda_item=None,
) -> Release:
    approving = decision == ApprovalDecision.APPROVED
    t = TRANSITIONS["approve" if approving else "reject"]
    require_permission(user, t.permission, f"{t.name} releases")
    try:
        with transaction.atomic():
            locked = _lock(release)
            if locked.state not in t.sources:
                _move(locked, t, user, comment)  # raises IllegalTransition with the reason
            verdict = policy.may_decide(user, locked, t.name)
            twice = [r for r in verdict.failed if r.code == "already_approved"]
            if approving and twice:
                # Not a question of who may: the approval is already there (409, not 403).
                raise AlreadyApproved(twice[0].message, twice)
            if not verdict.allowed:
                raise NotPermitted(" ".join(verdict.messages()), verdict.failed)
            role = verdict.reasons[0].data["roles"][0]
            approval = Approval(
                release=locked,
                approver=user,
                decision=decision,
                comment=comment,
                role=role,
                round=locked.approval_round,
                conditions=conditions,
                agenda_item=agenda_item,
            )
            approval.save_with_reason(f"{decision} {locked.key}", user=user)
            status = policy.approval_status(locked)
            if not approving or status.allowed:
                _move(locked, t, user, comment)
            decision_log.append(
                kind=DecisionKind.APPROVAL if approving else DecisionKind.REJECTION,
                outcome=decision,
                summary=_decision_summary(locked, user, role, decision, conditions, status),
                actor=user,
                release=locked,
                subject=f"approval:{approval.pk}",
                reasons=verdict.reasons + status.reasons,
                data={
                    "round": locked.approval_round,
                    "role": role,
                    "comment": comment,
                    "conditions": conditions,
                    "agenda_item": agenda_item.pk if agenda_item is not None else None,
                    "state": locked.state,
                },
            )
            if (
                approving
                and locked.state == S.APPROVED
                and locked.change_type == ChangeType.EMERGENCY
            ):
                change_types.open_retrospective(locked, user)
    except NotPermitted as exc:
        # Kept even though the request rolled back: every segregation refusal is on record.
        refusal = next((r for r in exc.reasons if r.code == sod.CODE), None)
        if refusal is not None:
            sod.refuse(user, release, t.name, refusal)
        raise
    return locked


def _decision_summary(release, user, role, decision, conditions, status) -> str:
    text = f"{user.username} ({role}) {decision} {release.key} in round {release.approval_round}"
    if conditions:
        text += f" with conditions: {decision_log.clause(conditions)}"
    if release.state == S.SUBMITTED:
        return (
            text
            + ". Still needed: "
            + " ".join(decision_log.sentence(m) for m in status.messages())
        )
    return text + f"; {release.key} is now {release.state}."


def approve(
    release: Release, user, comment: str = "", *, conditions: str = "", agenda_item=None
) -> Release:
    """Record ``user``'s approval (with any conditions, e.g. from a CAB vote)."""
    return _decide(
        release,
        user,
        comment,
        ApprovalDecision.APPROVED,
        conditions=conditions,
        agenda_item=agenda_item,
    )


def reject(release: Release, user, comment: str = "", *, agenda_item=None) -> Release:
    return _decide(release, user, comment, ApprovalDecision.REJECTED, agenda_item=agenda_item)


class GateRefused(DomainError):
    code = "gate_refused"

    def __init__(self, result: gate.GateResult):
        failed = [r.message for r in result.decision.failed]
        super().__init__(
            f"The gate answered {result.status}: " + " ".join(failed), result.decision.failed
        )
        self.result = result


def start_deployment(
    release: Release,
    environment: Environment,
    user,
    *,
    strategy: str = "",
    pipeline_url: str = "",
    commit: str = "",
    commits: list | None = None,
    region=None,
    idempotency_key: str = "",
    override_reason: str = "",
    canary_steps: list | None = None,
) -> tuple[Deployment, bool]:
    """Start a deployment if the gate allows it now. Returns (deployment, created).

    The gate is re-evaluated under the release's row lock, so two concurrent
    starts cannot both pass the "no deployment running" check. A repeated
    ``idempotency_key`` from the same user returns the first deployment.
    """
    require_permission(user, TRANSITIONS["start_deployment"].permission, "start deployments")
    if idempotency_key:
        existing = Deployment.objects.filter(
            started_by=user, idempotency_key=idempotency_key
        ).first()
        if existing:
            return existing, False
    refused = None
    try:
        with transaction.atomic():
            locked = _lock(release)
            decision = gate.evaluate_release(
                locked, environment, user, region=region, override_reason=override_reason
            )
            status, retry_after = gate.outcome(decision)
            result = gate.GateResult(decision, locked, status, retry_after)
            if not result.allowed:
                refused = result
            else:
                gate.record(
                    result, user=user, environment=environment, region=region, purpose="deployment"
                )
                deployment = Deployment(
                    release=locked,
                    environment=environment,
                    region=getattr(region, "code", region or ""),
                    pipeline_url=redact(pipeline_url),
                    commit=redact(commit)[:64],
                    commits=[
                        {
                            "sha": c["sha"],
                            "authored_at": c["authored_at"].isoformat(),
                            **({"service": c["service"]} if c.get("service") else {}),
                        }
                        for c in commits or []
                    ],
                    started_by=user,
                    started_at=timezone.now(),
                    gate_decision=result.record,
                    idempotency_key=idempotency_key,
                )
                # The strategy (advised unless chosen), canary steps and change record.
                release_strategy.apply(deployment, locked, environment, strategy, canary_steps)
                deployment.save_with_reason(f"started to {environment.slug}", user=user)
                if locked.state != S.DEPLOYING:
                    _move(
                        locked,
                        TRANSITIONS["start_deployment"],
                        user,
                        f"deploying to {environment.slug}",
                    )
    except IntegrityError:
        # The same idempotency key raced us; the winner's deployment is the answer.
        existing = Deployment.objects.filter(
            started_by=user, idempotency_key=idempotency_key
        ).first()
        if idempotency_key and existing:
            return existing, False
        raise
    if refused is not None:
        # Recorded outside the rolled-back block: every gate answer is kept.
        gate.record(
            refused, user=user, environment=environment, region=region, purpose="deployment"
        )
        raise GateRefused(refused)
    return deployment, True


TERMINAL_EVENTS = {
    EventType.SUCCEEDED: DeploymentStatus.SUCCEEDED,
    EventType.FAILED: DeploymentStatus.FAILED,
    EventType.HALTED: DeploymentStatus.HALTED,
    EventType.ROLLED_BACK: DeploymentStatus.ROLLED_BACK,
}
# Which deployment statuses each final event may follow.
_EVENT_SOURCES = {
    EventType.SUCCEEDED: (DeploymentStatus.RUNNING,),
    EventType.FAILED: (DeploymentStatus.RUNNING,),
    EventType.HALTED: (DeploymentStatus.RUNNING,),
    EventType.ROLLED_BACK: (
        DeploymentStatus.RUNNING,
        DeploymentStatus.SUCCEEDED,
        DeploymentStatus.FAILED,
        DeploymentStatus.HALTED,
        DeploymentStatus.PARTIALLY_FAILED,
    ),
}


def record_event(
    deployment: Deployment,
    user,
    *,
    type: str,
    target: str = "",
    status: str = "",
    message: str = "",
    version: str = "",
) -> DeploymentEvent:
    """Record what a pipeline reports; a final event moves the deployment and release."""
    require_permission(user, "releases.deploy_release", "report deployment results")
    with transaction.atomic():
        locked_release = _lock(deployment.release)
        dep = (
            Deployment.objects.select_for_update()
            .select_related("environment")
            .get(pk=deployment.pk)
        )
        final = TERMINAL_EVENTS.get(type)
        if final is None and dep.is_finished and not rollout.accepts_late_event(dep, type):
            raise IllegalTransition(
                f"Deployment #{dep.pk} already {dep.status}; it takes no more {type} events."
            )
        if final is not None and dep.status not in _EVENT_SOURCES[type]:
            raise IllegalTransition(
                f"Deployment #{dep.pk} is {dep.status}; '{type}' is only possible from "
                f"{', '.join(_EVENT_SOURCES[type])}.",
                [
                    Reason(
                        "deployment_state",
                        False,
                        f"Deployment is {dep.status}.",
                        {"status": dep.status},
                    )
                ],
            )
        default_status = {
            EventType.SUCCEEDED: EventStatus.OK,
            EventType.FAILED: EventStatus.FAILED,
            EventType.HALTED: EventStatus.FAILED,
            EventType.ROLLED_BACK: EventStatus.INFO,
        }.get(type, EventStatus.INFO)
        event = DeploymentEvent.objects.create(
            deployment=dep,
            type=type,
            target=redact(target),
            status=status or default_status,
            message=redact(message),
            actor=user,
        )
        final = rollout.on_event(dep, event, user, final, version=version)
        if final is not None:
            dep.status = final
            dep.finished_at = timezone.now()
            dep.save_with_reason(f"{type} reported", user=user)
            from metrics.history import record_deployment

            record_deployment(dep)  # the delivery history the metrics count
            webhooks.emit(
                webhooks.DEPLOYMENT_FINISHED, webhooks.deployment_payload(dep, locked_release)
            )
            if dep.environment.is_production:
                if final == DeploymentStatus.SUCCEEDED:
                    _move(
                        locked_release,
                        TRANSITIONS["production_succeeded"],
                        user,
                        f"deployment #{dep.pk} succeeded",
                    )
                    # Service management hears about open known errors once it is committed.
                    from governance import register

                    transaction.on_commit(lambda: register.notify_known_errors(locked_release))
                    from metrics.stabilisation import open_window

                    open_window(dep, user)  # the 72-hour KPI watch starts now
                elif final == DeploymentStatus.ROLLED_BACK:
                    _move(
                        locked_release,
                        TRANSITIONS["production_rolled_back"],
                        user,
                        f"deployment #{dep.pk} rolled back",
                    )
    return event


def ensure_editable(release: Release) -> None:
    """Content (services, scope, plan) changes only while the release is a draft or rejected."""
    if not release.is_editable:
        raise IllegalTransition(
            f"{release.key} is {release.state}; its content can only change while it is a draft "
            "or rejected (withdraw it first).",
            [
                Reason(
                    "state", False, f"{release.key} is {release.state}.", {"state": release.state}
                )
            ],
        )
