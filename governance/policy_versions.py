"""Published versions of the approval policy: snapshots, diffs, and publishing one."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from governance.choices import DecisionKind
from governance.models import PolicyVersion
from governance.policy_rules import RULE_FIELDS, live_rules


def current_version() -> PolicyVersion | None:
    return PolicyVersion.objects.order_by("-number").first()


def jsonable(value):
    return json.loads(json.dumps(value, default=str))


def diff(old_rules: list[dict], new_rules: list[dict]) -> list[dict[str, Any]]:
    """Rule by rule (matched by id): added, removed, or the fields that changed."""
    old = {r.get("id"): r for r in old_rules}
    new = {r.get("id"): r for r in new_rules}
    out = []
    for rid, rule in new.items():
        before = old.get(rid)
        if before is None:
            out.append({"rule": rule["name"], "change": "added", "fields": []})
            continue
        fields = [
            {"field": f, "old": before.get(f), "new": rule.get(f)}
            for f in RULE_FIELDS
            if before.get(f) != rule.get(f)
        ]
        if fields:
            out.append({"rule": rule["name"], "change": "changed", "fields": fields})
    for rid, rule in old.items():
        if rid not in new:
            out.append({"rule": rule["name"], "change": "removed", "fields": []})
    return out


def version_diff(version: PolicyVersion) -> list[dict[str, Any]]:
    previous = PolicyVersion.objects.filter(number__lt=version.number).order_by("-number").first()
    return diff(previous.rules if previous else [], version.rules)


def publish(user, note: str = "") -> PolicyVersion:
    """Snapshot every rule as the next policy version and log the change (caller's transaction)."""
    from governance import decision_log

    with transaction.atomic():
        last = PolicyVersion.objects.select_for_update().order_by("-number").first()
        rules = jsonable(live_rules())
        changes = diff(last.rules if last else [], rules)
        version = PolicyVersion.objects.create(
            number=(last.number if last else 0) + 1,
            created_by=user if getattr(user, "is_authenticated", False) else None,
            note=note[:300],
            rules=rules,
        )
        described = "; ".join(f"{c['change']} “{c['rule']}”" for c in changes) or "no rule changed"
        decision_log.append(
            kind=DecisionKind.POLICY_CHANGE,
            outcome=f"v{version.number}",
            summary=f"Approval policy v{version.number} published: {described}."
            + (f" {note}" if note else ""),
            actor=user,
            subject=f"policy-version:{version.number}",
            data={"version": version.number, "changes": changes, "note": note},
        )
    return version
