"""The approval policy as data (governance.policy): which rules apply, why, and what they ask."""

import pytest
from django.core.exceptions import ValidationError

from governance import policy
from governance.models import (
    Approval,
    ApprovalRequirement,
    ApprovalRule,
    DecisionRecord,
    PolicyVersion,
)
from releasemgr.decisions import DomainError, NotPermitted
from releases import gate, lifecycle
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory, TeamFactory
from tests.governance.policy_helpers import every_release_scores, rule


def applied(release):
    return [o.rule["name"] for o in policy.evaluate(release).applied]


def needs(release):
    return [(r.role, r.count) for r in policy.required_approvals(release)]


@pytest.fixture
def internal(db):
    return ServiceFactory(slug="reporting", name="Reporting", team=TeamFactory(slug="data"))


# --- fallback and each condition ------------------------------------------------------------


def test_a_release_no_rule_matches_needs_one_cab_member_and_says_so(draft_release):
    result = policy.evaluate(draft_release)

    assert result.fallback
    assert needs(draft_release) == [("cab_member", 1)]
    assert "No approval rule applies" in result.requirements[0].why


def test_a_rule_for_some_change_types_applies_only_to_those(draft_release, olivia):
    rule("Emergency changes", [("cab_member", 1)], olivia, change_types=["emergency"])

    outcome = policy.evaluate(draft_release).outcomes[0]
    assert not outcome.applies
    assert "change type normal is not one of emergency" in outcome.reason.message

    draft_release.change_type = "emergency"
    draft_release.save()
    assert applied(draft_release) == ["Emergency changes"]


@pytest.mark.parametrize(
    ("band", "applies"), [("low", False), ("medium", False), ("high", True), ("critical", True)]
)
def test_a_rule_with_a_minimum_band_applies_at_that_band_or_above(
    draft_release, olivia, band, applies
):
    rule("High risk", [("cab_member", 2)], olivia, min_band="high")
    every_release_scores(band)

    outcome = policy.evaluate(draft_release).outcomes[0]

    assert outcome.applies is applies
    assert outcome.conditions[1].data == {"band": band, "min_band": "high"}
    assert needs(draft_release) == ([("cab_member", 2)] if applies else [("cab_member", 1)])


def test_a_rule_on_what_a_release_touches_sees_its_own_list(draft_release, olivia):
    rule("Access control", [("compliance_officer", 1)], olivia, touches=["access_control"])
    assert applied(draft_release) == []

    draft_release.touches = ["access_control"]
    draft_release.save()

    assert applied(draft_release) == ["Access control"]
    assert policy.evaluate(draft_release).outcomes[0].reason.message == (
        "“Access control” applies: any change type; any risk band; touches access control; "
        "customer-facing or not"
    )


def test_a_release_touches_what_its_services_implement(draft_release, payments, olivia):
    rule("Audit trails", [("compliance_officer", 1)], olivia, touches=["audit_trail"])
    payments.sensitive_areas = ["audit_trail"]
    payments.save()

    assert applied(draft_release) == ["Audit trails"]


def test_a_release_touches_what_its_included_scope_items_change(draft_release, olivia):
    rule("Schema", [("cab_member", 2)], olivia, touches=["schema"])
    ScopeItemFactory(release=draft_release, kind="schema_migration", decision="deferred")
    assert applied(draft_release) == []

    ScopeItemFactory(release=draft_release, kind="schema_migration", decision="included")
    assert applied(draft_release) == ["Schema"]


def test_a_customer_facing_rule_applies_only_to_releases_shipping_a_customer_facing_service(
    draft_release, internal, dave, olivia
):
    rule("Customer-facing", [("product_owner", 1)], olivia, customer_facing=True)
    rule("Internal only", [("cab_member", 1)], olivia, customer_facing=False)
    internal_release = ReleaseFactory(author=dave, services=[(internal, "1.0.0")])

    assert applied(draft_release) == ["Customer-facing"]
    assert applied(internal_release) == ["Internal only"]
    reason = policy.evaluate(draft_release).outcomes[0].reason
    assert "ships customer-facing payments-api" in reason.message


def test_inactive_rules_are_not_applied(draft_release, olivia):
    rule("Everything", [("cab_member", 3)], olivia, active=False)

    assert policy.evaluate(draft_release).outcomes == []
    assert needs(draft_release) == [("cab_member", 1)]


def test_requirements_are_merged_per_group_with_the_highest_count_and_every_rule_named(
    draft_release, olivia
):
    every_release_scores("high")
    rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"], position=10)
    rule(
        "Customer-facing high risk",
        [("product_owner", 1), ("cab_member", 2)],
        olivia,
        min_band="high",
        customer_facing=True,
        position=20,
    )

    requirements = policy.required_approvals(draft_release)

    assert [(r.role, r.count) for r in requirements] == [("cab_member", 2), ("product_owner", 1)]
    assert requirements[0].rules == ("Normal changes", "Customer-facing high risk")
    assert requirements[0].why == "Asked by “Normal changes” (1); “Customer-facing high risk” (2)."


def test_a_rule_naming_a_group_that_does_not_exist_is_invalid(db):
    invalid = ApprovalRule(name="Ghosts", approvers=[{"group": "ghost_board", "count": 1}])

    with pytest.raises(ValidationError) as info:
        invalid.full_clean()

    assert info.value.message_dict["approvers"] == ["Group 'ghost_board' does not exist."]


# --- frozen at submission -------------------------------------------------------------------


def test_submission_freezes_the_requirements_under_the_policy_version_in_force(
    draft_release, dave, olivia
):
    rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"])
    rule("Two of them", [("cab_member", 2)], olivia, min_band="medium")

    lifecycle.submit(draft_release, dave)

    rows = list(ApprovalRequirement.objects.filter(release=draft_release))
    assert [(r.round, r.group, r.count, r.rules) for r in rows] == [
        (1, "cab_member", 2, ["Normal changes", "Two of them"])
    ]
    assert rows[0].policy_version.number == 2
    assert rows[0].history.first().history_user == dave


def test_a_rule_change_after_submission_changes_neither_the_needs_nor_the_approvals_given(
    draft_release, dave, carol, erin, olivia
):
    strict = rule("Two CAB members", [("cab_member", 2)], olivia)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol)

    # The rule is relaxed and a compliance rule added after submission...
    strict.approvers = [{"group": "cab_member", "count": 1}]
    strict.save_with_reason("relaxed", user=olivia)
    rule("Compliance too", [("compliance_officer", 1)], olivia)
    draft_release.refresh_from_db()

    # ...the release still needs what it needed, and carol's approval still counts once.
    assert draft_release.state == "submitted"
    assert needs(draft_release) == [("cab_member", 2)]
    status = policy.approval_status(draft_release)
    assert status.reasons[0].data["have"] == 1
    assert [a.approver.username for a in Approval.objects.filter(release=draft_release)] == [
        "carol"
    ]

    lifecycle.approve(draft_release, erin)
    draft_release.refresh_from_db()
    assert draft_release.state == "approved"


def test_the_next_submission_takes_the_policy_in_force_then(draft_release, dave, carol, olivia):
    lifecycle.submit(draft_release, dave)
    lifecycle.reject(draft_release, carol, "missing rollback plan")
    rule("Compliance", [("compliance_officer", 1)], olivia)
    lifecycle.transition(draft_release, "reopen", dave)
    lifecycle.submit(draft_release, dave)

    assert needs(draft_release) == [("compliance_officer", 1)]
    rounds = ApprovalRequirement.objects.filter(release=draft_release)
    assert sorted(rounds.values_list("round", "group")) == [
        (1, "cab_member"),
        (2, "compliance_officer"),
    ]


def test_rules_edited_without_a_version_are_published_at_submission(draft_release, dave):
    rule("Unpublished", [("cab_member", 2)], publish=False)

    lifecycle.submit(draft_release, dave)

    version = PolicyVersion.objects.get()
    assert [r["name"] for r in version.rules] == ["Unpublished"]
    assert ApprovalRequirement.objects.get(release=draft_release).policy_version == version
    entry = DecisionRecord.objects.get(kind="policy_change")
    assert "Published at the submission of" in entry.summary


def test_a_draft_previews_the_live_rules(submitted_release, dave, olivia):
    lifecycle.transition(submitted_release, "withdraw", dave)
    rule("Two CAB members", [("cab_member", 2)], olivia)
    submitted_release.refresh_from_db()

    assert needs(submitted_release) == [("cab_member", 2)]
    assert not policy.explain(submitted_release).frozen


# --- versions ---------------------------------------------------------------------------------


def test_publishing_numbers_versions_snapshots_every_rule_and_logs_the_change(db, olivia):
    first = rule("Normal changes", [("cab_member", 1)], olivia)
    first.active = False
    first.save_with_reason("paused", user=olivia)
    version = policy.publish(olivia, "paused normal changes")

    assert version.number == 2
    assert version.created_by == olivia
    assert version.rules[0]["active"] is False
    assert policy.version_diff(version) == [
        {
            "rule": "Normal changes",
            "change": "changed",
            "fields": [{"field": "active", "old": True, "new": False}],
        }
    ]
    entries = DecisionRecord.objects.filter(kind="policy_change").order_by("sequence")
    assert [e.outcome for e in entries] == ["v1", "v2"]
    assert entries[1].summary == (
        "Approval policy v2 published: changed “Normal changes”. paused normal changes"
    )
    assert entries[1].actor == olivia


# --- who may decide ---------------------------------------------------------------------------


def test_approving_twice_is_refused_with_a_clear_message_and_changes_nothing(
    submitted_release, carol, olivia
):
    rule("Two CAB members", [("cab_member", 2)], olivia)
    lifecycle.transition(submitted_release, "withdraw", submitted_release.author)
    lifecycle.submit(submitted_release, submitted_release.author)
    lifecycle.approve(submitted_release, carol)
    before = Approval.objects.count(), DecisionRecord.objects.count()

    with pytest.raises(DomainError) as info:
        lifecycle.approve(submitted_release, carol)

    # Not a question of who may (403) but of what is already there (409).
    assert not isinstance(info.value, NotPermitted)
    assert info.value.status_code == 409
    assert "carol has already approved" in info.value.message
    assert "approving twice changes nothing" in info.value.message
    assert (Approval.objects.count(), DecisionRecord.objects.count()) == before


def test_the_acting_role_is_the_first_needed_group_the_approver_still_fills(
    draft_release, dave, carol, olivia
):
    from tests.conftest import make_user

    both = make_user("cora", "cab_member", "compliance_officer")
    rule("Compliance and CAB", [("compliance_officer", 1), ("cab_member", 1)], olivia)
    lifecycle.submit(draft_release, dave)

    lifecycle.approve(draft_release, both)
    lifecycle.approve(draft_release, carol)

    draft_release.refresh_from_db()
    assert draft_release.state == "approved"
    roles = dict(Approval.objects.values_list("approver__username", "role"))
    assert roles == {"cora": "compliance_officer", "carol": "cab_member"}


def test_a_second_approval_in_a_group_already_filled_adds_nothing(
    draft_release, dave, carol, erin, olivia
):
    rule("CAB and compliance", [("cab_member", 1), ("compliance_officer", 1)], olivia)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol)
    draft_release.refresh_from_db()

    verdict = policy.may_decide(erin, draft_release)

    assert not verdict.allowed
    assert verdict.failed[0].message == (
        f"The cab_member approvals {draft_release.key} needs are all in; "
        "another approval from erin adds nothing."
    )
    # She may still reject it.
    assert policy.may_decide(erin, draft_release, "reject").allowed


def test_the_gate_says_which_group_is_still_missing(draft_release, dave, carol, olivia, env_list):
    rule("CAB and compliance", [("cab_member", 1), ("compliance_officer", 1)], olivia)
    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol)

    result = gate.ask(draft_release.services.get(), "1.4.2", env_list[0], dave)

    approved = next(c for c in result.checks if c["code"] == "approved")
    assert result.status == "waiting"
    assert "0 of 1 compliance_officer approval(s): still needs 1 more" in approved["message"]
    assert "1 of 1 cab_member" not in approved["message"]
