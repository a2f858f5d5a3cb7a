"""Ticket triage (6.5): is a support ticket caused by a release, or was it there before?

``classify(ticket)`` reads the deployment timeline of the ticket's service:

- the latest production deployment of a release shipping the service that finished within
  ``TRIAGE_WINDOW_HOURS`` (72) before the ticket was opened is the candidate;
- earlier tickets of the same service opened before that deployment (up to
  ``TRIAGE_LOOKBACK_DAYS`` back) are compared word by word (Jaccard similarity of the
  normalised words of subject and text);

→ ``release_related`` when there is a candidate and nothing like it was seen before;
``pre_existing`` when something alike was reported before the deployment, or no deployment
came before it in the window; ``unclear`` when an earlier ticket only partly resembles it, or
the ticket says too little to compare. Every step is a reason kept as the ticket's evidence.

``import_tickets`` is the one door for new tickets (API, CSV page, ``manage.py import_tickets``):
a file with any bad row or a duplicate ``external_id`` is refused whole and writes nothing.
``override`` records a person's classification with a reason; re-triage keeps it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from metrics.models import SupportTicket, TicketClassification
from metrics.models.tickets import TicketSentiment
from releasemgr.decisions import DomainError, NotPermitted, Reason
from releasemgr.redaction import redact
from releases.models import Deployment, Release, Service

C = TicketClassification
IMPORT_PERMISSION = "metrics.add_supportticket"
OVERRIDE_PERMISSION = "metrics.change_supportticket"
CSV_COLUMNS = ["external_id", "service", "opened_at", "subject", "text", "rating"]
OPTIONAL_COLUMNS = {"text", "rating", "sentiment"}
MAX_ROWS = 5000
# Words that say nothing about what went wrong.
_FILLER = (
    "a an and are as at be been but by can cannot could did do does doing for from get got "
    "had has have i if in into is it its me my no not of on or our please since so still that "
    "the their them then there this to too us was we were what when where which while why "
    "will with would you your hi hello thanks thank regards help issue problem"
)
STOPWORDS = frozenset(_FILLER.split())
WORD_RE = re.compile(r"[a-z0-9]+")


def window_hours() -> int:
    return settings.TRIAGE_WINDOW_HOURS


def lookback_days() -> int:
    return int(getattr(settings, "TRIAGE_LOOKBACK_DAYS", 30))


def similar_threshold() -> float:
    """Jaccard similarity from which two tickets describe the same problem."""
    return float(getattr(settings, "TRIAGE_SIMILAR", 0.5))


def partial_threshold() -> float:
    """Jaccard similarity from which a ticket resembles another without being the same."""
    return float(getattr(settings, "TRIAGE_PARTIAL", 0.25))


class InvalidInput(DomainError):
    """Bad input (HTTP 400). Each reason's data names its ``row`` (1-based) and ``field``."""

    status_code = 400
    code = "invalid"

    @classmethod
    def of(cls, errors: list[tuple[int | None, str, str]]) -> InvalidInput:
        def where(row):
            return f"Row {row}: " if row is not None else ""

        return cls(
            " ".join(f"{where(row)}{message}" for row, _field, message in errors),
            [
                Reason("invalid", False, f"{where(row)}{message}", {"row": row, "field": field})
                for row, field, message in errors
            ],
        )


# --- similarity ---------------------------------------------------------------------------------


def words(text: str) -> frozenset[str]:
    """The normalised words of a text: lower case, letters and digits, no filler words."""
    return frozenset(
        w for w in WORD_RE.findall((text or "").lower()) if len(w) > 2 and w not in STOPWORDS
    )


def ticket_words(ticket: SupportTicket) -> frozenset[str]:
    return words(f"{ticket.subject} {ticket.text}")


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


# --- classification -----------------------------------------------------------------------------


@dataclass
class Triage:
    """The outcome of ``classify``: the classification, the attribution and the reasons."""

    classification: str
    deployment: Deployment | None
    reasons: list[Reason]

    @property
    def release(self) -> Release | None:
        return self.deployment.release if self.deployment else None

    def evidence(self) -> list[dict[str, Any]]:
        return [
            {"code": r.code, "passed": r.passed, "message": r.message, "data": r.data}
            for r in self.reasons
        ]


def candidate_deployment(service: Service, opened_at: datetime) -> tuple[Deployment | None, int]:
    """The latest production deployment shipping ``service`` that finished in the window
    before ``opened_at``, and how many finished in that window."""
    since = opened_at - timedelta(hours=window_hours())
    found = list(
        Deployment.objects.filter(
            environment__is_production=True,
            finished_at__isnull=False,
            finished_at__lte=opened_at,
            finished_at__gte=since,
            release__release_services__service=service,
        )
        .select_related("release", "environment")
        .order_by("-finished_at", "-pk")
        .distinct()
    )
    return (found[0] if found else None), len(found)


def _earlier_matches(ticket: SupportTicket, before: datetime) -> list[tuple[float, SupportTicket]]:
    """Earlier tickets of the same service opened before ``before``, most similar first."""
    mine = ticket_words(ticket)
    earlier = (
        SupportTicket.objects.filter(
            service_id=ticket.service_id,
            opened_at__lt=before,
            opened_at__gte=before - timedelta(days=lookback_days()),
        )
        .exclude(pk=ticket.pk)
        .only("pk", "external_id", "subject", "text", "opened_at")
    )
    scored = [(jaccard(mine, ticket_words(other)), other) for other in earlier]
    return sorted(
        ((s, o) for s, o in scored if s > 0), key=lambda pair: (-pair[0], pair[1].opened_at)
    )


def _named(matches) -> list[dict[str, Any]]:
    return [
        {"ticket": o.external_id, "id": o.pk, "similarity": round(s, 2), "subject": o.subject}
        for s, o in matches[:5]
    ]


def classify(ticket: SupportTicket) -> Triage:
    """Release-related, pre-existing or unclear, with the reasons (the evidence shown)."""
    reasons: list[Reason] = []
    hours = window_hours()
    deployment, count = candidate_deployment(ticket.service, ticket.opened_at)
    if deployment is None:
        reasons.append(
            Reason(
                "recent_deployment",
                False,
                f"No production deployment of {ticket.service.slug} finished in the "
                f"{hours} h before the ticket was opened.",
                {"window_hours": hours},
            )
        )
        before = ticket.opened_at
    else:
        gap = ticket.opened_at - deployment.finished_at
        reasons.append(
            Reason(
                "recent_deployment",
                True,
                f"{deployment.release.key} ({deployment.release.version}) finished deploying to "
                f"{deployment.environment.name} {_hours(gap)} before the ticket was opened"
                + (f" (latest of {count} in the {hours} h window)." if count > 1 else "."),
                {
                    "deployment": deployment.pk,
                    "release": deployment.release.key,
                    "finished_at": deployment.finished_at.isoformat(),
                    "status": deployment.status,
                    "hours_before": round(gap.total_seconds() / 3600, 1),
                    "window_hours": hours,
                },
            )
        )
        before = deployment.finished_at

    mine = ticket_words(ticket)
    if len(mine) < 2:
        reasons.append(
            Reason(
                "comparable",
                False,
                "The ticket says too little to compare with earlier tickets.",
                {"words": sorted(mine)},
            )
        )
        return Triage(C.UNCLEAR, deployment, reasons)

    matches = _earlier_matches(ticket, before)
    same = [(s, o) for s, o in matches if s >= similar_threshold()]
    partial = [(s, o) for s, o in matches if partial_threshold() <= s < similar_threshold()]
    when = "before the deployment" if deployment else "before it"
    if same:
        reasons.append(
            Reason(
                "seen_before",
                False,
                f"Seen {when}: "
                + ", ".join(f"{o.external_id} ({s:.0%} alike)" for s, o in same[:5])
                + ".",
                {"matches": _named(same)},
            )
        )
        return Triage(C.PRE_EXISTING, None, reasons)
    if partial:
        reasons.append(
            Reason(
                "seen_before",
                False,
                f"Partly like tickets opened {when}: "
                + ", ".join(f"{o.external_id} ({s:.0%} alike)" for s, o in partial[:5])
                + "; cannot tell whether it is the same problem.",
                {"matches": _named(partial)},
            )
        )
        return Triage(C.UNCLEAR, deployment, reasons)
    reasons.append(
        Reason(
            "seen_before",
            True,
            f"No ticket like it in the {lookback_days()} days {when}.",
            {"lookback_days": lookback_days()},
        )
    )
    if deployment is None:
        return Triage(C.PRE_EXISTING, None, reasons)
    return Triage(C.RELEASE_RELATED, deployment, reasons)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 1 else f"{delta.total_seconds() / 60:.0f} min"


def _classify_into(ticket: SupportTicket) -> Triage:
    """Set the ticket's triage (not saved); an overridden ticket keeps the person's call."""
    result = classify(ticket)
    ticket.evidence = result.evidence()
    ticket.classified_at = timezone.now()
    if not ticket.is_overridden:
        ticket.classification = result.classification
        ticket.attributed_deployment = result.deployment
        ticket.attributed_release = result.release
    return result


def apply(ticket: SupportTicket, user=None, why: str = "triaged") -> SupportTicket:
    """Classify and save; an overridden ticket keeps the person's classification."""
    result = _classify_into(ticket)
    ticket.save_with_reason(f"{why}: {result.classification}", user=user)
    return ticket


def retriage(tickets, user=None) -> int:
    """Classify these tickets again (e.g. after importing past deployments)."""
    count = 0
    for ticket in tickets:
        with transaction.atomic():
            locked = SupportTicket.objects.select_for_update().get(pk=ticket.pk)
            apply(locked, user, "re-triaged")
        count += 1
    return count


# --- import -------------------------------------------------------------------------------------


def _parse_when(value: str) -> datetime | None:
    value = (value or "").strip()
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is not None:
            parsed = datetime(day.year, day.month, day.day)
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    return parsed


def _clean_row(row: dict, services: dict[str, Service]) -> tuple[dict, list[tuple[str, str]]]:
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    external_id = str(row.get("external_id") or "").strip()
    if not external_id:
        errors.append(("external_id", "external_id is required."))
    elif len(external_id) > 100:
        errors.append(("external_id", "external_id is longer than 100 characters."))
    out["external_id"] = external_id
    slug = str(row.get("service") or "").strip()
    if not slug:
        errors.append(("service", "service is required."))
    elif slug not in services:
        errors.append(("service", f"No service '{slug}'; GET /api/v1/services/ lists them."))
    else:
        out["service"] = services[slug]
    opened = row.get("opened_at")
    opened_at = opened if isinstance(opened, datetime) else _parse_when(str(opened or ""))
    if opened_at is None:
        errors.append(("opened_at", "opened_at must be a date-time such as 2026-11-20T14:05:00Z."))
    elif opened_at > timezone.now() + timedelta(minutes=5):
        errors.append(("opened_at", "opened_at is in the future."))
    out["opened_at"] = opened_at
    subject = str(row.get("subject") or "").strip()
    if not subject:
        errors.append(("subject", "subject is required."))
    elif len(subject) > 300:
        errors.append(("subject", "subject is longer than 300 characters."))
    out["subject"] = redact(subject)
    out["text"] = redact(str(row.get("text") or ""))
    rating = row.get("rating")
    if rating in (None, ""):
        out["rating"] = None
    else:
        try:
            value = int(str(rating).strip())
        except ValueError:
            value = None
        if value is None or not 1 <= value <= 5 or isinstance(rating, bool | float):
            errors.append(("rating", f"rating must be a whole number from 1 to 5, not {rating!r}."))
        out["rating"] = value
    sentiment = str(row.get("sentiment") or "").strip().lower()
    if sentiment and sentiment not in TicketSentiment.values:
        errors.append(
            ("sentiment", f"sentiment must be one of {', '.join(TicketSentiment.values)}.")
        )
    out["sentiment"] = sentiment
    return out, errors


def import_tickets(rows: list[dict], user, *, source: str = "api") -> list[SupportTicket]:
    """Validate every row, refuse the whole batch on any error or duplicate, else save and triage.

    Rows are numbered from 1 (a CSV's header is row 0, so a CSV row number is its line - 1).
    """
    if user is not None and not user.has_perm(IMPORT_PERMISSION):
        raise NotPermitted("Your role may not import support tickets.")
    if not rows:
        raise InvalidInput.of([(None, "non_field_errors", "No tickets to import.")])
    if len(rows) > MAX_ROWS:
        raise InvalidInput.of(
            [(None, "non_field_errors", f"At most {MAX_ROWS} tickets per import.")]
        )
    services = {s.slug: s for s in Service.objects.all()}
    errors: list[tuple[int | None, str, str]] = []
    cleaned: list[dict] = []
    first_row: dict[str, int] = {}
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            errors.append((number, "non_field_errors", "Each ticket must be an object."))
            continue
        data, row_errors = _clean_row(row, services)
        errors.extend((number, field, message) for field, message in row_errors)
        external_id = data["external_id"]
        if external_id:
            if external_id in first_row:
                errors.append(
                    (
                        number,
                        "external_id",
                        f"Duplicate ticket {external_id}: already in row {first_row[external_id]}"
                        " of this import.",
                    )
                )
            else:
                first_row[external_id] = number
        cleaned.append(data)
    existing = set(
        SupportTicket.objects.filter(external_id__in=list(first_row)).values_list(
            "external_id", flat=True
        )
    )
    for external_id in sorted(existing, key=lambda e: first_row[e]):
        errors.append(
            (
                first_row[external_id],
                "external_id",
                f"Duplicate ticket {external_id}: it was already imported; nothing was imported.",
            )
        )
    if errors:
        errors.sort(key=lambda e: (e[0] or 0))
        raise InvalidInput.of(errors)
    created: list[SupportTicket] = []
    source = redact(source)[:100]
    with transaction.atomic():
        # Oldest first: each ticket is compared with the ones imported before it.
        for data in sorted(cleaned, key=lambda d: d["opened_at"]):
            ticket = SupportTicket(source=source, imported_by=user, **data)
            result = _classify_into(ticket)
            ticket.save_with_reason(f"imported ({source}): {result.classification}", user=user)
            created.append(ticket)
    by_id = {t.external_id: t for t in created}
    return [by_id[d["external_id"]] for d in cleaned]


def read_csv(content: bytes | str) -> list[dict]:
    """The rows of a ticket CSV as dicts; a missing required column is refused."""
    if isinstance(content, bytes):
        try:
            content = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput.of([(None, "file", "The file is not UTF-8 text.")]) from exc
    reader = csv.DictReader(io.StringIO(content))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise InvalidInput.of(
            [
                (
                    None,
                    "file",
                    f"The header lacks {', '.join(missing)}; expected columns: "
                    f"{', '.join(CSV_COLUMNS)}.",
                )
            ]
        )
    reader.fieldnames = header
    rows = []
    for row in reader:
        rows.append({k: (v or "").strip() for k, v in row.items() if k})
    return rows


# --- override -----------------------------------------------------------------------------------


def override(
    ticket: SupportTicket,
    user,
    classification: str,
    reason: str,
    release: Release | None = None,
) -> SupportTicket:
    """A person's classification, with a reason (kept in history; re-triage keeps it).

    Release-related needs a release: the one given, or the deployment triage found.
    """
    if not user.has_perm(OVERRIDE_PERMISSION):
        raise NotPermitted("Only release managers and deployers may override a classification.")
    errors: list[tuple[int | None, str, str]] = []
    reason = redact((reason or "").strip())
    if classification not in C.values:
        errors.append((None, "classification", f"Choose one of {', '.join(C.values)}."))
    if not reason:
        errors.append((None, "reason", "Say why the classification is overridden."))
    if errors:
        raise InvalidInput.of(errors)
    with transaction.atomic():
        locked = SupportTicket.objects.select_for_update().get(pk=ticket.pk)
        deployment = None
        if classification == C.RELEASE_RELATED:
            candidate = locked.attributed_deployment
            if candidate is None:
                found = next(
                    (r for r in locked.evidence or [] if r.get("code") == "recent_deployment"),
                    None,
                )
                pk = ((found or {}).get("data") or {}).get("deployment")
                candidate = Deployment.objects.filter(pk=pk).select_related("release").first()
            if release is None and candidate is None:
                raise InvalidInput.of(
                    [(None, "release", "Name the release that caused it: triage found none.")]
                )
            if release is None or (candidate is not None and candidate.release_id == release.pk):
                deployment, release = candidate, candidate.release
            else:
                deployment = (
                    release.deployments.filter(
                        environment__is_production=True, finished_at__lte=locked.opened_at
                    )
                    .order_by("-finished_at")
                    .first()
                )
        elif classification == C.UNCLEAR:
            release = locked.attributed_release
            deployment = locked.attributed_deployment
        else:
            release = None
        locked.classification = classification
        locked.attributed_release = release
        locked.attributed_deployment = deployment
        locked.overridden_by = user
        locked.override_reason = reason
        locked.save_with_reason(f"classification overridden: {reason}", user=user)
    return locked
