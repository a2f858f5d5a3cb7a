"""CAB meetings: the agenda, members' votes, outcomes that move releases, minutes (curriculum 7.1).

A meeting is scheduled with a chair and attendees; its agenda is built from the
releases awaiting approval (soonest planned first, riskier first; an emergency
CAB takes emergency changes first). While the meeting is in progress each
attendee votes once per item. An approve vote is an approval through
``releases.lifecycle.approve`` (which asks the approval policy and segregation
of duties), a reject vote a rejection; when the release becomes approved or
rejected the item's outcome follows. The chair defers items and closes the
meeting with minutes; items not reached are deferred and return to the next
agenda. Every vote and every outcome goes into the decision log.

An emergency CAB may also decide outside a meeting: that is the plain approve
on the release page. Web pages, the API and the demo data call these functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from governance import decision_log, sod
from governance.choices import AgendaOutcome, DecisionKind, MeetingKind, MeetingStatus, VoteChoice
from governance.models import AgendaItem, CabMeeting, RiskAssessment, Vote
from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted, Reason
from releasemgr.roles import (
    CAB_MEMBER,
    COMPLIANCE_OFFICER,
    PRODUCT_OWNER,
    RELEASE_MANAGER,
    has_role,
)
from releases import lifecycle
from releases.choices import ChangeType, ReleaseState
from releases.models import Release

# Who may sit on a CAB (attendees are chosen among them).
MEMBER_ROLES = (CAB_MEMBER, COMPLIANCE_OFFICER, PRODUCT_OWNER)
OPEN_STATUSES = (MeetingStatus.SCHEDULED, MeetingStatus.IN_PROGRESS)


class InvalidInput(DomainError):
    """The input itself is wrong (a missing reason, an unknown choice): HTTP 400.

    Each reason's ``data["field"]`` names the field it is about.
    """

    status_code = 400
    code = "invalid"


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, [Reason("invalid", False, message, {"field": field})])


# --- who ----------------------------------------------------------------------------------------


def members():
    """Users who may attend a CAB: CAB members, compliance officers, product owners."""
    return (
        get_user_model()
        .objects.filter(groups__name__in=MEMBER_ROLES, is_active=True)
        .distinct()
        .order_by("username")
    )


def chairs():
    """Users who may chair a CAB: its members and release managers."""
    return (
        get_user_model()
        .objects.filter(groups__name__in=(*MEMBER_ROLES, RELEASE_MANAGER), is_active=True)
        .distinct()
        .order_by("username")
    )


def is_attendee(meeting: CabMeeting, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if meeting.chair_id == user.pk:
        return True
    cached = getattr(meeting, "_prefetched_objects_cache", {}).get("attendees")
    if cached is not None:
        return any(a.pk == user.pk for a in cached)
    return meeting.attendees.filter(pk=user.pk).exists()


def may_run(meeting: CabMeeting, user) -> bool:
    """The chair runs the meeting; a release manager may stand in (they organise CABs)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return meeting.chair_id == user.pk or (
        has_role(user, RELEASE_MANAGER) and user.has_perm("governance.change_cabmeeting")
    )


def require_attendee(meeting: CabMeeting, user) -> None:
    """Only an attendee (or the chair) of this very meeting votes in it (403 otherwise)."""
    if not is_attendee(meeting, user):
        message = f"{user.get_username()} is not an attendee of '{meeting.title}'."
        raise NotPermitted(message, [Reason("attendee", False, message)])


def require_runner(meeting: CabMeeting, user, what: str) -> None:
    """The chair (or a release manager) runs the meeting (403 otherwise)."""
    _require_runner(meeting, user, what)


def _require_runner(meeting: CabMeeting, user, what: str) -> None:
    if not may_run(meeting, user):
        message = (
            f"Only the chair ({meeting.chair.get_username()}) or a release manager may {what}."
        )
        raise NotPermitted(message, [Reason("chair", False, message)])


def _require_open(meeting: CabMeeting, what: str) -> None:
    if meeting.status not in OPEN_STATUSES:
        message = f"The meeting is {meeting.get_status_display().lower()}; you cannot {what}."
        raise IllegalTransition(
            message, [Reason("meeting_status", False, message, {"status": meeting.status})]
        )


def _lock_meeting(meeting: CabMeeting) -> CabMeeting:
    return CabMeeting.objects.select_for_update().select_related("chair").get(pk=meeting.pk)


# --- risk ---------------------------------------------------------------------------------------


def _stored_risk(release: Release):
    """The assessment kept at the current submission (prefetched ``risk_assessments`` used)."""
    cached = getattr(release, "_prefetched_objects_cache", {}).get("risk_assessments")
    if cached is not None:
        stored = sorted(cached, key=lambda a: a.created, reverse=True)
    else:
        stored = list(RiskAssessment.objects.filter(release=release).order_by("-created")[:1])
    for assessment in stored:
        if assessment.round == release.approval_round:
            return assessment.score, assessment.band
        break
    return None


def risks_for(releases, *, live: bool = True) -> dict[int, tuple[int | None, str]]:
    """Release pk → ``(score, band)``: the assessment kept at submission, else (with ``live``)
    scored now by ``governance.risk``, else ``(None, "")``."""
    from governance import risk

    out: dict[int, tuple[int | None, str]] = {}
    missing = []
    for release in releases:
        stored = _stored_risk(release)
        if stored is None:
            missing.append(release)
            out[release.pk] = (None, "")
        else:
            out[release.pk] = stored
    if live and missing:
        for pk, result in risk.assess_many(missing).items():
            out[pk] = (result.score, result.band)
    return out


def risk_of(release: Release, *, live: bool = True) -> tuple[int | None, str]:
    return risks_for([release], live=live)[release.pk]


# --- the agenda -----------------------------------------------------------------------------


def _pending_elsewhere(meeting: CabMeeting | None):
    """Releases pending on the agenda of another open meeting."""
    items = AgendaItem.objects.filter(
        outcome=AgendaOutcome.PENDING, meeting__status__in=OPEN_STATUSES
    )
    if meeting is not None:
        items = items.exclude(meeting=meeting)
    return items.values("release_id")


def agenda_candidates(meeting: CabMeeting) -> list[Release]:
    """Submitted releases not yet on this agenda nor pending on another open meeting's.

    Ordered by planned start (unplanned last), then risk score (highest first), then key;
    an emergency CAB takes emergency changes first.
    """
    releases = list(
        Release.objects.filter(state=ReleaseState.SUBMITTED)
        .exclude(pk__in=_pending_elsewhere(meeting))
        .exclude(agenda_items__meeting=meeting)
        .select_related("author")
        .prefetch_related("risk_assessments")
    )
    far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
    risks = risks_for(releases)

    def key(release):
        score, _band = risks[release.pk]
        emergency_first = (
            0
            if meeting.kind == MeetingKind.EMERGENCY and release.change_type == ChangeType.EMERGENCY
            else 1
        )
        return (emergency_first, release.planned_start or far, -(score or 0), release.key)

    return sorted(releases, key=key)


def _next_position(meeting: CabMeeting) -> int:
    return (meeting.items.aggregate(m=Max("position"))["m"] or 0) + 1


def _add(meeting: CabMeeting, release: Release, user, position: int) -> AgendaItem:
    item = AgendaItem(meeting=meeting, release=release, position=position)
    item.save_with_reason(f"added {release.key} to the agenda", user=user)
    return item


def build_agenda(meeting: CabMeeting, user) -> list[AgendaItem]:
    """Append every candidate to the agenda (the chair's button). Returns the new items."""
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "build the agenda")
        _require_open(locked, "change its agenda")
        position = _next_position(locked)
        added = []
        for offset, release in enumerate(agenda_candidates(locked)):
            added.append(_add(locked, release, user, position + offset))
    return added


def add_item(meeting: CabMeeting, release: Release, user) -> AgendaItem:
    """Put one submitted release on the agenda."""
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "change the agenda")
        _require_open(locked, "change its agenda")
        if release.state != ReleaseState.SUBMITTED:
            raise _invalid(
                "release",
                f"{release.key} is {release.get_state_display().lower()}; only releases awaiting "
                "approval go on a CAB agenda.",
            )
        if locked.items.filter(release=release).exists():
            raise _invalid("release", f"{release.key} is already on this agenda.")
        other = (
            AgendaItem.objects.filter(
                release=release,
                outcome=AgendaOutcome.PENDING,
                meeting__status__in=OPEN_STATUSES,
            )
            .exclude(meeting=locked)
            .select_related("meeting")
            .first()
        )
        if other is not None:
            raise _invalid(
                "release",
                f"{release.key} is already on the agenda of '{other.meeting.title}'; "
                "defer it there first.",
            )
        return _add(locked, release, user, _next_position(locked))


def remove_item(item: AgendaItem, user) -> None:
    """Take a pending, not yet voted item off the agenda."""
    with transaction.atomic():
        locked = _lock_meeting(item.meeting)
        _require_runner(locked, user, "change the agenda")
        _require_open(locked, "change its agenda")
        item = AgendaItem.objects.select_for_update().get(pk=item.pk)
        if item.outcome != AgendaOutcome.PENDING or item.votes.exists():
            raise IllegalTransition(
                f"{item.release.key} has votes or an outcome; defer it instead of removing it."
            )
        item._change_reason = f"removed {item.release.key} from the agenda"
        item.delete()


def reorder(meeting: CabMeeting, user, item_ids: Iterable[int]) -> None:
    """Set the agenda order: ``item_ids`` lists every item of the meeting, first to last."""
    item_ids = [int(i) for i in item_ids]
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "change the agenda")
        _require_open(locked, "change its agenda")
        items = {i.pk: i for i in locked.items.select_for_update()}
        if sorted(item_ids) != sorted(items):
            raise _invalid("items", "List every item of this agenda exactly once.")
        for position, pk in enumerate(item_ids, start=1):
            item = items[pk]
            if item.position != position:
                item.position = position
                item.save_with_reason("agenda reordered", user=user)


# --- running the meeting ---------------------------------------------------------------------


# A meeting started more than this before its scheduled time is "early": allowed (a CAB may
# meet sooner), but the chair is warned and the minutes say when it was really held.
EARLY_START_GRACE = timedelta(minutes=30)


def early_by(meeting: CabMeeting, at: datetime | None = None) -> timedelta | None:
    """How long before its scheduled time the meeting starts (or started) ``at`` (default now),
    if that is more than ``EARLY_START_GRACE``; otherwise ``None``."""
    at = at or timezone.now()
    ahead = meeting.scheduled_at - at
    return ahead if ahead > EARLY_START_GRACE else None


def held_at(meeting: CabMeeting) -> datetime:
    """When the meeting was really held: the history row that moved it to in progress, else
    (never started) its scheduled time."""
    started = (
        meeting.history.filter(status=MeetingStatus.IN_PROGRESS)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )
    return started or meeting.scheduled_at


def start(meeting: CabMeeting, user) -> CabMeeting:
    """Start a scheduled meeting (votes open). Starting early is allowed: see ``early_by``."""
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "start the meeting")
        if locked.status != MeetingStatus.SCHEDULED:
            raise IllegalTransition(
                f"The meeting is {locked.get_status_display().lower()}; only a scheduled "
                "meeting can start."
            )
        locked.status = MeetingStatus.IN_PROGRESS
        locked.save_with_reason("started", user=user)
    return locked


def _union(conditions: Iterable[str]) -> str:
    """Every distinct condition line, in the order given."""
    seen: list[str] = []
    for text in conditions:
        for line in (text or "").splitlines():
            line = line.strip()
            if line and line not in seen:
                seen.append(line)
    return "\n".join(seen)


def _record_outcome(item: AgendaItem, user, summary: str) -> None:
    decision_log.append(
        DecisionKind.MEETING_OUTCOME,
        item.outcome,
        summary,
        actor=user,
        release=item.release,
        subject=f"agenda-item:{item.pk}",
        data={
            "meeting": item.meeting_id,
            "meeting_title": item.meeting.title,
            "conditions": item.conditions,
            "notes": item.notes,
        },
    )


def _follow_release(item: AgendaItem, user) -> None:
    """When the release has become approved or rejected, the item's outcome follows."""
    release = Release.objects.get(pk=item.release_id)
    outcome = {
        ReleaseState.APPROVED: AgendaOutcome.APPROVED,
        ReleaseState.REJECTED: AgendaOutcome.REJECTED,
    }.get(release.state)
    if outcome is None:
        return
    item.outcome = outcome
    item.decided_at = timezone.now()
    if outcome == AgendaOutcome.APPROVED:
        item.conditions = _union(
            item.votes.filter(choice=VoteChoice.APPROVE).values_list("conditions", flat=True)
        )
    item.save_with_reason(f"outcome: {outcome}", user=user)
    _record_outcome(
        item,
        user,
        decision_log.sentence(
            f"CAB '{item.meeting.title}' {outcome} {release.key}"
            + (f" with conditions: {item.conditions}" if item.conditions else "")
        ),
    )


def cast_vote(item: AgendaItem, user, choice: str, conditions: str = "", comment: str = "") -> Vote:
    """One attendee's vote on a pending item of an in-progress meeting.

    ``InvalidInput`` (400): unknown choice, a rejection without a reason.
    ``NotPermitted`` (403): not an attendee of this meeting, or the approval policy /
    segregation of duties refuses this person (then no vote is kept; the refusal is logged).
    ``IllegalTransition`` (409): the meeting is not in progress, the item is decided,
    or this member already voted on it.
    """
    conditions, comment = (conditions or "").strip(), (comment or "").strip()
    require_attendee(item.meeting, user)  # who asks comes before what they sent
    if choice not in VoteChoice.values:
        raise _invalid("choice", f"Unknown vote '{choice}': approve, reject or abstain.")
    if choice == VoteChoice.REJECT and not comment:
        raise _invalid("comment", "Say why you reject it.")
    if choice != VoteChoice.APPROVE and conditions:
        raise _invalid("conditions", "Only an approval carries conditions.")
    try:
        with transaction.atomic():
            return _cast_vote(item, user, choice, conditions, comment)
    except NotPermitted as exc:
        # Refused by the policy after the checks above: kept, outside the rolled-back block
        # (the lifecycle's own record of it was inside and rolled back with the vote).
        refusal = next((r for r in exc.reasons if r.code == sod.CODE), None)
        if refusal is not None:
            sod.refuse(
                user,
                item.release,
                "approve" if choice == VoteChoice.APPROVE else "reject",
                refusal,
                subject=f"agenda-item:{item.pk}",
                data={"meeting": item.meeting_id, "vote": choice},
            )
        elif not (exc.reasons and exc.reasons[0].code == "attendee"):
            decision_log.append(
                DecisionKind.VOTE,
                "refused",
                f"{user.get_username()}'s {choice} vote on {item.release.key} was refused: "
                f"{exc.message}",
                actor=user,
                release=item.release,
                subject=f"agenda-item:{item.pk}",
                reasons=exc.reasons,
                data={"meeting": item.meeting_id, "choice": choice},
            )
        raise


def _cast_vote(item, user, choice, conditions, comment) -> Vote:
    meeting = _lock_meeting(item.meeting)
    item = (
        AgendaItem.objects.select_for_update().select_related("release", "meeting").get(pk=item.pk)
    )
    require_attendee(meeting, user)
    if meeting.status != MeetingStatus.IN_PROGRESS:
        message = (
            f"'{meeting.title}' is {meeting.get_status_display().lower()}; votes are taken "
            "only while the meeting is in progress."
        )
        raise IllegalTransition(message, [Reason("meeting_status", False, message)])
    if item.outcome != AgendaOutcome.PENDING:
        message = f"{item.release.key} is already decided here ({item.get_outcome_display()})."
        raise IllegalTransition(message, [Reason("item_outcome", False, message)])
    if item.votes.filter(voter=user).exists():
        message = f"{user.get_username()} has already voted on {item.release.key}."
        raise IllegalTransition(message, [Reason("already_voted", False, message)])
    vote = Vote(item=item, voter=user, choice=choice, conditions=conditions, comment=comment)
    vote.full_clean()
    vote.save_with_reason(f"voted {choice}", user=user)
    if choice == VoteChoice.APPROVE:
        lifecycle.approve(
            item.release, user, comment or "CAB vote", conditions=conditions, agenda_item=item
        )
    elif choice == VoteChoice.REJECT:
        lifecycle.reject(item.release, user, comment, agenda_item=item)
    decision_log.append(
        DecisionKind.VOTE,
        choice,
        decision_log.sentence(
            f"{user.get_username()} voted {choice} on {item.release.key} in '{meeting.title}'"
            + (f" with conditions: {decision_log.clause(conditions)}" if conditions else "")
            + (f" — {comment}" if comment else "")
        ),
        actor=user,
        release=item.release,
        subject=f"vote:{vote.pk}",
        data={"meeting": meeting.pk, "item": item.pk, "conditions": conditions},
    )
    _follow_release(item, user)
    return vote


def where_it_stands(release: Release) -> str:
    """After a vote: the release's new state, or what approvals it still needs (from the
    approval policy), e.g. "REL-1 still needs 1 product_owner approval."."""
    from governance import policy

    if release.state == ReleaseState.APPROVED:
        return f"{release.key} is now approved."
    if release.state == ReleaseState.REJECTED:
        return (
            f"{release.key} is now rejected: one reject from an authorised approver rejects "
            "the release."
        )
    if release.state != ReleaseState.SUBMITTED:
        return f"{release.key} is now {release.get_state_display().lower()}."
    missing = [r.data for r in policy.approval_status(release).failed if "role" in r.data]
    if not missing:
        return f"{release.key} still awaits approval."
    needs = " and ".join(
        f"{d['required'] - d['have']} {'more ' if d['have'] else ''}{d['role']} "
        f"approval{'s' if d['required'] - d['have'] > 1 else ''}"
        for d in missing
    )
    return f"{release.key} still needs {needs}."


def defer(item: AgendaItem, user, reason: str) -> AgendaItem:
    """The chair defers an item: the release stays submitted for the next meeting."""
    reason = (reason or "").strip()
    require_runner(item.meeting, user, "defer an item")
    if not reason:
        raise _invalid("reason", "Say why the item is deferred.")
    with transaction.atomic():
        meeting = _lock_meeting(item.meeting)
        _require_runner(meeting, user, "defer an item")
        _require_open(meeting, "defer items")
        item = AgendaItem.objects.select_for_update().select_related("release").get(pk=item.pk)
        if item.outcome != AgendaOutcome.PENDING:
            raise IllegalTransition(
                f"{item.release.key} is already decided here ({item.get_outcome_display()})."
            )
        item.outcome = AgendaOutcome.DEFERRED
        item.notes = reason
        item.decided_at = timezone.now()
        item.meeting = meeting
        item.save_with_reason(f"deferred: {reason}"[:100], user=user)
        _record_outcome(
            item,
            user,
            decision_log.sentence(f"CAB '{meeting.title}' deferred {item.release.key}: {reason}"),
        )
    return item


def draft_minutes(meeting: CabMeeting) -> str:
    """Minutes the chair can edit: attendees, then each item with its votes and outcome."""
    attendees = sorted({meeting.chair, *meeting.attendees.all()}, key=lambda u: u.get_username())
    held = held_at(meeting)
    lines = [
        f"{meeting.title} — {meeting.get_kind_display()}",
        f"Held {timezone.localtime(held):%Y-%m-%d %H:%M %Z}"
        + (f" at {meeting.location}" if meeting.location else "")
        + (
            f" (scheduled for {timezone.localtime(meeting.scheduled_at):%Y-%m-%d %H:%M %Z})"
            if abs(meeting.scheduled_at - held) > EARLY_START_GRACE
            else ""
        ),
        f"Chair: {_name(meeting.chair)}",
        "Attendees: " + ", ".join(_name(u) for u in attendees),
        "",
    ]
    items = meeting.items.select_related("release").prefetch_related("votes__voter")
    for number, item in enumerate(items, start=1):
        lines.append(f"{number}. {item.release.key} {item.release.name} {item.release.version}")
        for vote in item.votes.all():
            line = f"   - {_name(vote.voter)}: {vote.get_choice_display().lower()}"
            if vote.conditions:
                line += f" (conditions: {vote.conditions})"
            if vote.comment:
                line += f" — {vote.comment}"
            lines.append(line)
        if not item.votes.all():
            lines.append("   - no votes")
        outcome = item.get_outcome_display()
        if item.outcome == AgendaOutcome.PENDING:
            outcome = "Not reached: deferred to the next meeting"
        lines.append(f"   Outcome: {outcome}")
        if item.conditions:
            lines.append(f"   Conditions: {item.conditions}")
        if item.notes:
            lines.append(f"   Notes: {item.notes}")
    if not items:
        lines.append("No items on the agenda.")
    return "\n".join(lines)


def _name(user) -> str:
    full = user.get_full_name()
    return f"{full} ({user.get_username()})" if full else user.get_username()


def close(meeting: CabMeeting, user, minutes: str) -> CabMeeting:
    """Close an in-progress meeting with its minutes; items not reached are deferred."""
    minutes = (minutes or "").strip()
    require_runner(meeting, user, "close the meeting")
    if not minutes:
        raise _invalid("minutes", "Write the minutes before closing (start from the draft).")
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "close the meeting")
        if locked.status != MeetingStatus.IN_PROGRESS:
            raise IllegalTransition(
                f"The meeting is {locked.get_status_display().lower()}; only a meeting in "
                "progress can be closed."
            )
        now = timezone.now()
        for item in locked.items.select_for_update().filter(outcome=AgendaOutcome.PENDING):
            item.outcome = AgendaOutcome.DEFERRED
            item.notes = item.notes or "Not reached; deferred to the next meeting."
            item.decided_at = now
            item.meeting = locked
            item.save_with_reason("deferred at close", user=user)
            _record_outcome(
                item, user, f"CAB '{locked.title}' closed without reaching {item.release.key}."
            )
        locked.minutes = minutes
        locked.status = MeetingStatus.CLOSED
        locked.save_with_reason("closed with minutes", user=user)
    return locked


def cancel(meeting: CabMeeting, user) -> CabMeeting:
    """Cancel a meeting that has not started; its items return to the candidates."""
    with transaction.atomic():
        locked = _lock_meeting(meeting)
        _require_runner(locked, user, "cancel the meeting")
        if locked.status != MeetingStatus.SCHEDULED:
            raise IllegalTransition(
                f"The meeting is {locked.get_status_display().lower()}; only a scheduled "
                "meeting can be cancelled (close a meeting in progress)."
            )
        now = timezone.now()
        for item in locked.items.select_for_update().filter(outcome=AgendaOutcome.PENDING):
            item.outcome = AgendaOutcome.DEFERRED
            item.notes = "Meeting cancelled."
            item.decided_at = now
            item.save_with_reason("meeting cancelled", user=user)
        locked.status = MeetingStatus.CANCELLED
        locked.save_with_reason("cancelled", user=user)
    return locked


# --- creating and editing ----------------------------------------------------------------------


def save_meeting(meeting: CabMeeting, user, attendees: Iterable, *, creating: bool) -> CabMeeting:
    """Create or edit a meeting (the form parsed the fields). Attendees must be CAB members,
    compliance officers or product owners; a closed or cancelled meeting no longer changes."""
    perm = "governance.add_cabmeeting" if creating else "governance.change_cabmeeting"
    if not user.has_perm(perm):
        raise NotPermitted(
            f"{user.get_username()} may not {'schedule' if creating else 'edit'} CAB meetings."
        )
    attendees = list(attendees)
    allowed = set(members().values_list("pk", flat=True))
    outsiders = sorted(u.get_username() for u in attendees if u.pk not in allowed)
    if outsiders:
        raise _invalid(
            "attendees",
            f"{', '.join(outsiders)} hold no CAB role (CAB member, compliance officer or "
            "product owner).",
        )
    if not meeting.title.strip():
        raise _invalid("title", "Give the meeting a title.")
    if not chairs().filter(pk=meeting.chair_id).exists():
        raise _invalid(
            "chair",
            "The chair must be a CAB member, compliance officer, product owner or release manager.",
        )
    with transaction.atomic():
        if not creating:
            current = _lock_meeting(meeting)
            _require_open(current, "edit it")
            meeting.status = current.status
        meeting.save_with_reason("scheduled" if creating else "edited", user=user)
        meeting.attendees.set(attendees)
    return meeting


# --- the board -------------------------------------------------------------------------------


def awaiting_for(user, limit: int = 25):
    """Submitted releases this user may decide now (policy and segregation of duties).

    Cheap SQL filters first (not authored or contributed by them, not already approved by
    them this round), then the policy itself for at most ``limit`` releases.
    Returns (releases, more) where ``more`` says whether there were others.
    """
    from governance import policy

    queryset = (
        Release.objects.filter(state=ReleaseState.SUBMITTED)
        .exclude(author=user)
        .exclude(scope_items__contributor=user)
        .select_related("author", "owner")
        .prefetch_related("risk_assessments", "scope_items", "approvals")
        .order_by("planned_start", "key")
    )
    found, more = [], False
    candidates = list(queryset[: limit * 2])
    policy.prime(candidates)  # what the policy reads, for all of them at once
    for release in candidates:
        if any(
            a.approver_id == user.pk and a.round == release.approval_round
            for a in release.approvals.all()
        ):
            continue
        if policy.may_decide(user, release).allowed:
            if len(found) == limit:
                more = True
                break
            found.append(release)
    return found, more


def emergency_awaiting():
    return (
        Release.objects.filter(state=ReleaseState.SUBMITTED, change_type=ChangeType.EMERGENCY)
        .select_related("author")
        .prefetch_related("risk_assessments")
        .order_by("planned_start", "key")
    )


def open_items_by_release(release_ids) -> dict[int, AgendaItem]:
    """The pending agenda item of each release on an open meeting, if any."""
    items = (
        AgendaItem.objects.filter(
            release_id__in=list(release_ids),
            outcome=AgendaOutcome.PENDING,
            meeting__status__in=OPEN_STATUSES,
        )
        .select_related("meeting")
        .order_by("meeting__scheduled_at")
    )
    out: dict[int, AgendaItem] = {}
    for item in items:
        out.setdefault(item.release_id, item)
    return out


def next_meetings_for(user, limit: int = 10):
    return (
        CabMeeting.objects.filter(status__in=OPEN_STATUSES)
        .filter(Q(chair=user) | Q(attendees=user))
        .distinct()
        .select_related("chair")
        .order_by("scheduled_at")[:limit]
    )
