"""Scope negotiation and tech debt (curriculum 1.2, 1.3): change requests and who decides
them, conflicts between an emergency fix and a scheduled release, include/defer advice for
tech-debt items, and the maintenance backlog.

Who decides a scope change request: the release's product owner, i.e. a user in the
``product_owner`` group who owns one of the services the release ships; when none of those
services has such an owner, any product owner. The decider also needs the
``releases.decide_scopechangerequest`` permission and is never the requester (segregation
of duties). Accepting changes the release's content through the same rules as the scope
UI: the release must be a draft or rejected (withdraw a submitted release first).

Web pages, the API and the demo data call these functions.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind
from governance.defects import InvalidInput
from releasemgr.decisions import (
    Decision,
    IllegalTransition,
    NotPermitted,
    Reason,
    require_permission,
)
from releasemgr.roles import PRODUCT_OWNER
from releases import lifecycle
from releases.choices import ReleaseState, ScopeDecision, ScopeKind
from releases.models import Release, ScopeChangeRequest, ScopeItem
from releases.models.scope_changes import ScopeChangeKind, ScopeChangeStatus

REQUEST_PERMISSION = "releases.add_scopechangerequest"
DECIDE_PERMISSION = "releases.decide_scopechangerequest"
TAKE_PERMISSION = "releases.change_scopeitem"
FINISHED_STATES = (
    ReleaseState.DEPLOYED,
    ReleaseState.CLOSED,
    ReleaseState.CANCELLED,
    ReleaseState.ROLLED_BACK,
)
# A fix that ships within this many days of the scheduled release is worth folding into it.
FOLD_WITHIN_DAYS = 3
SCHEDULED_STATES = (ReleaseState.SUBMITTED, ReleaseState.APPROVED)
EMERGENCY_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
)


# --- requests -----------------------------------------------------------------------------------


def request_change(
    release: Release,
    user,
    *,
    kind: str,
    title: str = "",
    reason: str,
    impact_on_plan: str = "",
    plan_shift_days=0,
    item_kind: str = ScopeKind.FEATURE,
    service=None,
    scope_item: ScopeItem | None = None,
    emergency_release: Release | None = None,
) -> ScopeChangeRequest:
    """Ask to add an item or an emergency fix to ``release``, or to pull one of its items.

    ``InvalidInput`` (400, nothing written) for an unknown kind, no title, no reason, a
    negative or non-numeric plan shift, a pull without an included item of this release, a
    service the release does not ship being pulled, or a finished release.
    """
    require_permission(user, REQUEST_PERMISSION, "request scope changes")
    errors = []
    if kind not in ScopeChangeKind.values:
        errors.append(("kind", f"Choose a kind: {', '.join(ScopeChangeKind.values)}."))
    if kind == ScopeChangeKind.PULL:
        if scope_item is None:
            errors.append(("scope_item", "Name the scope item to pull."))
        elif scope_item.release_id != release.pk:
            errors.append(("scope_item", f"That item is not in {release.key}."))
        elif scope_item.decision != ScopeDecision.INCLUDED:
            errors.append(("scope_item", f"“{scope_item.title}” is not included; nothing to pull."))
        elif not (title or "").strip():
            title = scope_item.title
    if not (title or "").strip():
        errors.append(("title", "Say what to add or pull in a short title."))
    if not (reason or "").strip():
        errors.append(("reason", "Say why the scope should change."))
    try:
        shift = 0 if plan_shift_days in (None, "") else int(str(plan_shift_days).strip())
    except ValueError:
        shift = -1
    if shift < 0:
        errors.append(("plan_shift_days", "The plan shift is a whole number of days, 0 or more."))
    if item_kind not in ScopeKind.values:
        errors.append(("item_kind", f"Choose an item kind: {', '.join(ScopeKind.values)}."))
    if emergency_release is not None and emergency_release.pk == release.pk:
        errors.append(("emergency_release", "The fix's own release cannot be this release."))
    if release.state in FINISHED_STATES:
        errors.insert(
            0, ("release", f"{release.key} is {release.get_state_display().lower()}; too late.")
        )
    if errors:
        raise InvalidInput.of(errors)
    if kind == ScopeChangeKind.EMERGENCY_FIX:
        item_kind = ScopeKind.FIX
    if kind == ScopeChangeKind.PULL:
        item_kind, service = scope_item.kind, scope_item.service
    with transaction.atomic():
        change = ScopeChangeRequest(
            release=release,
            kind=kind,
            title=title.strip(),
            reason=reason.strip(),
            impact_on_plan=(impact_on_plan or "").strip(),
            plan_shift_days=shift,
            item_kind=item_kind,
            service=service,
            requested_by=user,
            scope_item=scope_item,
            emergency_release=emergency_release,
        )
        change.save_with_reason(f"requested for {release.key}", user=user)
    return change


def deciders(release: Release) -> list:
    """The release's product owners: product owners owning a shipped service, else all."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(groups__name=PRODUCT_OWNER, is_active=True)
    owning = users.filter(owned_services__release_links__release=release).distinct()
    return list(owning) or list(users.distinct())


def may_decide(change: ScopeChangeRequest, user) -> Decision:
    """Whether ``user`` may accept or decline ``change``, with the reasons."""
    result = Decision()
    release = change.release
    allowed = [u.pk for u in deciders(release)]
    result.add(
        Reason(
            "product_owner",
            user.has_perm(DECIDE_PERMISSION) and user.pk in allowed,
            f"{user.get_username()} is a product owner of {release.key}."
            if user.pk in allowed and user.has_perm(DECIDE_PERMISSION)
            else f"Only a product owner of {release.key} decides its scope changes.",
        )
    )
    result.add(
        Reason(
            "segregation_of_duties",
            change.requested_by_id != user.pk,
            f"{user.get_username()} requested this change and cannot decide it."
            if change.requested_by_id == user.pk
            else f"{user.get_username()} did not request the change.",
        )
    )
    return result


def _shift(release: Release, days: int, why: str, user) -> None:
    if not days or not (release.planned_start or release.planned_end):
        return
    delta = timedelta(days=days)
    release.planned_start = release.planned_start + delta if release.planned_start else None
    release.planned_end = release.planned_end + delta if release.planned_end else None
    release.save_with_reason(why[:100], user=user)


def _apply(change: ScopeChangeRequest, release: Release, user) -> None:
    lifecycle.ensure_editable(release)
    why = f"scope change #{change.pk} accepted: {change.reason}"
    if change.kind == ScopeChangeKind.PULL:
        item = ScopeItem.objects.select_for_update().get(pk=change.scope_item_id)
        item.decision = ScopeDecision.DEFERRED
        item.rationale = f"Pulled by scope change #{change.pk}: {change.reason}"
        item.full_clean()
        item.save_with_reason(f"pulled by scope change #{change.pk}", user=user)
    else:
        item = ScopeItem(
            release=release,
            title=change.title,
            kind=change.item_kind,
            service=change.service,
            decision=ScopeDecision.INCLUDED,
            rationale=f"Added by scope change #{change.pk}: {change.reason}",
        )
        item.full_clean()
        item.save_with_reason(f"added by scope change #{change.pk}", user=user)
        change.scope_item = item
    _shift(release, change.plan_shift_days, why, user)


def decide(change: ScopeChangeRequest, user, accept: bool, note: str = "") -> ScopeChangeRequest:
    """The product owner accepts (the change is applied) or declines ``change``.

    ``NotPermitted`` (403) for anyone but the release's product owner and for the requester;
    ``IllegalTransition`` (409) once decided or withdrawn, or when accepting would change a
    release that is not editable; ``InvalidInput`` (400) for a decline without a note.
    """
    require_permission(user, DECIDE_PERMISSION, "decide scope changes")
    check = may_decide(change, user)
    if not check.allowed:
        raise NotPermitted(" ".join(check.messages()), check.failed)
    if not accept and not (note or "").strip():
        raise InvalidInput.of([("note", "Say why the change is declined.")])
    with transaction.atomic():
        locked = ScopeChangeRequest.objects.select_for_update().get(pk=change.pk)
        if locked.status != ScopeChangeStatus.PENDING:
            raise IllegalTransition(
                f"Scope change #{locked.pk} is already {locked.get_status_display().lower()}."
            )
        release = Release.objects.select_for_update().get(pk=locked.release_id)
        if accept:
            _apply(locked, release, user)
        locked.status = ScopeChangeStatus.ACCEPTED if accept else ScopeChangeStatus.DECLINED
        locked.decided_by = user
        locked.decided_at = timezone.now()
        locked.decision_note = (note or "").strip()
        locked.save_with_reason(
            f"{locked.status}" + (f": {locked.decision_note}" if locked.decision_note else ""),
            user=user,
        )
        verb = "accepted" if accept else "declined"
        shift = f", moving the plan {locked.plan_shift_days} days" if accept else ""
        decision_log.append(
            DecisionKind.APPROVAL if accept else DecisionKind.REJECTION,
            verb,
            f"{user.get_username()} {verb} scope change #{locked.pk} on {release.key} "
            f"({locked.get_kind_display().lower()}: {locked.title}){shift}"
            + (f": {decision_log.clause(locked.decision_note)}." if locked.decision_note else "."),
            actor=user,
            release=release,
            subject=f"scope-change:{locked.pk}",
            reasons=[*check.reasons, Reason("reason", True, locked.reason)],
            data={
                "request": locked.pk,
                "kind": locked.kind,
                "plan_shift_days": locked.plan_shift_days if accept else 0,
                "scope_item": locked.scope_item_id,
            },
        )
    return locked


def withdraw(change: ScopeChangeRequest, user) -> ScopeChangeRequest:
    """The requester (or a release manager) takes back a pending request."""
    if change.requested_by_id != user.pk and not user.has_perm("releases.change_release"):
        raise NotPermitted("Only the requester or a release manager withdraws a request.")
    with transaction.atomic():
        locked = ScopeChangeRequest.objects.select_for_update().get(pk=change.pk)
        if locked.status != ScopeChangeStatus.PENDING:
            raise IllegalTransition(
                f"Scope change #{locked.pk} is already {locked.get_status_display().lower()}."
            )
        locked.status = ScopeChangeStatus.WITHDRAWN
        locked.save_with_reason("withdrawn", user=user)
    return locked


# Conflicts, tech-debt advice and the backlog live in their own module.
from releases.scope_changes_advice import (  # noqa: E402
    Conflict,
    TechDebtAdvice,
    conflicts,
    is_emergency,
    maintenance_backlog,
    take_into_release,
    tech_debt_recommendation,
)

__all__ = [
    "Conflict",
    "TechDebtAdvice",
    "conflicts",
    "decide",
    "deciders",
    "is_emergency",
    "maintenance_backlog",
    "may_decide",
    "request_change",
    "take_into_release",
    "tech_debt_recommendation",
    "withdraw",
]
