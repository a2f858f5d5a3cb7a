"""CAB pages per role: the board, the meetings list, a meeting (agenda, votes, chair actions)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import cab
from governance.choices import AgendaOutcome, MeetingStatus
from governance.models import AgendaItem, Approval, CabMeeting
from releasemgr.roles import CAB_MEMBER
from tests.conftest import make_user
from tests.governance.test_cab_rules import catalog, footprint, meeting, submitted

__all__ = ["catalog"]


@pytest.fixture
def running(alice, carol, erin, dave, catalog):
    """In progress, chaired by alice, carol and erin attending, dave's release on the agenda."""
    release = submitted(dave, catalog, name="Catalog ranking")
    m = meeting(alice, carol, erin)
    [item] = cab.build_agenda(m, alice)
    cab.start(m, alice)
    return {"meeting": m, "release": release, "item": item}


def vote_url(item):
    return reverse("cab_item_vote", args=[item.pk])


# --- the board -------------------------------------------------------------------------------


def test_the_board_shows_what_awaits_the_member_with_its_agenda_item(client, carol, running):
    client.force_login(carol)

    response = client.get(reverse("cab_board"))

    assert response.status_code == 200
    awaiting = response.context["awaiting"]
    assert awaiting == [running["release"]]
    assert awaiting[0].cab_item == running["item"]
    assert response.context["meetings"] == [running["meeting"]]
    body = response.content.decode()
    assert running["meeting"].title in body


def test_the_author_sees_nothing_awaiting_for_their_own_release(client, dave, running):
    dave.groups.add(*make_user("cab-helper", CAB_MEMBER).groups.all())
    client.force_login(dave)

    response = client.get(reverse("cab_board"))

    assert response.context["awaiting"] == []
    assert "Nothing awaits your decision" in response.content.decode()


def test_the_board_lists_emergency_changes_and_what_i_decided(client, carol, dave, catalog):
    emergency = submitted(dave, catalog, change_type="emergency", name="Hotfix")
    other = submitted(dave, catalog)
    from releases import lifecycle

    lifecycle.approve(other, carol, "fine")
    client.force_login(carol)

    response = client.get(reverse("cab_board"))

    assert [r.key for r in response.context["emergency"]] == [emergency.key]
    assert [a.release for a in response.context["approvals"]] == [other]


def test_the_board_and_list_are_empty_states_for_a_new_member(client, erin):
    client.force_login(erin)

    board = client.get(reverse("cab_board")).content.decode()
    listing = client.get(reverse("cab_meeting_list")).content.decode()

    assert "not invited to any upcoming meeting" in board
    assert "No emergency change is waiting" in board
    assert "No meetings match" in listing


@pytest.mark.parametrize("persona", ["alice", "carol", "olivia", "paula", "audrey", "dave", "bob"])
def test_every_role_reads_the_board_list_and_meeting(client, request, running, persona):
    client.force_login(request.getfixturevalue(persona))

    for url in (
        reverse("cab_board"),
        reverse("cab_meeting_list"),
        running["meeting"].get_absolute_url(),
    ):
        assert client.get(url).status_code == 200, url


def test_anonymous_visitors_and_users_without_a_role_are_kept_out(client, nobody, running):
    url = running["meeting"].get_absolute_url()
    assert client.get(url).status_code == 302
    client.force_login(nobody)
    assert client.get(url).status_code == 403
    assert client.post(vote_url(running["item"]), {"choice": "approve"}).status_code == 403


# --- meetings list ---------------------------------------------------------------------------


def test_the_list_filters_by_status_kind_and_date(client, alice, audrey):
    closed = meeting(alice, status=MeetingStatus.CLOSED)
    CabMeeting.objects.filter(pk=closed.pk).update(scheduled_at=timezone.now() - timedelta(days=7))
    emergency = meeting(alice, kind="emergency")
    client.force_login(audrey)
    url = reverse("cab_meeting_list")

    by_status = client.get(url, {"status": "closed"}).context["page"]
    by_kind = client.get(url, {"kind": "emergency"}).context["page"]
    since = (timezone.localtime() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    by_date = client.get(url, {"scheduled_after": since}).context["page"]
    bad = client.get(url, {"scheduled_after": "yesterday"})

    assert [m.pk for m in by_status] == [closed.pk]
    assert [m.pk for m in by_kind] == [emergency.pk]
    assert [m.pk for m in by_date] == [emergency.pk]
    assert bad.status_code == 200 and bad.context["filter_errors"]


@pytest.mark.parametrize("size", [2, 10])
def test_board_and_list_use_a_bounded_number_of_queries(
    client, alice, carol, dave, catalog, django_assert_max_num_queries, size
):
    for _ in range(size):
        release = submitted(dave, catalog)
        m = meeting(alice, carol)
        cab.add_item(m, release, alice)
    client.force_login(carol)

    with django_assert_max_num_queries(22):
        assert client.get(reverse("cab_board")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("cab_meeting_list")).status_code == 200


# --- create and edit -------------------------------------------------------------------------


def test_a_cab_member_schedules_a_meeting(client, carol, erin, olivia):
    client.force_login(carol)
    when = (timezone.localtime() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("cab_meeting_create"),
        {
            "title": "Weekly CAB",
            "kind": "regular",
            "scheduled_at": when,
            "duration_minutes": 60,
            "chair": carol.pk,
            "attendees": [erin.pk, olivia.pk],
        },
    )

    meeting_ = CabMeeting.objects.get()
    assert response.status_code == 302
    assert response["Location"] == meeting_.get_absolute_url()
    assert set(meeting_.attendees.all()) == {erin, olivia}


def test_the_form_shows_field_errors_and_writes_nothing(client, carol):
    client.force_login(carol)

    response = client.post(
        reverse("cab_meeting_create"),
        {"title": "", "kind": "regular", "scheduled_at": "soon", "chair": carol.pk},
    )

    assert response.status_code == 200
    assert set(response.context["form"].errors) >= {"title", "scheduled_at"}
    assert "is-invalid" in response.content.decode()
    assert not CabMeeting.objects.exists()


def test_the_auditor_cannot_schedule_or_edit(client, audrey, running):
    client.force_login(audrey)

    assert client.post(reverse("cab_meeting_create"), {"title": "X"}).status_code == 403
    edit = reverse("cab_meeting_edit", args=[running["meeting"].pk])
    assert client.post(edit, {"title": "X"}).status_code == 403


def test_a_closed_meeting_is_not_edited(client, alice):
    m = meeting(alice, status=MeetingStatus.CLOSED)
    client.force_login(alice)

    response = client.get(reverse("cab_meeting_edit", args=[m.pk]))

    assert response.status_code == 302


# --- the meeting page ------------------------------------------------------------------------


def test_an_attendee_sees_vote_buttons_the_chair_sees_the_close_form(client, alice, carol, running):
    client.force_login(carol)
    as_member = client.get(running["meeting"].get_absolute_url())
    client.force_login(alice)
    as_chair = client.get(running["meeting"].get_absolute_url())

    assert 'data-testid="vote-form"' in as_member.content.decode()
    assert 'data-testid="close-panel"' not in as_member.content.decode()
    assert 'data-testid="close-panel"' in as_chair.content.decode()
    assert running["release"].key in as_chair.context["close_form"].initial["minutes"]


def test_an_htmx_vote_returns_the_row_with_the_outcome(client, carol, running):
    client.force_login(carol)

    response = client.post(
        vote_url(running["item"]), {"choice": "approve", "comment": "ok"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response.templates[0].name == "governance/cab_agenda_row.html"
    body = response.content.decode()
    assert 'data-outcome="approved"' in body
    assert "is now approved" in body
    running["release"].refresh_from_db()
    assert running["release"].state == "approved"


def test_a_plain_post_vote_redirects_to_the_item(client, carol, running):
    client.force_login(carol)

    response = client.post(
        vote_url(running["item"]), {"choice": "approve_conditions", "conditions": "After 22:00."}
    )

    assert response.status_code == 302
    assert response["Location"].endswith(f"#item-{running['item'].pk}")
    assert Approval.objects.get().conditions == "After 22:00."


def test_approve_with_conditions_needs_the_conditions(client, carol, running):
    client.force_login(carol)
    before = footprint()

    response = client.post(vote_url(running["item"]), {"choice": "approve_conditions"})

    assert response.status_code == 400
    assert "Write the conditions" in response.content.decode()
    assert footprint() == before


def test_a_second_vote_is_refused_with_a_message(client, carol, running):
    client.force_login(carol)
    client.post(vote_url(running["item"]), {"choice": "abstain"})
    before = footprint()

    response = client.post(vote_url(running["item"]), {"choice": "approve"})
    htmx = client.post(vote_url(running["item"]), {"choice": "approve"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 409
    assert "already voted" in response.content.decode()
    assert 'data-testid="row-error"' in htmx.content.decode()
    assert footprint() == before


def test_a_member_of_another_meeting_cannot_vote_here(client, alice, running):
    outsider = make_user("cleo", CAB_MEMBER)
    meeting(alice, outsider, status=MeetingStatus.IN_PROGRESS)
    client.force_login(outsider)
    before = footprint()

    response = client.post(vote_url(running["item"]), {"choice": "approve"})

    assert response.status_code == 403
    assert "not an attendee" in response.content.decode()
    assert footprint() == before


def test_the_author_voting_on_the_page_is_refused_by_segregation_of_duties(
    client, alice, dave, catalog
):
    release = submitted(dave, catalog)
    dave.groups.add(*make_user("cab-helper", CAB_MEMBER).groups.all())
    m = meeting(alice, dave)
    [item] = cab.build_agenda(m, alice)
    cab.start(m, alice)
    client.force_login(dave)

    response = client.post(vote_url(item), {"choice": "approve"})

    assert response.status_code == 403
    assert "cannot approve" in response.content.decode()
    release.refresh_from_db()
    assert release.state == "submitted"
    assert not item.votes.exists()


def test_the_chair_defers_builds_and_closes_from_the_page(client, alice, dave, catalog, running):
    later = submitted(dave, catalog, days=9)
    client.force_login(alice)
    m = running["meeting"]

    built = client.post(reverse("cab_meeting_agenda", args=[m.pk]))
    deferred = client.post(
        reverse("cab_item_defer", args=[running["item"].pk]), {"reason": "Needs a DR test."}
    )
    no_minutes = client.post(reverse("cab_meeting_close", args=[m.pk]), {"minutes": ""})
    closed = client.post(reverse("cab_meeting_close", args=[m.pk]), {"minutes": "Done."})

    assert built.status_code == deferred.status_code == closed.status_code == 302
    assert no_minutes.status_code == 400
    assert AgendaItem.objects.get(pk=running["item"].pk).outcome == AgendaOutcome.DEFERRED
    assert AgendaItem.objects.get(release=later).outcome == AgendaOutcome.DEFERRED
    page = client.get(m.get_absolute_url()).content.decode()
    assert 'data-testid="minutes"' in page and "Done." in page


def test_a_member_cannot_run_the_meeting(client, carol, running):
    client.force_login(carol)
    m = running["meeting"]

    assert (
        client.post(reverse("cab_meeting_close", args=[m.pk]), {"minutes": "x"}).status_code == 403
    )
    assert CabMeeting.objects.get(pk=m.pk).status == MeetingStatus.IN_PROGRESS


def test_the_release_page_links_the_agenda_items_it_is_on(client, carol, running):
    client.force_login(carol)

    response = client.get(running["release"].get_absolute_url())

    body = response.content.decode()
    assert 'data-testid="cab-line"' in body
    assert running["item"].get_absolute_url() in body


def test_the_chair_moves_an_item_up_the_agenda(client, alice, dave, catalog, running):
    later = submitted(dave, catalog, days=9)
    m = running["meeting"]
    second = cab.add_item(m, later, alice)
    client.force_login(alice)

    response = client.post(
        reverse("cab_meeting_reorder", args=[m.pk]), {"move": second.pk, "direction": "up"}
    )
    unknown = client.post(reverse("cab_meeting_reorder", args=[m.pk]), {"move": 999999})

    assert response.status_code == 302
    assert list(m.items.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        running["item"].pk,
    ]
    assert unknown.status_code == 400
