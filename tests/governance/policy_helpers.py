"""Small builders shared by the policy and segregation-of-duties tests."""

from __future__ import annotations

from governance import policy
from governance.models import ApprovalRule, RiskConfig


def rule(name: str, approvers, user=None, publish: bool = True, **conditions) -> ApprovalRule:
    """Create a rule the way the policy pages do: saved with a reason, then published."""
    approvers = [{"group": g, "count": n} for g, n in approvers]
    created = ApprovalRule(name=name, approvers=approvers, **conditions)
    created.full_clean()
    created.save_with_reason("created", user=user)
    if publish:
        policy.publish(user, f"added “{name}”")
    return created


def every_release_scores(band: str) -> None:
    """Move the band thresholds so that any release with a score lands in ``band``."""
    config = RiskConfig.current()
    config.medium_from, config.high_from, config.critical_from = {
        "low": (98, 99, 100),
        "medium": (0 + 1, 99, 100),
        "high": (1, 2, 101),
        "critical": (1, 2, 3),
    }[band]
    config.save()
