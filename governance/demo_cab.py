"""Demo CAB meetings (called by ``seed_demo``), made through ``governance.cab`` like real ones.

- last week's weekly CAB, closed with minutes: one release approved with a condition,
  one rejected;
- an emergency CAB in progress now, with an emergency change on its agenda (vote on it);
- next week's weekly CAB, scheduled, its agenda built from the releases awaiting approval.

Idempotent: nothing happens once a meeting exists.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from django.utils import timezone

from governance import cab
from governance.choices import MeetingKind
from governance.models import AgendaItem, CabMeeting, Vote
from releasemgr.decisions import DomainError
from releases import lifecycle
from releases.choices import ChangeType, ReleaseKind
from releases.models import Release, ReleaseService, Service


def _release(users, name, version, slug, *, days, kind=ReleaseKind.FEATURE, change_type=None):
    existing = Release.objects.filter(name=name, version=version).first()
    if existing is not None:
        return existing
    start = timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=days)
    release = Release(
        name=name,
        version=version,
        kind=kind,
        change_type=change_type or ChangeType.NORMAL,
        author=users["developer"],
        owner=users["release_manager"],
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        description=f"{name}: demo release.",
        rollback_plan="Redeploy the previous version with the pipeline's rollback job.",
    )
    release.save_with_reason("created", user=users["developer"])
    ReleaseService.objects.create(
        release=release, service=Service.objects.get(slug=slug), version=version
    )
    return lifecycle.submit(release, users["developer"], "Ready for CAB")


def _meeting(title, kind, when, chair, attendees) -> CabMeeting:
    meeting = CabMeeting(
        title=title,
        kind=kind,
        scheduled_at=when,
        duration_minutes=60 if kind == MeetingKind.REGULAR else 30,
        location="Room 4 / https://meet.example.com/cab",
        chair=chair,
    )
    return cab.save_meeting(meeting, chair, attendees, creating=True)


def _vote(item, user, choice, **kwargs) -> None:
    # A vote the policy refuses (or on an item already decided) is simply not cast.
    with contextlib.suppress(DomainError):
        cab.cast_vote(AgendaItem.objects.get(pk=item.pk), user, choice, **kwargs)


def demo(users: dict, envs: dict) -> None:
    if CabMeeting.objects.exists():
        return
    manager = users["release_manager"]
    board, board2 = users["cab_member"], users["cab_member2"]
    compliance, owner = users["compliance_officer"], users["product_owner"]
    now = timezone.now().replace(second=0, microsecond=0)

    # Last week's CAB: held, decided, closed with minutes.
    payouts = _release(users, "Payouts retry tuning", "1.12.1", "payouts-batch", days=2)
    agent = _release(users, "Observability agent 2.0", "2.0.0", "observability-agent", days=4)
    held_at = (now - timedelta(days=7)).replace(hour=10, minute=0)
    last = _meeting(
        "Weekly CAB", MeetingKind.REGULAR, held_at, manager, [board, board2, compliance]
    )
    approve_item = cab.add_item(last, payouts, manager)
    reject_item = cab.add_item(last, agent, manager)
    cab.start(last, manager)
    _vote(approve_item, board, "approve", conditions="Deploy outside the payout run (after 02:00).")
    _vote(approve_item, board2, "approve", conditions="Watch the retry queue for an hour.")
    _vote(approve_item, compliance, "approve")
    _vote(reject_item, compliance, "abstain", comment="No compliance impact.")
    _vote(
        reject_item,
        board2,
        "reject",
        comment="A major agent upgrade needs a canary on one host group first.",
    )
    cab.close(last, manager, cab.draft_minutes(last))
    # The demo's past happened at the meeting's time, not when the demo was loaded.
    for offset, item in enumerate(last.items.order_by("position"), start=1):
        decided = held_at + timedelta(minutes=15 * offset)
        AgendaItem.objects.filter(pk=item.pk).update(decided_at=decided)
        Vote.objects.filter(item=item).update(created=decided - timedelta(minutes=5))

    # An emergency CAB sitting now, with an emergency change to vote on.
    hotfix = _release(
        users,
        "Auth lockout hotfix",
        "5.0.2",
        "auth-service",
        days=0,
        kind=ReleaseKind.HOTFIX,
        change_type=ChangeType.EMERGENCY,
    )
    emergency = _meeting(
        "Emergency CAB: auth lockouts",
        MeetingKind.EMERGENCY,
        now - timedelta(minutes=10),
        board,
        [board2, compliance],
    )
    cab.add_item(emergency, hotfix, board)
    cab.start(emergency, board)

    # Next week's CAB, its agenda built from what awaits approval.
    upcoming = _meeting(
        "Weekly CAB",
        MeetingKind.REGULAR,
        (now + timedelta(days=3)).replace(hour=10, minute=0),
        manager,
        [board, board2, compliance, owner],
    )
    cab.build_agenda(upcoming, manager)
