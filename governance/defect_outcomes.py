"""The two outcomes of a late defect (curriculum 4.4): a residual-risk acceptance signed by an
authorised role with an expiry, or a delay (new dates and a reason). Both go to the decision
log. ``governance.defects`` re-exports these functions; import them from there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind, DefectStatus
from governance.defects import (
    ACCEPT_PERMISSION,
    ACCEPTING_ROLES,
    DELAY_PERMISSION,
    FINISHED_STATES,
    PRE_DEPLOYMENT_STATES,
    InvalidInput,
    _name,
    max_acceptance_days,
)
from governance.models import RiskAcceptance
from releasemgr.decisions import IllegalTransition, NotPermitted, Reason, require_permission
from releasemgr.notifications import notify
from releasemgr.roles import user_roles

# --- residual-risk acceptance ------------------------------------------------------------------


def _sod_reason(user, release) -> Reason:
    try:
        from governance import sod
    except ImportError:  # pragma: no cover - until governance.sod exists
        sod = None
    if sod is not None:
        return sod.check(user, release, "accept_risk")
    made_it = user.pk in release.contributor_ids()
    return Reason(
        "segregation_of_duties",
        not made_it,
        f"{user.get_username()} authored or contributed to {release.key} and cannot accept "
        "its residual risk (segregation of duties)."
        if made_it
        else f"{user.get_username()} did not author or contribute to {release.key}.",
        {"act": "accept_risk"},
    )


def _record_refusal(user, release, reason: Reason) -> None:
    try:
        from governance import sod
    except ImportError:  # pragma: no cover
        sod = None
    if sod is not None and hasattr(sod, "refuse"):
        sod.refuse(user, release, "accept_risk", reason)
    else:  # pragma: no cover
        decision_log.append(
            DecisionKind.SOD_REFUSAL,
            "refused",
            reason.message,
            actor=user,
            release=release,
            reasons=[reason],
            data={"act": "accept_risk"},
        )


def accept_residual_risk(
    release,
    defects,
    user,
    rationale: str,
    expires_at: datetime | None,
    *,
    now: datetime | None = None,
) -> RiskAcceptance:
    """``user`` accepts shipping ``release`` with ``defects`` open until ``expires_at``.

    ``NotPermitted`` (403) without the permission or for someone who helped make the
    release (the refusal is logged); ``InvalidInput`` (400, nothing written) for no
    defects, defects of another release or no longer open, no rationale, and an expiry that
    is missing, past or more than ``RISK_ACCEPTANCE_MAX_DAYS`` away.
    """
    require_permission(user, ACCEPT_PERMISSION, "accept residual risk")
    now = now or timezone.now()
    separation = _sod_reason(user, release)
    if not separation.passed:
        _record_refusal(user, release, separation)
        raise NotPermitted(separation.message, [separation])
    defects = list(defects or [])
    errors = []
    if not defects:
        errors.append(("defects", "Name the open defects whose risk you accept."))
    other = [d for d in defects if d.release_id != release.pk]
    if other:
        errors.append(
            ("defects", "Not defects of " + release.key + ": " + ", ".join(_name(d) for d in other))
        )
    closed = [d for d in defects if d.release_id == release.pk and d.status != DefectStatus.OPEN]
    if closed:
        errors.append(("defects", "No longer open: " + ", ".join(_name(d) for d in closed)))
    if not (rationale or "").strip():
        errors.append(("rationale", "Say why the residual risk is acceptable."))
    limit = max_acceptance_days()
    if expires_at is None:
        errors.append(("expires_at", "An acceptance needs an expiry; give one."))
    elif expires_at <= now:
        errors.append(("expires_at", "The expiry must be in the future."))
    elif expires_at > now + timedelta(days=limit):
        errors.append(
            ("expires_at", f"An acceptance lasts at most {limit} days; choose an earlier expiry.")
        )
    if release.state in FINISHED_STATES:
        errors.append(("release", f"{release.key} is {release.get_state_display().lower()}."))
    if errors:
        raise InvalidInput.of(errors)
    roles = sorted(user_roles(user) & set(ACCEPTING_ROLES))
    with transaction.atomic():
        acceptance = RiskAcceptance(
            release=release,
            rationale=rationale.strip(),
            accepted_by=user,
            role=roles[0] if roles else "",
            expires_at=expires_at,
        )
        acceptance.save_with_reason("residual risk accepted", user=user)
        acceptance.defects.set(defects)
        decision_log.append(
            DecisionKind.RISK_ACCEPTANCE,
            "accepted",
            f"{user.get_username()} ({acceptance.role or 'no role'}) accepted the residual risk "
            f"of {len(defects)} defect{'s' if len(defects) != 1 else ''} in {release.key} until "
            f"{timezone.localtime(expires_at).strftime('%Y-%m-%d %H:%M %Z')}: "
            + "; ".join(_name(d) for d in defects),
            actor=user,
            release=release,
            subject=f"risk-acceptance:{acceptance.pk}",
            reasons=[separation, Reason("rationale", True, acceptance.rationale)],
            data={
                "acceptance": acceptance.pk,
                "defects": [d.pk for d in defects],
                "expires_at": expires_at,
                "role": acceptance.role,
            },
        )
        if release.owner_id and release.owner_id != user.pk:
            notify(
                release.owner,
                "risk_accepted",
                f"{user.get_username()} accepted the residual risk of open defects in "
                f"{release.key} until {timezone.localtime(expires_at):%Y-%m-%d %H:%M}.",
                link=acceptance.get_absolute_url(),
                dedupe_key=f"risk-accepted:{acceptance.pk}",
            )
    return acceptance


def revoke(acceptance: RiskAcceptance, user, reason: str = "") -> RiskAcceptance:
    """Withdraw an acceptance: its defects block the release again."""
    require_permission(user, ACCEPT_PERMISSION, "revoke residual-risk acceptances")
    with transaction.atomic():
        locked = (
            RiskAcceptance.objects.select_for_update()
            .select_related("release")
            .get(pk=acceptance.pk)
        )
        if locked.revoked_at is not None:
            raise IllegalTransition(f"Acceptance #{locked.pk} is already revoked.")
        locked.revoked_at = timezone.now()
        locked.revoked_by = user
        why = "revoked" + (f": {reason.strip()}" if reason.strip() else "")
        locked.save_with_reason(why[:100], user=user)
        decision_log.append(
            DecisionKind.RISK_ACCEPTANCE,
            "revoked",
            f"{user.get_username()} revoked residual-risk acceptance #{locked.pk} of "
            f"{locked.release.key}" + (f": {reason.strip()}" if reason.strip() else "."),
            actor=user,
            release=locked.release,
            subject=f"risk-acceptance:{locked.pk}",
            data={
                "acceptance": locked.pk,
                "defects": list(locked.defects.values_list("pk", flat=True)),
            },
        )
    return locked


# --- delay ----------------------------------------------------------------------------------------


def delay_release(
    release,
    user,
    planned_start: datetime | None,
    planned_end: datetime | None,
    reason: str,
    *,
    now: datetime | None = None,
):
    """Re-plan ``release`` to new dates, with a reason (the other way out of a late defect).

    ``NotPermitted`` (403) without ``change_release``; ``IllegalTransition`` (409) once it
    is deploying or finished; ``InvalidInput`` (400) for a missing reason, a start that is
    missing or past, or an end before the start.
    """
    require_permission(user, DELAY_PERMISSION, "re-plan releases")
    now = now or timezone.now()
    errors = []
    if planned_start is None:
        errors.append(("planned_start", "Give the new planned start."))
    elif planned_start <= now:
        errors.append(("planned_start", "The new planned start must be in the future."))
    if planned_start and planned_end and planned_end <= planned_start:
        errors.append(("planned_end", "The planned end must be after the planned start."))
    if not (reason or "").strip():
        errors.append(("reason", "Say why the release is delayed."))
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        locked = type(release).objects.select_for_update().get(pk=release.pk)
        if locked.state not in PRE_DEPLOYMENT_STATES:
            raise IllegalTransition(
                f"{locked.key} is {locked.get_state_display().lower()}; only a release that has "
                "not started deploying can be re-planned."
            )
        before = (locked.planned_start, locked.planned_end)
        if planned_end is None and before[0] and before[1]:
            planned_end = planned_start + (before[1] - before[0])
        locked.planned_start, locked.planned_end = planned_start, planned_end
        locked.save_with_reason(f"delayed: {reason.strip()}"[:100], user=user)
        when = timezone.localtime(planned_start).strftime("%Y-%m-%d %H:%M %Z")
        decision_log.append(
            DecisionKind.DELAY,
            "delayed",
            f"{user.get_username()} delayed {locked.key} to {when}: {reason.strip()}",
            actor=user,
            release=locked,
            subject=f"release:{locked.pk}",
            reasons=[Reason("reason", True, reason.strip())],
            data={
                "from": {"planned_start": before[0], "planned_end": before[1]},
                "to": {"planned_start": planned_start, "planned_end": planned_end},
            },
        )
        if locked.owner_id and locked.owner_id != user.pk:
            notify(
                locked.owner,
                "release_delayed",
                f"{locked.key} was delayed to {when} by {user.get_username()}: {reason.strip()}",
                link=locked.get_absolute_url(),
                dedupe_key=f"release-delayed:{locked.pk}:{planned_start.isoformat()}",
            )
    return locked
