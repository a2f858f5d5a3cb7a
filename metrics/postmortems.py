"""Blameless post-mortems: who may write one about what, the no-person-as-a-cause rule on
contributing factors, and action items tracked to done.

Rules:
- A post-mortem is about a failed release (rolled back, or with a failed, halted or rolled-back
  deployment) or a major (critical/high) incident; at least one of them.
- A contributing factor describes the system, never a person: it may not name an active user
  (username, first or last name as a word) nor blame ("human error", "X forgot",
  "X's mistake"...). The refusal suggests a systemic phrasing.
- An action item has an owner (an active user) and a due date that is not in the past when it
  is created; it is open until marked done (who and when, in its history).
"""

from __future__ import annotations

import re
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from metrics.models.incidents import Incident
from metrics.models.postmortems import (
    ActionItem,
    ActionStatus,
    ContributingFactor,
    FactorCategory,
    PostMortem,
    PostMortemStatus,
    TimelineEntry,
)
from releasemgr.decisions import (  # noqa: F401
    Decision,
    DomainError,
    IllegalTransition,
    InvalidInput,
    Reason,
)
from releasemgr.redaction import redact
from releases.models import Release

WRITE_PERMISSION = "metrics.add_postmortem"
MAJOR_SEVERITIES = ("critical", "high")
FAILED_DEPLOYMENT_STATUSES = ("failed", "halted", "rolled_back")
TAG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
SYSTEMIC_HINT = (
    "Describe the condition of the system instead, e.g. 'No automated check that the "
    "migration ran before the deploy' or 'The runbook did not cover a failover'."
)
# Blame phrases, whoever they are about.
BLAME_PATTERNS = [
    (re.compile(r"\bhuman[\s-]+errors?\b", re.I), "calls it human error"),
    (re.compile(r"\b(operator|user|developer|engineer)[\s-]+errors?\b", re.I), "blames a role"),
    (re.compile(r"\b[\w.-]+\s+(forgot|forgets|forgotten|neglected|failed to)\b", re.I), None),
    (re.compile(r"\b[\w.-]+['’]s\s+(mistake|fault|error|negligence|carelessness)\b", re.I), None),
    (re.compile(r"\b(his|her|their)\s+(mistake|fault|error)\b", re.I), None),
    (re.compile(r"\b(careless|carelessness|negligent|negligence|incompeten\w*)\b", re.I), None),
]
STATUS_FLOW = {
    PostMortemStatus.DRAFT: {PostMortemStatus.IN_REVIEW},
    PostMortemStatus.IN_REVIEW: {PostMortemStatus.DRAFT, PostMortemStatus.PUBLISHED},
    PostMortemStatus.PUBLISHED: set(),
}


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Reason(field, False, message, {"field": field})])


def release_failed(release: Release) -> bool:
    return (
        release.state == "rolled_back"
        or release.deployments.filter(status__in=FAILED_DEPLOYMENT_STATUSES).exists()
    )


def subject_decision(release: Release | None, incident: Incident | None) -> Decision:
    """May a post-mortem be written about this release / incident?"""
    decision = Decision()
    if release is None and incident is None:
        decision.add(
            Reason(
                "subject",
                False,
                "Say what the post-mortem is about: a failed release or a critical/high incident.",
                {"field": "release"},
            )
        )
        return decision
    if release is not None:
        ok = release_failed(release)
        decision.add(
            Reason(
                "failed_release",
                ok,
                f"{release.key} failed."
                if ok
                else f"{release.key} has not failed (no failed, halted or rolled-back "
                "deployment): post-mortems are for failed releases and major incidents.",
                {"field": "release", "release": release.key},
            )
        )
    if incident is not None:
        ok = incident.severity in MAJOR_SEVERITIES
        decision.add(
            Reason(
                "major_incident",
                ok,
                f"INC-{incident.pk} is {incident.severity}."
                if ok
                else f"INC-{incident.pk} is {incident.severity}: post-mortems are written for "
                "critical and high incidents.",
                {"field": "incident", "incident": incident.pk},
            )
        )
    return decision


def create_postmortem(
    user,
    title: str,
    summary: str = "",
    release: Release | None = None,
    incident: Incident | None = None,
    facilitator=None,
) -> PostMortem:
    title = (title or "").strip()
    if not title:
        raise _invalid("title", "Give the post-mortem a title.")
    if release is None and incident is not None:
        release = incident.release if release_failed_or_none(incident.release) else None
    decision = subject_decision(release, incident)
    if not decision.allowed:
        raise InvalidInput(" ".join(decision.messages()), decision.failed)
    with transaction.atomic():
        pm = PostMortem(
            release=release,
            incident=incident,
            title=redact(title)[:200],
            summary=redact(summary or ""),
            facilitator=facilitator,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )
        pm.save_with_reason("created", user=user)
    return pm


def release_failed_or_none(release: Release | None) -> bool:
    return release is not None and release_failed(release)


def _active_names() -> dict[str, str]:
    """Lower-cased name → username, for every active person (usernames, first and last
    names of three letters or more). Service accounts (the pipeline role) are not people:
    "the pipeline has no migration step" is a systemic factor."""
    from releasemgr.roles import PIPELINE

    names: dict[str, str] = {}
    people = get_user_model().objects.filter(is_active=True).exclude(groups__name=PIPELINE)
    for username, first, last in people.values_list("username", "first_name", "last_name"):
        for name in (username, first, last):
            name = (name or "").strip().lower()
            if len(name) >= 3:
                names.setdefault(name, username)
    return names


def blameless_decision(text: str) -> Decision:
    """Does this factor describe the system rather than a person?"""
    decision = Decision()
    words = set(re.findall(r"[\w.@-]+", (text or "").lower()))
    words |= {w.strip(".-") for w in words}
    named = sorted({username for name, username in _active_names().items() if name in words})
    if named:
        decision.add(
            Reason(
                "names_a_person",
                False,
                f"A contributing factor may not name a person ({', '.join(named)}): post-mortems "
                f"are blameless. {SYSTEMIC_HINT}",
                {"field": "description", "users": named},
            )
        )
    for pattern, what in BLAME_PATTERNS:
        found = pattern.search(text or "")
        if found:
            decision.add(
                Reason(
                    "blames_a_person",
                    False,
                    f"'{found.group(0)}' {what or 'blames a person'}: post-mortems are "
                    f"blameless. {SYSTEMIC_HINT}",
                    {"field": "description", "phrase": found.group(0)},
                )
            )
            break
    if not decision.reasons:
        decision.add(Reason("blameless", True, "Describes the system, not a person."))
    return decision


def clean_tags(tags) -> list[str]:
    if isinstance(tags, str):
        tags = [t for t in re.split(r"[,\s]+", tags) if t]
    out = []
    for tag in tags or []:
        tag = str(tag).strip().lower()
        if not TAG_RE.match(tag):
            raise _invalid(
                "tags",
                f"'{tag}' is not a tag: use short slugs (lower-case letters, digits, hyphens; "
                "up to 40 characters), e.g. db-migration.",
            )
        if tag not in out:
            out.append(tag)
    if len(out) > 10:
        raise _invalid("tags", "Give at most 10 tags.")
    return out


def _lock(pm: PostMortem) -> PostMortem:
    locked = PostMortem.objects.select_for_update().get(pk=pm.pk)
    if locked.status == PostMortemStatus.PUBLISHED:
        raise IllegalTransition(f"PM-{pm.pk} is published: it is no longer edited.")
    return locked


def add_factor(
    user, pm: PostMortem, category: str, description: str, tags=()
) -> ContributingFactor:
    description = (description or "").strip()
    if category not in FactorCategory.values:
        raise _invalid(
            "category", f"Unknown category '{category}'; one of {', '.join(FactorCategory.values)}."
        )
    if not description:
        raise _invalid("description", "Describe the contributing factor.")
    decision = blameless_decision(description)
    if not decision.allowed:
        raise InvalidInput(" ".join(decision.messages()), decision.failed)
    tags = clean_tags(tags)
    with transaction.atomic():
        _lock(pm)
        factor = ContributingFactor(
            postmortem=pm, category=category, description=redact(description), tags=tags
        )
        factor.save_with_reason("added", user=user)
    return factor


def add_timeline_entry(user, pm: PostMortem, at: datetime, description: str) -> TimelineEntry:
    description = (description or "").strip()
    if at is None:
        raise _invalid("at", "Say when it happened.")
    if not description:
        raise _invalid("description", "Say what happened.")
    with transaction.atomic():
        _lock(pm)
        entry = TimelineEntry(postmortem=pm, at=at, description=redact(description))
        entry.save_with_reason("added", user=user)
    return entry


def add_action(
    user, pm: PostMortem, description: str, owner, due_date: date | None, today: date | None = None
) -> ActionItem:
    today = today or timezone.localdate()
    description = (description or "").strip()
    if not description:
        raise _invalid("description", "Say what will be changed.")
    if owner is None:
        raise _invalid("owner", "Every action needs an owner: choose who will do it.")
    if not owner.is_active:
        raise _invalid("owner", f"{owner.get_username()} is not an active user.")
    if due_date is None:
        raise _invalid("due_date", "Give the action a due date.")
    if due_date < today:
        raise _invalid(
            "due_date", f"The due date {due_date.isoformat()} is in the past (today is {today})."
        )
    with transaction.atomic():
        _lock(pm)
        action = ActionItem(
            postmortem=pm, description=redact(description), owner=owner, due_date=due_date
        )
        action.save_with_reason("created", user=user)
    return action


def complete_action(user, action: ActionItem) -> ActionItem:
    """Mark an open action done (who and when in its history)."""
    with transaction.atomic():
        locked = ActionItem.objects.select_for_update().get(pk=action.pk)
        if locked.status == ActionStatus.DONE:
            raise IllegalTransition(f"Action {locked.pk} is done already.")
        locked.status = ActionStatus.DONE
        locked.done_at = timezone.now()
        locked.done_by = user if getattr(user, "is_authenticated", False) else None
        locked.save_with_reason("done", user=user)
    return locked


def set_status(user, pm: PostMortem, status: str) -> PostMortem:
    """draft → in review → published (back to draft from review); published is final."""
    if status not in PostMortemStatus.values:
        raise _invalid("status", f"Unknown status '{status}'.")
    with transaction.atomic():
        locked = PostMortem.objects.select_for_update().get(pk=pm.pk)
        if status == locked.status:
            return locked
        if status not in STATUS_FLOW[PostMortemStatus(locked.status)]:
            raise IllegalTransition(
                f"PM-{locked.pk} is {locked.get_status_display().lower()}; it cannot become "
                f"{PostMortemStatus(status).label.lower()}."
            )
        if status == PostMortemStatus.PUBLISHED and not locked.factors.exists():
            raise IllegalTransition(
                f"PM-{locked.pk} has no contributing factor: add at least one before publishing."
            )
        locked.status = status
        locked.save_with_reason(f"status: {status}", user=user)
    return locked


def update_postmortem(user, pm: PostMortem, title: str, summary: str, facilitator) -> PostMortem:
    title = (title or "").strip()
    if not title:
        raise _invalid("title", "Give the post-mortem a title.")
    with transaction.atomic():
        locked = _lock(pm)
        locked.title, locked.summary = redact(title)[:200], redact(summary or "")
        locked.facilitator = facilitator
        locked.save_with_reason("edited", user=user)
    return locked


def overdue_actions(today: date | None = None):
    today = today or timezone.localdate()
    return (
        ActionItem.objects.filter(status=ActionStatus.OPEN, due_date__lt=today)
        .select_related("owner", "postmortem")
        .order_by("due_date", "pk")
    )


def scope_q(team=None, service=None) -> Q:
    """Post-mortems about a release shipping the team's/service's code, or its incident."""
    q = Q()
    if team is not None:
        q &= Q(release__release_services__service__team=team) | Q(incident__service__team=team)
    if service is not None:
        q &= Q(release__release_services__service=service) | Q(incident__service=service)
    return q
