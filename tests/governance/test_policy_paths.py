"""The path each ITIL change type takes through submission and approval, under the policy."""

import pytest

from governance.models import (
    Approval,
    ApprovalRequirement,
    ChangeModel,
    DecisionRecord,
    Retrospective,
    RiskAssessment,
)
from releasemgr.decisions import IllegalTransition
from releases import lifecycle
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory
from tests.governance.policy_helpers import every_release_scores, rule
from tests.releases import builders


@pytest.fixture
def templates_service(db):
    return ServiceFactory(slug="templates", name="Templates", team=TeamFactory(slug="comms"))


@pytest.fixture
def change_model(templates_service, carol):
    model = ChangeModel.objects.create(
        slug="template-update",
        name="Template update",
        steps="Render in staging\nDeploy",
        risk_ceiling="medium",
        approved_by=carol,
    )
    model.services.add(templates_service)
    return model


@pytest.fixture
def standard_release(dave, templates_service, change_model):
    return ReleaseFactory(
        author=dave,
        services=[(templates_service, "1.1.0")],
        change_type="standard",
        change_model=change_model,
        planned_strategy="canary",
        rollback_plan="Redeploy 1.0.0.",
        rollback_tested=True,
    )


def kinds():
    return list(DecisionRecord.objects.order_by("sequence").values_list("kind", flat=True))


def test_a_standard_change_that_fits_its_model_is_approved_at_submission(
    standard_release, dave, olivia
):
    rule("Every release: two CAB members", [("cab_member", 2)], olivia)

    lifecycle.submit(standard_release, dave)

    standard_release.refresh_from_db()
    assert standard_release.state == "approved"
    assert not ApprovalRequirement.objects.filter(release=standard_release).exists()
    reasons = list(standard_release.history.values_list("history_change_reason", flat=True))
    assert (
        reasons[0]
        == "approve: submitted → approved — standard change 'Template update' is pre-approved"
    )
    entry = DecisionRecord.objects.get(kind="standard_change")
    assert entry.outcome == "approved"
    assert "Template update" in entry.summary and "approved by carol" in entry.summary
    assert entry.data["change_model"] == "template-update"
    assert RiskAssessment.objects.filter(release=standard_release, round=1).exists()


def test_a_standard_change_that_does_not_fit_is_refused_and_nothing_is_written(
    standard_release, dave, payments
):
    standard_release.release_services.create(service=payments, version="1.0.0")
    before = builders.footprint(standard_release)

    with pytest.raises(IllegalTransition) as info:
        lifecycle.submit(standard_release, dave)

    assert "cannot go ahead as a standard change" in info.value.message
    assert "does not cover Payments API" in info.value.message
    assert [r.code for r in info.value.reasons] == ["services_within_model"]
    assert builders.footprint(standard_release) == before
    assert not RiskAssessment.objects.exists()
    assert kinds() == []


def test_a_normal_change_waits_for_the_approvals_its_rules_ask(
    draft_release, dave, carol, erin, olivia
):
    rule("Normal changes", [("cab_member", 1)], olivia, change_types=["normal"])
    rule("High risk", [("cab_member", 2)], olivia, min_band="high")
    every_release_scores("high")

    lifecycle.submit(draft_release, dave)
    lifecycle.approve(draft_release, carol, "fine", conditions="Deploy after 18:00")
    draft_release.refresh_from_db()
    assert draft_release.state == "submitted"

    lifecycle.approve(draft_release, erin)
    draft_release.refresh_from_db()
    assert draft_release.state == "approved"
    approvals = kinds()[-2:]
    assert approvals == ["approval", "approval"]
    first = DecisionRecord.objects.filter(kind="approval").order_by("sequence").first()
    assert "with conditions: Deploy after 18:00" in first.summary
    assert "Still needed: 1 of 2 cab_member approval(s) (carol): still needs 1 more" in (
        first.summary
    )
    assert first.data["conditions"] == "Deploy after 18:00"
    assert not Retrospective.objects.exists()


def test_a_rejection_is_recorded_with_its_reasons(submitted_release, carol):
    lifecycle.reject(submitted_release, carol, "no rollback plan")

    entry = DecisionRecord.objects.get(kind="rejection")
    assert entry.outcome == "rejected"
    assert entry.actor == carol
    assert "is now rejected" in entry.summary
    assert [r["code"] for r in entry.reasons][:2] == ["approver_role", "segregation_of_duties"]


def test_an_emergency_change_goes_to_the_emergency_rule_and_opens_a_retrospective(
    draft_release, dave, carol, olivia
):
    rule("Normal changes", [("cab_member", 2)], olivia, change_types=["normal"])
    rule("Emergency CAB", [("cab_member", 1)], olivia, change_types=["emergency"])
    draft_release.change_type = "emergency"
    draft_release.save()

    lifecycle.submit(draft_release, dave)
    requirement = ApprovalRequirement.objects.get(release=draft_release)
    assert (requirement.group, requirement.count, requirement.rules) == (
        "cab_member",
        1,
        ["Emergency CAB"],
    )
    lifecycle.approve(draft_release, carol, "outage fix")

    draft_release.refresh_from_db()
    assert draft_release.state == "approved"
    assert Retrospective.objects.filter(release=draft_release).exists()
    assert Approval.objects.get(release=draft_release).role == "cab_member"
