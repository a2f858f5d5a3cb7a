"""The shapes every decision returns, and the domain errors they raise.

A decision is a plain function returning a ``Decision``: an outcome plus the
reasons behind it. The UI shows the reasons, the API returns them, and the
gate stores them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Reason:
    code: str
    passed: bool
    message: str
    data: dict[str, Any] = field(default_factory=dict)
    # When a failed reason will clear by itself (a window ending, an approval pending).
    waits: bool = False
    retry_after: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["retry_after"] = self.retry_after.isoformat() if self.retry_after else None
        return out


@dataclass
class Decision:
    reasons: list[Reason] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return all(r.passed for r in self.reasons)

    @property
    def failed(self) -> list[Reason]:
        return [r for r in self.reasons if not r.passed]

    def add(self, reason: Reason) -> Reason:
        self.reasons.append(reason)
        return reason

    def messages(self) -> list[str]:
        return [r.message for r in self.failed]


class DomainError(Exception):
    """A rule of the product said no. Mapped to HTTP 409 by the API."""

    status_code = 409
    code = "conflict"

    def __init__(self, message: str, reasons: list[Reason] | None = None):
        super().__init__(message)
        self.message = message
        self.reasons = reasons or []


class IllegalTransition(DomainError):
    code = "illegal_transition"


class NotPermitted(DomainError):
    """The user is authenticated but a rule (role, segregation of duties) forbids the act."""

    status_code = 403
    code = "not_permitted"


def require_permission(user, permission: str | None, what: str) -> None:
    """Refuse (403) a person whose roles do not allow ``what``, saying so in words (the
    permission's codename goes in the reason's data, not in the message)."""
    if not permission or user.has_perm(permission):
        return
    from releasemgr.roles import user_roles

    roles = sorted(user_roles(user))
    held = f"roles: {', '.join(roles)}" if roles else "no role"
    message = f"{user.get_username()} may not {what} ({held})."
    raise NotPermitted(
        message,
        [
            Reason(
                "permission",
                False,
                message,
                {"action": what, "permission": permission, "roles": roles},
            )
        ],
    )


class InvalidInput(DomainError):
    """Bad input to a decision (HTTP 400). Each reason's ``data["field"]`` names its field."""

    status_code = 400
    code = "invalid"

    @classmethod
    def of(cls, errors: dict[str, list[str]]) -> InvalidInput:
        pairs = [(f, m) for f, messages in errors.items() for m in messages]
        return cls(
            " ".join(m for _f, m in pairs),
            [Reason("invalid", False, m, {"field": f}) for f, m in pairs],
        )
