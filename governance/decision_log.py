"""The tamper-evident decision log: append a decision, verify the chain.

Every decision (approval, rejection, vote outcome, exception, residual-risk
acceptance, segregation-of-duties refusal, gate answer, policy change) is
written here once. Each entry stores the SHA-256 of its own canonical content
plus the previous entry's hash, so editing, deleting or reordering any row in
the database breaks the chain at that row, and ``verify`` says where.

The application cannot change or delete an entry (``DecisionRecord`` refuses);
appends lock one ``ChainHead`` row so concurrent writers form a single chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.models import ChainHead, DecisionRecord
from releasemgr.decisions import Reason

GENESIS_HASH = "0" * 64


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back, so the hash is the same after a round trip."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _reasons(reasons) -> list[dict]:
    out = []
    for r in reasons or []:
        if isinstance(r, Reason):
            r = {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
        out.append(r)
    return _jsonable(out)


def content_of(entry: DecisionRecord) -> dict[str, Any]:
    """The fields the hash covers (everything a reader relies on)."""
    return {
        "sequence": entry.sequence,
        "recorded_at": timezone.localtime(entry.recorded_at, UTC).isoformat(),
        "kind": entry.kind,
        "outcome": entry.outcome,
        "summary": entry.summary,
        "actor_id": entry.actor_id,
        "actor_name": entry.actor_name,
        "release_key": entry.release_key,
        "subject": entry.subject,
        "reasons": entry.reasons,
        "data": entry.data,
        "previous_hash": entry.previous_hash,
    }


def compute_hash(entry: DecisionRecord) -> str:
    canonical = json.dumps(
        content_of(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def append(
    kind: str,
    outcome: str,
    summary: str,
    *,
    actor=None,
    release=None,
    subject: str = "",
    reasons=None,
    data: dict | None = None,
) -> DecisionRecord:
    """Write one decision at the end of the chain (in the caller's transaction)."""
    with transaction.atomic():
        head, _ = ChainHead.objects.get_or_create(pk=1)
        head = ChainHead.objects.select_for_update().get(pk=1)
        authenticated = actor is not None and getattr(actor, "is_authenticated", False)
        entry = DecisionRecord(
            sequence=head.last_sequence + 1,
            recorded_at=timezone.now(),
            kind=kind,
            outcome=outcome,
            summary=summary,
            actor=actor if authenticated else None,
            actor_name=actor.get_username() if authenticated else "",
            release_key=getattr(release, "key", release or ""),
            subject=subject,
            reasons=_reasons(reasons),
            data=_jsonable(data or {}),
            previous_hash=head.last_hash,
        )
        entry.entry_hash = compute_hash(entry)
        entry.save()
        head.last_sequence = entry.sequence
        head.last_hash = entry.entry_hash
        head.save(update_fields=["last_sequence", "last_hash"])
    return entry


@dataclass
class Verification:
    intact: bool
    entries: int
    checked_at: str
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first_break(self) -> dict[str, Any] | None:
        return self.problems[0] if self.problems else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "checked_at": self.checked_at,
            "first_break": self.first_break,
            "problems": self.problems,
        }


def verify(max_problems: int = 50) -> Verification:
    """Walk the chain in sequence order and report every entry that does not fit."""
    problems: list[dict[str, Any]] = []

    def problem(sequence, code, message):
        if len(problems) < max_problems:
            problems.append({"sequence": sequence, "code": code, "message": message})

    previous_hash = GENESIS_HASH
    expected = 1
    count = 0
    for entry in DecisionRecord.objects.order_by("sequence").iterator(chunk_size=2000):
        count += 1
        if entry.sequence != expected:
            problem(
                entry.sequence,
                "missing",
                f"Entries #{expected}–#{entry.sequence - 1} are missing (deleted or renumbered)."
                if entry.sequence > expected
                else f"Entry #{entry.sequence} is out of order (expected #{expected}).",
            )
        if entry.previous_hash != previous_hash:
            problem(
                entry.sequence,
                "broken_link",
                f"Entry #{entry.sequence} does not follow the entry before it "
                "(an entry was deleted, inserted or reordered).",
            )
        if compute_hash(entry) != entry.entry_hash:
            problem(
                entry.sequence,
                "altered",
                f"Entry #{entry.sequence}'s content does not match its hash (it was edited).",
            )
        previous_hash = entry.entry_hash
        expected = entry.sequence + 1
    head = ChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_sequence != expected - 1 or head.last_hash != previous_hash):
        problem(
            head.last_sequence,
            "truncated",
            f"The log should end at entry #{head.last_sequence}, but ends at #{expected - 1} "
            "(the newest entries were removed or replaced).",
        )
    return Verification(
        intact=not problems,
        entries=count,
        checked_at=timezone.now().isoformat(),
        problems=problems,
    )
