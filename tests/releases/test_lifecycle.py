"""The release state machine: every legal move works, every illegal one says why and writes nothing."""

import pytest

from governance import policy
from governance.models import Approval
from releasemgr.decisions import IllegalTransition, NotPermitted
from releases import gate, lifecycle
from releases.lifecycle import TRANSITIONS, USER_ACTIONS, GateRefused
from releases.models import Deployment, GateDecision
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.releases import builders

ALL_STATES = [
    "draft",
    "submitted",
    "approved",
    "rejected",
    "cancelled",
    "deploying",
    "deployed",
    "rolled_back",
    "closed",
]


def last_history(release):
    return release.history.order_by("-history_id").first()


# --- legal transitions -------------------------------------------------------------------


def test_dave_submits_his_draft_for_approval(draft_release, dave):
    before = draft_release.history.count()

    release = lifecycle.submit(draft_release, dave, "ready for CAB")

    release.refresh_from_db()
    assert release.state == "submitted"
    assert release.approval_round == 1
    assert release.history.count() == before + 1
    row = last_history(release)
    assert row.history_user == dave
    assert row.history_change_reason.startswith("submit: draft → submitted")
    assert "ready for CAB" in row.history_change_reason
    assert row.approval_round == 1


def test_dave_withdraws_a_submitted_release_back_to_draft(submitted_release, dave):
    release = lifecycle.transition(submitted_release, "withdraw", dave)

    release.refresh_from_db()
    assert release.state == "draft"
    assert last_history(release).history_change_reason == "withdraw: submitted → draft"


def test_carol_approves_a_submitted_release(submitted_release, carol):
    release = lifecycle.approve(submitted_release, carol, "risk understood")

    release.refresh_from_db()
    assert release.state == "approved"
    approval = Approval.objects.get(release=release)
    assert (approval.approver, approval.decision, approval.role, approval.round) == (
        carol,
        "approved",
        "cab_member",
        1,
    )
    assert approval.comment == "risk understood"
    assert last_history(release).history_user == carol


def test_carol_rejects_a_submitted_release_with_a_comment(submitted_release, carol):
    release = lifecycle.transition(submitted_release, "reject", carol, "no rollback plan")

    release.refresh_from_db()
    assert release.state == "rejected"
    approval = Approval.objects.get(release=release)
    assert approval.decision == "rejected"
    assert approval.comment == "no rollback plan"
    assert "no rollback plan" in last_history(release).history_change_reason


def test_dave_reopens_a_rejected_release_as_a_draft(move_to, dave):
    release = move_to("rejected")

    lifecycle.transition(release, "reopen", dave)

    release.refresh_from_db()
    assert release.state == "draft"
    assert release.is_editable


@pytest.mark.parametrize("state", ["draft", "submitted", "approved", "rejected"])
def test_alice_cancels_a_release_that_has_not_started_deploying(move_to, alice, state):
    release = move_to(state)

    lifecycle.transition(release, "cancel", alice, "scope moved to next train")

    release.refresh_from_db()
    assert release.state == "cancelled"
    assert last_history(release).history_user == alice


@pytest.mark.parametrize("state", ["deployed", "rolled_back"])
def test_alice_closes_a_release_once_production_is_settled(move_to, alice, state):
    release = move_to(state)

    lifecycle.transition(release, "close", alice)

    release.refresh_from_db()
    assert release.state == "closed"


def test_starting_a_deployment_moves_an_approved_release_to_deploying(
    approved_release, bob, environments
):
    deployment, created = lifecycle.start_deployment(
        approved_release, environments["dev"], bob, commit="abc1234"
    )

    approved_release.refresh_from_db()
    assert created
    assert approved_release.state == "deploying"
    assert deployment.status == "running"
    assert deployment.started_by == bob
    assert deployment.commit == "abc1234"
    # The gate answer that let it through is kept and linked.
    assert deployment.gate_decision.allowed
    assert deployment.gate_decision.purpose == "deployment"
    assert deployment.gate_decision.release == approved_release


def test_a_successful_non_production_deployment_leaves_the_release_deploying(
    approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)

    approved_release.refresh_from_db()
    assert approved_release.state == "deploying"


def test_a_successful_production_deployment_marks_the_release_deployed(
    approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)
    production = builders.deploy(approved_release, env_list[3], bob)

    lifecycle.record_event(production, bob, type="succeeded")

    approved_release.refresh_from_db()
    assert approved_release.state == "deployed"
    assert "succeeded" in last_history(approved_release).history_change_reason


def test_a_production_rollback_marks_a_deploying_release_rolled_back(
    approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)
    production = builders.deploy(approved_release, env_list[3], bob)

    lifecycle.record_event(production, bob, type="rolled_back")

    approved_release.refresh_from_db()
    assert approved_release.state == "rolled_back"


def test_rolling_back_after_production_success_marks_the_release_rolled_back(move_to, bob):
    release = move_to("deployed")
    production = Deployment.objects.get(release=release, environment__is_production=True)

    lifecycle.record_event(production, bob, type="rolled_back")

    release.refresh_from_db()
    production.refresh_from_db()
    assert release.state == "rolled_back"
    assert production.status == "rolled_back"


# --- illegal transitions -----------------------------------------------------------------

ILLEGAL = [
    (action, state)
    for action in USER_ACTIONS
    for state in ALL_STATES
    if state not in TRANSITIONS[action].sources
]


@pytest.fixture
def actor_for(dave, carol, alice):
    """Someone allowed to attempt each action, so only the state can stop it."""
    return {
        "submit": dave,
        "withdraw": dave,
        "approve": carol,
        "reject": carol,
        "reopen": dave,
        "cancel": alice,
        "close": alice,
    }


@pytest.mark.parametrize(("action", "state"), ILLEGAL, ids=[f"{a}-{s}" for a, s in ILLEGAL])
def test_an_illegal_transition_is_refused_with_a_reason_and_writes_nothing(
    move_to, actor_for, action, state
):
    release = move_to(state)
    before = builders.footprint(release)

    with pytest.raises(IllegalTransition) as info:
        lifecycle.transition(release, action, actor_for[action], "trying anyway")

    assert release.key in info.value.message
    assert state in info.value.message
    assert [r.code for r in info.value.reasons] == ["state"]
    assert info.value.reasons[0].data["state"] == state
    assert builders.footprint(release) == before


def test_the_illegal_moves_users_try_most_are_in_the_matrix():
    for move in [
        ("approve", "draft"),
        ("close", "submitted"),
        ("submit", "approved"),
        ("cancel", "deployed"),
        ("cancel", "deploying"),
        ("reopen", "submitted"),
    ]:
        assert move in ILLEGAL


@pytest.mark.parametrize(
    "state", ["draft", "submitted", "rejected", "cancelled", "deployed", "closed"]
)
def test_a_release_that_is_not_approved_cannot_start_deploying(move_to, bob, environments, state):
    release = move_to(state)
    before = builders.footprint(release)

    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(release, environments["dev"], bob)

    assert "approved" in [r.code for r in info.value.reasons]
    after = builders.footprint(release)
    # The refusal itself is recorded (every gate answer is kept); nothing else is written.
    assert after.pop("gate_decisions") == before.pop("gate_decisions") + 1
    assert after == before
    refusal = GateDecision.objects.filter(release=release).order_by("-created").first()
    assert not refusal.allowed
    assert refusal.purpose == "deployment"


def test_a_submitted_release_waits_for_approval_before_deploying(
    submitted_release, bob, environments
):
    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(submitted_release, environments["dev"], bob)

    assert info.value.result.status == "waiting"


def test_an_unknown_action_is_an_illegal_transition(draft_release, alice):
    with pytest.raises(IllegalTransition):
        lifecycle.transition(draft_release, "teleport", alice)


def test_a_release_with_no_services_cannot_be_submitted(dave):
    empty = ReleaseFactory(author=dave)
    before = builders.footprint(empty)

    with pytest.raises(IllegalTransition) as info:
        lifecycle.submit(empty, dave)

    assert [r.code for r in info.value.reasons] == ["services"]
    assert "no services" in info.value.message
    assert builders.footprint(empty) == before


# --- who may move it ---------------------------------------------------------------------


def test_dave_the_developer_cannot_approve_any_release(submitted_release, dave):
    with pytest.raises(NotPermitted):
        lifecycle.approve(submitted_release, dave)
    submitted_release.refresh_from_db()
    assert submitted_release.state == "submitted"


def test_author_cannot_approve_own_release(carol, alice, payments):
    release = ReleaseFactory(author=carol, services=[(payments, "2.0.0")])
    # carol holds no submit permission; alice the release manager submits it for her.
    lifecycle.submit(release, alice)
    before = builders.footprint(release)

    with pytest.raises(NotPermitted) as info:
        lifecycle.approve(release, carol)

    assert "segregation_of_duties" in [r.code for r in info.value.reasons]
    assert builders.footprint(release) == before


def test_a_scope_item_contributor_cannot_approve_the_release(submitted_release, erin):
    ScopeItemFactory(release=submitted_release, contributor=erin)
    before = builders.footprint(submitted_release)

    with pytest.raises(NotPermitted):
        lifecycle.approve(submitted_release, erin)

    assert builders.footprint(submitted_release) == before


def test_a_compliance_officer_is_not_the_cab_approver_the_policy_requires(
    submitted_release, olivia
):
    with pytest.raises(NotPermitted) as info:
        lifecycle.approve(submitted_release, olivia)

    assert "approver_role" in [r.code for r in info.value.reasons]
    assert not Approval.objects.filter(release=submitted_release).exists()


def test_a_developer_cannot_cancel_a_release(draft_release, dave):
    with pytest.raises(NotPermitted):
        lifecycle.transition(draft_release, "cancel", dave)
    draft_release.refresh_from_db()
    assert draft_release.state == "draft"


def test_a_cab_member_cannot_start_a_deployment(approved_release, carol, environments):
    with pytest.raises(NotPermitted):
        lifecycle.start_deployment(approved_release, environments["dev"], carol)
    assert not Deployment.objects.exists()


def test_available_actions_offer_only_what_the_user_may_do_now(submitted_release, carol, dave):
    assert [t.name for t in lifecycle.available_actions(submitted_release, carol)] == [
        "approve",
        "reject",
    ]
    assert [t.name for t in lifecycle.available_actions(submitted_release, dave)] == ["withdraw"]


# --- approval rounds ---------------------------------------------------------------------


def test_resubmitting_starts_a_new_approval_round(submitted_release, carol, dave):
    lifecycle.reject(submitted_release, carol, "missing rollback plan")
    lifecycle.transition(submitted_release, "reopen", dave)
    lifecycle.submit(submitted_release, dave)
    submitted_release.refresh_from_db()
    assert submitted_release.approval_round == 2

    # carol's rejection belonged to round 1; she decides afresh in round 2.
    lifecycle.approve(submitted_release, carol, "rollback plan added")

    submitted_release.refresh_from_db()
    assert submitted_release.state == "approved"
    rounds = sorted(
        Approval.objects.filter(release=submitted_release).values_list("round", "decision")
    )
    assert rounds == [(1, "rejected"), (2, "approved")]


def test_an_approval_from_an_earlier_round_does_not_count(submitted_release, dave, erin, env_list):
    # An approval recorded in round 1 (the foundation policy moves on after one, so it is
    # written directly here, as an import or a stricter past policy would have left it).
    Approval.objects.create(
        release=submitted_release, approver=erin, decision="approved", role="cab_member", round=1
    )
    lifecycle.transition(submitted_release, "withdraw", dave)
    lifecycle.submit(submitted_release, dave)
    submitted_release.refresh_from_db()

    status = policy.approval_status(submitted_release)
    assert not status.allowed
    assert status.reasons[0].data["have"] == 0
    assert (
        gate.ask(
            submitted_release.release_services.get().service, "1.4.2", env_list[0], dave
        ).status
        == "waiting"
    )

    # erin already approved in round 1, but may (and must) approve round 2.
    lifecycle.approve(submitted_release, erin)
    submitted_release.refresh_from_db()
    assert submitted_release.state == "approved"


@pytest.mark.django_db
def test_release_keys_count_on_past_9999_and_ignore_imported_keys(dave):
    from django.utils import timezone

    from releases.models import Release

    prefix = f"REL-{timezone.now().year}-"
    Release.objects.bulk_create(
        [
            Release(key=f"{prefix}9999", name="a", version="1.0.0", author=dave),
            Release(key=f"{prefix}10000", name="b", version="1.0.0", author=dave),
            Release(key=f"{prefix}LEGACY-7", name="c", version="1.0.0", author=dave),
        ]
    )

    assert ReleaseFactory(author=dave).key == f"{prefix}10001"
