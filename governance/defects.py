"""Late defects and residual risk (curriculum 4.4): what a defect found before shipping does
to a release, and the two ways out of it.

A critical or high defect that is open blocks the release at the gate (``open_defects``)
unless someone authorised (a product owner or compliance officer who did not help make the
release) accepts the residual risk for it, in writing, until an expiry no more than
``RISK_ACCEPTANCE_MAX_DAYS`` away. The other way out is to delay the release: new dates and
a reason. Both are decisions and go to the decision log.

Web pages, the API, the escalation job and the demo data all call these functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from governance.choices import DefectSeverity, DefectStatus
from governance.models import BLOCKING_SEVERITIES, Defect, RiskAcceptance
from releasemgr.decisions import (
    DomainError,
    IllegalTransition,
    Reason,
    require_permission,
)
from releasemgr.roles import COMPLIANCE_OFFICER, PRODUCT_OWNER
from releases.choices import ReleaseState

ADD_PERMISSION = "governance.add_defect"
CHANGE_PERMISSION = "governance.change_defect"
ACCEPT_PERMISSION = "governance.accept_residual_risk"
DELAY_PERMISSION = "releases.change_release"
# Roles that sign residual-risk acceptances (roles.py gives them ACCEPT_PERMISSION).
ACCEPTING_ROLES = (PRODUCT_OWNER, COMPLIANCE_OFFICER)
# A delay is a plan change, allowed until the release starts deploying.
PRE_DEPLOYMENT_STATES = (
    ReleaseState.DRAFT,
    ReleaseState.SUBMITTED,
    ReleaseState.APPROVED,
    ReleaseState.REJECTED,
)
# Releases that will not ship again: new defects on them are not "late defects".
FINISHED_STATES = (ReleaseState.CLOSED, ReleaseState.CANCELLED)
CODE = "open_defects"


def max_acceptance_days() -> int:
    return getattr(settings, "RISK_ACCEPTANCE_MAX_DAYS", 30)


def escalation_days() -> int:
    return getattr(settings, "DEFECT_ESCALATION_DAYS", 3)


class InvalidInput(DomainError):
    """The input makes no sense (HTTP 400). Each reason's ``data["field"]`` names its field."""

    status_code = 400
    code = "invalid"

    @classmethod
    def of(cls, errors: list[tuple[str, str]]) -> InvalidInput:
        return cls(
            " ".join(message for _field, message in errors),
            [Reason("invalid", False, message, {"field": f}) for f, message in errors],
        )


# --- coverage: which open defects an acceptance covers ----------------------------------------


def acceptance_state(acceptance: RiskAcceptance, at: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    at = at or timezone.now()
    if acceptance.revoked_at is not None:
        return "revoked"
    return "active" if acceptance.expires_at > at else "expired"


@dataclass
class Coverage:
    """The release's open critical/high defects, split by whether an acceptance covers them."""

    blocking: list[Defect] = field(default_factory=list)  # open, not covered: they stop it
    accepted: list[tuple[Defect, RiskAcceptance]] = field(default_factory=list)
    lapsed: dict[int, RiskAcceptance] = field(default_factory=dict)  # defect id → expired/revoked

    @property
    def open_count(self) -> int:
        return len(self.blocking) + len(self.accepted)


def coverage(release, at: datetime | None = None, *, defects=None, acceptances=None) -> Coverage:
    """Two queries at most: the release's open critical/high defects (unless ``defects``, the
    release's defects, is given) and, when there are any, its acceptances with the defects
    each lists (unless ``acceptances`` is given, prefetched the same way)."""
    at = at or timezone.now()
    if defects is None:
        defects = Defect.objects.filter(
            release=release, status=DefectStatus.OPEN, severity__in=BLOCKING_SEVERITIES
        ).order_by("severity", "created", "pk")
    found = [d for d in defects if d.is_blocking]
    result = Coverage()
    if not found:
        return result
    if acceptances is None:
        acceptances = (
            RiskAcceptance.objects.filter(release=release)
            .select_related("accepted_by")
            .prefetch_related("defects")
        )
    ordered = sorted(acceptances, key=lambda a: (a.expires_at, a.pk), reverse=True)
    for defect in found:
        listing = [a for a in ordered if any(d.pk == defect.pk for d in a.defects.all())]
        active = next((a for a in listing if acceptance_state(a, at) == "active"), None)
        if active is not None:
            result.accepted.append((defect, active))
            continue
        result.blocking.append(defect)
        if listing:
            result.lapsed[defect.pk] = listing[0]
    return result


def blocking_defects(release, at: datetime | None = None) -> list[Defect]:
    """Open critical/high defects no unexpired, unrevoked acceptance covers."""
    return coverage(release, at).blocking


def _name(defect: Defect) -> str:
    ref = f"{defect.reference} " if defect.reference else f"#{defect.pk} "
    return f"{ref}'{defect.title}' ({defect.get_severity_display().lower()})"


def check_open_defects(release, at: datetime | None = None, **known) -> Reason:
    """The gate's ``open_defects`` check. Someone must act to clear it (it never waits).

    ``known`` passes ``defects``/``acceptances`` already loaded on to ``coverage``."""
    at = at or timezone.now()
    cover = coverage(release, at, **known)
    data = {
        "blocking": [d.pk for d in cover.blocking],
        "accepted": [d.pk for d, _a in cover.accepted],
        "acceptances": sorted({a.pk for _d, a in cover.accepted}),
    }
    if cover.blocking:
        lapsed = []
        for acceptance in {a.pk: a for a in cover.lapsed.values()}.values():
            state = acceptance_state(acceptance, at)
            when = acceptance.revoked_at if state == "revoked" else acceptance.expires_at
            lapsed.append(
                f"acceptance #{acceptance.pk} by {acceptance.accepted_by.get_username()} "
                f"{state} {timezone.localtime(when).strftime('%Y-%m-%d %H:%M %Z')}"
            )
        data["lapsed_acceptances"] = sorted({a.pk for a in cover.lapsed.values()})
        message = (
            f"{release.key} has {len(cover.blocking)} open critical/high defect"
            f"{'s' if len(cover.blocking) != 1 else ''} without a residual-risk acceptance: "
            + "; ".join(_name(d) for d in cover.blocking)
            + (" (" + "; ".join(lapsed) + ")" if lapsed else "")
            + ". Fix them, delay the release, or have a product owner or compliance officer "
            "accept the residual risk."
        )
        return Reason(CODE, False, message, data)
    if cover.accepted:
        signed = sorted(
            {
                f"#{a.pk} by {a.accepted_by.get_username()} until "
                f"{timezone.localtime(a.expires_at).strftime('%Y-%m-%d %H:%M %Z')}"
                for _d, a in cover.accepted
            }
        )
        return Reason(
            CODE,
            True,
            "Open defects accepted as residual risk: "
            + "; ".join(_name(d) for d, _a in cover.accepted)
            + f" (acceptance {', '.join(signed)}).",
            data,
        )
    return Reason(CODE, True, f"{release.key} has no open critical or high defects.", data)


# --- defects ------------------------------------------------------------------------------------


def _defect_errors(title: str, severity: str) -> list[tuple[str, str]]:
    errors = []
    if not (title or "").strip():
        errors.append(("title", "Say what is wrong in a short title."))
    if severity not in DefectSeverity.values:
        errors.append(("severity", f"Choose a severity: {', '.join(DefectSeverity.values)}."))
    return errors


def report_defect(
    release,
    user,
    *,
    title: str,
    severity: str,
    description: str = "",
    reference: str = "",
    found_in=None,
) -> Defect:
    """Record a defect found in ``release`` before it ships."""
    require_permission(user, ADD_PERMISSION, "report defects")
    errors = _defect_errors(title, severity)
    if release.state in FINISHED_STATES:
        errors.insert(
            0,
            (
                "release",
                f"{release.key} is {release.get_state_display().lower()}; it will not ship.",
            ),
        )
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        defect = Defect(
            release=release,
            title=title.strip(),
            severity=severity,
            description=description.strip(),
            reference=reference.strip(),
            found_in=found_in,
            reported_by=user,
        )
        defect.save_with_reason(f"reported ({severity})", user=user)
    return defect


EDITABLE_FIELDS = ("title", "severity", "description", "reference", "found_in")


def edit_defect(defect: Defect, user, reason: str = "", **changes) -> Defect:
    """Change a defect's title, severity, description, reference or where it was found."""
    require_permission(user, CHANGE_PERMISSION, "change defects")
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}.")
    errors = _defect_errors(
        changes.get("title", defect.title), changes.get("severity", defect.severity)
    )
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        locked = Defect.objects.select_for_update().get(pk=defect.pk)
        for name, value in changes.items():
            setattr(locked, name, value.strip() if isinstance(value, str) else value)
        locked.save_with_reason((reason or "edited")[:100], user=user)
    return locked


def resolve_defect(
    defect: Defect, user, *, status: str = DefectStatus.RESOLVED, comment: str = ""
) -> Defect:
    """Close an open defect as resolved or won't fix."""
    require_permission(user, CHANGE_PERMISSION, "resolve defects")
    if status not in (DefectStatus.RESOLVED, DefectStatus.WONT_FIX):
        raise InvalidInput.of([("status", "Resolve as 'resolved' or 'wont_fix'.")])
    with transaction.atomic():
        locked = Defect.objects.select_for_update().get(pk=defect.pk)
        if locked.status != DefectStatus.OPEN:
            raise IllegalTransition(
                f"Defect #{locked.pk} is already {locked.get_status_display().lower()}."
            )
        locked.status = status
        locked.resolved_at = timezone.now()
        why = DefectStatus(status).label.lower() + (
            f": {comment.strip()}" if comment.strip() else ""
        )
        locked.save_with_reason(why[:100], user=user)
    return locked


# The outcomes live in their own module; callers use ``defects.accept_residual_risk`` etc.
from governance.defect_outcomes import (  # noqa: E402
    accept_residual_risk,
    delay_release,
    revoke,
)

__all__ = [
    "accept_residual_risk",
    "blocking_defects",
    "check_open_defects",
    "coverage",
    "delay_release",
    "edit_defect",
    "report_defect",
    "resolve_defect",
    "revoke",
]
