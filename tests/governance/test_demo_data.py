"""The governance demo (``manage.py seed_demo``) tells a true story under the real policy.

Loaded once per module inside an outer transaction (as ``tests/api_fuzz/conftest.py`` does);
each test runs in a savepoint, so what one test writes is undone before the next.
"""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from governance import decision_log, policy
from governance.models import ApprovalRule, DecisionRecord, PolicyVersion, Retrospective
from releases import gate
from releases.choices import ChangeType, ReleaseState
from releases.models import Release, ReleaseService, Service
from scheduling.models import Environment
from tests.conftest import make_user

APPROVED_STATES = (
    ReleaseState.APPROVED,
    ReleaseState.DEPLOYING,
    ReleaseState.DEPLOYED,
    ReleaseState.CLOSED,
    ReleaseState.ROLLED_BACK,
)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def demo(seeded, db):
    return {r.name: r for r in Release.objects.all()}


def ask(slug, version, env):
    pipeline = make_user("ci", "pipeline")
    return gate.ask(
        Service.objects.get(slug=slug), version, Environment.objects.get(slug=env), pipeline
    )


def failing(result):
    return [r.code for r in result.decision.failed]


def test_every_submitted_demo_release_froze_the_published_policy_not_the_fallback(demo):
    submitted = [
        r
        for r in demo.values()
        if r.approval_round and r.change_type != ChangeType.STANDARD and r.state != "draft"
    ]

    frozen = {r.name: policy.explain(r).as_dict() for r in submitted}

    assert len(submitted) >= 12
    on_fallback = {
        n: (d["policy_version"], d["fallback"])
        for n, d in frozen.items()
        if d["policy_version"] is None or d["fallback"]
    }
    assert on_fallback == {}
    assert all(d["risk_band"] for d in frozen.values())


def test_every_approved_demo_release_has_every_approval_its_policy_asked_for(demo):
    approved = [
        r
        for r in demo.values()
        if r.state in APPROVED_STATES and r.change_type != ChangeType.STANDARD
    ]

    missing = {r.name: policy.approval_status(r).messages() for r in approved}

    assert len(approved) >= 7
    assert {n: m for n, m in missing.items() if m} == {}


def test_a_high_risk_customer_facing_normal_change_awaits_its_product_owner_and_two_cab_members(
    demo,
):
    cards = demo["Checkout saved cards"]

    needs = {r.role: r.count for r in policy.required_approvals(cards)}

    assert cards.state == ReleaseState.SUBMITTED
    assert needs == {"cab_member": 2, "product_owner": 1, "compliance_officer": 1}


def test_an_emergency_demo_change_needs_fewer_approvers_than_the_same_change_as_normal(demo):
    hotfix = demo["Auth lockout hotfix"]
    emergency = {r.role: r.count for r in policy.required_approvals(hotfix)}

    hotfix.change_type = ChangeType.NORMAL  # not saved: the same change, planned
    normal = {r.role: r.count for r in policy.evaluate(hotfix, band="high").requirements}

    assert policy.explain(demo["Auth lockout hotfix"]).band == "high"
    assert emergency == {"cab_member": 1, "compliance_officer": 1}
    assert normal == {"cab_member": 2, "product_owner": 1, "compliance_officer": 1}
    assert sum(emergency.values()) < sum(normal.values())


def test_high_risk_rules_apply_to_normal_changes_only(demo):
    high = ApprovalRule.objects.filter(min_band="high")

    assert high.count() == 2
    assert all(rule.change_types == ["normal"] for rule in high)


def test_demo_service_versions_are_unique_per_service(demo):
    pairs = Counter(ReleaseService.objects.values_list("service__slug", "version"))

    assert [pair for pair, n in pairs.items() if n > 1] == []


def test_the_escalated_defect_blocks_its_release_at_the_gate_where_it_could_otherwise_go(demo):
    result = ask("payouts-batch", "1.13.0", "dev")

    assert result.release == demo["Payouts batch retries"]
    assert (result.status, failing(result)) == ("prevented", ["open_defects"])


def test_the_readme_gate_examples_answer_as_documented(demo):
    cards = ask("payments-api", "1.9.0", "dev")
    catalog_dev = ask("catalog-service", "3.1.0", "dev")
    catalog_prod = ask("catalog-service", "3.1.0", "production")

    assert (cards.release.key, cards.status, failing(cards)) == (
        "REL-2026-0002",
        "waiting",
        ["approved"],
    )
    assert catalog_dev.status == "allowed"
    # Production: it must pass staging first, and staging's quality gates have no results yet.
    assert (catalog_prod.status, failing(catalog_prod)) == (
        "prevented",
        ["promotion_order", "quality_gates"],
    )


def test_only_approved_emergency_changes_have_a_retrospective_and_one_is_overdue(demo):
    retros = list(Retrospective.objects.select_related("release"))
    emergencies = [r for r in demo.values() if r.change_type == ChangeType.EMERGENCY]

    assert {r.release.name for r in retros} == {
        r.name for r in emergencies if r.state in APPROVED_STATES
    }
    assert demo["Auth lockout hotfix"].state == ReleaseState.SUBMITTED
    overdue = [r for r in retros if r.completed_at is None and r.due_at < timezone.now()]
    assert [r.release.name for r in overdue] == ["Session cookie hardening"]
    assert overdue[0].release.state in APPROVED_STATES


def test_seeding_again_changes_nothing(demo):
    def snapshot():
        return (
            list(Release.objects.order_by("pk").values_list("key", "state", "approval_round")),
            ApprovalRule.objects.count(),
            PolicyVersion.objects.count(),
            Retrospective.objects.count(),
            DecisionRecord.objects.count(),
        )

    before = snapshot()
    call_command("seed_demo", stdout=StringIO())

    assert snapshot() == before
    assert decision_log.verify().intact


def test_the_delivery_history_dates_demo_deployments_when_they_ran(demo):
    """Demo deployments are spread over the past days; their history records and the quality
    scores read from them follow, instead of the moment the demo was loaded."""
    from django.db.models import Min

    from metrics.models import DeploymentRecord, ReleaseQualityScore

    records = list(
        DeploymentRecord.objects.filter(deployment__isnull=False).select_related("deployment")
    )
    assert records
    assert [r.pk for r in records if r.finished_at != r.deployment.finished_at] == []
    scores = list(ReleaseQualityScore.objects.select_related("release"))
    assert scores
    for score in scores:
        first = score.release.deployments.filter(
            environment__is_production=True, finished_at__isnull=False
        ).aggregate(at=Min("finished_at"))["at"]
        assert score.deployed_at == first, score.release.key
