"""Sign-in attempts for administrators: who is locked out now, the log of tries, unlocking,
and how long the log is kept.

The lock-out rule itself is ``releasemgr.security.login_lockout``; this module reads the same
rows for the Sign-ins page and the housekeeping job, and never decides differently from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from releasemgr.models_harden import LoginAttempt, LoginOutcome, UserSession
from releasemgr.security import locked_until, normalise_username, unlock_login

JOB_NAME = "security_housekeeping"
# The most locked usernames the page lists (a spray across thousands of names is summarised).
LOCKED_LIMIT = 50


def may_manage_signins(user) -> bool:
    """Administrators only: the log holds usernames and addresses of people and attackers."""
    return bool(getattr(user, "is_superuser", False))


@dataclass(frozen=True)
class Locked:
    username: str
    until: datetime
    failures: int

    @property
    def minutes_left(self) -> int:
        return max(1, int((self.until - timezone.now()).total_seconds() + 59) // 60)


def locked_usernames(now: datetime | None = None) -> list[Locked]:
    """Usernames locked right now, soonest-ending last; two queries whatever the log's size.

    Candidates are names with at least the threshold of failures in the window; each is then
    judged by the same rule as the sign-in form (a success or unlock after the failures
    resets them)."""
    now = now or timezone.now()
    threshold = settings.LOGIN_LOCKOUT_FAILURES
    if threshold <= 0:
        return []
    since = now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    recent = LoginAttempt.objects.filter(at__gte=since)
    candidates = list(
        recent.filter(outcome=LoginOutcome.FAILED)
        .values("username")
        .annotate(n=Count("id"))
        .filter(n__gte=threshold)
        .order_by("-n", "username")
        .values_list("username", flat=True)[: LOCKED_LIMIT * 2]
    )
    if not candidates:
        return []
    by_name: dict[str, list] = {}
    counted = [LoginOutcome.FAILED, LoginOutcome.SUCCEEDED, LoginOutcome.UNLOCKED]
    for username, outcome, at in (
        recent.filter(username__in=candidates, outcome__in=counted)
        .order_by("username", "-at")
        .values_list("username", "outcome", "at")
    ):
        by_name.setdefault(username, []).append((outcome, at))
    out = []
    for username, attempts in by_name.items():
        until = locked_until(attempts, threshold, resets=True)
        if until and until > now:
            failures = 0
            for outcome, _at in attempts:
                if outcome != LoginOutcome.FAILED:
                    break
                failures += 1
            out.append(Locked(username, until, failures))
    out.sort(key=lambda row: (-row.until.timestamp(), row.username))
    return out[:LOCKED_LIMIT]


class InvalidSigninFilters(ValueError):
    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class SigninFilters:
    username: str = ""
    outcome: str = ""
    ip: str = ""
    since: date | None = None


def parse_filters(params) -> SigninFilters:
    """The list's filters from a query string; a clear error per bad value, nothing guessed."""
    errors = {}
    filters = SigninFilters(
        username=normalise_username(params.get("username", "")),
        outcome=(params.get("outcome") or "").strip(),
        ip=(params.get("ip") or "").strip()[:45],
    )
    if filters.outcome and filters.outcome not in LoginOutcome.values:
        errors["outcome"] = f"Choose one of {', '.join(LoginOutcome.values)}."
    since = (params.get("since") or "").strip()
    if since:
        try:
            filters.since = date.fromisoformat(since)
        except ValueError:
            errors["since"] = "Enter a date as YYYY-MM-DD."
    if errors:
        raise InvalidSigninFilters(errors)
    return filters


def attempts(filters: SigninFilters):
    """The log, newest first, filtered; the unlocking administrator joined in (no N+1)."""
    rows = LoginAttempt.objects.select_related("by").order_by("-at", "-pk")
    if filters.username:
        rows = rows.filter(username__contains=filters.username)
    if filters.outcome:
        rows = rows.filter(outcome=filters.outcome)
    if filters.ip:
        rows = rows.filter(ip__startswith=filters.ip)
    if filters.since:
        start = datetime.combine(
            filters.since, datetime.min.time(), tzinfo=timezone.get_current_timezone()
        )
        rows = rows.filter(at__gte=start)
    return rows


def unlock(username: str, by) -> LoginAttempt:
    """An administrator lifts a lock-out from the page: failures before now stop counting.
    Refused (ValueError, nothing written) for a blank name or a name that is not locked."""
    if not may_manage_signins(by):
        raise PermissionError("Only administrators unlock sign-ins.")
    name = normalise_username(username)
    if not name:
        raise ValueError("Give the username to unlock.")
    if name not in {row.username for row in locked_usernames()}:
        raise ValueError(f"'{name}' is not locked out; nothing to unlock.")
    return unlock_login(name, by=by)


def retention_days() -> int:
    """Days the log is kept: LOGIN_ATTEMPT_RETENTION_DAYS, never less than the lock-out window
    (pruning must not forget failures that still count)."""
    window_days = -(-settings.LOGIN_FAILURE_WINDOW_SECONDS // 86400)
    return max(settings.LOGIN_ATTEMPT_RETENTION_DAYS, window_days, 1)


def prune(now: datetime | None = None) -> str:
    """The housekeeping job: drop sign-in attempts older than the retention, and server-side
    sessions that have expired (what ``manage.py clearsessions`` does). Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=retention_days())
    attempts_deleted, _ = LoginAttempt.objects.filter(at__lt=cutoff).delete()
    sessions_deleted, _ = UserSession.objects.filter(expire_date__lt=now).delete()
    return (
        f"{attempts_deleted} sign-in attempt(s) older than {retention_days()} days deleted, "
        f"{sessions_deleted} expired session(s) deleted"
    )
