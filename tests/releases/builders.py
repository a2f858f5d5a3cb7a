"""Plain helpers that walk a release through its lifecycle the way users do.

Every step goes through ``releases.lifecycle`` (no state is written directly),
so a release in state X got there the same way it would in production.
"""

from __future__ import annotations

from governance.models import Approval
from releases import lifecycle
from releases.models import Deployment, GateDecision, Release


def submit(release: Release, author) -> Release:
    return lifecycle.submit(release, author)


def approve(release: Release, author, approver) -> Release:
    """Submit (if still a draft) and approve."""
    if release.state == "draft":
        release = lifecycle.submit(release, author)
    return lifecycle.approve(release, approver)


def deploy(release: Release, environment, deployer, **kwargs) -> Deployment:
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
