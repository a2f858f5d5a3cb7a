"""Demo approval rules (``seed_demo``): a realistic risk-based policy, published as versions.

``groundwork`` writes the rules before ``seed_demo`` submits its first release, so every
demo submission freezes the real policy (not the one-CAB-member fallback). High-risk
normal changes need more eyes; an emergency change needs the emergency CAB (one member)
plus compliance sign-off when it touches access control or audit trails.

Idempotent: rules are found by name; a version is published only when a rule was added.
A release touching access control is submitted under the policy, so its frozen
requirements (compliance officer sign-off) can be seen on its Approvals tab.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from governance import policy
from governance.models import ApprovalRule
from releases import lifecycle
from releases.choices import ReleaseState
from releases.models import Release, ReleaseService, Service

RULES = [
    {
        "name": "Normal changes: one CAB member",
        "description": "Every normal change is reviewed by the CAB.",
        "position": 10,
        "change_types": ["normal"],
        "approvers": [{"group": "cab_member", "count": 1}],
    },
    {
        "name": "Emergency changes: one emergency CAB member",
        "description": "The emergency CAB decides outside the meeting cycle; a retrospective "
        "is due within days of the approval.",
        "position": 20,
        "change_types": ["emergency"],
        "approvers": [{"group": "cab_member", "count": 1}],
    },
    {
        "name": "High risk: two CAB members",
        "description": "Four eyes on any normal change the risk score puts at high or critical "
        "(emergency changes go to the emergency CAB instead).",
        "position": 30,
        "change_types": ["normal"],
        "min_band": "high",
        "approvers": [{"group": "cab_member", "count": 2}],
    },
    {
        "name": "Customer-facing high risk: product owner + two CAB members",
        "description": "Customers notice; the product owner accepts the business risk of a "
        "planned change.",
        "position": 40,
        "change_types": ["normal"],
        "min_band": "high",
        "customer_facing": True,
        "approvers": [{"group": "product_owner", "count": 1}, {"group": "cab_member", "count": 2}],
    },
    {
        "name": "Access control or audit trails: compliance officer sign-off",
        "description": "Regulated areas (SOX, ISO 27001 A.9/A.12): compliance signs off, "
        "emergency or not.",
        "position": 50,
        "touches": ["access_control", "audit_trail"],
        "approvers": [{"group": "compliance_officer", "count": 1}],
    },
]

DEMO_RELEASE = "Admin console role editor"


def groundwork(users) -> None:
    """The rules, each added publishing a version (before any demo release is submitted)."""
    author = users["compliance_officer"]
    for spec in RULES:
        if ApprovalRule.objects.filter(name=spec["name"]).exists():
            continue
        rule = ApprovalRule(**spec)
        rule.full_clean()
        rule.save_with_reason("created", user=author)
        policy.publish(author, f"Added “{spec['name']}”")


def approve_as_required(release, approvers, comment: str = "", **kwargs) -> Release:
    """Approve ``release`` through the lifecycle by each of ``approvers`` (in order) whom the
    frozen policy still needs, until it is approved. A demo that cannot reach approval is a bug."""
    for user in approvers:
        release.refresh_from_db()
        if release.state != ReleaseState.SUBMITTED:
            break
        if policy.may_decide(user, release).allowed:
            lifecycle.approve(release, user, comment, **kwargs)
            comment, kwargs = "", {}
    release.refresh_from_db()
    if release.state != ReleaseState.APPROVED:
        raise RuntimeError(
            f"Demo release {release.key} is not approved: "
            + " ".join(policy.approval_status(release).messages())
        )
    return release


def demo(users, envs) -> None:
    groundwork(users)
    auth = Service.objects.filter(slug="auth-service").first()
    if auth is None:
        return
    if not Release.objects.filter(name=DEMO_RELEASE).exists():
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=12)
        release = Release(
            name=DEMO_RELEASE,
            version="5.2.0",
            author=users["developer"],
            owner=users["release_manager"],
            planned_start=start,
            planned_end=start + timedelta(hours=2),
            description="Lets administrators edit roles in the admin console.",
            rollback_plan="Redeploy auth-service 5.1.x; role edits are audited and reversible.",
            touches=["access_control", "audit_trail"],
        )
        release.save_with_reason("created", user=users["developer"])
        ReleaseService(release=release, service=auth, version="5.2.0").save_with_reason(
            "added", user=users["developer"]
        )
        lifecycle.submit(release, users["developer"], "Needs compliance sign-off.")
