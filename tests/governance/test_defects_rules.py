"""Late defects (governance.defects): the gate's open_defects check, residual-risk acceptance
and its validation, revocation, and delaying a release."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import decision_log, defects
from governance.choices import DecisionKind
from governance.models import DecisionRecord
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from releases import gate
from tests.factories import ScopeItemFactory
from tests.governance.defects_support import accept, defect, footprint

pytestmark = pytest.mark.django_db


def open_defects(result):
    return next(c for c in result.checks if c["code"] == "open_defects")


# --- the gate check -----------------------------------------------------------------------------


def test_a_release_without_defects_passes_the_check(approved_release):
    reason = defects.check_open_defects(approved_release)

    assert reason.passed and reason.code == "open_defects"
    assert "no open critical or high defects" in reason.message


def test_medium_and_resolved_defects_do_not_block(approved_release, dave):
    defect(approved_release, dave, severity="medium")
    fixed = defect(approved_release, dave, severity="critical", title="Crash")
    defects.resolve_defect(fixed, dave)

    assert defects.check_open_defects(approved_release).passed


def test_an_open_high_defect_fails_the_check_and_names_it(approved_release, dave):
    found = defect(approved_release, dave, reference="PAY-812")

    reason = defects.check_open_defects(approved_release)

    assert not reason.passed and not reason.waits
    assert "PAY-812 'Refund rounds half-cents down' (high)" in reason.message
    assert "accept the residual risk" in reason.message
    assert reason.data["blocking"] == [found.pk]


def test_the_gate_is_prevented_by_an_open_critical_defect(
    approved_release, dave, payments, environments, pipeline
):
    defect(approved_release, dave, severity="critical")

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    assert result.status == "prevented"
    assert not open_defects(result)["passed"]


def test_an_accepted_defect_passes_and_says_who_accepted_it_until_when(
    approved_release, dave, paula, payments, environments, pipeline
):
    found = defect(approved_release, dave)
    acceptance = accept(approved_release, [found], paula)

    result = gate.ask(payments, "1.4.2", environments["dev"], pipeline)

    check = open_defects(result)
    assert check["passed"]
    assert f"#{acceptance.pk} by paula until" in check["message"]
    assert check["data"]["acceptances"] == [acceptance.pk]


def test_an_acceptance_covers_only_the_defects_it_lists(approved_release, dave, paula):
    first = defect(approved_release, dave, title="First")
    second = defect(approved_release, dave, title="Second")
    accept(approved_release, [first], paula)

    assert defects.blocking_defects(approved_release) == [second]


def test_an_expired_acceptance_no_longer_covers_and_the_message_says_so(
    approved_release, dave, paula
):
    found = defect(approved_release, dave)
    acceptance = accept(approved_release, [found], paula, days=2)

    reason = defects.check_open_defects(approved_release, timezone.now() + timedelta(days=3))

    assert not reason.passed
    assert f"acceptance #{acceptance.pk} by paula expired" in reason.message
    assert reason.data["lapsed_acceptances"] == [acceptance.pk]


def test_a_revoked_acceptance_no_longer_covers(approved_release, dave, paula, olivia):
    found = defect(approved_release, dave)
    acceptance = accept(approved_release, [found], paula)

    defects.revoke(acceptance, olivia, "New evidence: affects card refunds too.")

    reason = defects.check_open_defects(approved_release)
    assert not reason.passed and f"acceptance #{acceptance.pk} by paula revoked" in reason.message
    entry = DecisionRecord.objects.filter(kind=DecisionKind.RISK_ACCEPTANCE).first()
    assert entry.outcome == "revoked" and entry.actor == olivia


def test_revoking_twice_is_refused(approved_release, dave, paula):
    acceptance = accept(approved_release, [defect(approved_release, dave)], paula)
    defects.revoke(acceptance, paula)

    with pytest.raises(IllegalTransition, match="already revoked"):
        defects.revoke(acceptance, paula)


# --- accepting residual risk ----------------------------------------------------------------


def test_an_acceptance_is_logged_and_the_owner_told(approved_release, dave, paula):
    found = defect(approved_release, dave)

    acceptance = accept(approved_release, [found], paula)

    assert acceptance.role == "product_owner"
    assert list(acceptance.defects.all()) == [found]
    (entry,) = DecisionRecord.objects.filter(kind=DecisionKind.RISK_ACCEPTANCE)
    assert entry.outcome == "accepted" and entry.actor == paula
    assert entry.subject == f"risk-acceptance:{acceptance.pk}"
    assert entry.data["defects"] == [found.pk]
    assert decision_log.verify().intact
    assert Notification.objects.filter(user=dave, kind="risk_accepted").count() == 1


def test_a_compliance_officer_may_accept_too(approved_release, dave, olivia):
    assert accept(approved_release, [defect(approved_release, dave)], olivia).role == (
        "compliance_officer"
    )


@pytest.mark.parametrize(
    ("expires", "field", "message"),
    [
        (None, "expires_at", "needs an expiry"),
        (timedelta(hours=-1), "expires_at", "must be in the future"),
        (timedelta(days=31), "expires_at", "at most 30 days"),
    ],
    ids=["no expiry", "past", "too long"],
)
def test_an_acceptance_with_a_bad_expiry_is_refused_and_nothing_written(
    approved_release, dave, paula, expires, field, message
):
    found = defect(approved_release, dave)
    before = footprint()

    with pytest.raises(defects.InvalidInput) as refused:
        defects.accept_residual_risk(
            approved_release,
            [found],
            paula,
            "Fine.",
            None if expires is None else timezone.now() + expires,
        )

    assert [r.data["field"] for r in refused.value.reasons] == [field]
    assert message in refused.value.message
    assert refused.value.status_code == 400
    assert footprint() == before
    assert not DecisionRecord.objects.filter(kind=DecisionKind.RISK_ACCEPTANCE).exists()


def test_the_maximum_length_comes_from_settings(approved_release, dave, paula, settings):
    settings.RISK_ACCEPTANCE_MAX_DAYS = 5

    with pytest.raises(defects.InvalidInput, match="at most 5 days"):
        accept(approved_release, [defect(approved_release, dave)], paula, days=6)


def test_an_acceptance_without_rationale_or_defects_is_refused(approved_release, paula):
    with pytest.raises(defects.InvalidInput) as refused:
        defects.accept_residual_risk(
            approved_release, [], paula, "  ", timezone.now() + timedelta(days=1)
        )

    assert {r.data["field"] for r in refused.value.reasons} == {"defects", "rationale"}


def test_defects_of_another_release_or_closed_ones_cannot_be_accepted(
    approved_release, draft_release, dave, paula, payments
):
    from tests.factories import ReleaseFactory

    other = ReleaseFactory(author=dave, services=[(payments, "9.0.0")])
    foreign = defect(other, dave)
    closed = defects.resolve_defect(defect(approved_release, dave), dave)

    with pytest.raises(defects.InvalidInput) as refused:
        accept(approved_release, [foreign, closed], paula)

    assert "Not defects of" in refused.value.message and "No longer open" in refused.value.message


def test_someone_without_the_permission_cannot_accept(approved_release, dave, carol):
    found = defect(approved_release, dave)

    with pytest.raises(NotPermitted):
        accept(approved_release, [found], carol)


def test_a_contributor_cannot_accept_the_risk_and_the_refusal_is_logged(
    approved_release, dave, olivia
):
    ScopeItemFactory(release=approved_release, contributor=olivia)
    found = defect(approved_release, dave)
    before = footprint()

    with pytest.raises(NotPermitted) as refused:
        accept(approved_release, [found], olivia)

    assert refused.value.reasons[0].code == "segregation_of_duties"
    assert footprint() == before
    refusal = DecisionRecord.objects.get(kind=DecisionKind.SOD_REFUSAL)
    assert refusal.actor == olivia and refusal.release_key == approved_release.key


# --- defects ------------------------------------------------------------------------------------


def test_a_defect_needs_a_title_and_a_known_severity(approved_release, dave):
    before = footprint()

    with pytest.raises(defects.InvalidInput) as refused:
        defects.report_defect(approved_release, dave, title=" ", severity="urgent")

    assert {r.data["field"] for r in refused.value.reasons} == {"title", "severity"}
    assert footprint() == before


def test_a_cab_member_cannot_report_defects(approved_release, carol):
    with pytest.raises(NotPermitted):
        defect(approved_release, carol)


def test_resolving_twice_is_refused(approved_release, dave):
    found = defects.resolve_defect(defect(approved_release, dave), dave)

    with pytest.raises(IllegalTransition):
        defects.resolve_defect(found, dave)


def test_editing_keeps_history_with_the_reason(approved_release, dave, alice):
    found = defect(approved_release, dave)

    defects.edit_defect(found, alice, "downgraded after triage", severity="medium")

    found.refresh_from_db()
    assert found.severity == "medium"
    assert found.history.first().history_change_reason == "downgraded after triage"
    assert defects.check_open_defects(approved_release).passed


# --- delaying -----------------------------------------------------------------------------------


def test_a_delay_replans_the_release_logs_it_and_tells_the_owner(approved_release, alice, dave):
    old_start, old_end = approved_release.planned_start, approved_release.planned_end
    new_start = timezone.now() + timedelta(days=14)

    delayed = defects.delay_release(approved_release, alice, new_start, None, "PAY-812 needs a fix")

    assert delayed.planned_start == new_start
    assert delayed.planned_end - delayed.planned_start == old_end - old_start
    assert delayed.state == "approved"
    assert delayed.history.first().history_change_reason == "delayed: PAY-812 needs a fix"
    entry = DecisionRecord.objects.get(kind=DecisionKind.DELAY)
    assert entry.actor == alice and entry.release_key == delayed.key
    assert entry.data["to"]["planned_start"].startswith(new_start.isoformat()[:19])
    assert Notification.objects.filter(user=dave, kind="release_delayed").count() == 1


@pytest.mark.parametrize(
    ("start", "end", "reason", "fields"),
    [
        (None, None, "x", {"planned_start"}),
        (timedelta(hours=-1), None, "x", {"planned_start"}),
        (timedelta(days=2), timedelta(days=1), "x", {"planned_end"}),
        (timedelta(days=2), None, " ", {"reason"}),
    ],
    ids=["no start", "past start", "end before start", "no reason"],
)
def test_a_bad_delay_is_refused_and_nothing_changes(
    approved_release, alice, start, end, reason, fields
):
    now = timezone.now()
    before = (approved_release.planned_start, approved_release.history.count())

    with pytest.raises(defects.InvalidInput) as refused:
        defects.delay_release(
            approved_release,
            alice,
            start and now + start,
            end and now + end,
            reason,
        )

    assert {r.data["field"] for r in refused.value.reasons} == fields
    approved_release.refresh_from_db()
    assert (approved_release.planned_start, approved_release.history.count()) == before
    assert not DecisionRecord.objects.filter(kind=DecisionKind.DELAY).exists()


def test_a_deploying_release_cannot_be_delayed(move_to, alice):
    release = move_to("deploying")

    with pytest.raises(IllegalTransition, match="not started deploying"):
        defects.delay_release(release, alice, timezone.now() + timedelta(days=3), None, "late")


def test_a_deployer_cannot_delay(approved_release, bob):
    with pytest.raises(NotPermitted):
        defects.delay_release(approved_release, bob, timezone.now() + timedelta(days=3), None, "x")
