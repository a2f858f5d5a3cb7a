"""Rollout of a deployment over its targets: node results, partial failures, smoke-test halts.

The one door for ``DeploymentTarget`` and ``RolloutDecision`` rows and for the deployment
moves they cause (curriculum 5.2 auto-halt, 5.4 partial failures):

- ``on_event`` is called by ``lifecycle.record_event`` (same transaction, rows locked) for
  every pipeline event: a ``plan`` event declares the targets (``target`` lists their names,
  separated by commas or spaces); a ``node`` event (``target`` = name, ``status`` ok / failed /
  info = still running, optional ``version``) creates or moves one target; a failed ``smoke``
  event halts a running deployment at once and tells the release's people; the final
  ``succeeded`` / ``failed`` becomes ``partially_failed`` when some targets succeeded and
  some failed.
- ``retry_failed``, ``rollback_succeeded``, ``accept_partial`` and ``override_halt`` are the
  release manager's choices, each recorded (history, a timeline event, a ``RolloutDecision``
  and the decision log).
- ``check_smoke_tests`` is the gate's ``smoke_tests`` check: no promotion past an earlier
  environment whose latest result for some smoke test is a failure nobody resolved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from governance import decision_log
from releasemgr import webhooks
from releasemgr.decisions import DomainError, IllegalTransition, Reason, require_permission
from releasemgr.notifications import notify_many
from releasemgr.redaction import redact
from releases.choices import DeploymentStatus, EventStatus, EventType
from releases.models import Deployment, DeploymentEvent, Release
from releases.models.targets import (
    DeploymentTarget,
    RolloutDecision,
    RolloutDecisionKind,
    TargetStatus,
)
from scheduling.models import Environment

DECIDE_PERMISSION = "releases.decide_partial_failure"
OVERRIDE_PERMISSION = "releases.override_halt"
DECISION_LOG_KIND = "rollout"
NAME_LENGTH = DeploymentTarget._meta.get_field("name").max_length
_SPLIT = re.compile(r"[\s,;]+")

T = TargetStatus
D = DeploymentStatus


# --- reading -------------------------------------------------------------------------------


def test_name(event: DeploymentEvent) -> str:
    """Which smoke test an event is about: its target, else the first line of its message."""
    name = (event.target or "").strip()
    if not name:
        lines = (event.message or "").strip().splitlines()
        name = lines[0].strip() if lines else ""
    return (name or "smoke test")[:NAME_LENGTH]


@dataclass(frozen=True)
class SmokeFailure:
    test: str
    environment: str
    deployment: int
    at: datetime
    message: str


@dataclass(frozen=True)
class SmokeOverride:
    test: str
    environment: str
    deployment: int
    by: str
    reason: str


def _smoke_state(events, overrides) -> tuple[list[SmokeFailure], list[SmokeOverride]]:
    """Unresolved failures and the overrides that resolved others.

    ``events`` are smoke events in time order; the latest result per (environment, test) counts,
    and a failure is resolved by an override of that test in that environment made after it.
    """
    latest: dict[tuple[str, str], DeploymentEvent] = {}
    for e in events:
        latest[(e.deployment.environment.name, test_name(e))] = e
    failures, resolved = [], []
    for (env_name, test), e in latest.items():
        if e.status != EventStatus.FAILED:
            continue
        override = next(
            (
                o
                for o in overrides
                if test in o.subjects
                and o.deployment.environment.name == env_name
                and o.created >= e.created
            ),
            None,
        )
        if override is None:
            failures.append(SmokeFailure(test, env_name, e.deployment_id, e.created, e.message))
        else:
            resolved.append(
                SmokeOverride(
                    test,
                    env_name,
                    override.deployment_id,
                    override.decided_by.username,
                    override.reason,
                )
            )
    return failures, resolved


def failed_smoke_tests(deployment: Deployment) -> list[SmokeFailure]:
    """The smoke tests whose latest result on this deployment is an unresolved failure."""
    events = (
        DeploymentEvent.objects.filter(deployment=deployment, type=EventType.SMOKE)
        .select_related("deployment__environment")
        .order_by("created", "pk")
    )
    overrides = RolloutDecision.objects.filter(
        deployment=deployment, kind=RolloutDecisionKind.OVERRIDE_HALT
    ).select_related("deployment__environment", "decided_by")
    return _smoke_state(list(events), list(overrides))[0]


def accepted(deployment: Deployment) -> RolloutDecision | None:
    """The acceptance of this partially failed deployment, if someone accepted it."""
    return (
        RolloutDecision.objects.filter(
            deployment=deployment, kind=RolloutDecisionKind.ACCEPT_PARTIAL
        )
        .select_related("decided_by")
        .first()
    )


# --- the gate's check ----------------------------------------------------------------------


def check_smoke_tests(release: Release, environment: Environment) -> Reason:
    """``smoke_tests``: an earlier environment's failed smoke test stops the promotion until it
    passes again (on the same or a new deployment there) or a release manager overrides it."""
    earlier = Environment.objects.filter(order__lt=environment.order)
    events = list(
        DeploymentEvent.objects.filter(
            deployment__release=release,
            deployment__environment__in=earlier,
            type=EventType.SMOKE,
        )
        .select_related("deployment__environment")
        .order_by("created", "pk")
    )
    overrides = list(
        RolloutDecision.objects.filter(
            deployment__release=release,
            deployment__environment__in=earlier,
            kind=RolloutDecisionKind.OVERRIDE_HALT,
        ).select_related("deployment__environment", "decided_by")
    )
    failures, resolved = _smoke_state(events, overrides)
    if failures:
        named = "; ".join(
            f"'{f.test}' failed in {f.environment} (deployment #{f.deployment})" for f in failures
        )
        return Reason(
            "smoke_tests",
            False,
            f"Smoke tests have not passed since they failed: {named}. Post a passing result "
            "for each, or have a release manager override the halt with a reason.",
            {
                "failed": [
                    {"test": f.test, "environment": f.environment, "deployment": f.deployment}
                    for f in failures
                ]
            },
        )
    if resolved:
        named = "; ".join(
            f"'{o.test}' in {o.environment} overridden by {o.by}: {o.reason}" for o in resolved
        )
        return Reason(
            "smoke_tests",
            True,
            f"Failed smoke tests were overridden: {named}.",
            {
                "overridden": [
                    {"test": o.test, "environment": o.environment, "by": o.by} for o in resolved
                ]
            },
        )
    if not events:
        return Reason(
            "smoke_tests",
            True,
            f"No smoke test failed for {release.key} before {environment.name}.",
        )
    return Reason(
        "smoke_tests",
        True,
        f"Every smoke test of {release.key} before {environment.name} passed its latest run.",
    )


# --- pipeline events -----------------------------------------------------------------------


def accepts_late_event(deployment: Deployment, type: str) -> bool:
    """Smoke results still count after a deployment finished: on a halted one (a passing
    re-run resumes it) and on a non-production one that succeeded (it may not be promoted)."""
    if type != EventType.SMOKE:
        return False
    if deployment.status == D.HALTED:
        return True
    return deployment.status == D.SUCCEEDED and not deployment.environment.is_production


def on_event(
    deployment: Deployment, event: DeploymentEvent, user, final: str | None, *, version: str = ""
) -> str | None:
    """Apply a pipeline event (inside ``record_event``'s transaction, deployment locked).

    Returns the final status the deployment takes (``final`` adjusted for partial failures).
    Raises ``ValidationError`` (400) for bad input, ``IllegalTransition`` (409) for results out
    of order; the caller's transaction then writes nothing.
    """
    if event.type == EventType.DECISION:
        raise ValidationError(
            {
                "type": "'decision' events are written by a release manager's retry, roll back, "
                "accept or override; a pipeline cannot post them."
            }
        )
    if event.type == EventType.PLAN:
        _plan(deployment, event, user, version)
    elif event.type == EventType.NODE:
        _node(deployment, event, user, version)
    elif event.type == EventType.SMOKE:
        _smoke(deployment, event, user)
    elif final is not None:
        return _final(deployment, final, user)
    return final


def _targets(deployment: Deployment) -> list[DeploymentTarget]:
    return list(DeploymentTarget.objects.select_for_update().filter(deployment=deployment))


def _previous_version(deployment: Deployment, name: str) -> str:
    """The version this target ran before: its last successful deployment in the environment."""
    earlier = (
        DeploymentTarget.objects.filter(
            name=name,
            status=T.SUCCEEDED,
            deployment__environment=deployment.environment,
            deployment__started_at__lt=deployment.started_at,
        )
        .exclude(deployment=deployment)
        .order_by("-deployment__started_at")
        .values_list("version", flat=True)
        .first()
    )
    return earlier or ""


def _new_target(deployment: Deployment, name: str, *, declared: bool) -> DeploymentTarget:
    previous = _previous_version(deployment, name)
    return DeploymentTarget(
        deployment=deployment,
        name=name,
        declared=declared,
        previous_version=previous,
        version=previous,
    )


def _plan(deployment: Deployment, event: DeploymentEvent, user, version: str) -> None:
    names = [n for n in _SPLIT.split(event.target or event.message or "") if n]
    if not names:
        raise ValidationError(
            {"target": "A plan names the deployment's targets, e.g. 'node-1, node-2, node-3'."}
        )
    too_long = [n for n in names if len(n) > NAME_LENGTH]
    if too_long:
        raise ValidationError({"target": f"Target names are at most {NAME_LENGTH} characters."})
    existing = {t.name: t for t in _targets(deployment)}
    for name in dict.fromkeys(names):
        target = existing.get(name)
        if target is None:
            target = _new_target(deployment, name, declared=True)
            if version:
                target.previous_version = target.version = version
        elif target.declared:
            continue
        target.declared = True
        target.save_with_reason("declared in the plan", user=user)


def _node(deployment: Deployment, event: DeploymentEvent, user, version: str) -> None:
    name = (event.target or "").strip()
    if not name:
        raise ValidationError({"target": "A node result names its target (node, pod or region)."})
    targets = {t.name: t for t in _targets(deployment)}
    target = targets.get(name)
    if target is None:
        declared = sorted(t.name for t in targets.values() if t.declared)
        if declared:
            raise ValidationError(
                {
                    "target": f"'{name}' is not a target of deployment #{deployment.pk}; its plan "
                    f"declares {', '.join(declared)}."
                }
            )
        target = _new_target(deployment, name, declared=False)
    new_status = {
        EventStatus.OK: T.SUCCEEDED,
        EventStatus.FAILED: T.FAILED,
        EventStatus.INFO: T.RUNNING,
    }[event.status]
    if target.is_final:
        hint = (
            " Retry the failed targets first."
            if target.status == T.FAILED
            else " A finished target takes no more results."
        )
        reported = "running" if new_status == T.RUNNING else new_status
        raise IllegalTransition(
            f"Target {name} of deployment #{deployment.pk} already {target.status}; "
            f"a '{reported}' result now is out of order.{hint}",
            [
                Reason(
                    "target_state",
                    False,
                    f"{name} is {target.status}.",
                    {"target": name, "status": target.status},
                )
            ],
        )
    target.status = new_status
    target.attempts = max(target.attempts, 1)
    target.last_message = event.message
    if new_status == T.SUCCEEDED:
        target.version = version or deployment.release.version
    target.save_with_reason(f"node result: {new_status}", user=user)
    targets[name] = target
    _finish_if_all_final(deployment, list(targets.values()), user)


def _mixed(targets) -> bool:
    statuses = {t.status for t in targets}
    return T.SUCCEEDED in statuses and T.FAILED in statuses


def _finish_if_all_final(deployment: Deployment, targets, user) -> None:
    """All declared targets reported and some failed while others succeeded: partially failed."""
    if not any(t.declared for t in targets) or not all(t.is_final for t in targets):
        return
    if _mixed(targets):
        _set_partial(deployment, targets, user)


def _set_partial(deployment: Deployment, targets, user) -> None:
    failed = sorted(t.name for t in targets if t.status == T.FAILED)
    deployment.status = D.PARTIALLY_FAILED
    deployment.finished_at = timezone.now()
    deployment.save_with_reason(f"partially failed: {', '.join(failed)}"[:100], user=user)
    _record_history(deployment)
    DeploymentEvent.objects.create(
        deployment=deployment,
        type=EventType.DECISION,
        status=EventStatus.FAILED,
        message=f"Partially failed: {', '.join(failed)} failed, "
        f"{sum(1 for t in targets if t.status == T.SUCCEEDED)} target(s) succeeded. "
        "A release manager retries the failed targets, rolls back the succeeded ones, or "
        "accepts the result.",
        actor=user,
    )
    _notify_people(
        deployment,
        "deployment_partially_failed",
        f"Deployment #{deployment.pk} of {deployment.release.key} to "
        f"{deployment.environment.name} partially failed: {', '.join(failed)} failed.",
        f"partial:{deployment.pk}:{deployment.history.count()}",
    )
    webhooks.emit(
        webhooks.DEPLOYMENT_FINISHED, webhooks.deployment_payload(deployment, deployment.release)
    )


def _final(deployment: Deployment, final: str, user) -> str:
    targets = _targets(deployment)
    if not targets:
        return final
    if final == D.SUCCEEDED:
        unfinished = sorted(t.name for t in targets if not t.is_final)
        if unfinished:
            raise IllegalTransition(
                f"Deployment #{deployment.pk} cannot succeed while targets are still pending or "
                f"running: {', '.join(unfinished)}. Report their results first.",
                [
                    Reason(
                        "targets_unfinished", False, "Targets unfinished.", {"targets": unfinished}
                    )
                ],
            )
        if not any(t.status == T.SUCCEEDED for t in targets):
            raise IllegalTransition(
                f"Deployment #{deployment.pk} cannot succeed: none of its targets succeeded.",
                [Reason("targets_failed", False, "No target succeeded.")],
            )
    if final in (D.SUCCEEDED, D.FAILED) and _mixed(targets):
        failed = sorted(t.name for t in targets if t.status == T.FAILED)
        _notify_people(
            deployment,
            "deployment_partially_failed",
            f"Deployment #{deployment.pk} of {deployment.release.key} to "
            f"{deployment.environment.name} partially failed: {', '.join(failed)} failed.",
            f"partial:{deployment.pk}:{deployment.history.count()}",
        )
        return D.PARTIALLY_FAILED
    if final == D.ROLLED_BACK:
        for t in targets:
            if t.status == T.SUCCEEDED:
                t.status = T.ROLLED_BACK
                t.version = t.previous_version
                t.save_with_reason("deployment rolled back", user=user)
    return final


def _people(deployment: Deployment):
    release = deployment.release
    people = [release.author, release.owner]
    for rs in release.release_services.select_related("service").prefetch_related(
        "service__owners"
    ):
        people.extend(rs.service.owners.all())
    return people


def _notify_people(deployment: Deployment, kind: str, message: str, key: str) -> None:
    notify_many(
        _people(deployment), kind, message, link=deployment.get_absolute_url(), dedupe_key=key
    )


def _smoke(deployment: Deployment, event: DeploymentEvent, user) -> None:
    test = test_name(event)
    where = f"{deployment.release.key} in {deployment.environment.name}"
    if event.status == EventStatus.FAILED:
        if deployment.status == D.RUNNING:
            deployment.status = D.HALTED
            deployment.finished_at = timezone.now()
            deployment.save_with_reason(f"auto-halted: smoke test '{test}' failed"[:100], user=user)
            _record_history(deployment)
            DeploymentEvent.objects.create(
                deployment=deployment,
                type=EventType.HALTED,
                target=test,
                status=EventStatus.FAILED,
                message=f"Halted automatically: smoke test '{test}' failed. It resumes when the "
                "test passes again or a release manager overrides the halt with a reason.",
                actor=user,
            )
            text = f"Deployment #{deployment.pk} of {where} halted: smoke test '{test}' failed."
            webhooks.emit(
                webhooks.DEPLOYMENT_FINISHED,
                webhooks.deployment_payload(deployment, deployment.release),
            )
        else:
            text = (
                f"Smoke test '{test}' failed for {where} (deployment #{deployment.pk}); the "
                "release is not promoted further until it passes or a release manager "
                "overrides it."
            )
        _notify_people(deployment, "smoke_test_failed", text, f"smoke:{deployment.pk}:{test}")
        return
    if event.status == EventStatus.OK and deployment.status == D.HALTED:
        # The event is already saved: what is still failing counts this passing result.
        before = [f for f in failed_smoke_tests_before(deployment, event) if f.test == test]
        if before and not failed_smoke_tests(deployment):
            _resume(deployment, user, f"smoke test '{test}' passed again")


def failed_smoke_tests_before(deployment: Deployment, event: DeploymentEvent):
    events = (
        DeploymentEvent.objects.filter(deployment=deployment, type=EventType.SMOKE)
        .exclude(pk=event.pk)
        .select_related("deployment__environment")
        .order_by("created", "pk")
    )
    overrides = RolloutDecision.objects.filter(
        deployment=deployment, kind=RolloutDecisionKind.OVERRIDE_HALT
    ).select_related("deployment__environment", "decided_by")
    return _smoke_state(list(events), list(overrides))[0]


def _may_resume(deployment: Deployment) -> bool:
    """A halted deployment resumes unless the release moved on (another deployment running,
    or a newer deployment to the same environment)."""
    others = Deployment.objects.filter(release=deployment.release).exclude(pk=deployment.pk)
    return not (
        others.filter(status=D.RUNNING).exists()
        or others.filter(
            environment=deployment.environment, started_at__gt=deployment.started_at
        ).exists()
    )


def _resume(deployment: Deployment, user, why: str) -> bool:
    if deployment.status != D.HALTED or not _may_resume(deployment):
        return False
    deployment.status = D.RUNNING
    deployment.finished_at = None
    deployment.save_with_reason(f"resumed: {why}"[:100], user=user)
    DeploymentEvent.objects.create(
        deployment=deployment,
        type=EventType.LOG,
        status=EventStatus.INFO,
        message=f"Resumed: {why}.",
        actor=user,
    )
    return True


# --- the release manager's choices ---------------------------------------------------------


def _lock(deployment: Deployment) -> Deployment:
    Release.objects.select_for_update().get(pk=deployment.release_id)
    return (
        Deployment.objects.select_for_update()
        .select_related("release", "environment")
        .get(pk=deployment.pk)
    )


def _require_partial(deployment: Deployment, what: str) -> None:
    if deployment.status != D.PARTIALLY_FAILED:
        raise IllegalTransition(
            f"Deployment #{deployment.pk} is {deployment.get_status_display().lower()}; only a "
            f"partially failed deployment can {what}.",
            [
                Reason(
                    "deployment_state",
                    False,
                    f"Deployment is {deployment.status}.",
                    {"status": deployment.status},
                )
            ],
        )
    done = accepted(deployment)
    if done is not None:
        raise IllegalTransition(
            f"Deployment #{deployment.pk}'s partial result was accepted by "
            f"{done.decided_by.username}; it is finished.",
            [Reason("accepted", False, "Partial result accepted.", {"by": done.decided_by_id})],
        )


def _clean_reason(reason: str, *, required: bool) -> str:
    reason = redact((reason or "").strip())
    if required and not reason:
        raise ValidationError({"reason": "Give a reason: it is recorded with the decision."})
    if len(reason) > 2000:
        raise ValidationError({"reason": "Keep the reason under 2000 characters."})
    return reason


def _record(deployment: Deployment, user, kind: str, reason: str, subjects, text: str, **event):
    decision = RolloutDecision(
        deployment=deployment, kind=kind, reason=reason, decided_by=user, subjects=subjects
    )
    decision.save_with_reason(kind, user=user)
    DeploymentEvent.objects.create(
        deployment=deployment,
        type=event.get("type", EventType.DECISION),
        status=event.get("status", EventStatus.INFO),
        target=", ".join(subjects)[:NAME_LENGTH],
        message=text + (f" Reason: {reason}" if reason else ""),
        actor=user,
    )
    decision_log.append(
        kind=DECISION_LOG_KIND,
        outcome=kind,
        summary=text + (f" Reason: {decision_log.clause(reason)}." if reason else ""),
        actor=user,
        release=deployment.release,
        subject=f"deployment:{deployment.pk}",
        reasons=[Reason(kind, True, text, {"subjects": subjects})],
        data={"deployment": deployment.pk, "subjects": subjects, "reason": reason},
    )
    return decision


def retry_failed(deployment: Deployment, user, reason: str = "") -> Deployment:
    """Send the failed targets back to the pipeline: they go pending (one more attempt) and
    the deployment runs again until the pipeline reports their results."""
    require_permission(user, DECIDE_PERMISSION, "retry failed deployment targets")
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        dep = _lock(deployment)
        _require_partial(dep, "retry its failed targets")
        running = (
            Deployment.objects.filter(release=dep.release, status=D.RUNNING)
            .exclude(pk=dep.pk)
            .first()
        )
        if running is not None:
            raise IllegalTransition(
                f"Deployment #{running.pk} of {dep.release.key} is running; retry when it ends."
            )
        failed = [t for t in _targets(dep) if t.status == T.FAILED]
        for t in failed:
            t.status = T.PENDING
            t.attempts += 1
            t.save_with_reason(f"retry (attempt {t.attempts})", user=user)
        dep.status = D.RUNNING
        dep.finished_at = None
        dep.save_with_reason("retrying failed targets", user=user)
        names = sorted(t.name for t in failed)
        _record(
            dep,
            user,
            RolloutDecisionKind.RETRY_FAILED,
            reason,
            names,
            f"{user.username} retried the failed targets {', '.join(names)} of deployment "
            f"#{dep.pk}; the pipeline reports their results.",
        )
    return dep


def rollback_succeeded(deployment: Deployment, user, reason: str = "") -> Deployment:
    """Put the targets that took the new version back on their previous version; the
    deployment is rolled back (and a production release with it)."""
    from releases.lifecycle import TRANSITIONS, _move

    require_permission(user, DECIDE_PERMISSION, "roll back deployment targets")
    reason = _clean_reason(reason, required=False)
    with transaction.atomic():
        release = Release.objects.select_for_update().get(pk=deployment.release_id)
        dep = _lock(deployment)
        _require_partial(dep, "roll back its succeeded targets")
        succeeded = [t for t in _targets(dep) if t.status == T.SUCCEEDED]
        for t in succeeded:
            t.status = T.ROLLED_BACK
            t.version = t.previous_version
            t.save_with_reason("rolled back to the previous version", user=user)
        dep.status = D.ROLLED_BACK
        dep.finished_at = timezone.now()
        dep.save_with_reason("succeeded targets rolled back", user=user)
        _record_history(dep)
        webhooks.emit(webhooks.DEPLOYMENT_FINISHED, webhooks.deployment_payload(dep, release))
        names = sorted(t.name for t in succeeded)
        _record(
            dep,
            user,
            RolloutDecisionKind.ROLLBACK_SUCCEEDED,
            reason,
            names,
            f"{user.username} rolled back the succeeded targets {', '.join(names)} of "
            f"deployment #{dep.pk} to their previous version.",
            type=EventType.ROLLED_BACK,
        )
        transition = TRANSITIONS["production_rolled_back"]
        if dep.environment.is_production and release.state in transition.sources:
            _move(release, transition, user, f"deployment #{dep.pk} rolled back")
    return dep


def accept_partial(deployment: Deployment, user, reason: str) -> Deployment:
    """Accept the partial result as it stands (a reason is required); the deployment stays
    partially failed, and counts as finished."""
    require_permission(user, DECIDE_PERMISSION, "accept a partially failed deployment")
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        dep = _lock(deployment)
        _require_partial(dep, "be accepted")
        failed = sorted(t.name for t in _targets(dep) if t.status == T.FAILED)
        dep.save_with_reason(f"partial result accepted: {reason}"[:100], user=user)
        _record(
            dep,
            user,
            RolloutDecisionKind.ACCEPT_PARTIAL,
            reason,
            failed,
            f"{user.username} accepted deployment #{dep.pk} as partially deployed "
            f"({', '.join(failed) or 'no target'} not on the new version).",
        )
    return dep


def override_halt(deployment: Deployment, user, reason: str) -> Deployment:
    """Override the failed smoke tests of a deployment (a reason is required): a halted
    deployment resumes, and the gate's ``smoke_tests`` check passes naming the override."""
    require_permission(user, OVERRIDE_PERMISSION, "override a smoke-test halt")
    reason = _clean_reason(reason, required=True)
    with transaction.atomic():
        dep = _lock(deployment)
        failures = failed_smoke_tests(dep)
        if not failures:
            raise IllegalTransition(
                f"Deployment #{dep.pk} has no failed smoke test to override.",
                [Reason("smoke_tests", True, "No failed smoke test.")],
            )
        tests = sorted({f.test for f in failures})
        _record(
            dep,
            user,
            RolloutDecisionKind.OVERRIDE_HALT,
            reason,
            tests,
            f"{user.username} overrode the failed smoke test(s) {', '.join(tests)} of "
            f"deployment #{dep.pk}.",
        )
        _resume(dep, user, f"halt overridden by {user.username}")
    return dep


ACTIONS = {
    "retry-failed": retry_failed,
    "rollback-succeeded": rollback_succeeded,
    "accept-partial": accept_partial,
    "override-halt": override_halt,
}


def available(deployment: Deployment, user) -> dict[str, bool]:
    """Which choices to offer this user on this deployment (the functions re-check)."""
    partial = deployment.status == D.PARTIALLY_FAILED
    may_decide = user.has_perm(DECIDE_PERMISSION)
    return {
        "decide": partial and may_decide and accepted(deployment) is None,
        "override": user.has_perm(OVERRIDE_PERMISSION) and bool(failed_smoke_tests(deployment)),
    }


__all__ = [
    "ACTIONS",
    "DomainError",
    "accept_partial",
    "accepts_late_event",
    "check_smoke_tests",
    "on_event",
    "override_halt",
    "retry_failed",
    "rollback_succeeded",
]


def _record_history(deployment: Deployment) -> None:
    from metrics.history import record_deployment

    record_deployment(deployment)  # the delivery history the metrics count
