"""ITIL change types: standard changes from the catalogue, emergency retrospectives, counts (7.5).

- A *standard* change follows an active, pre-approved change model, ships only the
  model's services and assesses at or below the model's risk ceiling; then it needs
  no CAB (``standard_change_fit``; the lifecycle's submit auto-approves it).
- A *normal* change is assessed and approved by the policy.
- An *emergency* change is approved by an emergency CAB and must be reviewed
  afterwards: ``open_retrospective`` when it is approved, ``complete_retrospective``
  within ``settings.EMERGENCY_RETROSPECTIVE_DAYS``.

``report_by_type`` counts releases by change type for the reports page and the API.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind
from governance.models import Retrospective
from governance.risk import assess, band_at_least
from releasemgr.decisions import Decision, DomainError, NotPermitted, Reason
from releases.choices import ChangeType, ReleaseState

COMPLETE_PERMISSION = "governance.change_retrospective"
# Outcome groups of the report, by release state.
DEPLOYED_STATES = (ReleaseState.DEPLOYED, ReleaseState.CLOSED)
FAILED_STATES = (ReleaseState.ROLLED_BACK,)


class InvalidRetrospective(DomainError):
    """The completion itself is wrong (no findings): HTTP 400, nothing written."""

    status_code = 400
    code = "invalid"


# --- standard changes ------------------------------------------------------------------------


def standard_change_fit(release) -> Decision:
    """May ``release`` go ahead as a standard change, without the CAB? One reason per rule."""
    decision = Decision()
    model = release.change_model
    if model is None:
        decision.add(
            Reason(
                "change_model_named",
                False,
                "A standard change must name a pre-approved change model; "
                "pick one or submit it as a normal change.",
            )
        )
        return decision
    decision.add(
        Reason(
            "change_model_named",
            True,
            f"Follows the change model '{model.name}'.",
            {"change_model": model.slug},
        )
    )
    decision.add(
        Reason(
            "change_model_active",
            model.active,
            f"'{model.name}' is active."
            if model.active
            else f"'{model.name}' was withdrawn from the catalogue; submit a normal change.",
        )
    )
    allowed = {s.pk: s for s in model.services.all()}
    shipped = [rs.service for rs in release.release_services.all()]
    outside = sorted(s.name for s in shipped if s.pk not in allowed)
    if not shipped:
        services_reason = Reason(
            "services_within_model", False, "The release ships no services yet."
        )
    elif outside:
        services_reason = Reason(
            "services_within_model",
            False,
            f"'{model.name}' does not cover {', '.join(outside)}; "
            f"it covers {', '.join(sorted(s.name for s in allowed.values())) or 'no services'}.",
            {"outside": outside},
        )
    else:
        services_reason = Reason(
            "services_within_model",
            True,
            f"Every shipped service is covered by '{model.name}'.",
        )
    decision.add(services_reason)
    risk = assess(release)
    within = band_at_least(model.risk_ceiling, risk.band)
    decision.add(
        Reason(
            "risk_within_ceiling",
            within,
            f"Risk is {risk.band} ({risk.score}), "
            + (
                f"within the model's ceiling ({model.get_risk_ceiling_display().lower()})."
                if within
                else f"above the model's ceiling ({model.get_risk_ceiling_display().lower()}); "
                "submit it as a normal change."
            ),
            {"band": risk.band, "score": risk.score, "ceiling": model.risk_ceiling},
        )
    )
    return decision


# --- emergency retrospectives ----------------------------------------------------------------


def open_retrospective(release, user) -> Retrospective:
    """Open the review an emergency change owes (once; a second call returns the same one)."""
    with transaction.atomic():
        existing = Retrospective.objects.select_for_update().filter(release=release).first()
        if existing is not None:
            return existing
        retro = Retrospective(
            release=release,
            due_at=timezone.now() + timedelta(days=settings.EMERGENCY_RETROSPECTIVE_DAYS),
        )
        retro.save_with_reason(
            f"Emergency change approved; review due within "
            f"{settings.EMERGENCY_RETROSPECTIVE_DAYS} days",
            user=user,
        )
    return retro


def complete_retrospective(retro: Retrospective, user, findings: str, actions: str = ""):
    """Record the review's findings and follow-up actions, and log the decision.

    Raises ``NotPermitted`` without ``governance.change_retrospective``,
    ``InvalidRetrospective`` for empty findings, ``DomainError`` if it is already done.
    """
    if not user.has_perm(COMPLETE_PERMISSION):
        raise NotPermitted(f"{user.username} may not complete retrospectives.")
    if not (findings or "").strip():
        raise InvalidRetrospective(
            "Write the findings: what happened and what was learned.",
            [Reason("findings", False, "Findings are required.", {"field": "findings"})],
        )
    with transaction.atomic():
        retro = Retrospective.objects.select_for_update().select_related("release").get(pk=retro.pk)
        if retro.completed_at is not None:
            raise DomainError(
                f"The retrospective of {retro.release.key} was completed on "
                f"{retro.completed_at:%Y-%m-%d} by {retro.completed_by}."
            )
        now = timezone.now()
        late = now > retro.due_at
        retro.findings = findings.strip()
        retro.actions = (actions or "").strip()
        retro.completed_at = now
        retro.completed_by = user
        retro.save_with_reason("Retrospective completed" + (" (late)" if late else ""), user=user)
        decision_log.append(
            kind=DecisionKind.RETROSPECTIVE,
            outcome="completed_late" if late else "completed",
            summary=f"{user.username} completed the retrospective of emergency change "
            f"{retro.release.key}" + (" after its due date." if late else "."),
            actor=user,
            release=retro.release,
            subject=f"retrospective:{retro.pk}",
            data={
                "due_at": retro.due_at.isoformat(),
                "findings": retro.findings,
                "actions": [a.strip() for a in retro.actions.splitlines() if a.strip()],
            },
        )
    return retro


def overdue_retrospectives(now: datetime | None = None):
    """Open retrospectives past their due date, oldest first."""
    now = now or timezone.now()
    return (
        Retrospective.objects.filter(completed_at__isnull=True, due_at__lt=now)
        .select_related("release", "release__owner", "release__author")
        .order_by("due_at")
    )


# --- reports ---------------------------------------------------------------------------------


def _aware(value: date | datetime | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.combine(value, datetime.min.time(), tzinfo=UTC)


def report_by_type(
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    team=None,
    service=None,
) -> dict[str, Any]:
    """Releases created in [since, until) by change type, their outcomes, and per month.

    ``team`` / ``service`` narrow to releases shipping a service of that team / that
    service. Two aggregate queries whatever the number of releases.
    """
    from releases.models import Release

    qs = Release.objects.all()
    since, until = _aware(since), _aware(until)
    if since:
        qs = qs.filter(created__gte=since)
    if until:
        qs = qs.filter(created__lt=until)
    if team is not None:
        qs = qs.filter(pk__in=Release.objects.filter(services__team=team).values("pk"))
    if service is not None:
        qs = qs.filter(pk__in=Release.objects.filter(services=service).values("pk"))
    counts = {
        "total": Count("pk"),
        "deployed": Count("pk", filter=Q(state__in=DEPLOYED_STATES)),
        "failed": Count("pk", filter=Q(state__in=FAILED_STATES)),
        "in_flight": Count(
            "pk",
            filter=Q(
                state__in=(
                    ReleaseState.DRAFT,
                    ReleaseState.SUBMITTED,
                    ReleaseState.APPROVED,
                    ReleaseState.DEPLOYING,
                )
            ),
        ),
        "stopped": Count("pk", filter=Q(state__in=(ReleaseState.REJECTED, ReleaseState.CANCELLED))),
    }
    by_type = {
        row["change_type"]: row for row in qs.values("change_type").annotate(**counts).order_by()
    }
    rows = []
    for value, label in ChangeType.choices:
        row = by_type.get(value, {})
        rows.append(
            {
                "change_type": value,
                "label": label,
                **{name: row.get(name, 0) for name in counts},
            }
        )
    total = sum(r["total"] for r in rows)
    for row in rows:
        row["share"] = round(row["total"] / total, 3) if total else 0.0
        finished = row["deployed"] + row["failed"]
        row["failure_rate"] = round(row["failed"] / finished, 3) if finished else None
    months: dict[str, dict[str, Any]] = {}
    monthly = (
        qs.annotate(month=TruncMonth("created"))
        .values("month", "change_type")
        .annotate(n=Count("pk"))
        .order_by("month")
    )
    for row in monthly:
        key = row["month"].strftime("%Y-%m")
        month = months.setdefault(
            key, {"month": key, **{value: 0 for value in ChangeType.values}, "total": 0}
        )
        month[row["change_type"]] = row["n"]
        month["total"] += row["n"]
    emergency = next(r for r in rows if r["change_type"] == ChangeType.EMERGENCY)
    return {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
        "team": getattr(team, "slug", None),
        "service": getattr(service, "slug", None),
        "total": total,
        "emergency_share": emergency["share"],
        "by_type": rows,
        "by_month": list(months.values()),
    }
