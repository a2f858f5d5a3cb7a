"""Incidents: report one (attributed to a release), change or resolve it, and record the
rollback-or-fix-forward decision. Views, the API and imports all call these functions.

A repeated ``external_id`` returns the incident already recorded when the report is the same
(``created`` is False), and refuses with 409 when it differs: other tools' ids identify one
incident for good.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from governance import decision_log
from governance.choices import DecisionKind
from metrics import attribution, recovery
from metrics.history import record_for_incident
from metrics.models import Incident, RecoveryDecision
from metrics.models.incidents import (
    NOTIFY_SEVERITIES,
    IncidentSeverity,
    IncidentStatus,
    RecoveryChoice,
)
from releasemgr import notifications, webhooks
from releasemgr.decisions import (  # noqa: F401
    DomainError,
    IllegalTransition,
    InvalidInput,
    Reason,
    require_permission,
)
from releasemgr.redaction import redact

ADD_PERMISSION = "metrics.add_incident"
CHANGE_PERMISSION = "metrics.change_incident"
DECIDE_PERMISSION = "metrics.decide_recovery"
EDITABLE_FIELDS = ("title", "description", "severity", "detected_at", "resolved_at")
# What must match for a repeated external_id to be "the same incident".
SAME_FIELDS = ("service_id", "title", "severity", "started_at", "resolved_at")


class ExternalIdConflict(DomainError):
    code = "external_id_conflict"


def _times_errors(started_at, detected_at, resolved_at, now) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if started_at is None:
        errors["started_at"] = ["Say when the incident started."]
        return errors
    if started_at > now + timedelta(minutes=5):
        errors["started_at"] = ["The start is in the future."]
    if detected_at is not None and detected_at < started_at:
        errors["detected_at"] = ["It cannot be detected before it started."]
    if resolved_at is not None and resolved_at < started_at:
        errors["resolved_at"] = ["It cannot be resolved before it started."]
    return errors


def _notify_owners(incident: Incident) -> None:
    """Tell the service's owners about a critical/high incident attributed to a release."""
    if incident.release_id is None or incident.severity not in NOTIFY_SEVERITIES:
        return
    notifications.notify_many(
        incident.service.owners.all(),
        "incident",
        f"{incident.get_severity_display()} incident on {incident.service.name} attributed to "
        f"{incident.release.key}: {incident.title}",
        link=incident.get_absolute_url(),
        dedupe_key=f"incident:{incident.pk}:release:{incident.release_id}",
    )


def _same(existing: Incident, candidate: Incident) -> bool:
    return all(getattr(existing, f) == getattr(candidate, f) for f in SAME_FIELDS) and (
        existing.caused_by_id == candidate.caused_by_id or candidate.caused_by_id is None
    )


def _repeated(existing: Incident, candidate: Incident) -> Incident:
    """The incident already recorded under the candidate's external id, if it is the same."""
    if _same(existing, candidate):
        return existing
    raise ExternalIdConflict(
        f"Incident {candidate.external_id} is already recorded (INC-{existing.pk}) with "
        "different details.",
        [
            Reason(
                "external_id",
                False,
                "Already recorded with different details.",
                {"field": "external_id", "incident": existing.pk},
            )
        ],
    )


def report_incident(
    user,
    *,
    service,
    title: str,
    severity: str,
    started_at: datetime | None,
    detected_at: datetime | None = None,
    resolved_at: datetime | None = None,
    release=None,
    caused_by=None,
    description: str = "",
    external_id: str = "",
    now: datetime | None = None,
) -> tuple[Incident, bool]:
    """Record an incident, attributed (``metrics.attribution``); returns (incident, created)."""
    require_permission(user, ADD_PERMISSION, "report incidents")
    now = now or timezone.now()
    title = redact((title or "").strip())
    external_id = (external_id or "").strip()
    errors = _times_errors(started_at, detected_at, resolved_at, now)
    if not title:
        errors.setdefault("title", []).append("Give the incident a title.")
    if severity not in IncidentSeverity.values:
        errors.setdefault("severity", []).append(
            f"Choose one of {', '.join(IncidentSeverity.values)}."
        )
    if service is None:
        errors.setdefault("service", []).append("Choose the affected service.")
    if caused_by is not None:
        if not caused_by.environment.is_production:
            errors.setdefault("caused_by", []).append(
                f"Deployment #{caused_by.pk} went to {caused_by.environment.name}, not production."
            )
        if release is not None and caused_by.release_id != release.pk:
            errors.setdefault("release", []).append(
                f"Deployment #{caused_by.pk} deployed {caused_by.release.key}, not {release.key}."
            )
    if errors:
        raise InvalidInput.of(errors)
    found = attribution.attribute(service, started_at, caused_by=caused_by, release=release)
    incident = Incident(
        title=title[:200],
        description=redact(description or ""),
        service=service,
        severity=severity,
        started_at=started_at,
        detected_at=detected_at,
        resolved_at=resolved_at,
        status=IncidentStatus.RESOLVED if resolved_at else IncidentStatus.OPEN,
        release=found.release,
        caused_by=found.deployment,
        deployment_record=record_for_incident(service, started_at, found.deployment),
        attribution=found.method,
        attribution_reason=found.reason.message,
        external_id=external_id,
        reported_by=user,
    )
    try:
        with transaction.atomic():
            if external_id:
                existing = Incident.objects.filter(external_id=external_id).first()
                if existing is not None:
                    return _repeated(existing, incident), False
            incident.save_with_reason(f"reported ({found.method} attribution)", user=user)
            _notify_owners(incident)
            if incident.release_id:
                webhooks.emit(webhooks.INCIDENT_ATTRIBUTED, webhooks.incident_payload(incident))
    except IntegrityError:
        # A concurrent report with the same external id won the unique constraint.
        existing = Incident.objects.filter(external_id=external_id).first() if external_id else None
        if existing is None:
            raise
        return _repeated(existing, incident), False
    return incident, True


def update_incident(incident: Incident, user, reason: str = "", **changes) -> Incident:
    """Change an incident's editable fields; a ``resolved_at`` resolves it."""
    require_permission(user, CHANGE_PERMISSION, "change incidents")
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        for name, value in changes.items():
            if name not in EDITABLE_FIELDS:
                continue
            if name in ("title", "description") and isinstance(value, str):
                value = redact(value.strip())
            setattr(incident, name, value)
        errors = _times_errors(
            incident.started_at, incident.detected_at, incident.resolved_at, timezone.now()
        )
        if not incident.title:
            errors.setdefault("title", []).append("Give the incident a title.")
        if incident.severity not in IncidentSeverity.values:
            errors.setdefault("severity", []).append(
                f"Choose one of {', '.join(IncidentSeverity.values)}."
            )
        if errors:
            raise InvalidInput.of(errors)
        if incident.resolved_at and incident.status != IncidentStatus.RESOLVED:
            incident.status = IncidentStatus.RESOLVED
        incident.save_with_reason(reason or "incident edited", user=user)
        _notify_owners(incident)
    return incident


def set_status(
    incident: Incident, user, status: str, at: datetime | None = None, comment: str = ""
) -> Incident:
    """Mitigate or resolve an incident (``at`` defaults to now)."""
    require_permission(user, CHANGE_PERMISSION, "change incidents")
    if status not in (IncidentStatus.MITIGATED, IncidentStatus.RESOLVED):
        raise InvalidInput.of({"status": ["Choose mitigated or resolved."]})
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if incident.status == IncidentStatus.RESOLVED:
            raise IllegalTransition(f"INC-{incident.pk} is already resolved.")
        if incident.status == status:
            raise IllegalTransition(f"INC-{incident.pk} is already {status}.")
        if status == IncidentStatus.RESOLVED:
            at = at or timezone.now()
            if at < incident.started_at:
                raise InvalidInput.of({"resolved_at": ["It cannot be resolved before it started."]})
            incident.resolved_at = at
        incident.status = status
        text = status + (f" — {comment}" if comment else "")
        incident.save_with_reason(redact(text)[:100], user=user)
    return incident


def decide(incident: Incident, user, choice: str, reason: str) -> RecoveryDecision:
    """Record the decision to roll back or fix forward, with the advice as it stood, in the
    incident's history and the decision log."""
    require_permission(user, DECIDE_PERMISSION, "decide between rollback and fix forward")
    errors: dict[str, list[str]] = {}
    if choice not in RecoveryChoice.values:
        errors["choice"] = ["Choose rollback or fix_forward."]
    reason = redact((reason or "").strip())
    if not reason:
        errors["reason"] = ["Say why: the people after you will read it."]
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("release", "service", "caused_by")
            .get(pk=incident.pk)
        )
        if incident.release_id is None:
            raise IllegalTransition(
                f"INC-{incident.pk} is not attributed to a release: there is nothing to roll "
                "back or fix forward. Attribute it first."
            )
        if incident.status == IncidentStatus.RESOLVED:
            raise IllegalTransition(f"INC-{incident.pk} is resolved; no recovery to decide.")
        advice = recovery.advise(incident, user)
        decision = RecoveryDecision(
            incident=incident,
            choice=choice,
            reason=reason,
            advice=advice.as_dict(),
            decided_by=user,
        )
        decision.save_with_reason(f"decided: {choice}", user=user)
        label = RecoveryChoice(choice).label.lower()
        followed = "following" if choice == advice.recommendation else "against"
        decision_log.append(
            kind=DecisionKind.RECOVERY,
            outcome=choice,
            summary=f"{user.get_username()} decided to {label} {incident.release.key} for "
            f"INC-{incident.pk} ({incident.get_severity_display().lower()} on "
            f"{incident.service.name}), {followed} the advice: "
            f"{decision_log.sentence(reason)}",
            actor=user,
            release=incident.release,
            subject=f"incident:{incident.pk}",
            reasons=advice.reasons,
            data={
                "incident": incident.pk,
                "choice": choice,
                "reason": reason,
                "recommendation": advice.recommendation,
                "scores": advice.scores,
            },
        )
    return decision
