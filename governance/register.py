"""The register of risks and known errors: who may write it, status changes, export, notices.

Entries belong to a release, a service, or both. "Open" means not closed: a mitigated or
accepted item still exists and service management still needs to know about it. Accepting a
risk is a residual-risk decision, so it needs ``governance.accept_residual_risk`` and is
written to the decision log. The register is "communicated to service management" by an
export of its open items and by a notification when a release carrying open known errors
reaches production (``notify_known_errors``, called by ``releases.lifecycle.record_event``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet

from governance import decision_log
from governance.choices import DecisionKind, RegisterKind, RegisterStatus
from governance.models import RegisterEntry
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted, Reason
from releasemgr.notifications import notify_many
from releasemgr.roles import RELEASE_MANAGER

ADD_PERMISSION = "governance.add_registerentry"
CHANGE_PERMISSION = "governance.change_registerentry"
ACCEPT_PERMISSION = "governance.accept_residual_risk"

OPEN_STATUSES = (RegisterStatus.OPEN, RegisterStatus.MITIGATED, RegisterStatus.ACCEPTED)
# Which status may follow which. Closing is final: a recurring problem is a new entry.
NEXT_STATUSES = {
    RegisterStatus.OPEN: (RegisterStatus.MITIGATED, RegisterStatus.ACCEPTED, RegisterStatus.CLOSED),
    RegisterStatus.MITIGATED: (RegisterStatus.OPEN, RegisterStatus.ACCEPTED, RegisterStatus.CLOSED),
    RegisterStatus.ACCEPTED: (RegisterStatus.OPEN, RegisterStatus.MITIGATED, RegisterStatus.CLOSED),
    RegisterStatus.CLOSED: (),
}
EDITABLE_FIELDS = (
    "kind",
    "title",
    "description",
    "impact",
    "workaround",
    "owner",
    "release",
    "service",
    "reference",
)
EXPORT_COLUMNS = [
    "id",
    "kind",
    "status",
    "title",
    "description",
    "impact",
    "workaround",
    "reference",
    "release",
    "release_state",
    "service",
    "team",
    "owner",
    "created",
    "updated",
]
NOTIFY_KIND = "known_errors_deployed"


class InvalidEntry(DomainError):
    """Bad input: the API answers 400 with field errors, the page shows them on the form."""

    status_code = 400
    code = "invalid"


def _invalid(exc: ValidationError) -> InvalidEntry:
    reasons = []
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages in errors.items():
        for message in messages:
            field_name = None if field in (None, "__all__") else field
            reasons.append(Reason("invalid", False, message, {"field": field_name}))
    return InvalidEntry("; ".join(r.message for r in reasons), reasons)


def is_open(entry: RegisterEntry) -> bool:
    return entry.status in OPEN_STATUSES


def with_related(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("owner", "release", "service", "service__team")


def open_entries(queryset: QuerySet | None = None) -> QuerySet:
    queryset = RegisterEntry.objects.all() if queryset is None else queryset
    return queryset.filter(status__in=OPEN_STATUSES)


def for_release(release) -> QuerySet:
    """Entries on the release, and those on the services it ships."""
    service_ids = list(release.release_services.values_list("service_id", flat=True))
    return RegisterEntry.objects.filter(Q(release=release) | Q(service_id__in=service_ids))


# --- writes -----------------------------------------------------------------------------------


def create(user, **fields) -> RegisterEntry:
    """Record a risk or known error; ``owner`` defaults to the person recording it."""
    if not user.has_perm(ADD_PERMISSION):
        raise NotPermitted(f"{user.get_username()} may not record risks or known errors.")
    fields.setdefault("owner", user)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidEntry(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    entry = RegisterEntry(**fields)
    try:
        entry.full_clean()
    except ValidationError as exc:
        raise _invalid(exc) from exc
    with transaction.atomic():
        entry.save_with_reason("recorded", user=user)
    return entry


def update(entry: RegisterEntry, user, **fields) -> RegisterEntry:
    """Change what an entry says (status changes go through ``change_status``)."""
    if not user.has_perm(CHANGE_PERMISSION):
        raise NotPermitted(f"{user.get_username()} may not edit the register.")
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidEntry(f"Unknown field(s): {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        locked = RegisterEntry.objects.select_for_update().get(pk=entry.pk)
        if locked.status == RegisterStatus.CLOSED:
            raise IllegalTransition(
                f"Entry #{locked.pk} is closed; record a new entry if the problem is back.",
                [Reason("status", False, "The entry is closed.", {"status": locked.status})],
            )
        for name, value in fields.items():
            setattr(locked, name, value)
        try:
            locked.full_clean()
        except ValidationError as exc:
            raise _invalid(exc) from exc
        locked.save_with_reason("edited", user=user)
    return locked


def may_change_status(entry: RegisterEntry, user, status: str) -> list[Reason]:
    """Why this person may (or may not) move the entry to ``status``: a list of reasons."""
    reasons = []
    allowed = NEXT_STATUSES.get(entry.status, ())
    reasons.append(
        Reason(
            "transition",
            status in allowed,
            f"{entry.get_status_display()} → {RegisterStatus(status).label} is possible."
            if status in allowed
            else f"An entry that is {entry.get_status_display().lower()} cannot become "
            f"{RegisterStatus(status).label.lower()}.",
            {"from": entry.status, "to": status},
        )
    )
    can_change = user.has_perm(CHANGE_PERMISSION)
    reasons.append(
        Reason(
            "permission",
            can_change,
            "You may change the register."
            if can_change
            else "Your role may not change the register.",
        )
    )
    if status == RegisterStatus.ACCEPTED:
        can_accept = user.has_perm(ACCEPT_PERMISSION)
        reasons.append(
            Reason(
                "accept_residual_risk",
                can_accept,
                "You may accept residual risk."
                if can_accept
                else "Accepting a risk needs a role that may accept residual risk "
                "(a compliance officer).",
            )
        )
    return reasons


def change_status(entry: RegisterEntry, user, status: str, note: str) -> RegisterEntry:
    """Mitigate, accept, reopen or close an entry, saying why (the note is the history reason)."""
    note = (note or "").strip()
    if status not in RegisterStatus.values:
        raise InvalidEntry(
            f"Unknown status '{status}'.",
            [Reason("invalid", False, f"Unknown status '{status}'.", {"field": "status"})],
        )
    if not note:
        raise InvalidEntry(
            "Say why the status changes (a note is required).",
            [Reason("invalid", False, "A note is required.", {"field": "note"})],
        )
    with transaction.atomic():
        locked = with_related(RegisterEntry.objects.select_for_update(of=("self",))).get(
            pk=entry.pk
        )
        reasons = may_change_status(locked, user, status)
        failed = [r for r in reasons if not r.passed]
        if any(r.code != "transition" for r in failed):
            raise NotPermitted(failed[-1].message, reasons)
        if failed:
            raise IllegalTransition(failed[0].message, reasons)
        previous = locked.status
        locked.status = status
        label = RegisterStatus(status).label.lower()
        locked.save_with_reason(f"{label}: {note}"[:100], user=user)
        if status == RegisterStatus.ACCEPTED:
            decision_log.append(
                kind=DecisionKind.RISK_ACCEPTANCE,
                outcome="accepted",
                summary=f"{locked.get_kind_display()} '{locked.title}' accepted: {note}",
                actor=user,
                release=locked.release,
                subject=f"register-entry:{locked.pk}",
                reasons=reasons,
                data={
                    "from": previous,
                    "note": note,
                    "service": locked.service.slug if locked.service_id else None,
                },
            )
    return locked


# --- communicating to service management -----------------------------------------------------


def export_rows(queryset: QuerySet) -> Iterable[dict]:
    for entry in with_related(queryset).order_by("pk"):
        yield {
            "id": entry.pk,
            "kind": entry.kind,
            "status": entry.status,
            "title": entry.title,
            "description": entry.description,
            "impact": entry.impact,
            "workaround": entry.workaround,
            "reference": entry.reference,
            "release": entry.release.key if entry.release_id else "",
            "release_state": entry.release.state if entry.release_id else "",
            "service": entry.service.slug if entry.service_id else "",
            "team": entry.service.team.slug if entry.service_id else "",
            "owner": entry.owner.get_username(),
            "created": entry.created.isoformat(),
            "updated": entry.updated.isoformat(),
        }


def export_csv(queryset: QuerySet) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    writer.writerows(export_rows(queryset))
    return out.getvalue()


def audience(release) -> list:
    """Who hears about known errors shipped: the owner, the services' owners, release managers."""
    User = get_user_model()
    service_ids = list(release.release_services.values_list("service_id", flat=True))
    return list(
        User.objects.filter(
            Q(pk=release.owner_id)
            | Q(owned_services__in=service_ids)
            | Q(groups__name=RELEASE_MANAGER),
            is_active=True,
        ).distinct()
    )


def notify_known_errors(release) -> int:
    """After ``release`` reached production: tell service management about its open known errors.

    Idempotent (one notice per person per release); returns how many were sent.
    """
    errors = list(
        open_entries(release.register_entries.filter(kind=RegisterKind.KNOWN_ERROR)).order_by("pk")
    )
    if not errors:
        return 0
    titles = "; ".join(e.title for e in errors[:3]) + ("; …" if len(errors) > 3 else "")
    count = len(errors)
    message = (
        f"{release.key} {release.name} is in production with {count} open known "
        f"error{'s' if count != 1 else ''}: {titles}. Check the workarounds."
    )
    return notify_many(
        audience(release),
        NOTIFY_KIND,
        message,
        link=release.get_absolute_url() + "#register",
        dedupe_key=f"{NOTIFY_KIND}:{release.key}",
    )
