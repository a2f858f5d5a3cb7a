"""CAB meetings, the rules (governance.cab): agenda order, votes, outcomes, defer, close, minutes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import cab
from governance.choices import AgendaOutcome, DecisionKind, MeetingKind, MeetingStatus
from governance.models import AgendaItem, Approval, CabMeeting, DecisionRecord, RiskAssessment, Vote
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.roles import CAB_MEMBER, DEVELOPER
from releases import lifecycle
from releases.choices import ChangeType
from releases.models import Release
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ServiceFactory


@pytest.fixture
def catalog(db):
    """An internal service (not customer-facing): the default policy asks one CAB member."""
    return ServiceFactory(slug="catalog-service", name="Catalog Service")


def submitted(author, service, *, days=7, change_type=ChangeType.NORMAL, name=None, planned=True):
    start = timezone.now() + timedelta(days=days) if planned else None
    release = ReleaseFactory(
        author=author,
        name=name or f"Release in {days} days",
        services=[(service, "1.0.0")],
        change_type=change_type,
        planned_start=start,
        planned_end=start + timedelta(hours=2) if start else None,
    )
    return lifecycle.submit(release, author)


def meeting(chair, *attendees, status=MeetingStatus.SCHEDULED, kind=MeetingKind.REGULAR):
    m = CabMeeting(
        title="Weekly CAB", kind=kind, scheduled_at=timezone.now() + timedelta(hours=1), chair=chair
    )
    m.save_with_reason("scheduled", user=chair)
    m.attendees.set(attendees)
    if status != MeetingStatus.SCHEDULED:
        CabMeeting.objects.filter(pk=m.pk).update(status=status)
        m.refresh_from_db()
    return m


@pytest.fixture
def in_progress(alice, carol, erin):
    return meeting(alice, carol, erin, status=MeetingStatus.IN_PROGRESS)


def footprint():
    """Everything a refused act must leave as it was."""
    return {
        "votes": Vote.objects.count(),
        "approvals": Approval.objects.count(),
        "log": DecisionRecord.objects.count(),
        "items": sorted(AgendaItem.objects.values_list("pk", "outcome", "conditions")),
        "states": sorted(Release.objects.values_list("key", "state")),
        "vote_history": Vote.history.count(),
    }


# --- the agenda ------------------------------------------------------------------------------


def test_candidates_are_submitted_releases_soonest_planned_first_unplanned_last(
    alice, dave, catalog
):
    later = submitted(dave, catalog, days=9)
    unplanned = submitted(dave, catalog, planned=False)
    sooner = submitted(dave, catalog, days=2)
    ReleaseFactory(author=dave, services=[(catalog, "2.0.0")])  # a draft is not a candidate

    assert cab.agenda_candidates(meeting(alice)) == [sooner, later, unplanned]


def test_riskier_release_comes_first_among_those_planned_at_the_same_time(alice, dave, catalog):
    quiet, risky = submitted(dave, catalog, days=3), submitted(dave, catalog, days=3)
    for release, score, band in [(quiet, 10, "low"), (risky, 80, "critical")]:
        RiskAssessment.objects.filter(release=release).delete()
        RiskAssessment.objects.create(release=release, round=1, score=score, band=band)
    risky.planned_start = quiet.planned_start
    risky.save_with_reason("same slot", user=dave)

    assert cab.agenda_candidates(meeting(alice)) == [risky, quiet]


def test_emergency_cab_takes_emergency_changes_first(alice, dave, catalog):
    normal = submitted(dave, catalog, days=1)
    emergency = submitted(dave, catalog, days=5, change_type=ChangeType.EMERGENCY)

    assert cab.agenda_candidates(meeting(alice, kind=MeetingKind.EMERGENCY)) == [
        emergency,
        normal,
    ]
    assert cab.agenda_candidates(meeting(alice)) == [normal, emergency]


def test_release_pending_on_another_open_meeting_is_not_a_candidate_until_deferred(
    alice, dave, catalog
):
    release = submitted(dave, catalog)
    first, second = meeting(alice), meeting(alice)
    [item] = cab.build_agenda(first, alice)

    assert cab.agenda_candidates(second) == []

    cab.defer(item, alice, "Waiting for the load test.")

    assert cab.agenda_candidates(second) == [release]


def test_build_agenda_appends_candidates_in_order_and_adds_nothing_twice(alice, dave, catalog):
    b, a = submitted(dave, catalog, days=5), submitted(dave, catalog, days=2)
    m = meeting(alice)

    added = cab.build_agenda(m, alice)
    again = cab.build_agenda(m, alice)

    assert [(i.release, i.position) for i in added] == [(a, 1), (b, 2)]
    assert again == []
    assert m.items.count() == 2


def test_only_the_chair_or_a_release_manager_builds_the_agenda(carol, erin, dave, catalog):
    submitted(dave, catalog)
    m = meeting(carol, erin)

    with pytest.raises(NotPermitted, match="Only the chair"):
        cab.build_agenda(m, erin)

    assert m.items.count() == 0


def test_a_release_that_is_not_submitted_cannot_be_added(alice, dave, catalog):
    draft = ReleaseFactory(author=dave, services=[(catalog, "1.0.0")])

    with pytest.raises(cab.InvalidInput, match="only releases awaiting approval"):
        cab.add_item(meeting(alice), draft, alice)


def test_reorder_sets_positions_and_refuses_an_incomplete_list(alice, dave, catalog):
    submitted(dave, catalog, days=1), submitted(dave, catalog, days=2)
    m = meeting(alice)
    first, second = cab.build_agenda(m, alice)

    cab.reorder(m, alice, [second.pk, first.pk])

    assert list(m.items.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    with pytest.raises(cab.InvalidInput, match="exactly once"):
        cab.reorder(m, alice, [first.pk])


def test_the_agenda_of_a_closed_meeting_does_not_change(alice, dave, catalog):
    submitted(dave, catalog)
    m = meeting(alice, status=MeetingStatus.CLOSED)

    with pytest.raises(IllegalTransition, match="closed"):
        cab.build_agenda(m, alice)


# --- votes -----------------------------------------------------------------------------------


def test_an_approve_vote_approves_the_release_and_the_item_follows(
    in_progress, carol, dave, catalog
):
    release = submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)

    vote = cab.cast_vote(item, carol, "approve", comment="Good test evidence.")

    release.refresh_from_db()
    item.refresh_from_db()
    assert release.state == "approved"
    assert item.outcome == AgendaOutcome.APPROVED and item.decided_at is not None
    approval = Approval.objects.get(release=release)
    assert (approval.approver, approval.agenda_item) == (carol, item)
    assert vote.choice == "approve"
    kinds = list(DecisionRecord.objects.order_by("sequence").values_list("kind", "outcome"))
    assert (DecisionKind.VOTE, "approve") in kinds
    assert kinds[-1] == (DecisionKind.MEETING_OUTCOME, "approved")


def test_conditions_of_the_approve_votes_are_carried_to_the_approval_and_the_item(
    alice, carol, erin, dave, catalog
):
    from governance.models import ApprovalRule

    ApprovalRule.objects.create(
        name="Two CAB members", approvers=[{"group": CAB_MEMBER, "count": 2}]
    )
    release = submitted(dave, catalog)
    m = meeting(alice, carol, erin, status=MeetingStatus.IN_PROGRESS)
    [item] = cab.build_agenda(m, alice)

    cab.cast_vote(item, carol, "approve", conditions="Deploy after 22:00.")
    item.refresh_from_db()
    assert item.outcome == AgendaOutcome.PENDING  # one of two approvals
    cab.cast_vote(item, erin, "approve", conditions="Deploy after 22:00.\nWatch error rate 1 h.")

    item.refresh_from_db()
    release.refresh_from_db()
    assert release.state == "approved"
    assert item.conditions == "Deploy after 22:00.\nWatch error rate 1 h."
    assert dict(Approval.objects.values_list("approver__username", "conditions")) == {
        "carol": "Deploy after 22:00.",
        "erin": "Deploy after 22:00.\nWatch error rate 1 h.",
    }


def test_a_reject_vote_needs_a_reason_and_rejects_the_release(in_progress, carol, dave, catalog):
    release = submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)
    before = footprint()

    with pytest.raises(cab.InvalidInput, match="Say why"):
        cab.cast_vote(item, carol, "reject", comment="  ")
    assert footprint() == before

    cab.cast_vote(item, carol, "reject", comment="No rollback plan for the schema change.")

    release.refresh_from_db()
    item.refresh_from_db()
    assert release.state == "rejected"
    assert item.outcome == AgendaOutcome.REJECTED


def test_an_abstention_is_only_recorded(in_progress, carol, dave, catalog):
    release = submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)

    cab.cast_vote(item, carol, "abstain", comment="Conflict of interest.")

    release.refresh_from_db()
    item.refresh_from_db()
    assert release.state == "submitted"
    assert item.outcome == AgendaOutcome.PENDING
    assert not Approval.objects.exists()
    assert DecisionRecord.objects.filter(kind=DecisionKind.VOTE, outcome="abstain").count() == 1


def test_a_member_votes_once_per_item(in_progress, carol, dave, catalog):
    submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)
    cab.cast_vote(item, carol, "abstain")
    before = footprint()

    with pytest.raises(IllegalTransition, match="already voted"):
        cab.cast_vote(item, carol, "approve")

    assert footprint() == before


def test_someone_not_attending_the_meeting_cannot_vote(alice, carol, erin, dave, catalog):
    submitted(dave, catalog)
    mine = meeting(alice, erin, status=MeetingStatus.IN_PROGRESS)
    meeting(alice, carol, status=MeetingStatus.IN_PROGRESS)  # carol attends another one
    [item] = cab.build_agenda(mine, alice)
    before = footprint()

    with pytest.raises(NotPermitted, match="not an attendee"):
        cab.cast_vote(item, carol, "approve")

    assert footprint() == before


@pytest.mark.parametrize("status", [MeetingStatus.SCHEDULED, MeetingStatus.CLOSED])
def test_votes_are_taken_only_while_the_meeting_is_in_progress(alice, carol, dave, catalog, status):
    submitted(dave, catalog)
    m = meeting(alice, carol)
    [item] = cab.build_agenda(m, alice)
    CabMeeting.objects.filter(pk=m.pk).update(status=status)
    before = footprint()

    with pytest.raises(IllegalTransition, match="only while the meeting is in progress"):
        cab.cast_vote(item, carol, "approve")

    assert footprint() == before


def test_a_decided_item_takes_no_more_votes(in_progress, carol, erin, dave, catalog):
    submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)
    cab.cast_vote(item, carol, "approve")
    before = footprint()

    with pytest.raises(IllegalTransition, match="already decided"):
        cab.cast_vote(item, erin, "approve")

    assert footprint() == before


def test_the_author_voting_on_their_own_release_is_refused_and_the_refusal_recorded(
    alice, dave, catalog
):
    release = submitted(dave, catalog)
    dave.groups.add(*make_user("cab-helper", CAB_MEMBER).groups.all())
    dave = type(dave).objects.get(pk=dave.pk)  # roles and permissions are cached per instance
    m = meeting(alice, dave, status=MeetingStatus.IN_PROGRESS)
    [item] = cab.build_agenda(m, alice)
    before = footprint()

    with pytest.raises(NotPermitted, match="cannot approve") as excinfo:
        cab.cast_vote(item, dave, "approve")

    assert "segregation_of_duties" in [r.code for r in excinfo.value.reasons]
    after = footprint()
    assert after["log"] == before["log"] + 1
    assert {k: v for k, v in after.items() if k != "log"} == {
        k: v for k, v in before.items() if k != "log"
    }
    refusal = DecisionRecord.objects.order_by("-sequence").first()
    assert (refusal.kind, refusal.outcome, refusal.release_key) == (
        DecisionKind.SOD_REFUSAL,
        "refused",
        release.key,
    )
    assert refusal.subject == f"agenda-item:{item.pk}"


def test_a_developer_attendee_without_an_approving_role_is_refused(alice, dave, catalog):
    sam = make_user("sam", DEVELOPER)
    submitted(dave, catalog)
    m = meeting(alice, sam, status=MeetingStatus.IN_PROGRESS)
    [item] = cab.build_agenda(m, alice)
    before = footprint()

    with pytest.raises(NotPermitted):
        cab.cast_vote(item, sam, "approve")

    assert footprint()["votes"] == before["votes"]
    assert Approval.objects.count() == before["approvals"]


def test_conditions_only_go_with_an_approval(in_progress, carol, dave, catalog):
    submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)

    with pytest.raises(cab.InvalidInput, match="Only an approval"):
        cab.cast_vote(item, carol, "abstain", conditions="Something")


# --- defer, close, minutes, cancel -------------------------------------------------------------


def test_defer_needs_a_reason_and_leaves_the_release_submitted(in_progress, alice, dave, catalog):
    release = submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, alice)

    with pytest.raises(cab.InvalidInput, match="Say why"):
        cab.defer(item, alice, "")
    deferred = cab.defer(item, alice, "Waiting for the pen test report.")

    release.refresh_from_db()
    assert release.state == "submitted"
    assert (deferred.outcome, deferred.notes) == (
        AgendaOutcome.DEFERRED,
        "Waiting for the pen test report.",
    )
    assert DecisionRecord.objects.filter(
        kind=DecisionKind.MEETING_OUTCOME, outcome="deferred"
    ).exists()


def test_only_the_chair_defers(in_progress, carol, dave, catalog):
    submitted(dave, catalog)
    [item] = cab.build_agenda(in_progress, in_progress.chair)

    with pytest.raises(NotPermitted, match="Only the chair"):
        cab.defer(item, carol, "I'd rather wait.")


def test_closing_needs_minutes_and_defers_the_items_not_reached(
    in_progress, alice, carol, dave, catalog
):
    reached, not_reached = submitted(dave, catalog, days=1), submitted(dave, catalog, days=2)
    first, second = cab.build_agenda(in_progress, alice)
    cab.cast_vote(first, carol, "approve")

    with pytest.raises(cab.InvalidInput, match="minutes"):
        cab.close(in_progress, alice, " ")
    assert CabMeeting.objects.get(pk=in_progress.pk).status == MeetingStatus.IN_PROGRESS

    closed = cab.close(in_progress, alice, cab.draft_minutes(in_progress))

    second.refresh_from_db()
    not_reached.refresh_from_db()
    assert closed.status == MeetingStatus.CLOSED
    assert second.outcome == AgendaOutcome.DEFERRED
    assert not_reached.state == "submitted"
    assert cab.agenda_candidates(meeting(alice)) == [not_reached]
    assert reached.key in closed.minutes


def test_draft_minutes_list_attendees_items_votes_conditions_and_outcomes(
    in_progress, alice, carol, erin, dave, catalog
):
    release = submitted(dave, catalog, name="Catalog ranking")
    [item] = cab.build_agenda(in_progress, alice)
    cab.cast_vote(item, erin, "abstain", comment="On leave next week.")
    cab.cast_vote(item, carol, "approve", conditions="Deploy after 22:00.")

    text = cab.draft_minutes(in_progress)

    assert "Attendees: alice, carol, erin" in text
    assert f"1. {release.key} Catalog ranking" in text
    assert "carol: approve (conditions: Deploy after 22:00.)" in text
    assert "erin: abstain — On leave next week." in text
    assert "Outcome: Approved" in text
    assert "Conditions: Deploy after 22:00." in text


def test_only_a_scheduled_meeting_is_cancelled_and_its_items_return(
    alice, in_progress, dave, catalog
):
    release = submitted(dave, catalog)
    m = meeting(alice)
    cab.build_agenda(m, alice)

    with pytest.raises(IllegalTransition, match="only a scheduled"):
        cab.cancel(in_progress, alice)
    cab.cancel(m, alice)

    assert CabMeeting.objects.get(pk=m.pk).status == MeetingStatus.CANCELLED
    assert cab.agenda_candidates(meeting(alice)) == [release]


def test_start_moves_a_scheduled_meeting_in_progress_once(alice):
    m = meeting(alice)

    cab.start(m, alice)

    assert CabMeeting.objects.get(pk=m.pk).status == MeetingStatus.IN_PROGRESS
    with pytest.raises(IllegalTransition, match="only a scheduled"):
        cab.start(m, alice)


def test_attendees_must_hold_a_cab_role(alice, carol, dave):
    m = CabMeeting(title="CAB", scheduled_at=timezone.now(), chair=alice)

    with pytest.raises(cab.InvalidInput, match="dave hold no CAB role"):
        cab.save_meeting(m, alice, [carol, dave], creating=True)

    assert not CabMeeting.objects.exists()
