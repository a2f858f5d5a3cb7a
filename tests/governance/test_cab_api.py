"""/api/v1/cab-meetings/, /api/v1/agenda-items/ (votes, defer), /api/v1/votes/."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import cab
from governance.choices import AgendaOutcome, DecisionKind, MeetingStatus
from governance.models import CabMeeting, DecisionRecord
from releasemgr.roles import CAB_MEMBER
from tests.conftest import make_user
from tests.governance.test_cab_rules import catalog, footprint, meeting, submitted

__all__ = ["catalog"]

MEETINGS = "/api/v1/cab-meetings/"
ITEMS = "/api/v1/agenda-items/"


@pytest.fixture
def running(alice, carol, erin, dave, catalog):
    """An in-progress meeting chaired by alice with carol and erin, one submitted release on it."""
    release = submitted(dave, catalog)
    m = meeting(alice, carol, erin)
    return {"meeting": m, "release": release}


def build(api_client, user, m, **body):
    return api_client(user).post(f"{MEETINGS}{m.pk}/build-agenda/", body, format="json")


def start(m):
    CabMeeting.objects.filter(pk=m.pk).update(status=MeetingStatus.IN_PROGRESS)


def vote(api_client, user, item_id, **body):
    return api_client(user).post(f"{ITEMS}{item_id}/votes/", body, format="json")


# --- meetings --------------------------------------------------------------------------------


def test_a_cab_member_schedules_a_meeting_with_attendees(api_client, carol, erin, olivia):
    when = (timezone.now() + timedelta(days=2)).isoformat()
    response = api_client(carol).post(
        MEETINGS,
        {
            "title": "Weekly CAB",
            "scheduled_at": when,
            "chair": "carol",
            "attendees": ["erin", "olivia"],
            "location": "Room 4",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["status"], data["kind"], data["chair"]) == ("scheduled", "regular", "carol")
    assert sorted(data["attendees"]) == ["erin", "olivia"]
    meeting = CabMeeting.objects.get()
    assert meeting.history.first().history_user == carol


def test_an_attendee_without_a_cab_role_is_a_field_error_and_nothing_is_written(
    api_client, carol, dave
):
    response = api_client(carol).post(
        MEETINGS,
        {
            "title": "Weekly CAB",
            "scheduled_at": timezone.now().isoformat(),
            "chair": "carol",
            "attendees": ["dave"],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "hold no CAB role" in response.json()["attendees"][0]
    assert not CabMeeting.objects.exists()


def test_the_auditor_cannot_schedule_a_meeting(api_client, audrey, carol):
    response = api_client(audrey).post(
        MEETINGS,
        {"title": "X", "scheduled_at": timezone.now().isoformat(), "chair": "carol"},
        format="json",
    )

    assert response.status_code == 403
    assert not CabMeeting.objects.exists()


def test_meetings_filter_by_status_and_date_range(api_client, alice, audrey):
    old = meeting(alice, status=MeetingStatus.CLOSED)
    CabMeeting.objects.filter(pk=old.pk).update(scheduled_at=timezone.now() - timedelta(days=7))
    upcoming = meeting(alice)
    client = api_client(audrey)

    closed = client.get(MEETINGS, {"status": "closed"}).json()["results"]
    recent = client.get(
        MEETINGS, {"scheduled_after": (timezone.now() - timedelta(days=1)).isoformat()}
    ).json()["results"]

    assert [m["id"] for m in closed] == [old.pk]
    assert [m["id"] for m in recent] == [upcoming.pk]


def test_the_chair_builds_the_agenda_starts_and_closes_with_minutes(api_client, alice, running):
    m = running["meeting"]
    client = api_client(alice)

    built = build(api_client, alice, m)
    started = client.post(f"{MEETINGS}{m.pk}/start/")
    draft = client.get(f"{MEETINGS}{m.pk}/draft-minutes/").json()["minutes"]
    no_minutes = client.post(f"{MEETINGS}{m.pk}/close/", {"minutes": ""}, format="json")
    closed = client.post(f"{MEETINGS}{m.pk}/close/", {"minutes": draft}, format="json")

    assert built.status_code == 200
    assert [i["release"] for i in built.json()] == [running["release"].key]
    assert started.json()["status"] == "in_progress"
    assert no_minutes.status_code == 400
    assert "minutes" in no_minutes.json()["detail"]
    assert closed.status_code == 200
    assert (closed.json()["status"], closed.json()["minutes"]) == ("closed", draft)


def test_only_the_chair_runs_the_meeting(api_client, erin, running):
    m = running["meeting"]

    assert build(api_client, erin, m).status_code == 403
    assert api_client(erin).post(f"{MEETINGS}{m.pk}/start/").status_code == 403
    assert CabMeeting.objects.get(pk=m.pk).status == MeetingStatus.SCHEDULED


def test_a_started_meeting_cannot_be_deleted_or_cancelled(api_client, alice, running):
    m = running["meeting"]
    start(m)

    assert api_client(alice).delete(f"{MEETINGS}{m.pk}/").status_code == 409
    assert api_client(alice).post(f"{MEETINGS}{m.pk}/cancel/").status_code == 409
    assert CabMeeting.objects.filter(pk=m.pk, status=MeetingStatus.IN_PROGRESS).exists()


# --- votes -----------------------------------------------------------------------------------


def test_an_attendee_votes_approve_with_conditions_and_the_release_is_approved(
    api_client, alice, carol, running
):
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()
    start(m)

    response = vote(api_client, carol, item["id"], choice="approve", conditions="After 22:00.")

    assert response.status_code == 201, response.json()
    assert response.json()["voter"] == "carol"
    running["release"].refresh_from_db()
    assert running["release"].state == "approved"
    detail = api_client(carol).get(f"{ITEMS}{item['id']}/").json()
    assert (detail["outcome"], detail["conditions"]) == (AgendaOutcome.APPROVED, "After 22:00.")
    assert [v["choice"] for v in detail["votes"]] == ["approve"]
    listed = api_client(carol).get("/api/v1/votes/", {"release": running["release"].key})
    assert [v["item"] for v in listed.json()["results"]] == [item["id"]]


def test_a_non_member_vote_is_403_and_writes_nothing(api_client, alice, running):
    outsider = make_user("cleo", CAB_MEMBER)
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()
    start(m)
    before = footprint()

    response = vote(api_client, outsider, item["id"], choice="approve")

    assert response.status_code == 403
    assert "not an attendee" in response.json()["detail"]
    assert footprint() == before


def test_a_vote_outside_an_in_progress_meeting_is_409(api_client, alice, carol, running):
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()
    before = footprint()

    response = vote(api_client, carol, item["id"], choice="approve")

    assert response.status_code == 409
    assert footprint() == before


def test_a_second_vote_is_409_and_changes_nothing(api_client, alice, carol, running):
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()
    start(m)
    vote(api_client, carol, item["id"], choice="abstain")
    before = footprint()

    response = vote(api_client, carol, item["id"], choice="approve")

    assert response.status_code == 409
    assert "already voted" in response.json()["detail"]
    assert footprint() == before


def test_a_rejection_without_a_reason_is_400(api_client, alice, carol, running):
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()
    start(m)
    before = footprint()

    response = vote(api_client, carol, item["id"], choice="reject")

    assert response.status_code == 400
    assert footprint() == before


def test_the_author_voting_through_the_api_is_refused_and_the_refusal_recorded(
    api_client, alice, dave, catalog
):
    release = submitted(dave, catalog)
    dave.groups.add(*make_user("cab-helper", CAB_MEMBER).groups.all())
    m = meeting(alice, dave)
    [item] = build(api_client, alice, m).json()
    start(m)

    response = vote(api_client, dave, item["id"], choice="approve")

    assert response.status_code == 403
    assert "segregation_of_duties" in [c["code"] for c in response.json()["checks"]]
    release.refresh_from_db()
    assert release.state == "submitted"
    assert DecisionRecord.objects.filter(
        kind=DecisionKind.SOD_REFUSAL, release_key=release.key
    ).exists()


def test_the_chair_defers_an_item_with_a_reason(api_client, alice, erin, running):
    m = running["meeting"]
    [item] = build(api_client, alice, m).json()

    refused = api_client(erin).post(f"{ITEMS}{item['id']}/defer/", {"reason": "x"})
    no_reason = api_client(alice).post(f"{ITEMS}{item['id']}/defer/", {"reason": ""})
    deferred = api_client(alice).post(f"{ITEMS}{item['id']}/defer/", {"reason": "Needs a DR test."})

    assert (refused.status_code, no_reason.status_code) == (403, 400)
    assert deferred.status_code == 200
    assert (deferred.json()["outcome"], deferred.json()["notes"]) == (
        "deferred",
        "Needs a DR test.",
    )


def test_agenda_items_filter_by_meeting_and_release(api_client, alice, audrey, running):
    m = running["meeting"]
    build(api_client, alice, m)
    client = api_client(audrey)

    by_meeting = client.get(ITEMS, {"meeting": m.pk}).json()["results"]
    by_release = client.get(ITEMS, {"release": running["release"].key}).json()["results"]
    other = client.get(ITEMS, {"release": "REL-0000-0000"}).json()["results"]

    assert [i["release"] for i in by_meeting] == [running["release"].key]
    assert len(by_release) == 1 and other == []


@pytest.mark.parametrize("size", [2, 8])
def test_list_endpoints_use_a_bounded_number_of_queries(
    api_client, alice, carol, dave, catalog, audrey, django_assert_max_num_queries, size
):
    for _ in range(size):
        submitted(dave, catalog)
        cab.build_agenda(meeting(alice, carol), alice)
    client = api_client(audrey)
    for url in (MEETINGS, ITEMS, "/api/v1/votes/"):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200
