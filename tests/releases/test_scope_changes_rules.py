"""Scope change requests: who decides, what accepting does, and bad input (issue 5, item 1)."""

from datetime import timedelta

import pytest

from governance.models import DecisionRecord
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.roles import DEVELOPER, PRODUCT_OWNER
from releases import scope_changes
from releases.choices import ScopeDecision
from releases.models import ScopeChangeRequest, ScopeItem
from releases.models.scope_changes import ScopeChangeStatus
from tests.conftest import make_user
from tests.factories import ScopeItemFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def _request(release, user, **kwargs):
    values = {
        "kind": "add",
        "title": "Export to CSV",
        "reason": "Finance needs it for the quarter close.",
        "impact_on_plan": "Two more days of testing.",
        "plan_shift_days": 2,
    }
    values.update(kwargs)
    return scope_changes.request_change(release, user, **values)


def test_developer_requests_a_scope_change_and_it_waits_for_the_product_owner(draft_release, dave):
    change = _request(draft_release, dave)
    assert change.status == ScopeChangeStatus.PENDING
    assert change.requested_by == dave
    assert change.history.first().history_change_reason == f"requested for {draft_release.key}"


def test_product_owner_accepting_an_addition_adds_the_item_and_moves_the_plan(
    draft_release, dave, paula
):
    start, end = draft_release.planned_start, draft_release.planned_end
    change = _request(draft_release, dave, service=draft_release.services.first())
    decided = scope_changes.decide(change, paula, accept=True, note="Worth two days.")
    assert decided.status == ScopeChangeStatus.ACCEPTED and decided.decided_by == paula
    item = decided.scope_item
    assert (item.title, item.decision, item.release) == (
        "Export to CSV",
        ScopeDecision.INCLUDED,
        draft_release,
    )
    draft_release.refresh_from_db()
    assert draft_release.planned_start == start + timedelta(days=2)
    assert draft_release.planned_end == end + timedelta(days=2)
    assert "scope change" in draft_release.history.first().history_change_reason
    entry = DecisionRecord.objects.get(subject=f"scope-change:{change.pk}")
    assert (entry.kind, entry.outcome, entry.actor) == ("approval", "accepted", paula)


def test_accepting_a_pull_defers_the_item_with_the_reason(draft_release, dave, paula):
    item = ScopeItemFactory(release=draft_release, title="Dark mode")
    change = _request(
        draft_release, dave, kind="pull", title="", scope_item=item, plan_shift_days=0
    )
    assert change.title == "Dark mode"
    scope_changes.decide(change, paula, accept=True)
    item.refresh_from_db()
    assert item.decision == ScopeDecision.DEFERRED
    assert "Finance needs it" in item.rationale


def test_product_owner_declines_with_a_note_and_nothing_changes_in_the_release(
    draft_release, dave, paula
):
    start = draft_release.planned_start
    change = _request(draft_release, dave)
    decided = scope_changes.decide(change, paula, accept=False, note="Not this quarter.")
    assert decided.status == ScopeChangeStatus.DECLINED
    assert decided.decision_note == "Not this quarter."
    assert not draft_release.scope_items.exists()
    draft_release.refresh_from_db()
    assert draft_release.planned_start == start
    entry = DecisionRecord.objects.get(subject=f"scope-change:{change.pk}")
    assert (entry.kind, entry.outcome) == ("rejection", "declined")


def test_declining_without_a_note_is_refused_and_the_request_stays_pending(
    draft_release, dave, paula
):
    change = _request(draft_release, dave)
    with pytest.raises(scope_changes.InvalidInput, match="Say why the change is declined"):
        scope_changes.decide(change, paula, accept=False, note=" ")
    change.refresh_from_db()
    assert change.status == ScopeChangeStatus.PENDING


def test_release_manager_and_developer_cannot_decide(draft_release, dave, alice):
    change = _request(draft_release, alice)
    for user in (alice, dave):
        with pytest.raises(NotPermitted):
            scope_changes.decide(change, user, accept=True)
    change.refresh_from_db()
    assert change.status == ScopeChangeStatus.PENDING


def test_the_requester_cannot_decide_their_own_request_even_as_product_owner(draft_release):
    pat = make_user("pat", PRODUCT_OWNER, DEVELOPER)
    change = _request(draft_release, pat)
    with pytest.raises(NotPermitted, match="requested this change"):
        scope_changes.decide(change, pat, accept=True)


def test_only_the_product_owner_of_a_shipped_service_decides_when_there_is_one(
    draft_release, dave, paula, payments
):
    quinn = make_user("quinn", PRODUCT_OWNER)
    payments.owners.add(quinn)
    change = _request(draft_release, dave)
    assert scope_changes.deciders(draft_release) == [quinn]
    with pytest.raises(NotPermitted, match="Only a product owner of"):
        scope_changes.decide(change, paula, accept=True)
    assert scope_changes.decide(change, quinn, accept=True).status == "accepted"


def test_deciding_twice_is_a_conflict(draft_release, dave, paula):
    change = _request(draft_release, dave)
    scope_changes.decide(change, paula, accept=False, note="No.")
    with pytest.raises(IllegalTransition, match="already declined"):
        scope_changes.decide(change, paula, accept=True)


def test_accepting_on_a_submitted_release_is_refused_until_it_is_withdrawn(
    submitted_release, dave, paula
):
    change = _request(submitted_release, dave)
    with pytest.raises(IllegalTransition, match="withdraw it first"):
        scope_changes.decide(change, paula, accept=True)
    change.refresh_from_db()
    assert change.status == ScopeChangeStatus.PENDING
    assert not ScopeItem.objects.filter(release=submitted_release).exists()
    assert not DecisionRecord.objects.filter(subject=f"scope-change:{change.pk}").exists()


def test_requester_withdraws_a_pending_request(draft_release, dave):
    change = _request(draft_release, dave)
    assert scope_changes.withdraw(change, dave).status == ScopeChangeStatus.WITHDRAWN
    with pytest.raises(IllegalTransition):
        scope_changes.withdraw(change, dave)


def test_empty_reason_and_negative_shift_are_refused_with_clear_messages(draft_release, dave):
    with pytest.raises(scope_changes.InvalidInput) as refused:
        _request(draft_release, dave, reason="  ", plan_shift_days=-3)
    fields = {r.data["field"]: r.message for r in refused.value.reasons}
    assert fields["reason"] == "Say why the scope should change."
    assert "0 or more" in fields["plan_shift_days"]
    assert not ScopeChangeRequest.objects.exists()


def test_pulling_an_item_of_another_release_is_refused(draft_release, dave):
    other = ScopeItemFactory(title="Elsewhere")
    with pytest.raises(scope_changes.InvalidInput, match="not in"):
        _request(draft_release, dave, kind="pull", scope_item=other)
    with pytest.raises(scope_changes.InvalidInput, match="Name the scope item"):
        _request(draft_release, dave, kind="pull")
    assert not ScopeChangeRequest.objects.exists()


def test_roles_without_the_permission_cannot_request(draft_release, paula, bob, audrey):
    for user in (paula, bob, audrey):
        with pytest.raises(NotPermitted):
            _request(draft_release, user)


def test_an_emergency_fix_request_adds_a_fix_item(draft_release, dave, paula):
    service = ServiceFactory(slug="ledger")
    change = _request(draft_release, dave, kind="emergency_fix", title="Stop double charge")
    assert change.item_kind == "fix"
    change.service = service
    change.save()
    item = scope_changes.decide(change, paula, accept=True).scope_item
    assert (item.kind, item.service) == ("fix", service)
