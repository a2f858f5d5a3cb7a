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
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.choices import DecisionKind
from governance.models import ChainHead, DecisionRecord
from releasemgr.decisions import Reason

GENESIS_HASH = "0" * 64
HEAD_PK = 1


def _clean_text(value: str) -> str:
    """Text both databases store and give back unchanged.

    PostgreSQL refuses NUL characters in text and JSON, and a lone surrogate cannot be
    encoded for hashing; both are replaced rather than failing the decision being recorded.
    """
    if "\x00" in value:
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


# --- summaries: sentences joined from messages that may carry their own full stop ----------


def clause(text: str) -> str:
    """``text`` to go on inside a sentence: without its closing full stop (an ellipsis stays)."""
    text = (text or "").strip()
    return text[:-1].rstrip() if text.endswith(".") and not text.endswith("..") else text


def sentence(text: str) -> str:
    """``text`` ending with exactly one full stop (or its own ``!``, ``?``, ``…``)."""
    text = (text or "").strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _canonical(value: Any) -> Any:
    """Plain JSON values that survive a round trip through SQLite's text JSON and
    PostgreSQL's ``jsonb`` unchanged.

    ``jsonb`` stores numbers as ``numeric``: a float such as ``1e16`` comes back as the
    integer ``10000000000000000``, so integral floats are stored as integers; NaN and
    infinities (which JSON cannot hold) become strings; keys become strings.
    """
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return int(value) if value.is_integer() else value
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, dict):
        return {_clean_text(str(k)): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(UTC)
        return value.isoformat()
    return _clean_text(str(value))


def _jsonable(value: Any) -> Any:
    """What the JSON column will give back, so the hash is the same after a round trip."""
    return _canonical(value)


def _reasons(reasons) -> list[dict]:
    out = []
    for r in reasons or []:
        if isinstance(r, Reason):
            r = {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
        out.append(r)
    return _jsonable(out)


def _fit(field: str, value: str) -> str:
    """Clip to the column's length (PostgreSQL refuses longer text; SQLite would keep it,
    and the stored value must be the hashed one on both)."""
    limit = DecisionRecord._meta.get_field(field).max_length
    return _clean_text(value or "")[:limit]


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


def _locked_head() -> ChainHead:
    """The chain's head row, locked until the caller's transaction ends."""
    head = ChainHead.objects.select_for_update().filter(pk=HEAD_PK).first()
    if head is None:
        # The first entry ever. Should the row have been removed, the chain goes on from
        # where the log ends (``verify`` reports the missing head until then).
        last = DecisionRecord.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        ChainHead.objects.get_or_create(
            pk=HEAD_PK,
            defaults={
                "last_sequence": last.sequence if last else 0,
                "last_hash": last.entry_hash if last else GENESIS_HASH,
            },
        )
        head = ChainHead.objects.select_for_update().get(pk=HEAD_PK)
    return head


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
    """Write one decision at the end of the chain (in the caller's transaction).

    ``release`` is a Release or its key; ``reasons`` are ``Reason`` objects or dicts;
    ``data`` any JSON-able dict (datetimes become ISO strings). Concurrent appends wait
    for each other on the head row, so the chain never forks.
    """
    with transaction.atomic():
        head = _locked_head()
        authenticated = actor is not None and getattr(actor, "is_authenticated", False)
        entry = DecisionRecord(
            sequence=head.last_sequence + 1,
            recorded_at=timezone.now(),
            kind=kind,
            outcome=_fit("outcome", outcome),
            summary=_clean_text(summary or ""),
            actor=actor if authenticated else None,
            actor_name=_fit("actor_name", actor.get_username()) if authenticated else "",
            release_key=_fit("release_key", getattr(release, "key", release or "")),
            subject=_fit("subject", subject),
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
    head = ChainHead.objects.filter(pk=HEAD_PK).first()
    if head is None:
        if count:
            problem(
                expected - 1,
                "head_missing",
                "The chain's head record is missing, so removed newest entries cannot be "
                "ruled out.",
            )
    elif head.last_sequence != expected - 1 or head.last_hash != previous_hash:
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


# --- recorders: the decisions other modules take, written here in one place ------------------

_WINDOW_CHECKS = ("freeze_window", "blackout_window", "release_window")


def record_gate_answer(result, *, user, environment, service=None, version="", region=None):
    """One GATE entry per recorded gate answer; plus an OUT_OF_CYCLE entry when an allowed
    answer let the release through a window thanks to an approved freeze exception or an
    acknowledged override (a reason given for a soft window)."""
    record = result.record
    release = result.release
    target = release.key if release else f"{getattr(service, 'slug', '?')} {version}"
    purpose = getattr(record, "purpose", "query")
    where = environment.slug + (f" ({getattr(region, 'code', region)})" if region else "")
    data = {
        "gate_decision": str(record.pk) if record else None,
        "environment": environment.slug,
        "region": getattr(region, "code", region or ""),
        "service": getattr(service, "slug", ""),
        "version": version,
        "purpose": purpose,
        "retry_after": result.retry_after,
    }
    subject = f"gate-decision:{record.pk}" if record else ""
    failed = [c["message"] for c in result.checks if not c["passed"]]
    append(
        DecisionKind.GATE,
        result.status,
        sentence(
            f"Gate {result.status} for {target} → {where} ({purpose})"
            + (": " + " ".join(sentence(m) for m in failed) if failed else "")
        ),
        actor=user,
        release=release,
        subject=subject,
        reasons=result.checks,
        data=data,
    )
    if not result.allowed or release is None:
        return
    exceptions = sorted(
        {
            pk
            for c in result.checks
            if c["code"] == "exception_applied" and c["passed"]
            for pk in (c.get("data") or {}).get("exceptions", [])
        }
    )
    overrides = [
        c
        for c in result.checks
        if c["code"] in _WINDOW_CHECKS and c["passed"] and (c.get("data") or {}).get("reason")
    ]
    if not exceptions and not overrides:
        return
    used = [c for c in result.checks if c["code"] == "exception_applied"] + overrides
    how = []
    if exceptions:
        how.append("freeze exception " + ", ".join(f"#{n}" for n in exceptions))
    if overrides:
        how.append(f"override: {clause(overrides[0]['data']['reason'])}")
    append(
        DecisionKind.OUT_OF_CYCLE,
        "allowed",
        f"{release.key} allowed to {where} outside the normal windows ({'; '.join(how)}).",
        actor=user,
        release=release,
        subject=subject,
        reasons=used,
        data={**data, "exceptions": exceptions, "override": bool(overrides)},
    )


def record_freeze_exception(exception, user) -> DecisionRecord:
    """A FREEZE_EXCEPTION entry for an approved or rejected freeze exception."""
    window = exception.window
    comment = exception.decision_comment
    return append(
        DecisionKind.FREEZE_EXCEPTION,
        exception.status,
        sentence(
            f"Freeze exception #{exception.pk} for {exception.release.key} in '{window.name}' "
            f"{exception.status} by {user.get_username()}"
            + (
                f", valid {exception.valid_from:%Y-%m-%d %H:%M} → "
                f"{exception.valid_until:%Y-%m-%d %H:%M} UTC"
                if exception.status == "approved"
                else ""
            )
            + (f": {comment}" if comment else "")
        ),
        actor=user,
        release=exception.release,
        subject=f"freeze-exception:{exception.pk}",
        reasons=[
            {
                "code": "justification",
                "passed": True,
                "message": exception.justification,
                "data": {},
            },
            {
                "code": "risk",
                "passed": True,
                "message": exception.risk,
                "data": {"level": exception.risk_level},
            },
        ],
        data={
            "window": window.pk,
            "window_name": window.name,
            "valid_from": exception.valid_from,
            "valid_until": exception.valid_until,
            "requested_by": exception.requested_by.get_username(),
            "requester_roles": list(exception.requester_roles),
            "expedited": exception.expedited,
            "comment": comment,
        },
    )
