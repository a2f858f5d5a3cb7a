"""Published versions of the approval policy: snapshots, diffs, and publishing one."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction

from governance.choices import DecisionKind, RiskBand, Touches
from governance.models import PolicyVersion
from governance.policy_rules import RULE_FIELDS, label, live_rules
from releases.choices import ChangeType


def current_version() -> PolicyVersion | None:
    return PolicyVersion.objects.order_by("-number").first()


def jsonable(value):
    return json.loads(json.dumps(value, default=str))


FIELD_LABELS = {
    "change_types": "change types",
    "min_band": "risk band from",
    "touches": "touches",
    "customer_facing": "customer-facing",
    "approvers": "approvers",
}


def shown(field: str, value: Any) -> str:
    """A rule field's value in words: "2 × cab_member", "normal, emergency", "yes"/"no"/"any"."""
    if field == "approvers":
        return " + ".join(f"{a.get('count')} × {a.get('group')}" for a in value or []) or "none"
    if field in ("change_types", "touches"):
        choices = ChangeType if field == "change_types" else Touches
        return ", ".join(label(choices, v) for v in value or []) or "any"
    if field == "customer_facing":
        return {True: "yes", False: "no"}.get(value, "any")
    if field == "active":
        return "yes" if value else "no"
    if field == "min_band":
        return label(RiskBand, value) if value else "any"
    return "—" if value in (None, "") else str(value)


def summary(number: int, changes: list[dict], note: str = "") -> str:
    """The decision-log line for a published version. A note that only names the changed
    rules again (the pages' default "alice edited “X”") replaces the list instead of
    repeating it."""
    note = (note or "").strip()
    described = "; ".join(f"{c['change']} “{c['rule']}”" for c in changes) or "no rule changed"
    if note and changes and all(f"“{c['rule']}”" in note for c in changes):
        return f"Approval policy v{number} published: {note.rstrip('.')}."
    return f"Approval policy v{number} published: {described}." + (f" {note}" if note else "")


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


def readable(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A diff for pages: each changed field with its label and its values in words
    (``label``, ``old_shown``, ``new_shown``)."""
    return [
        {
            **change,
            "fields": [
                {
                    **f,
                    "label": FIELD_LABELS.get(f["field"], f["field"]),
                    "old_shown": shown(f["field"], f["old"]),
                    "new_shown": shown(f["field"], f["new"]),
                }
                for f in change["fields"]
            ],
        }
        for change in changes
    ]


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
        decision_log.append(
            kind=DecisionKind.POLICY_CHANGE,
            outcome=f"v{version.number}",
            summary=summary(version.number, changes, note),
            actor=user,
            subject=f"policy-version:{version.number}",
            data={"version": version.number, "changes": changes, "note": note},
        )
    return version
