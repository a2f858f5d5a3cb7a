"""Emergency-fix conflicts, tech-debt include/defer advice and the maintenance backlog
(issue 5, items 1 and 2), on small graphs built in each test."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releasemgr.decisions import IllegalTransition
from releases import scope_changes
from releases.choices import ScopeDecision
from releases.models import TechDebtEstimate
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory
from tests.releases import builders

pytestmark = pytest.mark.django_db


def _scheduled_feature(dave, service, days):
    release = ReleaseFactory(
        author=dave,
        name="Checkout redesign",
        services=[(service, "2.0.0")],
        planned_start=timezone.now() + timedelta(days=days),
    )
    return builders.submit(release, dave)


def _hotfix(dave, service, **kwargs):
    return ReleaseFactory(
        author=dave,
        name="Fix double charge",
        kind="hotfix",
        change_type="emergency",
        services=[(service, "1.4.3")],
        planned_start=timezone.now() + timedelta(hours=4),
        **kwargs,
    )


def test_hotfix_and_later_feature_release_on_the_same_service_both_show_the_conflict(
    dave, payments
):
    feature = _scheduled_feature(dave, payments, days=10)
    fix = _hotfix(dave, payments)
    on_fix, on_feature = scope_changes.conflicts(fix), scope_changes.conflicts(feature)
    assert [(c.fix_release, c.scheduled) for c in on_fix] == [(fix, feature)]
    assert [(c.fix_release, c.scheduled) for c in on_feature] == [(fix, feature)]
    options = {o.code: o for o in on_fix[0].options}
    assert set(options) == {"ship_alone", "fold_in", "move_release"}
    assert options["ship_alone"].passed and not options["fold_in"].passed
    assert "must carry it forward" in options["ship_alone"].message
    assert on_fix[0].services == ["Payments API"]


def test_a_feature_release_a_day_after_the_fix_is_advised_to_take_the_fix(dave, payments):
    feature = _scheduled_feature(dave, payments, days=2)
    fix = _hotfix(dave, payments)
    options = {o.code: o for o in scope_changes.conflicts(fix)[0].options}
    assert options["fold_in"].passed and not options["ship_alone"].passed
    assert feature.key in options["fold_in"].message


def test_no_conflict_on_other_services_on_drafts_or_when_the_feature_ships_first(dave, payments):
    other = ServiceFactory(slug="search")
    _scheduled_feature(dave, other, days=10)
    ReleaseFactory(author=dave, services=[(payments, "2.0.0")])  # a draft is not scheduled
    fix = _hotfix(dave, payments, planned_end=timezone.now() + timedelta(days=30))
    fix.planned_start = timezone.now() + timedelta(days=20)
    fix.save()
    _scheduled_feature(dave, payments, days=5)  # ships before the fix
    assert scope_changes.conflicts(fix) == []


def test_a_pending_emergency_fix_request_conflicts_with_a_scheduled_release_of_its_service(
    dave, payments
):
    feature = _scheduled_feature(dave, payments, days=10)
    elsewhere = ReleaseFactory(author=dave, name="Maintenance", kind="maintenance")
    request = scope_changes.request_change(
        elsewhere,
        dave,
        kind="emergency_fix",
        title="Stop double charge",
        reason="Customers charged twice.",
        service=payments,
    )
    on_request_side = scope_changes.conflicts(elsewhere)
    on_feature = scope_changes.conflicts(feature)
    assert [(c.fix_request, c.scheduled) for c in on_request_side] == [(request, feature)]
    assert [(c.fix_request, c.scheduled) for c in on_feature] == [(request, feature)]
    assert "request #" in on_feature[0].fix_label


def _debt(release, service=None, effort="2", reduction=3):
    item = ScopeItemFactory(release=release, title="Retire old client", kind="tech_debt")
    item.service = service
    item.save()
    if effort is not None:
        TechDebtEstimate.objects.create(
            scope_item=item, effort_days=effort, risk_reduction=reduction
        )
    return item


def test_small_debt_on_a_service_the_release_ships_anyway_is_included(draft_release, payments):
    _debt(draft_release, payments)
    [advice] = scope_changes.tech_debt_recommendation(draft_release)
    assert advice.recommendation == "include"
    reasons = {r.code: r for r in advice.decision.reasons}
    assert "ships in this release anyway" in reasons["services_touched"].message
    assert reasons["risk_budget"].passed and reasons["release_size"].passed


def test_debt_on_another_service_of_a_big_release_is_deferred_with_reasons(draft_release, settings):
    settings.SCOPE_SIZE_LIMIT = 2
    for n in range(2):
        ScopeItemFactory(release=draft_release, title=f"Feature {n}")
    _debt(draft_release, ServiceFactory(slug="legacy-batch"), effort="8", reduction=2)
    [advice] = scope_changes.tech_debt_recommendation(draft_release)
    assert advice.recommendation == "defer"
    failed = {r.code for r in advice.decision.failed}
    assert failed == {"services_touched", "release_size", "effort"}


def test_debt_is_deferred_when_the_release_is_over_its_risk_budget(draft_release, settings):
    settings.TECH_DEBT_RISK_BUDGET = 0
    _debt(draft_release)
    [advice] = scope_changes.tech_debt_recommendation(draft_release)
    assert [r.code for r in advice.decision.failed] == ["risk_budget"]


def test_debt_without_an_estimate_is_deferred_until_estimated(draft_release):
    _debt(draft_release, effort=None)
    [advice] = scope_changes.tech_debt_recommendation(draft_release)
    assert advice.recommendation == "defer" and advice.decision.failed[0].code == "estimate"


def test_deferred_debt_goes_to_the_backlog_and_a_maintenance_release_takes_it_keeping_history(
    draft_release, dave, alice
):
    item = _debt(draft_release, reduction=5)
    item.decision, item.rationale = ScopeDecision.DEFERRED, "No room."
    item.save_with_reason("deferred", user=dave)
    assert list(scope_changes.maintenance_backlog()) == [item]
    maintenance = ReleaseFactory(author=alice, name="Q3 maintenance", kind="maintenance")
    taken = scope_changes.take_into_release(item, maintenance, alice, "Quiet quarter.")
    assert (taken.release, taken.decision) == (maintenance, ScopeDecision.INCLUDED)
    assert list(scope_changes.maintenance_backlog()) == []
    reasons = [h.history_change_reason for h in taken.history.all()]
    assert reasons[0] == f"taken from {draft_release.key}'s backlog into {maintenance.key}"
    assert "deferred" in reasons
    assert taken.tech_debt_estimate.risk_reduction == 5
    with pytest.raises(IllegalTransition):
        scope_changes.take_into_release(item, maintenance, alice)


def test_taking_backlog_items_into_a_feature_release_is_refused(draft_release, alice):
    item = _debt(draft_release)
    item.decision, item.rationale = ScopeDecision.DEFERRED, "Later."
    item.save()
    feature = ReleaseFactory(author=alice)
    with pytest.raises(scope_changes.InvalidInput, match="maintenance release"):
        scope_changes.take_into_release(item, feature, alice)
    item.refresh_from_db()
    assert item.release == draft_release


def test_the_demo_shows_requests_a_conflict_advice_and_the_backlog():
    from django.core.management import call_command

    from releases.models import ScopeChangeRequest

    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)  # idempotent
    statuses = sorted(ScopeChangeRequest.objects.values_list("status", flat=True))
    assert statuses == ["declined", "pending"]
    hotfix = ReleaseFactory._meta.model.objects.get(name="Hotfix: duplicate charge on retry")
    assert scope_changes.conflicts(hotfix)
    assert "Remove the v1 statements endpoint" in {
        i.title for i in scope_changes.maintenance_backlog()
    }
    draft = ScopeChangeRequest.objects.first().release
    assert {a.recommendation for a in scope_changes.tech_debt_recommendation(draft)}
