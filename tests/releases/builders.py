"""Plain helpers that walk a release through its lifecycle the way users do.

Every step goes through ``releases.lifecycle`` (no state is written directly),
so a release in state X got there the same way it would in production.
"""

from __future__ import annotations

from governance.models import Approval
from releases import lifecycle
from releases.models import Deployment, GateDecision, Release


def ready_for_production(release: Release) -> Release:
    """What a valid production deployment needs besides approval: a rollback step per shipped
    service within its recovery SLA, and a recent passed DR test for each HA service."""
    from datetime import timedelta

    from django.utils import timezone

    from releases.models import DrTest, RollbackStep

    for rs in release.release_services.select_related("service"):
        service = rs.service
        if not release.rollback_steps.filter(service=service).exists():
            RollbackStep(
                release=release,
                service=service,
                description=f"Redeploy the previous {service.slug} version",
                estimated_minutes=min(5, service.recovery_sla_minutes),
            ).save_with_reason("test: rollback plan")
        recent = timezone.now() - timedelta(days=30)
        if (
            service.ha_required
            and not DrTest.objects.filter(
                service=service, result="passed", tested_at__gte=recent
            ).exists()
        ):
            DrTest(
                service=service,
                tested_at=timezone.now() - timedelta(days=1),
                scenario="Primary region lost",
                result="passed",
                rto_target_minutes=service.recovery_sla_minutes,
                rto_achieved_minutes=1,
                rpo_target_minutes=5,
                rpo_achieved_minutes=0,
            ).save_with_reason("test: DR validated")
    return release


def submit(release: Release, author) -> Release:
    ready_for_production(release)
    return lifecycle.submit(release, author)


def approve(release: Release, author, approver) -> Release:
    """Submit (if still a draft) and approve."""
    ready_for_production(release)
    if release.state == "draft":
        release = lifecycle.submit(release, author)
    return lifecycle.approve(release, approver)


def deploy(release: Release, environment, deployer, **kwargs) -> Deployment:
    if environment.is_production:
        ready_for_production(release)
    deployment, created = lifecycle.start_deployment(release, environment, deployer, **kwargs)
    assert created
    return deployment


def succeed(deployment: Deployment, deployer) -> Deployment:
    lifecycle.record_event(deployment, deployer, type="succeeded")
    deployment.refresh_from_db()
    return deployment


def promote_through(release: Release, environments, deployer) -> list[Deployment]:
    """Deploy and succeed in each environment, in the order given."""
    return [succeed(deploy(release, env, deployer), deployer) for env in environments]


def in_state(state: str, release: Release, *, author, approver, manager, deployer, envs) -> Release:
    """Bring ``release`` (a draft with services) into ``state`` through legal transitions.

    ``envs`` is the ordered environment list ending with production.
    """
    if state == "draft":
        pass
    elif state == "submitted":
        submit(release, author)
    elif state == "approved":
        approve(release, author, approver)
    elif state == "rejected":
        submit(release, author)
        lifecycle.reject(release, approver, "not now")
    elif state == "cancelled":
        lifecycle.transition(release, "cancel", manager)
    elif state == "deploying":
        approve(release, author, approver)
        deploy(release, envs[0], deployer)
    elif state == "deployed":
        approve(release, author, approver)
        promote_through(release, envs, deployer)
    elif state == "rolled_back":
        approve(release, author, approver)
        promote_through(release, envs[:-1], deployer)
        production = deploy(release, envs[-1], deployer)
        lifecycle.record_event(production, deployer, type="rolled_back")
    elif state == "closed":
        approve(release, author, approver)
        promote_through(release, envs, deployer)
        lifecycle.transition(release, "close", manager)
    else:  # pragma: no cover - a typo in a test
        raise ValueError(state)
    release.refresh_from_db()
    assert release.state == state
    return release


def footprint(release: Release) -> dict:
    """Everything a transition could write about this release."""
    release.refresh_from_db()
    return {
        "state": release.state,
        "approval_round": release.approval_round,
        "history": release.history.count(),
        "approvals": Approval.objects.filter(release=release).count(),
        "deployments": Deployment.objects.filter(release=release).count(),
        "gate_decisions": GateDecision.objects.filter(release=release).count(),
    }
