"""What a CAB meeting tells the people in it: the reject rule, an early start, minutes that say
when it was really held and follow the votes, what a release still needs after a vote."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from governance import cab
from governance.choices import DecisionKind, MeetingStatus
from governance.models import ApprovalRule, CabMeeting, DecisionRecord
from releasemgr.roles import CAB_MEMBER, PRODUCT_OWNER
from tests.governance.test_cab_rules import catalog, meeting, submitted

__all__ = ["catalog"]


def local(value) -> str:
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def two_cab_members_and_a_product_owner():
    ApprovalRule.objects.create(
        name="Two CAB members and the product owner",
        approvers=[{"group": CAB_MEMBER, "count": 2}, {"group": PRODUCT_OWNER, "count": 1}],
    )


@pytest.fixture
def running(alice, carol, erin, paula, dave, catalog):
    """In progress, chaired by alice; carol, erin and paula attend; dave's release on it."""
    release = submitted(dave, catalog, name="Catalog ranking")
    m = meeting(alice, carol, erin, paula)
    [item] = cab.build_agenda(m, alice)
    cab.start(m, alice)
    return {"meeting": m, "release": release, "item": item}


def vote(client, item, **body):
    return client.post(reverse("cab_item_vote", args=[item.pk]), body, HTTP_HX_REQUEST="true")


# --- the reject rule, said where members vote ---------------------------------------------------


def test_the_vote_form_says_one_reject_rejects_the_release_at_once(client, carol, running):
    client.force_login(carol)

    page = client.get(running["meeting"].get_absolute_url()).content.decode()

    assert 'data-testid="reject-rule"' in page
    assert "A reject from an authorised approver rejects the release at once" in page
    assert "one reject vote from an authorised approver rejects it at once" in page


# --- starting early --------------------------------------------------------------------------


def test_starting_long_before_the_scheduled_time_is_allowed_with_a_warning(client, alice, carol):
    m = meeting(alice, carol)
    CabMeeting.objects.filter(pk=m.pk).update(scheduled_at=timezone.now() + timedelta(days=2))
    client.force_login(alice)

    response = client.post(reverse("cab_meeting_start", args=[m.pk]), follow=True)

    assert CabMeeting.objects.get(pk=m.pk).status == MeetingStatus.IN_PROGRESS
    texts = {msg.level_tag: msg.message for msg in response.context["messages"]}
    assert "it starts early" in texts["warning"]
    assert "2 d from now" in texts["warning"]
    assert "is in progress" in texts["success"]
    assert 'data-testid="held-early"' in response.content.decode()


def test_starting_at_the_scheduled_time_gives_no_warning(client, alice, carol):
    m = meeting(alice, carol)
    CabMeeting.objects.filter(pk=m.pk).update(scheduled_at=timezone.now() + timedelta(minutes=5))
    client.force_login(alice)

    response = client.post(reverse("cab_meeting_start", args=[m.pk]))

    assert [msg.level_tag for msg in get_messages(response.wsgi_request)] == ["success"]


def test_a_refused_start_gives_no_early_warning(client, alice, carol):
    m = meeting(alice, carol, status=MeetingStatus.CLOSED)
    CabMeeting.objects.filter(pk=m.pk).update(scheduled_at=timezone.now() + timedelta(days=2))
    client.force_login(alice)

    response = client.post(reverse("cab_meeting_start", args=[m.pk]))

    assert response.status_code == 409
    assert [msg.level_tag for msg in get_messages(response.wsgi_request)] == ["error"]


def test_minutes_of_an_early_meeting_say_when_it_was_held_and_when_it_was_scheduled(
    alice, carol, dave, catalog
):
    submitted(dave, catalog)
    m = meeting(alice, carol)
    scheduled = timezone.now() + timedelta(days=3)
    CabMeeting.objects.filter(pk=m.pk).update(scheduled_at=scheduled)
    m.refresh_from_db()
    cab.build_agenda(m, alice)

    cab.start(m, alice)

    started = m.history.filter(status=MeetingStatus.IN_PROGRESS).earliest("history_date")
    assert cab.held_at(m) == started.history_date
    text = cab.draft_minutes(m)
    assert f"Held {local(started.history_date)}" in text
    assert f"(scheduled for {local(scheduled)}" in text
    assert f"Held {local(scheduled)}" not in text


def test_minutes_of_a_meeting_held_on_time_name_one_time(alice, carol):
    m = meeting(alice, carol)
    CabMeeting.objects.filter(pk=m.pk).update(scheduled_at=timezone.now() + timedelta(minutes=5))
    m.refresh_from_db()
    cab.start(m, alice)

    text = cab.draft_minutes(m)

    assert f"Held {local(cab.held_at(m))}" in text
    assert "scheduled for" not in text


def test_a_meeting_not_started_is_held_at_its_scheduled_time(alice):
    m = meeting(alice)

    assert cab.held_at(m) == m.scheduled_at
    assert cab.early_by(m, m.scheduled_at - timedelta(minutes=10)) is None
    assert cab.early_by(m, m.scheduled_at - timedelta(hours=2)) == timedelta(hours=2)


# --- after a vote ----------------------------------------------------------------------------


def test_an_htmx_vote_by_the_chair_sends_fresh_draft_minutes_out_of_band(client, alice, running):
    client.force_login(alice)
    before = client.get(running["meeting"].get_absolute_url()).context["close_form"]
    assert "no votes" in before.initial["minutes"]

    response = vote(client, running["item"], choice="abstain", comment="Chairing only.")

    body = response.content.decode()
    assert 'id="close-panel"' in body and 'hx-swap-oob="true"' in body
    assert "alice: abstain — Chairing only." in body
    # The row still comes first; the panel is the out-of-band extra.
    assert body.index('id="item-') < body.index('id="close-panel"')


def test_closing_right_after_votes_records_minutes_with_those_votes(client, alice, carol, running):
    client.force_login(carol)
    vote(client, running["item"], choice="approve", comment="Good evidence.")
    client.force_login(alice)
    page = client.get(running["meeting"].get_absolute_url())
    minutes = page.context["close_form"].initial["minutes"]

    client.post(reverse("cab_meeting_close", args=[running["meeting"].pk]), {"minutes": minutes})

    closed = CabMeeting.objects.get(pk=running["meeting"].pk)
    assert closed.status == MeetingStatus.CLOSED
    assert "carol: approve — Good evidence." in closed.minutes
    assert "Outcome: Approved" in closed.minutes


def test_a_member_voting_gets_no_close_form_back(client, carol, running):
    client.force_login(carol)

    response = vote(client, running["item"], choice="abstain")

    assert 'id="close-panel"' not in response.content.decode()


def test_after_an_approve_vote_the_message_says_what_the_release_still_needs(
    client, alice, carol, erin, paula, dave, catalog
):
    two_cab_members_and_a_product_owner()
    release = submitted(dave, catalog)
    m = meeting(alice, carol, erin, paula)
    [item] = cab.build_agenda(m, alice)
    cab.start(m, alice)
    client.force_login(carol)

    first = vote(client, item, choice="approve").content.decode()
    client.force_login(erin)
    second = vote(client, item, choice="approve").content.decode()
    client.force_login(paula)
    third = vote(client, item, choice="approve").content.decode()

    assert (
        f"Your vote on {release.key} is recorded. {release.key} still needs 1 more cab_member "
        "approval and 1 product_owner approval."
    ) in first
    assert f"{release.key} still needs 1 product_owner approval." in second
    assert f"{release.key} is now approved." in third


def test_after_a_reject_vote_the_message_says_the_release_is_rejected(client, carol, running):
    client.force_login(carol)

    body = vote(client, running["item"], choice="reject", comment="No rollback plan.")

    assert (
        f"{running['release'].key} is now rejected: one reject from an authorised approver "
        "rejects the release."
    ) in body.content.decode()


# --- what the decision log says --------------------------------------------------------------


def test_vote_and_approval_summaries_end_conditions_with_one_full_stop(carol, running):
    cab.cast_vote(running["item"], carol, "approve", conditions="Deploy after 02:00.")

    summaries = list(DecisionRecord.objects.order_by("sequence").values_list("summary", flat=True))

    joined = "\n".join(summaries)
    assert ".." not in joined and ".;" not in joined
    key = running["release"].key
    assert f"with conditions: Deploy after 02:00; {key} is now approved." in joined
    vote_entry = DecisionRecord.objects.get(kind=DecisionKind.VOTE)
    assert vote_entry.summary.endswith("with conditions: Deploy after 02:00.")
