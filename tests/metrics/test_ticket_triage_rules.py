"""Ticket triage rules: release-related, pre-existing or unclear, with the evidence; imports
refused whole on a bad row or a duplicate; overrides need a reason and are kept."""

from datetime import timedelta

import pytest

from metrics import triage
from metrics.models import SupportTicket
from releasemgr.decisions import NotPermitted
from tests.metrics.tickets_support import imported, row, shipped

PAY_FAIL = "Card payment fails at checkout with error 502 gateway timeout"


def test_a_new_problem_after_a_production_deployment_is_release_related(move_to, bob):
    deployment = shipped(move_to, hours_ago=10)
    opened = deployment.finished_at + timedelta(hours=2)

    (ticket,) = imported(bob, row("HD-1", opened, PAY_FAIL, "Pressing Pay shows 502."))

    assert ticket.classification == "release_related"
    assert ticket.attributed_deployment == deployment
    assert ticket.attributed_release == deployment.release
    codes = {r["code"]: r for r in ticket.evidence}
    assert codes["recent_deployment"]["passed"] is True
    assert deployment.release.key in codes["recent_deployment"]["message"]
    assert "2 h before" in codes["recent_deployment"]["message"]
    assert codes["seen_before"]["passed"] is True


def test_a_problem_reported_before_the_deployment_is_pre_existing_and_names_the_earlier_ticket(
    move_to, bob
):
    deployment = shipped(move_to, hours_ago=10)
    before = deployment.finished_at - timedelta(days=3)
    after = deployment.finished_at + timedelta(hours=1)

    earlier, ticket = imported(
        bob,
        row("HD-1", before, "Card payment fails at checkout, error 502"),
        row("HD-2", after, PAY_FAIL),
    )

    assert ticket.classification == "pre_existing"
    assert ticket.attributed_release is None
    seen = next(r for r in ticket.evidence if r["code"] == "seen_before")
    assert seen["passed"] is False
    assert "HD-1" in seen["message"]
    assert seen["data"]["matches"][0]["ticket"] == "HD-1"
    assert earlier.classification == "pre_existing"  # no deployment before it


def test_a_ticket_with_no_deployment_in_the_window_is_pre_existing(move_to, bob, settings):
    settings.TRIAGE_WINDOW_HOURS = 72
    deployment = shipped(move_to, hours_ago=100)
    opened = deployment.finished_at + timedelta(hours=80)

    (ticket,) = imported(bob, row("HD-1", opened, PAY_FAIL))

    assert ticket.classification == "pre_existing"
    assert ticket.attributed_deployment is None
    recent = next(r for r in ticket.evidence if r["code"] == "recent_deployment")
    assert recent["passed"] is False
    assert "72 h" in recent["message"]


def test_a_ticket_only_partly_like_an_earlier_one_is_unclear(move_to, bob):
    deployment = shipped(move_to, hours_ago=10)

    _earlier, ticket = imported(
        bob,
        row(
            "HD-1",
            deployment.finished_at - timedelta(days=1),
            "Checkout payment slow on mobile",
            "Spinner for ages",
        ),
        row(
            "HD-2",
            deployment.finished_at + timedelta(hours=1),
            "Checkout payment declined",
            "Spinner then declined",
        ),
    )

    assert ticket.classification == "unclear"
    assert ticket.attributed_release == deployment.release  # the candidate stays visible
    assert "HD-1" in next(r for r in ticket.evidence if r["code"] == "seen_before")["message"]


def test_a_ticket_that_says_too_little_is_unclear(move_to, bob):
    deployment = shipped(move_to, hours_ago=10)

    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), "Help!"))

    assert ticket.classification == "unclear"
    assert any(r["code"] == "comparable" and not r["passed"] for r in ticket.evidence)


def test_only_production_deployments_of_the_tickets_service_count(move_to, bob, payments):
    from tests.factories import ServiceFactory

    deployment = shipped(move_to, hours_ago=10)
    other = ServiceFactory(slug="ledger", team=payments.team)

    (ticket,) = imported(
        bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL, service="ledger")
    )

    assert other.support_tickets.get() == ticket
    assert ticket.classification == "pre_existing"
    assert ticket.attributed_release is None


def test_words_are_normalised_before_they_are_compared():
    assert triage.words("The PAYMENT fails; payment-FAILS!") == {"payment", "fails"}
    assert triage.jaccard(triage.words("card payment fails"), triage.words("payment fails")) == (
        pytest.approx(2 / 3)
    )


# --- import: refused whole ---------------------------------------------------------------------


def test_a_ticket_already_imported_is_refused_and_nothing_of_the_batch_is_written(move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)
    imported(bob, row("HD-1", when, PAY_FAIL))
    before = (SupportTicket.objects.count(), SupportTicket.history.count())

    with pytest.raises(triage.InvalidInput) as refused:
        imported(bob, row("HD-2", when, "Other thing broke"), row("HD-1", when, PAY_FAIL))

    assert "Row 2: Duplicate ticket HD-1: it was already imported" in refused.value.message
    assert (SupportTicket.objects.count(), SupportTicket.history.count()) == before


def test_a_ticket_twice_in_one_file_is_refused_naming_both_rows(move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)

    with pytest.raises(triage.InvalidInput) as refused:
        imported(bob, row("HD-1", when, PAY_FAIL), row("HD-1", when, PAY_FAIL))

    assert "Row 2: Duplicate ticket HD-1: already in row 1 of this import." in refused.value.message
    assert SupportTicket.objects.count() == 0


def test_a_bad_row_refuses_the_file_with_its_row_number_and_field(move_to, bob):
    deployment = shipped(move_to)
    when = deployment.finished_at + timedelta(hours=1)

    with pytest.raises(triage.InvalidInput) as refused:
        imported(
            bob,
            row("HD-1", when, PAY_FAIL),
            {**row("HD-2", when, PAY_FAIL, service="no-such"), "rating": "7"},
            {**row("HD-3", when, ""), "opened_at": "yesterday"},
        )

    messages = {(r.data["row"], r.data["field"]): r.message for r in refused.value.reasons}
    assert messages[(2, "service")].startswith("Row 2: No service 'no-such'")
    assert "rating must be a whole number from 1 to 5" in messages[(2, "rating")]
    assert "opened_at must be a date-time" in messages[(3, "opened_at")]
    assert messages[(3, "subject")] == "Row 3: subject is required."
    assert SupportTicket.objects.count() == 0


def test_a_role_that_may_not_import_is_refused(move_to, dave):
    deployment = shipped(move_to)

    with pytest.raises(NotPermitted):
        imported(dave, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))


def test_secrets_in_a_ticket_are_redacted_before_saving(move_to, bob):
    deployment = shipped(move_to)
    token = "ghp_" + "a1B2c3D4e5" * 4

    (ticket,) = imported(
        bob,
        row(
            "HD-1",
            deployment.finished_at + timedelta(hours=1),
            f"Login fails with token {token}",
            f"My password=Hunter2Secret! and key {token}",
        ),
    )

    assert token not in ticket.subject + ticket.text
    assert "Hunter2Secret" not in ticket.text
    assert all(token not in h.subject + h.text for h in ticket.history.all())


# --- override --------------------------------------------------------------------------------


def test_an_override_needs_a_reason_and_is_kept_when_triaged_again(move_to, bob, alice):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))

    with pytest.raises(triage.InvalidInput) as refused:
        triage.override(ticket, alice, "pre_existing", "  ")
    assert refused.value.reasons[0].data["field"] == "reason"
    ticket.refresh_from_db()
    assert ticket.classification == "release_related"

    triage.override(ticket, alice, "pre_existing", "Known bank outage, status page INC-9")
    triage.retriage([ticket])

    ticket.refresh_from_db()
    assert ticket.classification == "pre_existing"
    assert ticket.attributed_release is None
    assert ticket.overridden_by == alice
    assert ticket.history.filter(
        history_change_reason__contains="Known bank outage", history_user=alice
    ).exists()


def test_overriding_to_release_related_uses_the_deployment_triage_found(move_to, bob):
    deployment = shipped(move_to, hours_ago=10)
    _earlier, ticket = imported(
        bob,
        row("HD-1", deployment.finished_at - timedelta(days=1), PAY_FAIL),
        row("HD-2", deployment.finished_at + timedelta(hours=1), PAY_FAIL),
    )
    assert ticket.classification == "pre_existing"

    updated = triage.override(ticket, bob, "release_related", "The retry change made it worse")

    assert updated.attributed_release == deployment.release
    assert updated.attributed_deployment == deployment


def test_release_related_without_any_candidate_needs_a_release(move_to, alice, bob):
    deployment = shipped(move_to, hours_ago=10)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at - timedelta(days=1), PAY_FAIL))

    with pytest.raises(triage.InvalidInput) as refused:
        triage.override(ticket, alice, "release_related", "It is the new release")

    assert refused.value.reasons[0].data["field"] == "release"


def test_a_developer_may_not_override(move_to, bob, dave):
    deployment = shipped(move_to)
    (ticket,) = imported(bob, row("HD-1", deployment.finished_at + timedelta(hours=1), PAY_FAIL))

    with pytest.raises(NotPermitted):
        triage.override(ticket, dave, "pre_existing", "no")
