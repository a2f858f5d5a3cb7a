"""Freeze exceptions: who may ask, who may grant, and which ones apply now (curriculum 5.5, 2.6).

A release that must ship inside a blocking window (a hard freeze or blackout)
asks for a time-boxed exception naming the window, the justification and the
risk. Someone holding a deciding role the requester does not hold, who did
not contribute to the release, approves or rejects it. While an approved
exception is valid the gate lets the release through that window and says
so (``exception_applied``); a different window still stops it.

Web pages, the API and the demo data all call these functions.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from governance import decision_log
from releasemgr.decisions import Decision, DomainError, IllegalTransition, NotPermitted, Reason
from releasemgr.roles import CAB_MEMBER, RELEASE_MANAGER, user_roles
from releases.choices import ChangeType, ReleaseKind, ReleaseState
from scheduling.choices import BLOCKING_KINDS, ExceptionStatus, RiskLevel
from scheduling.models import FreezeException, FreezeWindow

# Roles that may grant an exception; the granter must hold one the requester does not.
DECIDING_ROLES = (CAB_MEMBER, RELEASE_MANAGER)
DECIDE_PERMISSION = "scheduling.decide_freezeexception"
REQUEST_PERMISSION = "scheduling.add_freezeexception"
MAX_DURATION = timedelta(days=7)
# How far ahead the release page looks for windows that will stop a release.
SOON = timedelta(days=30)
# Releases that will not deploy again: asking for an exception for them makes no sense.
FINISHED_STATES = (ReleaseState.CANCELLED, ReleaseState.CLOSED, ReleaseState.DEPLOYED)
# Exceptions that still count (a new overlapping request for the same window would duplicate one).
OPEN_STATUSES = (ExceptionStatus.PENDING, ExceptionStatus.APPROVED)


class InvalidRequest(DomainError):
    """The request itself is wrong (bad period, a window that does not apply): HTTP 400.

    Each reason's ``data["field"]`` names the field it is about.
    """

    status_code = 400
    code = "invalid"


def is_expedited(release) -> bool:
    """Security patches and emergency changes are decided first."""
    return release.kind == ReleaseKind.SECURITY_PATCH or release.change_type == ChangeType.EMERGENCY


# --- which windows stop a release ----------------------------------------------------------


@dataclass(frozen=True)
class Blocking:
    """A blocking window that stops a release, with its occurrences in the period asked about."""

    window: FreezeWindow
    occurrences: list  # scheduling.windows.Occurrence, in UTC, ordered

    @property
    def first(self):
        return self.occurrences[0]


def _release_scope(release):
    from scheduling.windows import Scope

    services = [rs.service for rs in release.release_services.select_related("service")]
    return Scope.of(services, None)


def _stops(window: FreezeWindow, release, scope) -> bool:
    """Is ``window`` a freeze or blackout (hard or soft) for the release's services?

    The scope names no environment or region: the release may go to any of them, so a
    window limited to production (or to one region) stops it too.
    """
    from scheduling.windows import in_scope

    if window.kind not in BLOCKING_KINDS:
        return False
    if release.change_type in (window.allowed_change_types or []):
        return False
    return in_scope(window, scope)


def blocking_windows(release, since: datetime, until: datetime) -> list[Blocking]:
    """Blocking windows that stop ``release`` at some time in [since, until), soonest first.

    One query for the windows (with prefetched scopes) and one for the release's services.
    Windows whose ``allowed_change_types`` include the release's change type are left out:
    the release needs no exception for them.
    """
    from scheduling.windows import candidate_windows, occurrences

    scope = _release_scope(release)
    found = []
    for window in candidate_windows(since, until, BLOCKING_KINDS, scope):
        if not _stops(window, release, scope):
            continue
        occs = occurrences(window, since, until)
        if occs:
            found.append(Blocking(window, occs))
    found.sort(key=lambda b: (b.first.start, b.window.pk))
    return found


def window_applies(window: FreezeWindow, release, since: datetime, until: datetime) -> bool:
    """Does this blocking window stop any of the release's services in [since, until)?"""
    from scheduling.windows import occurrences

    return _stops(window, release, _release_scope(release)) and bool(
        occurrences(window, since, until)
    )


def suggested_validity(window: FreezeWindow, now: datetime | None = None):
    """Default validity for a new request: from the next (or current) occurrence, one day long."""
    from scheduling.windows import occurrences

    now = now or timezone.now()
    # Floored to the minute (what a datetime-local field holds), so it is in force at once.
    start = now.replace(second=0, microsecond=0)
    occs = occurrences(window, now, now + timedelta(days=400))
    if not occs:
        return start, start + timedelta(days=1)
    occ = occs[0]
    valid_from = max(start, occ.start)
    valid_until = min(occ.end, valid_from + timedelta(days=1))
    if valid_until <= valid_from:
        valid_until = valid_from + timedelta(hours=1)
    return valid_from, valid_until


# --- asking ----------------------------------------------------------------------------------


def request(
    release,
    window: FreezeWindow,
    user,
    *,
    justification: str,
    risk: str,
    risk_level: str,
    valid_from: datetime,
    valid_until: datetime,
) -> FreezeException:
    """Ask to deploy ``release`` during ``window`` between ``valid_from`` and ``valid_until``.

    Raises ``NotPermitted`` for a user who may not ask; ``InvalidRequest`` listing every
    problem (nothing is written) when the request makes no sense: a window that blocks
    nothing or does not apply to the release then, a period that ends before it starts,
    is too long or is already over, a finished release; ``DomainError`` (409) for a
    duplicate of an open request.
    """
    if not user.has_perm(REQUEST_PERMISSION):
        raise NotPermitted(f"{user.username} may not request freeze exceptions.")
    errors: list[tuple[str, str]] = []  # (form field, message)
    if release.state in FINISHED_STATES:
        errors.append(
            (
                "release",
                f"{release.key} is {release.get_state_display().lower()}; "
                "it will not deploy again.",
            )
        )
    if window.kind not in BLOCKING_KINDS:
        errors.append(
            (
                "window",
                f"'{window.name}' is a {window.get_kind_display().lower()}; it blocks nothing.",
            )
        )
    if risk_level not in RiskLevel.values:
        errors.append(("risk_level", f"Unknown risk level '{risk_level}'."))
    if valid_until <= valid_from:
        errors.append(("valid_until", "The exception must end after it starts."))
    elif valid_until - valid_from > MAX_DURATION:
        errors.append(
            (
                "valid_until",
                f"An exception lasts at most {MAX_DURATION.days} days; ask for a shorter one.",
            )
        )
    if valid_until <= timezone.now():
        errors.append(("valid_until", "The exception would already be over."))
    if not justification.strip():
        errors.append(("justification", "Say why the release cannot wait for the window to end."))
    if not risk.strip():
        errors.append(("risk", "Say what could go wrong and how it is contained."))
    if not errors and release.change_type in (window.allowed_change_types or []):
        errors.append(
            (
                "window",
                f"{release.get_change_type_display()} changes may ship during '{window.name}'; "
                "no exception is needed.",
            )
        )
    if not errors and not window_applies(window, release, valid_from, valid_until):
        errors.append(
            (
                "window",
                f"'{window.name}' does not apply to {release.key} between those times; "
                "no exception is needed.",
            )
        )
    if errors:
        raise InvalidRequest(
            " ".join(message for _field, message in errors),
            [
                Reason("exception_request", False, message, {"field": field})
                for field, message in errors
            ],
        )
    with transaction.atomic():
        # The release row lock makes two identical requests arriving together one request,
        # and its state is read again under it (the caller's copy may be stale).
        state = (
            type(release)
            .objects.select_for_update()
            .filter(pk=release.pk)
            .values_list("state", flat=True)
            .get()
        )
        if state in FINISHED_STATES:
            message = (
                f"{release.key} is {ReleaseState(state).label.lower()}; it will not deploy again."
            )
            raise InvalidRequest(
                message, [Reason("exception_request", False, message, {"field": "release"})]
            )
        duplicate = (
            FreezeException.objects.filter(
                release=release,
                window=window,
                status__in=OPEN_STATUSES,
                valid_from__lt=valid_until,
                valid_until__gt=valid_from,
            )
            .order_by("pk")
            .first()
        )
        if duplicate is not None:
            message = (
                f"Exception #{duplicate.pk} for {release.key} in '{window.name}' is already "
                f"{duplicate.status} for an overlapping period; withdraw it or use it."
            )
            raise DomainError(
                message,
                [Reason("duplicate_exception", False, message, {"exception": duplicate.pk})],
            )
        exception = FreezeException(
            release=release,
            window=window,
            justification=justification.strip(),
            risk=risk.strip(),
            risk_level=risk_level,
            valid_from=valid_from,
            valid_until=valid_until,
            requested_by=user,
            requester_roles=sorted(user_roles(user)),
            expedited=is_expedited(release),
        )
        exception.save_with_reason(
            "requested" + (" (expedited)" if exception.expedited else ""), user=user
        )
    return exception


# --- deciding --------------------------------------------------------------------------------


def may_decide(exception: FreezeException, user, now: datetime | None = None) -> Decision:
    """May ``user`` approve or reject ``exception``? Every reason, passed or not, for the UI."""
    now = now or timezone.now()
    decision = Decision()
    has_perm = user.has_perm(DECIDE_PERMISSION)
    decision.add(
        Reason(
            "decide_permission",
            has_perm,
            f"{user.username} may decide freeze exceptions."
            if has_perm
            else f"{user.username} may not decide freeze exceptions "
            f"(a {' or '.join(DECIDING_ROLES)} may).",
        )
    )
    roles = user_roles(user)
    other = sorted((roles & set(DECIDING_ROLES)) - set(exception.requester_roles))
    decision.add(
        Reason(
            "different_role",
            bool(other),
            f"{user.username} decides as {other[0]}, a role the requester does not hold."
            if other
            else f"{user.username} needs a deciding role ({', '.join(DECIDING_ROLES)}) that the "
            f"requester ({exception.requested_by.username}: "
            f"{', '.join(exception.requester_roles) or 'no role'}) does not hold.",
            {"roles": sorted(roles), "requester_roles": list(exception.requester_roles)},
        )
    )
    decision.add(
        Reason(
            "not_requester",
            user.pk != exception.requested_by_id,
            "The requester cannot decide their own exception."
            if user.pk == exception.requested_by_id
            else f"{user.username} did not request it.",
        )
    )
    contributor = user.pk in exception.release.contributor_ids()
    decision.add(
        Reason(
            "segregation_of_duties",
            not contributor,
            f"{user.username} authored or contributed to {exception.release.key}."
            if contributor
            else f"{user.username} did not contribute to {exception.release.key}.",
        )
    )
    still_valid = exception.valid_until > now
    decision.add(
        Reason(
            "still_valid",
            still_valid,
            f"Valid until {exception.valid_until:%Y-%m-%d %H:%M} UTC."
            if still_valid
            else f"It expired at {exception.valid_until:%Y-%m-%d %H:%M} UTC; "
            "the requester must ask again.",
        )
    )
    return decision


def decide(
    exception: FreezeException, user, *, approve: bool, comment: str = ""
) -> FreezeException:
    """Approve or reject a pending exception.

    ``NotPermitted`` (403) without the permission or when ``may_decide`` says no;
    ``IllegalTransition`` (409) when it is no longer pending.
    """
    if not user.has_perm(DECIDE_PERMISSION):
        raise NotPermitted(
            f"{user.username} may not decide freeze exceptions.",
            [r for r in may_decide(exception, user).failed if r.code == "decide_permission"],
        )
    with transaction.atomic():
        locked = (
            FreezeException.objects.select_for_update()
            .select_related("release", "requested_by")
            .get(pk=exception.pk)
        )
        if locked.status != ExceptionStatus.PENDING:
            raise IllegalTransition(f"Exception #{locked.pk} is already {locked.status}.")
        verdict = may_decide(locked, user)
        if not verdict.allowed:
            raise NotPermitted(" ".join(verdict.messages()), verdict.failed)
        locked.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.decision_comment = comment.strip()
        reason = f"{locked.status}: {locked.decision_comment}" if comment.strip() else locked.status
        locked.save_with_reason(reason[:100], user=user)
        decision_log.record_freeze_exception(locked, user)
    return locked


def withdraw(exception: FreezeException, user) -> FreezeException:
    """The requester takes back a pending request."""
    with transaction.atomic():
        locked = FreezeException.objects.select_for_update().get(pk=exception.pk)
        if locked.requested_by_id != user.pk:
            raise NotPermitted("Only the requester can withdraw an exception.")
        if locked.status != ExceptionStatus.PENDING:
            raise IllegalTransition(f"Exception #{locked.pk} is already {locked.status}.")
        locked.status = ExceptionStatus.WITHDRAWN
        locked.save_with_reason("withdrawn", user=user)
    return locked


# --- applying ----------------------------------------------------------------------------------


def active_exceptions(release, at: datetime) -> dict[int, FreezeException]:
    """Approved exceptions of ``release`` valid at ``at``, by window id."""
    return {
        e.window_id: e
        for e in FreezeException.objects.filter(
            release=release, status=ExceptionStatus.APPROVED, valid_from__lte=at, valid_until__gt=at
        ).select_related("decided_by")
    }


def validity(exception: FreezeException, now: datetime | None = None) -> str:
    """Where an exception stands in time: ``upcoming``, ``in_force``, ``expired``, or its
    status when it never took effect (``pending``, ``rejected``, ``withdrawn``)."""
    now = now or timezone.now()
    if exception.status != ExceptionStatus.APPROVED:
        if exception.status == ExceptionStatus.PENDING and exception.valid_until <= now:
            return "expired"
        return exception.status
    if exception.valid_until <= now:
        return "expired"
    return "in_force" if exception.valid_from <= now else "upcoming"


# --- demo data -------------------------------------------------------------------------------


def demo(users: dict, envs: dict) -> None:
    """Demo exceptions, idempotent: a pending expedited request (a security patch, asked by
    the developer) and an approved one for a normal release (asked by the release manager,
    approved by the CAB member) in the first freeze ahead. Called by ``seed_demo``."""
    from releases.models import Release

    if FreezeException.objects.exists():
        return
    now = timezone.now()
    window = (
        FreezeWindow.objects.filter(kind__in=BLOCKING_KINDS, end__gt=now).order_by("start").first()
    )
    manager, developer, cab = (users.get(r) for r in ("release_manager", "developer", "cab_member"))
    if window is None or manager is None or developer is None:
        return

    def stopped(release) -> bool:
        return any(b.window == window for b in blocking_windows(release, now, now + SOON))

    open_releases = list(Release.objects.exclude(state__in=FINISHED_STATES).order_by("created"))
    patch = next((r for r in open_releases if is_expedited(r) and stopped(r)), None)
    normal = next((r for r in open_releases if not is_expedited(r) and stopped(r)), None)
    valid_from, valid_until = suggested_validity(window, now)
    common = {
        "risk": "Small, isolated change; rolled back by redeploying the previous version.",
        "risk_level": RiskLevel.MEDIUM,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    if patch is not None:
        request(
            patch,
            window,
            developer,
            justification="Security patch for an actively exploited vulnerability.",
            **common,
        )
    if normal is not None:
        exception = request(
            normal,
            window,
            manager,
            justification="Fix for a customer-facing defect that cannot wait for the freeze to end.",
            **common,
        )
        if cab is not None:
            # If the demo CAB member contributed to the release, it stays pending.
            with contextlib.suppress(DomainError):
                decide(
                    exception,
                    cab,
                    approve=True,
                    comment="Rollback plan checked; deploy in the quiet hours.",
                )
