"""Freeze exceptions: who may ask, who may grant, and which ones apply now (curriculum 5.5, 2.6)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from releasemgr.decisions import Decision, DomainError, IllegalTransition, NotPermitted, Reason
from releasemgr.roles import CAB_MEMBER, RELEASE_MANAGER, user_roles
from releases.choices import ChangeType, ReleaseKind
from scheduling.choices import BLOCKING_KINDS, ExceptionStatus
from scheduling.models import FreezeException, FreezeWindow

# Roles that may grant an exception; the granter must hold one the requester does not.
DECIDING_ROLES = (CAB_MEMBER, RELEASE_MANAGER)
MAX_DURATION = timedelta(days=7)


def is_expedited(release) -> bool:
    return release.kind == ReleaseKind.SECURITY_PATCH or release.change_type == ChangeType.EMERGENCY


def window_applies(window: FreezeWindow, release, since: datetime, until: datetime) -> bool:
    """Does this blocking window stop any of the release's services in [since, until)?"""
    from scheduling.windows import Scope, in_scope, occurrences

    services = [rs.service for rs in release.release_services.select_related("service")]
    scope = Scope.of(services, None)
    window_envs = list(window.environments.all())
    # Environment scope is checked per deployment; here any environment of the window will do.
    if not window_envs:
        return in_scope(window, scope) and bool(occurrences(window, since, until))
    return any(
        in_scope(window, Scope(scope.service_ids, scope.team_ids, env.pk, None))
        for env in window_envs
    ) and bool(occurrences(window, since, until))


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
    """Ask to deploy ``release`` during ``window`` between ``valid_from`` and ``valid_until``."""
    if not user.has_perm("scheduling.add_freezeexception"):
        raise NotPermitted(f"{user.username} may not request freeze exceptions.")
    errors = []
    if window.kind not in BLOCKING_KINDS:
        errors.append(
            f"'{window.name}' is a {window.get_kind_display().lower()}; it blocks nothing."
        )
    if valid_until <= valid_from:
        errors.append("The exception must end after it starts.")
    elif valid_until - valid_from > MAX_DURATION:
        errors.append(
            f"An exception lasts at most {MAX_DURATION.days} days; ask for a shorter one."
        )
    if valid_until <= timezone.now():
        errors.append("The exception would already be over.")
    if not justification.strip() or not risk.strip():
        errors.append("Give the justification and the risk.")
    if not errors and not window_applies(window, release, valid_from, valid_until):
        errors.append(
            f"'{window.name}' does not apply to {release.key} between those times; "
            "no exception is needed."
        )
    if errors:
        raise DomainError(" ".join(errors), [Reason("exception_request", False, e) for e in errors])
    exception = FreezeException(
        release=release,
        window=window,
        justification=justification,
        risk=risk,
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


def may_decide(exception: FreezeException, user) -> Decision:
    decision = Decision()
    roles = user_roles(user)
    other = sorted((roles & set(DECIDING_ROLES)) - set(exception.requester_roles))
    decision.add(
        Reason(
            "different_role",
            bool(other),
            f"{user.username} decides as {other[0]}."
            if other
            else f"{user.username} needs a deciding role ({', '.join(DECIDING_ROLES)}) that the requester "
            f"({exception.requested_by.username}: {', '.join(exception.requester_roles) or 'no role'}) "
            "does not hold.",
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
            f"{user.username} contributed to {exception.release.key}."
            if contributor
            else f"{user.username} did not contribute to {exception.release.key}.",
        )
    )
    return decision


def decide(
    exception: FreezeException, user, *, approve: bool, comment: str = ""
) -> FreezeException:
    if not user.has_perm("scheduling.decide_freezeexception"):
        raise NotPermitted(f"{user.username} may not decide freeze exceptions.")
    with transaction.atomic():
        locked = FreezeException.objects.select_for_update().get(pk=exception.pk)
        if locked.status != ExceptionStatus.PENDING:
            raise IllegalTransition(f"Exception #{locked.pk} is already {locked.status}.")
        verdict = may_decide(locked, user)
        if not verdict.allowed:
            raise NotPermitted(" ".join(verdict.messages()), verdict.failed)
        locked.status = ExceptionStatus.APPROVED if approve else ExceptionStatus.REJECTED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.decision_comment = comment
        locked.save_with_reason(f"{locked.status}: {comment}"[:100], user=user)
    return locked


def withdraw(exception: FreezeException, user) -> FreezeException:
    with transaction.atomic():
        locked = FreezeException.objects.select_for_update().get(pk=exception.pk)
        if locked.requested_by_id != user.pk:
            raise NotPermitted("Only the requester can withdraw an exception.")
        if locked.status != ExceptionStatus.PENDING:
            raise IllegalTransition(f"Exception #{locked.pk} is already {locked.status}.")
        locked.status = ExceptionStatus.WITHDRAWN
        locked.save_with_reason("withdrawn", user=user)
    return locked


def active_exceptions(release, at: datetime) -> dict[int, FreezeException]:
    """Approved exceptions of ``release`` valid at ``at``, by window id."""
    return {
        e.window_id: e
        for e in FreezeException.objects.filter(
            release=release, status=ExceptionStatus.APPROVED, valid_from__lte=at, valid_until__gt=at
        ).select_related("decided_by")
    }
