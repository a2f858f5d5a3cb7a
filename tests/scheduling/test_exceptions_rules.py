"""Freeze exceptions, the rules (scheduling.freeze_exceptions): asking, deciding, withdrawing."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from releasemgr.decisions import DomainError, IllegalTransition, NotPermitted
from releasemgr.roles import RELEASE_MANAGER
from releases import lifecycle
from releases.choices import ChangeType, ReleaseKind
from scheduling import freeze_exceptions
from scheduling.freeze_exceptions import InvalidRequest
from scheduling.models import FreezeException
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory
from tests.scheduling.exceptions_support import ask, footprint, window


@pytest.fixture
def freeze(payments):
    return window("Quarter-end freeze")


@pytest.fixture
def rita(db):
    """A second release manager."""
    return make_user("rita", RELEASE_MANAGER)


def failed_codes(decision) -> list[str]:
    return [r.code for r in decision.failed]


def refused(excinfo) -> dict[str, str]:
    return {r.data["field"]: r.message for r in excinfo.value.reasons}


# --- asking -------------------------------------------------------------------------------------


def test_a_developer_asks_for_an_exception_and_it_waits_for_a_decision(draft_release, freeze, dave):
    exception = ask(draft_release, freeze, dave)

    assert exception.status == "pending"
    assert exception.requested_by == dave
    assert exception.requester_roles == ["developer"]
    assert exception.expedited is False
    assert exception.justification and exception.risk
    assert [h.history_change_reason for h in exception.history.all()] == ["requested"]


def test_a_window_that_does_not_apply_to_the_release_is_refused_and_nothing_is_written(
    draft_release, dave
):
    elsewhere = window("Search freeze", services=[ServiceFactory(slug="search")])
    before = footprint()

    with pytest.raises(InvalidRequest) as excinfo:
        ask(draft_release, elsewhere, dave)

    assert refused(excinfo) == {
        "window": f"'Search freeze' does not apply to {draft_release.key} between those "
        "times; no exception is needed."
    }
    assert excinfo.value.status_code == 400
    assert footprint() == before


def test_a_window_that_is_over_before_the_exception_starts_does_not_apply(draft_release, dave):
    past = window("Last week's freeze", starts_in=timedelta(days=-8), lasts=timedelta(days=1))

    with pytest.raises(InvalidRequest) as excinfo:
        ask(draft_release, past, dave)

    assert "does not apply" in refused(excinfo)["window"]
    assert FreezeException.objects.count() == 0


def test_a_window_limited_to_one_environment_still_applies_to_the_release(
    draft_release, environments, dave
):
    production_only = window("Production freeze", environments=[environments["production"]])

    assert ask(draft_release, production_only, dave).window == production_only


def test_an_exception_ending_before_it_starts_is_refused(draft_release, freeze, dave):
    now = timezone.now()
    before = footprint()

    with pytest.raises(InvalidRequest) as excinfo:
        ask(
            draft_release,
            freeze,
            dave,
            valid_from=now + timedelta(hours=5),
            valid_until=now + timedelta(hours=2),
        )

    assert refused(excinfo) == {"valid_until": "The exception must end after it starts."}
    assert footprint() == before


def test_an_exception_longer_than_seven_days_is_refused(draft_release, dave):
    long_freeze = window("Year-end freeze", lasts=timedelta(days=20))
    now = timezone.now()

    with pytest.raises(InvalidRequest) as excinfo:
        ask(draft_release, long_freeze, dave, valid_from=now, valid_until=now + timedelta(days=8))

    assert refused(excinfo) == {
        "valid_until": "An exception lasts at most 7 days; ask for a shorter one."
    }


def test_an_exception_already_over_is_refused(draft_release, freeze, dave):
    now = timezone.now()

    with pytest.raises(InvalidRequest) as excinfo:
        ask(
            draft_release,
            freeze,
            dave,
            valid_from=now - timedelta(hours=3),
            valid_until=now - timedelta(hours=1),
        )

    assert refused(excinfo) == {"valid_until": "The exception would already be over."}
    assert FreezeException.objects.count() == 0


@pytest.mark.parametrize("kind", ["maintenance", "release_window"])
def test_a_window_that_blocks_nothing_needs_no_exception(draft_release, dave, kind):
    harmless = window("Tuesday window", kind=kind)

    with pytest.raises(InvalidRequest) as excinfo:
        ask(draft_release, harmless, dave)

    assert "it blocks nothing" in refused(excinfo)["window"]
    assert FreezeException.objects.count() == 0


def test_a_change_type_the_window_allows_needs_no_exception(dave, payments):
    standard = ReleaseFactory(
        author=dave, change_type=ChangeType.STANDARD, services=[(payments, "1.0.1")]
    )
    holiday = window("Holiday freeze", allowed_change_types=["standard", "emergency"])

    with pytest.raises(InvalidRequest) as excinfo:
        ask(standard, holiday, dave)

    assert refused(excinfo) == {
        "window": "Standard changes may ship during 'Holiday freeze'; no exception is needed."
    }


def test_every_problem_is_reported_at_once(draft_release, dave):
    harmless = window("Maintenance", kind="maintenance")
    now = timezone.now()

    with pytest.raises(InvalidRequest) as excinfo:
        ask(
            draft_release,
            harmless,
            dave,
            justification=" ",
            risk="",
            valid_from=now,
            valid_until=now - timedelta(hours=1),
        )

    assert sorted(refused(excinfo)) == ["justification", "risk", "valid_until", "window"]


def test_a_cancelled_release_cannot_ask(draft_release, freeze, dave, alice):
    lifecycle.transition(draft_release, "cancel", alice)

    with pytest.raises(InvalidRequest) as excinfo:
        ask(draft_release, freeze, dave)

    assert refused(excinfo) == {
        "release": f"{draft_release.key} is cancelled; it will not deploy again."
    }


def test_a_second_open_request_for_the_same_window_and_period_is_a_conflict(
    draft_release, freeze, dave
):
    first = ask(draft_release, freeze, dave)

    with pytest.raises(DomainError) as excinfo:
        ask(draft_release, freeze, dave)

    assert not isinstance(excinfo.value, InvalidRequest)
    assert excinfo.value.status_code == 409
    assert f"Exception #{first.pk}" in excinfo.value.message
    assert FreezeException.objects.count() == 1


def test_a_new_request_is_fine_once_the_first_was_withdrawn(draft_release, freeze, dave):
    freeze_exceptions.withdraw(ask(draft_release, freeze, dave), dave)

    assert ask(draft_release, freeze, dave).status == "pending"


@pytest.mark.parametrize("persona", ["carol", "audrey", "bob", "nobody"])
def test_only_developers_and_release_managers_may_ask(draft_release, freeze, persona, request):
    user = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        ask(draft_release, freeze, user)

    assert FreezeException.objects.count() == 0


@pytest.mark.parametrize(
    ("kind", "change_type", "expedited"),
    [
        (ReleaseKind.SECURITY_PATCH, ChangeType.NORMAL, True),
        (ReleaseKind.HOTFIX, ChangeType.EMERGENCY, True),
        (ReleaseKind.HOTFIX, ChangeType.NORMAL, False),
        (ReleaseKind.FEATURE, ChangeType.NORMAL, False),
    ],
)
def test_security_patches_and_emergency_changes_are_expedited(
    dave, payments, freeze, kind, change_type, expedited
):
    release = ReleaseFactory(
        author=dave, kind=kind, change_type=change_type, services=[(payments, "1.4.3")]
    )

    exception = ask(release, freeze, dave)

    assert exception.expedited is expedited
    assert exception.history.first().history_change_reason == (
        "requested (expedited)" if expedited else "requested"
    )


# --- deciding -----------------------------------------------------------------------------------


def test_a_cab_member_approves_a_developers_request(draft_release, freeze, dave, carol):
    exception = ask(draft_release, freeze, dave)

    decided = freeze_exceptions.decide(exception, carol, approve=True, comment="Go at 02:00.")

    assert decided.status == "approved"
    assert decided.decided_by == carol
    assert decided.decided_at is not None
    assert decided.decision_comment == "Go at 02:00."
    assert decided.history.first().history_change_reason == "approved: Go at 02:00."
    assert decided.history.first().history_user == carol


def test_a_release_manager_may_approve_a_developers_request(draft_release, freeze, dave, alice):
    exception = ask(draft_release, freeze, dave)

    assert freeze_exceptions.decide(exception, alice, approve=True).status == "approved"


def test_the_requester_cannot_approve_their_own_exception(draft_release, freeze, alice):
    exception = ask(draft_release, freeze, alice)

    verdict = freeze_exceptions.may_decide(exception, alice)
    with pytest.raises(NotPermitted) as excinfo:
        freeze_exceptions.decide(exception, alice, approve=True)

    assert failed_codes(verdict) == ["different_role", "not_requester"]
    assert {r.code for r in excinfo.value.reasons} == {"different_role", "not_requester"}
    exception.refresh_from_db()
    assert exception.status == "pending"
    assert exception.history.count() == 1


def test_someone_with_the_same_role_as_the_requester_cannot_approve(
    draft_release, freeze, alice, rita
):
    exception = ask(draft_release, freeze, alice)

    verdict = freeze_exceptions.may_decide(exception, rita)
    with pytest.raises(NotPermitted) as excinfo:
        freeze_exceptions.decide(exception, rita, approve=True)

    assert failed_codes(verdict) == ["different_role"]
    assert "requester (alice: release_manager) does not hold" in excinfo.value.message
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_a_cab_member_who_contributed_to_the_release_cannot_approve(
    draft_release, freeze, dave, erin
):
    ScopeItemFactory(release=draft_release, contributor=erin, title="Retry budget")
    exception = ask(draft_release, freeze, dave)

    verdict = freeze_exceptions.may_decide(exception, erin)
    with pytest.raises(NotPermitted) as excinfo:
        freeze_exceptions.decide(exception, erin, approve=True)

    assert failed_codes(verdict) == ["segregation_of_duties"]
    assert f"erin authored or contributed to {draft_release.key}" in excinfo.value.message


def test_a_developer_without_the_decide_permission_cannot_approve(
    draft_release, freeze, alice, dave
):
    exception = ask(draft_release, freeze, alice)

    with pytest.raises(NotPermitted) as excinfo:
        freeze_exceptions.decide(exception, dave, approve=True)

    assert [r.code for r in excinfo.value.reasons] == ["decide_permission"]
    assert "dave may not decide freeze exceptions" in excinfo.value.message
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_an_exception_is_decided_only_once(draft_release, freeze, dave, carol, erin):
    exception = ask(draft_release, freeze, dave)
    freeze_exceptions.decide(exception, carol, approve=False, comment="Wait for Monday.")

    with pytest.raises(IllegalTransition) as excinfo:
        freeze_exceptions.decide(exception, erin, approve=True)

    assert excinfo.value.status_code == 409
    assert excinfo.value.message == f"Exception #{exception.pk} is already rejected."
    exception.refresh_from_db()
    assert (exception.status, exception.decided_by) == ("rejected", carol)


def test_an_expired_request_cannot_be_approved(draft_release, dave, carol):
    freeze = window("Quarter-end freeze")
    now = timezone.now()
    exception = ask(draft_release, freeze, dave, valid_until=now + timedelta(hours=1))

    verdict = freeze_exceptions.may_decide(exception, carol, now=now + timedelta(hours=2))

    assert failed_codes(verdict) == ["still_valid"]
    assert freeze_exceptions.validity(exception, now + timedelta(hours=2)) == "expired"


# --- withdrawing --------------------------------------------------------------------------------


def test_the_requester_withdraws_a_pending_request(draft_release, freeze, dave):
    exception = ask(draft_release, freeze, dave)

    withdrawn = freeze_exceptions.withdraw(exception, dave)

    assert withdrawn.status == "withdrawn"
    assert withdrawn.history.first().history_change_reason == "withdrawn"


def test_nobody_else_withdraws_a_request(draft_release, freeze, dave, alice):
    exception = ask(draft_release, freeze, dave)

    with pytest.raises(NotPermitted):
        freeze_exceptions.withdraw(exception, alice)

    exception.refresh_from_db()
    assert exception.status == "pending"


def test_a_decided_request_cannot_be_withdrawn(draft_release, freeze, dave, carol):
    exception = ask(draft_release, freeze, dave)
    freeze_exceptions.decide(exception, carol, approve=True)

    with pytest.raises(IllegalTransition):
        freeze_exceptions.withdraw(exception, dave)


# --- where an exception stands in time ----------------------------------------------------------


def test_an_approved_exception_is_upcoming_then_in_force_then_expired(
    draft_release, freeze, dave, carol
):
    now = timezone.now()
    exception = ask(
        draft_release,
        freeze,
        dave,
        valid_from=now + timedelta(hours=1),
        valid_until=now + timedelta(hours=3),
    )
    assert freeze_exceptions.validity(exception, now) == "pending"
    freeze_exceptions.decide(exception, carol, approve=True)
    exception.refresh_from_db()

    assert freeze_exceptions.validity(exception, now) == "upcoming"
    assert freeze_exceptions.validity(exception, now + timedelta(hours=2)) == "in_force"
    assert freeze_exceptions.validity(exception, now + timedelta(hours=3)) == "expired"


# --- which windows stop a release ---------------------------------------------------------------


def test_blocking_windows_lists_the_freezes_and_blackouts_that_stop_the_release_soonest_first(
    draft_release, payments
):
    later = window("Peak sale blackout", kind="blackout", starts_in=timedelta(days=3))
    now_ = window("Quarter-end freeze")
    window("Search freeze", services=[ServiceFactory(slug="search")])
    window("Patch Tuesday", kind="maintenance")
    window("Holiday freeze", allowed_change_types=["normal"])
    window("Next quarter", starts_in=timedelta(days=60))

    found = freeze_exceptions.blocking_windows(
        draft_release, timezone.now(), timezone.now() + timedelta(days=30)
    )

    assert [b.window for b in found] == [now_, later]


def test_a_recurring_freeze_lists_each_occurrence_in_the_period(draft_release):
    weekly = window(
        "Friday freeze",
        starts_in=timedelta(days=1),
        lasts=timedelta(hours=8),
        rrule="FREQ=WEEKLY",
    )

    found = freeze_exceptions.blocking_windows(
        draft_release, timezone.now(), timezone.now() + timedelta(days=30)
    )

    assert [b.window for b in found] == [weekly]
    assert len(found[0].occurrences) in (4, 5)
    assert all(o.end - o.start == timedelta(hours=8) for o in found[0].occurrences)


# --- demo data ----------------------------------------------------------------------------------


def test_the_demo_creates_a_pending_expedited_and_an_approved_exception_once(db):
    call_command("seed_demo", verbosity=0)
    from django.contrib.auth import get_user_model

    from scheduling.models import Environment

    users = {u.username: u for u in get_user_model().objects.all()}
    envs = {e.slug: e for e in Environment.objects.all()}

    freeze_exceptions.demo(users, envs)
    freeze_exceptions.demo(users, envs)

    exceptions = list(FreezeException.objects.order_by("pk"))
    assert [(e.status, e.expedited) for e in exceptions] == [
        ("pending", True),
        ("approved", False),
    ]
    assert exceptions[0].requested_by.username == "developer"
    assert exceptions[1].decided_by.username == "cab_member"
