"""Refusals people can read: who may not do what, in words (no permission codenames), and
approving twice as a conflict (409), not a lack of rights (403)."""

import re

import pytest

from governance import policy
from governance.models import Approval, ApprovalRule, DecisionRecord
from releasemgr.decisions import NotPermitted
from releases import lifecycle
from tests.releases import builders

CODENAME = re.compile(r"\b[a-z_]+\.[a-z_]+_[a-z_]+\b")  # e.g. governance.approve_release


def two_cab_members():
    ApprovalRule.objects.create(
        name="Two CAB members", approvers=[{"group": "cab_member", "count": 2}]
    )
    policy.publish(None, "two CAB members")


@pytest.mark.parametrize(
    ("state", "action", "persona", "what"),
    [
        ("draft", "submit", "audrey", "submit releases"),
        ("submitted", "withdraw", "audrey", "withdraw releases"),
        ("submitted", "approve", "dave", "approve releases"),
        ("submitted", "reject", "bob", "reject releases"),
        ("draft", "cancel", "audrey", "cancel releases"),
    ],
)
def test_every_refused_action_says_who_and_their_roles_without_a_codename(
    request, draft_release, dave, state, action, persona, what
):
    release = builders.submit(draft_release, dave) if state == "submitted" else draft_release
    user = request.getfixturevalue(persona)
    roles = ", ".join(sorted(user.groups.values_list("name", flat=True)))

    with pytest.raises(NotPermitted) as info:
        lifecycle.transition(release, action, user)

    assert info.value.message == f"{user.username} may not {what} (roles: {roles})."
    assert not CODENAME.search(info.value.message)
    [reason] = info.value.reasons
    assert reason.code == "permission"
    assert reason.data["permission"]  # the codename stays available to scripts, in the data


def test_someone_without_a_role_is_told_they_have_none(nobody, draft_release, dave):
    release = builders.submit(draft_release, dave)

    with pytest.raises(NotPermitted) as info:
        lifecycle.approve(release, nobody)

    assert info.value.message == "nobody may not approve releases (no role)."


def test_starting_a_deployment_without_the_role_is_refused_in_words(
    approved_release, dave, environments
):
    with pytest.raises(NotPermitted) as info:
        lifecycle.start_deployment(approved_release, environments["dev"], dave)

    assert info.value.message.startswith("dave may not start deployments (roles: ")
    assert not CODENAME.search(info.value.message)


def test_the_page_says_your_role_may_not_and_names_no_permission(client, bob, draft_release, dave):
    release = builders.submit(draft_release, dave)
    client.force_login(bob)

    response = client.post(f"/releases/{release.key}/actions/approve/", {"comment": "ok"})

    assert response.status_code == 403
    body = response.content.decode()
    assert "Your role may not approve releases (your roles: deployer)." in body
    assert "governance.approve_release" not in body


# --- approving twice ------------------------------------------------------------------------


def test_approving_twice_through_the_api_is_a_409_with_a_clear_message(
    api_client, carol, draft_release, dave
):
    two_cab_members()
    release = builders.submit(draft_release, dave)
    client = api_client(carol)
    assert client.post(f"/api/v1/releases/{release.key}/approve/").status_code == 200
    before = Approval.objects.count(), DecisionRecord.objects.count()

    response = client.post(f"/api/v1/releases/{release.key}/approve/")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_approved"
    assert body["detail"] == (
        f"carol has already approved {release.key} in round 1; approving twice changes nothing."
    )
    assert (Approval.objects.count(), DecisionRecord.objects.count()) == before


def test_approving_twice_on_the_page_says_so_without_a_403(client, carol, draft_release, dave):
    two_cab_members()
    release = builders.submit(draft_release, dave)
    client.force_login(carol)
    client.post(f"/releases/{release.key}/actions/approve/", {})

    response = client.post(f"/releases/{release.key}/actions/approve/", {}, follow=True)

    assert response.redirect_chain[-1][1] == 302
    messages = [str(m) for m in response.context["messages"]]
    assert any("carol has already approved" in m for m in messages)
    assert Approval.objects.filter(approver=carol).count() == 1
