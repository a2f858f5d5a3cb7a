"""Who must approve a release, and may this person approve it?

The foundation policy: one approval from a CAB member who neither authored
nor contributed to the release. The risk-based policy replaces
``required_approvals`` later; callers only see ``Requirement`` and ``Decision``.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.models import Approval, ApprovalDecision
from releasemgr.decisions import Decision, Reason
from releasemgr.roles import CAB_MEMBER, user_roles


@dataclass(frozen=True)
class Requirement:
    role: str
    count: int
    why: str


def required_approvals(release) -> list[Requirement]:
    return [Requirement(CAB_MEMBER, 1, "Every release needs one CAB member's approval.")]


def current_approvals(release) -> list[Approval]:
    return [
        a
        for a in release.approvals.all()
        if a.round == release.approval_round and a.decision == ApprovalDecision.APPROVED
    ]


def may_decide(user, release) -> Decision:
    """May ``user`` approve or reject ``release``? Role and segregation of duties."""
    decision = Decision()
    roles = user_roles(user)
    needed = {req.role for req in required_approvals(release)}
    acting = sorted(roles & needed)
    decision.add(
        Reason(
            "approver_role",
            bool(acting),
            f"{user.username} acts as {acting[0]}."
            if acting
            else f"{user.username} holds none of the approving roles ({', '.join(sorted(needed))}).",
            {"roles": acting},
        )
    )
    is_contributor = user.pk in release.contributor_ids()
    decision.add(
        Reason(
            "segregation_of_duties",
            not is_contributor,
            f"{user.username} authored or contributed to {release.key} and cannot approve it."
            if is_contributor
            else f"{user.username} did not author or contribute to {release.key}.",
        )
    )
    already = any(a.approver_id == user.pk for a in current_approvals(release))
    if already:
        decision.add(
            Reason("already_approved", False, f"{user.username} has already approved this round.")
        )
    return decision


def approval_status(release) -> Decision:
    """Are the required approvals in? Each requirement is one reason."""
    decision = Decision()
    approvals = current_approvals(release)
    contributors = release.contributor_ids()
    for req in required_approvals(release):
        valid = [a for a in approvals if a.role == req.role and a.approver_id not in contributors]
        have = len(valid)
        decision.add(
            Reason(
                "approval_" + req.role,
                have >= req.count,
                f"{have} of {req.count} {req.role} approval(s): {req.why}",
                {
                    "role": req.role,
                    "required": req.count,
                    "have": have,
                    "approvers": [a.approver.username for a in valid],
                },
                waits=True,
            )
        )
    return decision
