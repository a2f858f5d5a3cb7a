"""Who must approve a release, and may this person approve it? (issue 4, items 3 and 5)

The policy is data: ``ApprovalRule`` rows map a release's change type, risk
band, what it touches and whether it ships a customer-facing service to the
approvals it needs (groups and how many). ``evaluate`` says, for every active
rule, whether it applies and why; the requirements of the rules that apply are
merged per group (the highest count wins). A release no rule matches needs one
CAB member; a standard change that fits its change model needs nobody.

At submission ``freeze_requirements`` writes what the release needs for that
round (``ApprovalRequirement``) with the policy version in force; from then on
``required_approvals`` answers from those rows, so a later rule change alters
neither what a submitted release needs nor the approvals it already has.
Every rule change publishes a new ``PolicyVersion`` (``publish``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from governance import sod
from governance.models import (
    Approval,
    ApprovalDecision,
    ApprovalRequirement,
    PolicyVersion,
    RiskAssessment,
)
from governance.policy_rules import (
    customer_facing_services,
    describe,
    live_rules,
    match,
    release_areas,
    snapshot,
)
from governance.policy_versions import current_version, diff, jsonable, publish, version_diff
from releasemgr.decisions import Decision, Reason
from releasemgr.roles import CAB_MEMBER, user_roles
from releases.choices import ChangeType, ReleaseState

__all__ = [
    "PolicyResult",
    "Requirement",
    "RuleOutcome",
    "approval_status",
    "current_approvals",
    "current_version",
    "customer_facing_services",
    "describe",
    "diff",
    "evaluate",
    "explain",
    "freeze_requirements",
    "live_rules",
    "may_decide",
    "prime",
    "publish",
    "release_areas",
    "required_approvals",
    "snapshot",
    "version_diff",
]

FALLBACK_WHY = "No approval rule applies, so the default asks for one CAB member."


@dataclass(frozen=True)
class Requirement:
    role: str
    count: int
    why: str
    rules: tuple[str, ...] = ()


@dataclass
class RuleOutcome:
    """One rule measured against one release: does it apply, condition by condition."""

    rule: dict[str, Any]
    conditions: list[Reason]

    @property
    def applies(self) -> bool:
        return bool(self.rule.get("active", True)) and all(c.passed for c in self.conditions)

    @property
    def reason(self) -> Reason:
        name = self.rule["name"]
        if self.applies:
            message = f"“{name}” applies: " + "; ".join(c.message for c in self.conditions)
        else:
            message = f"“{name}” does not apply: " + "; ".join(
                c.message for c in self.conditions if not c.passed
            )
        return Reason(
            "policy_rule",
            self.applies,
            message,
            {
                "rule": name,
                "rule_id": self.rule.get("id"),
                "approvers": self.rule.get("approvers", []),
                "conditions": [c.as_dict() for c in self.conditions],
            },
        )


@dataclass
class PolicyResult:
    """What the policy asks of one release, and why."""

    release_key: str
    change_type: str
    areas: list[str]
    customer_facing: list[str]
    band: str | None
    outcomes: list[RuleOutcome] = field(default_factory=list)
    requirements: list[Requirement] = field(default_factory=list)
    fallback: bool = False
    standard_fit: Decision | None = None
    frozen: bool = False
    version: PolicyVersion | None = None

    @property
    def exempt(self) -> bool:
        """A standard change that fits its change model needs no approvals."""
        return self.standard_fit is not None and self.standard_fit.allowed

    @property
    def applied(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.applies]

    @property
    def not_applied(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if not o.applies]

    @property
    def summary(self) -> str:
        if self.exempt:
            return (
                "A standard change that fits its change model: pre-approved, no approvals needed."
            )
        if self.fallback:
            return FALLBACK_WHY
        needs = ", ".join(f"{r.count} × {r.role}" for r in self.requirements)
        return f"Needs {needs} ({len(self.applied)} rule(s) apply)."

    def as_dict(self) -> dict[str, Any]:
        return {
            "release": self.release_key,
            "change_type": self.change_type,
            "risk_band": self.band,
            "touches": self.areas,
            "customer_facing_services": self.customer_facing,
            "frozen": self.frozen,
            "policy_version": self.version.number if self.version else None,
            "summary": self.summary,
            "fallback": self.fallback,
            "standard_change": (
                {
                    "fits": self.standard_fit.allowed,
                    "reasons": [r.as_dict() for r in self.standard_fit.reasons],
                }
                if self.standard_fit is not None
                else None
            ),
            "requirements": [
                {"group": r.role, "count": r.count, "why": r.why, "rules": list(r.rules)}
                for r in self.requirements
            ],
            "rules": [o.reason.as_dict() for o in self.outcomes],
        }


def _assessed_band(release) -> str | None:
    """The band recorded at this round's submission, if any."""
    if not release.approval_round:
        return None
    return (
        RiskAssessment.objects.filter(release=release, round=release.approval_round)
        .order_by("-created")
        .values_list("band", flat=True)
        .first()
    )


def _live_band(release) -> str:
    from governance import risk

    return risk.assess(release).band


def _merge(applied: list[RuleOutcome]) -> list[Requirement]:
    """One requirement per group: the highest count any applying rule asks for."""
    order: list[str] = []
    count: dict[str, int] = {}
    asked: dict[str, list[tuple[str, int]]] = {}
    for outcome in applied:
        for entry in outcome.rule.get("approvers", []):
            group = entry["group"]
            if group not in count:
                order.append(group)
                count[group] = 0
                asked[group] = []
            count[group] = max(count[group], int(entry["count"]))
            asked[group].append((outcome.rule["name"], int(entry["count"])))
    return [
        Requirement(
            group,
            count[group],
            "Asked by " + "; ".join(f"“{name}” ({n})" for name, n in asked[group]) + ".",
            tuple(name for name, _n in asked[group]),
        )
        for group in order
    ]


def evaluate(release, *, rules: list[dict] | None = None, band=None) -> PolicyResult:
    """Measure every active rule against ``release`` (the live rules unless ``rules`` given).

    ``band`` is the risk band, or a function giving it; it is only read when a rule
    has a minimum band (the live assessment when not given).
    """
    rules = live_rules() if rules is None else rules
    areas = release_areas(release)
    facing = customer_facing_services(release)
    cache: dict[str, str] = {}
    if isinstance(band, str) and band:
        cache["band"] = band

    def band_of() -> str:
        if "band" not in cache:
            found = band() if callable(band) else None
            cache["band"] = found or _live_band(release)
        return cache["band"]

    result = PolicyResult(release.key, release.change_type, areas, facing, None)
    if release.change_type == ChangeType.STANDARD:
        from governance import change_types

        result.standard_fit = change_types.standard_change_fit(release)
    for rule in rules:
        if not rule.get("active", True):
            continue
        result.outcomes.append(RuleOutcome(rule, match(rule, release, areas, facing, band_of)))
    result.band = cache.get("band")
    if result.exempt:
        return result
    result.requirements = _merge(result.applied)
    if not result.requirements:
        result.fallback = True
        result.requirements = [Requirement(CAB_MEMBER, 1, FALLBACK_WHY)]
    return result


# --- frozen requirements -----------------------------------------------------------------------


def prime(releases) -> None:
    """Load what the policy reads for many releases in three queries (lists, the release page).

    Only for read-only pages: the lifecycle always reads afresh under its lock.
    """
    releases = list(releases)
    sod.prime(releases)
    ids = [r.pk for r in releases]
    rows: dict[tuple[int, int], list[ApprovalRequirement]] = {}
    for row in (
        ApprovalRequirement.objects.filter(release_id__in=ids)
        .select_related("policy_version")
        .order_by("pk")
    ):
        rows.setdefault((row.release_id, row.round), []).append(row)
    for release in releases:
        key = (release.pk, release.approval_round)
        release._policy_primed = {"key": key, "rows": rows.get(key, [])}


def _primed(release) -> dict | None:
    primed = getattr(release, "_policy_primed", None)
    if primed is not None and primed["key"] == (release.pk, release.approval_round):
        return primed
    return None


def _frozen_rows(release) -> list[ApprovalRequirement] | None:
    """This round's frozen requirements, unless the release is a draft again (preview)."""
    if not release.approval_round or release.state == ReleaseState.DRAFT:
        return None
    primed = _primed(release)
    if primed is not None:
        return primed["rows"] or None
    rows = list(
        ApprovalRequirement.objects.filter(release=release, round=release.approval_round)
        .select_related("policy_version")
        .order_by("pk")  # the order the rules asked in
    )
    return rows or None


def freeze_requirements(release, user) -> list[ApprovalRequirement]:
    """Write what ``release`` needs for its current round, under the policy version in force.

    Called by the lifecycle at submission, after the risk assessment; the
    rules are taken from the published version (publishing one first if the
    rules were changed without one, so the record says what was applied).
    """
    live = live_rules()
    version = current_version()
    if live and (version is None or version.rules != jsonable(live)):
        version = publish(
            None,
            f"Published at the submission of {release.key}: the rules differed from v"
            f"{version.number if version else 0}.",
        )
    rules = version.rules if version is not None else live
    result = evaluate(release, rules=rules, band=lambda: _assessed_band(release))
    if result.exempt:
        return []
    rows = []
    for req in result.requirements:
        row = ApprovalRequirement(
            release=release,
            round=release.approval_round,
            group=req.role,
            count=req.count,
            rules=list(req.rules),
            why=req.why,
            policy_version=version,
        )
        row.save_with_reason(f"frozen at submission {release.approval_round}", user=user)
        rows.append(row)
    return rows


def explain(release) -> PolicyResult:
    """What the release needs and why: frozen once submitted, a live preview while a draft."""
    rows = _frozen_rows(release)
    if rows is None:
        return evaluate(release)
    version = rows[0].policy_version
    # No version means no rule existed at submission (freezing publishes one otherwise).
    result = evaluate(
        release,
        rules=version.rules if version is not None else [],
        band=lambda: _assessed_band(release) or _live_band(release),
    )
    result.frozen = True
    result.version = version
    result.fallback = not any(r.rules for r in rows)
    result.requirements = [Requirement(r.group, r.count, r.why, tuple(r.rules)) for r in rows]
    return result


def required_approvals(release) -> list[Requirement]:
    rows = _frozen_rows(release)
    if rows is not None:
        return [Requirement(r.group, r.count, r.why, tuple(r.rules)) for r in rows]
    return evaluate(release).requirements


def current_approvals(release) -> list[Approval]:
    return [
        a
        for a in release.approvals.all()
        if a.round == release.approval_round and a.decision == ApprovalDecision.APPROVED
    ]


# --- who may decide, and what is still missing --------------------------------------------------


def _valid_counts(requirements, approvals, contributors) -> dict[str, list[Approval]]:
    valid: dict[str, list[Approval]] = {r.role: [] for r in requirements}
    for approval in approvals:
        if approval.role in valid and approval.approver_id not in contributors:
            valid[approval.role].append(approval)
    return valid


def may_decide(user, release, act: str = "approve") -> Decision:
    """May ``user`` approve (or reject) ``release`` now? Role, segregation of duties, once.

    The acting role is the first group the release still needs that the user
    holds; to reject, any needed group the user holds will do.
    """
    decision = Decision()
    requirements = required_approvals(release)
    relations = sod.contributor_relations(release)
    approvals = current_approvals(release)
    valid = _valid_counts(requirements, approvals, set(relations))
    roles = user_roles(user)
    needed = [r.role for r in requirements]
    held = [g for g in needed if g in roles]
    short = [r.role for r in requirements if r.role in roles and len(valid[r.role]) < r.count]
    acting = short if act == "approve" else short + [g for g in held if g not in short]
    name = user.get_username()
    if acting:
        message = f"{name} acts as {acting[0]}."
    elif held:
        message = (
            f"The {', '.join(held)} approvals {release.key} needs are all in; "
            f"another approval from {name} adds nothing."
        )
    elif needed:
        message = f"{name} holds none of the approving roles ({', '.join(needed)})."
    else:
        message = f"{release.key} needs no approvals."
    decision.add(Reason("approver_role", bool(acting), message, {"roles": acting}))
    decision.add(sod.check(user, release, act, relations))
    if any(a.approver_id == user.pk for a in approvals):
        decision.add(
            Reason(
                "already_approved",
                False,
                f"{name} has already approved {release.key} in round {release.approval_round}; "
                "approving twice changes nothing.",
            )
        )
    return decision


def approval_status(release) -> Decision:
    """Are the required approvals in? One reason per group, saying what is still missing."""
    decision = Decision()
    requirements = required_approvals(release)
    valid = _valid_counts(requirements, current_approvals(release), sod.contributors(release))
    for req in requirements:
        have = len(valid[req.role])
        names = [a.approver.username for a in valid[req.role]]
        by = f" ({', '.join(names)})" if names else ""
        if have >= req.count:
            message = f"{have} of {req.count} {req.role} approval(s) in{by}. {req.why}"
        else:
            message = (
                f"{have} of {req.count} {req.role} approval(s){by}: still needs "
                f"{req.count - have} more from {req.role}. {req.why}"
            )
        decision.add(
            Reason(
                "approval_" + req.role,
                have >= req.count,
                message,
                {"role": req.role, "required": req.count, "have": have, "approvers": names},
                waits=True,
            )
        )
    if not requirements:
        decision.add(
            Reason(
                "approval_standard_change",
                True,
                f"{release.key} is a standard change that fits its change model: pre-approved.",
            )
        )
    return decision
