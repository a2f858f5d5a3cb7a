"""What an approval rule says, and what a release is in the rules' terms.

A rule is read as a plain dict (``snapshot``) so the live rules and a published
version's snapshot are measured the same way (``match``).
"""

from __future__ import annotations

from typing import Any

from governance import policy_scopes
from governance.choices import BAND_ORDER, RiskBand, Touches
from governance.models import ApprovalRule
from releasemgr.decisions import Reason
from releases.choices import ChangeType, ScopeDecision, ScopeKind

# Scope items of these kinds make the release touch the area.
SCOPE_TOUCHES = {
    ScopeKind.ACCESS_CONTROL: Touches.ACCESS_CONTROL,
    ScopeKind.AUDIT_TRAIL: Touches.AUDIT_TRAIL,
    ScopeKind.SCHEMA_MIGRATION: Touches.SCHEMA,
}
RULE_FIELDS = (
    "name",
    "description",
    "position",
    "active",
    "change_types",
    "min_band",
    "touches",
    "customer_facing",
    "approvers",
)


def _prefetched(release, name: str) -> bool:
    return name in getattr(release, "_prefetched_objects_cache", {})


def _links(release) -> list:
    if _prefetched(release, "release_services"):
        return list(release.release_services.all())
    return list(release.release_services.select_related("service"))


def release_areas(release) -> list[str]:
    """Sensitive areas the release touches: its own list, its services', its scope items'."""
    areas = set(release.touches or [])
    for link in _links(release):
        areas.update(link.service.sensitive_areas or [])
    for item in release.scope_items.all():
        if item.decision == ScopeDecision.INCLUDED and item.kind in SCOPE_TOUCHES:
            areas.add(SCOPE_TOUCHES[item.kind].value)
    return sorted(areas)


def customer_facing_services(release) -> list[str]:
    return sorted(link.service.slug for link in _links(release) if link.service.customer_facing)


def label(choices, value: str) -> str:
    return dict(choices.choices).get(value, value).lower()


def match(rule: dict, release, areas, facing, band_of) -> list[Reason]:
    out = []
    types = rule.get("change_types") or []
    ctype = release.change_type
    if not types:
        out.append(Reason("change_type", True, "any change type"))
    else:
        listed = ", ".join(label(ChangeType, t) for t in types)
        ok = ctype in types
        out.append(
            Reason(
                "change_type",
                ok,
                f"change type {label(ChangeType, ctype)} is "
                + ("" if ok else "not ")
                + f"one of {listed}",
            )
        )
    minimum = rule.get("min_band") or ""
    if not minimum:
        out.append(Reason("risk_band", True, "any risk band"))
    else:
        band = band_of()
        ok = BAND_ORDER.index(RiskBand(band)) >= BAND_ORDER.index(RiskBand(minimum))
        out.append(
            Reason(
                "risk_band",
                ok,
                f"risk band {band} " + ("is at least" if ok else "is below") + f" {minimum}",
                {"band": band, "min_band": minimum},
            )
        )
    wanted = rule.get("touches") or []
    if not wanted:
        out.append(Reason("touches", True, "whatever it touches"))
    else:
        hit = [t for t in wanted if t in areas]
        if hit:
            message = "touches " + ", ".join(label(Touches, t) for t in hit)
        else:
            message = (
                "touches none of "
                + ", ".join(label(Touches, t) for t in wanted)
                + (
                    f" (it touches {', '.join(label(Touches, a) for a in areas)})"
                    if areas
                    else " (it touches no sensitive area)"
                )
            )
        out.append(Reason("touches", bool(hit), message, {"matched": hit}))
    out.extend(policy_scopes.reasons(rule, release))
    wants_facing = rule.get("customer_facing")
    if wants_facing is None:
        out.append(Reason("customer_facing", True, "customer-facing or not"))
    elif wants_facing:
        out.append(
            Reason(
                "customer_facing",
                bool(facing),
                f"ships customer-facing {', '.join(facing)}"
                if facing
                else "ships no customer-facing service",
            )
        )
    else:
        out.append(
            Reason(
                "customer_facing",
                not facing,
                "ships no customer-facing service"
                if not facing
                else f"ships customer-facing {', '.join(facing)}",
            )
        )
    return out


def snapshot(rule: ApprovalRule) -> dict[str, Any]:
    out = {"id": rule.pk}
    out.update({name: getattr(rule, name) for name in RULE_FIELDS})
    out.update(policy_scopes.snapshot_extra(rule))
    return out


def live_rules() -> list[dict[str, Any]]:
    return [snapshot(r) for r in ApprovalRule.objects.order_by("position", "name")]


def describe(rule: dict | ApprovalRule) -> dict[str, Any]:
    """A rule's conditions and approvers in words, for pages and version snapshots."""
    if isinstance(rule, ApprovalRule):
        rule = snapshot(rule)
    conditions = []
    if rule.get("change_types"):
        conditions.append(
            "Change type " + " or ".join(label(ChangeType, t) for t in rule["change_types"])
        )
    if rule.get("min_band"):
        conditions.append(f"Risk band {rule['min_band']} or above")
    if rule.get("touches"):
        conditions.append("Touches " + " or ".join(label(Touches, t) for t in rule["touches"]))
    if rule.get("customer_facing") is True:
        conditions.append("Ships a customer-facing service")
    elif rule.get("customer_facing") is False:
        conditions.append("Ships no customer-facing service")
    conditions.extend(policy_scopes.describe_extra(rule))
    return {
        "conditions": conditions or ["Every release"],
        "needs": " + ".join(f"{a['count']} × {a['group']}" for a in rule.get("approvers", [])),
    }
