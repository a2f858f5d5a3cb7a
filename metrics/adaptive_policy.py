"""Adaptive approval thresholds (curriculum 8.7): from each team's and domain's production
history over a rolling period, suggest relaxing the approval policy for it when the figures
are good and there is enough data, or tightening it when they are bad — with the evidence.

Figures come from ``metrics.dora`` (database aggregation): deployments, success rate, change
failure rate and time to restore (median). The rules (defaults; settings override):

- fewer than ``ADAPTIVE_MIN_DEPLOYMENTS`` (20) deployments → no suggestion (too little data);
- change failure rate ≤ 5 % and MTTR ≤ 1 h (or no incident to restore from) → **relax**:
  the team's low-risk normal changes leave the rules that ask approvals of every normal change
  (those rules get the scope in ``except_scopes``; a copy scoped to the team keeps them for its
  medium-risk changes and above);
- change failure rate ≥ 30 % or MTTR ≥ 24 h → **tighten**: a new rule, scoped to the team or
  domain, makes its medium-risk normal changes (and above) need a CAB member.

Applying (compliance officers: the policy's editors) changes the rules through the policy
module, which publishes a new numbered ``PolicyVersion``; the decision log records the
decision with the evidence. Dismissing records the reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from governance import decision_log, policy
from governance.choices import DecisionKind
from governance.models import ApprovalRule
from metrics import dora
from metrics.models import PolicySuggestion
from metrics.models.adaptive import SuggestionDirection, SuggestionStatus
from metrics.models.history import RecordStatus
from metrics.periods import Filters, today_utc
from releasemgr.decisions import DomainError, IllegalTransition, Reason, require_permission
from releasemgr.roles import CAB_MEMBER
from releases.models import Service, Team

DECIDE_PERMISSION = "governance.change_approvalrule"
ADAPTIVE_PREFIX = "Adaptive: "


def _setting(name: str, default):
    return getattr(settings, name, default)


def thresholds() -> dict[str, float]:
    return {
        "period_days": int(_setting("ADAPTIVE_POLICY_DAYS", 90)),
        "min_deployments": int(_setting("ADAPTIVE_MIN_DEPLOYMENTS", 20)),
        "relax_max_cfr": float(_setting("ADAPTIVE_RELAX_MAX_CFR", 0.05)),
        "relax_max_mttr_hours": float(_setting("ADAPTIVE_RELAX_MAX_MTTR_HOURS", 1)),
        "tighten_min_cfr": float(_setting("ADAPTIVE_TIGHTEN_MIN_CFR", 0.30)),
        "tighten_min_mttr_hours": float(_setting("ADAPTIVE_TIGHTEN_MIN_MTTR_HOURS", 24)),
    }


def words(scope: str) -> str:
    kind, _, name = scope.partition(":")
    return f"{kind} {name}"


@dataclass
class Assessment:
    scope: str
    direction: str | None
    reasons: list[Reason] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if self.direction == SuggestionDirection.RELAX:
            return f"Relax approvals for {words(self.scope)}: low-risk normal changes need fewer approvals"
        if self.direction == SuggestionDirection.TIGHTEN:
            return f"Tighten approvals for {words(self.scope)}: medium-risk normal changes need CAB"
        return f"No change for {words(self.scope)}"


def _filters(scope: str, since, until) -> Filters:
    kind, _, name = scope.partition(":")
    if kind == "team":
        return Filters(team=Team.objects.get(slug=name), since=since, until=until)
    return Filters(domain=name, since=since, until=until)


def assess(scope: str, *, today=None) -> Assessment:
    """The figures of one team ("team:<slug>") or domain ("domain:<name>") and what they say."""
    limits = thresholds()
    until = (today or today_utc()) + timedelta(days=1)
    since = until - timedelta(days=limits["period_days"])
    filters = _filters(scope, since, until)
    figures = dora.dora(filters)
    succeeded = dora.records_in_period(filters).aggregate(
        n=Count("pk", filter=Q(status=RecordStatus.SUCCEEDED))
    )["n"]
    total = figures["deployments"]
    cfr = figures["change_failure_rate"]
    mttr = (figures["time_to_restore_hours"] or {}).get("median")
    evidence = {
        "scope": scope,
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "deployments": total,
        "success_rate": round(succeeded / total, 4) if total else None,
        "change_failure_rate": cfr,
        "mttr_hours": mttr,
        "thresholds": limits,
    }
    out = Assessment(scope, None, evidence=evidence)
    enough = total >= limits["min_deployments"]
    out.reasons.append(
        Reason(
            "enough_data",
            enough,
            f"{total} production deployments in the last {limits['period_days']} days "
            + ("(at least " if enough else "(fewer than ")
            + f"{limits['min_deployments']} needed)",
            {"deployments": total},
        )
    )
    if not enough:
        return out
    cfr_pct = f"{cfr * 100:.1f} %"
    mttr_text = "no resolved incident" if mttr is None else f"{mttr:.2f} h"
    good_cfr = cfr <= limits["relax_max_cfr"]
    good_mttr = mttr is None or mttr <= limits["relax_max_mttr_hours"]
    bad_cfr = cfr >= limits["tighten_min_cfr"]
    bad_mttr = mttr is not None and mttr >= limits["tighten_min_mttr_hours"]
    if bad_cfr or bad_mttr:
        out.direction = SuggestionDirection.TIGHTEN
        out.reasons.append(
            Reason(
                "change_failure_rate",
                not bad_cfr,
                f"change failure rate {cfr_pct} "
                + ("≥" if bad_cfr else "<")
                + f" {limits['tighten_min_cfr'] * 100:.0f} %",
                {"value": cfr},
            )
        )
        out.reasons.append(
            Reason(
                "mttr",
                not bad_mttr,
                f"median time to restore {mttr_text} "
                + ("≥" if bad_mttr else "below")
                + f" {limits['tighten_min_mttr_hours']:g} h",
                {"value": mttr},
            )
        )
    elif good_cfr and good_mttr:
        out.direction = SuggestionDirection.RELAX
        out.reasons.append(
            Reason(
                "change_failure_rate",
                True,
                f"change failure rate {cfr_pct} ≤ {limits['relax_max_cfr'] * 100:.0f} %",
                {"value": cfr},
            )
        )
        out.reasons.append(
            Reason(
                "mttr",
                True,
                f"median time to restore {mttr_text} (≤ {limits['relax_max_mttr_hours']:g} h)",
                {"value": mttr},
            )
        )
    else:
        out.reasons.append(
            Reason(
                "in_between",
                True,
                f"change failure rate {cfr_pct}, median time to restore {mttr_text}: "
                "neither good enough to relax nor bad enough to tighten",
                {"change_failure_rate": cfr, "mttr_hours": mttr},
            )
        )
    return out


def scopes() -> list[str]:
    teams = [
        f"team:{slug}" for slug in Team.objects.order_by("slug").values_list("slug", flat=True)
    ]
    domains = Service.objects.exclude(domain="").order_by("domain").values_list("domain", flat=True)
    return teams + [f"domain:{d}" for d in dict.fromkeys(domains)]


def _relaxable(rule: ApprovalRule) -> bool:
    """Rules that ask approvals of a low-risk normal change whatever it touches."""
    return (
        rule.active
        and (not rule.change_types or "normal" in rule.change_types)
        and rule.min_band in ("", "low")
        and not rule.touches
        and not rule.scopes
    )


def proposed_change(assessment: Assessment) -> dict[str, Any]:
    scope = assessment.scope
    if assessment.direction == SuggestionDirection.TIGHTEN:
        return {
            "create": [
                {
                    "name": f"{ADAPTIVE_PREFIX}{words(scope)} medium risk needs CAB",
                    "change_types": ["normal"],
                    "min_band": "medium",
                    "scopes": [scope],
                    "approvers": [{"group": CAB_MEMBER, "count": 1}],
                }
            ]
        }
    rules = [r for r in ApprovalRule.objects.order_by("position", "name") if _relaxable(r)]
    return {
        "except": [r.name for r in rules],
        "create": [
            {
                "name": f"{ADAPTIVE_PREFIX}{r.name} ({words(scope)}, medium risk and above)"[:200],
                "change_types": r.change_types,
                "min_band": "medium",
                "scopes": [scope],
                "approvers": r.approvers,
                "customer_facing": r.customer_facing,
                "position": r.position,
            }
            for r in rules
        ],
    }


def refresh(*, today=None) -> list[PolicySuggestion]:
    """Assess every team and domain; keep one open suggestion per (scope, direction) up to date,
    withdraw open ones the figures no longer support, and do not repeat one decided within
    the period. Safe to run twice. Returns the open suggestions."""
    now = timezone.now()
    period = timedelta(days=thresholds()["period_days"])
    for scope in scopes():
        assessment = assess(scope, today=today)
        open_rows = {
            s.direction: s
            for s in PolicySuggestion.objects.filter(scope=scope, status=SuggestionStatus.OPEN)
        }
        for direction, row in open_rows.items():
            if direction != assessment.direction:
                row.status = SuggestionStatus.DISMISSED
                row.decided_at = now
                row.decision_reason = "No longer supported by the figures."
                row.save_with_reason("withdrawn: figures changed")
        if assessment.direction is None:
            continue
        recently = PolicySuggestion.objects.filter(
            scope=scope,
            direction=assessment.direction,
            status__in=[SuggestionStatus.APPLIED, SuggestionStatus.DISMISSED],
            decided_by__isnull=False,
            decided_at__gte=now - period,
        ).exists()
        if recently:
            continue
        row = open_rows.get(assessment.direction) or PolicySuggestion(
            scope=scope, direction=assessment.direction
        )
        row.summary = assessment.summary()[:300]
        row.evidence = {**assessment.evidence, "reasons": [r.as_dict() for r in assessment.reasons]}
        row.change = proposed_change(assessment)
        row.save_with_reason("suggested from the figures")
    return list(PolicySuggestion.objects.filter(status=SuggestionStatus.OPEN))


def _locked_open(suggestion: PolicySuggestion) -> PolicySuggestion:
    row = PolicySuggestion.objects.select_for_update().get(pk=suggestion.pk)
    if row.status != SuggestionStatus.OPEN:
        raise IllegalTransition(f"This suggestion was already {row.get_status_display().lower()}.")
    return row


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Give a reason: it is kept with the decision."]})
    return reason


def apply(suggestion: PolicySuggestion, user, reason: str) -> PolicySuggestion:
    """Make the rule change, publish a new policy version, log the decision with the evidence."""
    require_permission(user, DECIDE_PERMISSION, "change the approval policy")
    reason = _clean_reason(reason)
    with transaction.atomic():
        row = _locked_open(suggestion)
        change = row.change or {}
        excepted = list(
            ApprovalRule.objects.select_for_update().filter(name__in=change.get("except", []))
        )
        creates = change.get("create", [])
        if not excepted and not creates:
            raise DomainError(
                "No approval rule to change: the policy has nothing this suggestion can relax."
            )
        why = f"{row.summary} — {reason}"[:100]
        for rule in excepted:
            if row.scope not in rule.except_scopes:
                rule.except_scopes = [*rule.except_scopes, row.scope]
                rule.save_with_reason(why, user=user)
        for spec in creates:
            rule = ApprovalRule.objects.filter(name=spec["name"]).first() or ApprovalRule(
                name=spec["name"]
            )
            for name, value in spec.items():
                setattr(rule, name, value)
            rule.active = True
            rule.description = f"Suggested from the figures of {words(row.scope)}; applied by {user.get_username()}: {reason}"
            rule.full_clean()
            rule.save_with_reason(why, user=user)
        version = policy.publish(user, f"{user.get_username()} applied “{row.summary}”"[:300])
        row.status = SuggestionStatus.APPLIED
        row.decided_by = user
        row.decided_at = timezone.now()
        row.decision_reason = reason
        row.policy_version = version.number
        row.save_with_reason(f"applied: {reason}"[:100], user=user)
        decision_log.append(
            kind=DecisionKind.POLICY_CHANGE,
            outcome="applied",
            summary=f"Adaptive approval threshold applied: {row.summary} (policy v{version.number}). {reason}",
            actor=user,
            subject=f"policy-suggestion:{row.pk}",
            reasons=row.evidence.get("reasons", []),
            data={
                "evidence": row.evidence,
                "change": change,
                "version": version.number,
                "reason": reason,
            },
        )
    return row


def dismiss(suggestion: PolicySuggestion, user, reason: str) -> PolicySuggestion:
    require_permission(user, DECIDE_PERMISSION, "change the approval policy")
    reason = _clean_reason(reason)
    with transaction.atomic():
        row = _locked_open(suggestion)
        row.status = SuggestionStatus.DISMISSED
        row.decided_by = user
        row.decided_at = timezone.now()
        row.decision_reason = reason
        row.save_with_reason(f"dismissed: {reason}"[:100], user=user)
        decision_log.append(
            kind=DecisionKind.POLICY_CHANGE,
            outcome="dismissed",
            summary=f"Adaptive approval threshold dismissed: {row.summary}. {reason}",
            actor=user,
            subject=f"policy-suggestion:{row.pk}",
            reasons=row.evidence.get("reasons", []),
            data={"evidence": row.evidence, "reason": reason},
        )
    return row
