"""The gate's calendar checks: hard vs soft windows, change-type allowances, release windows and
when to retry (scheduling.windows.check_windows, through the gate API where the pipeline's view
matters)."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from releases.choices import ChangeType
from scheduling.choices import Hardness, WindowKind
from scheduling.models import FreezeException
from scheduling.windows import Scope, blocking_until, check_windows
from tests.releases import builders
from tests.scheduling.calendar_support import region, window

GATE = "/api/v1/gate/"


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def approved(draft_release, dave, carol, environments):
    return builders.approve(draft_release, dave, carol)


def check(release, environments, now, env="production", region=None, reason=""):
    services = [rs.service for rs in release.release_services.all()]
    return {
        r.code: r for r in check_windows(release, services, environments[env], region, now, reason)
    }


def ask(client, body):
    response = client.post(GATE, {"service": "payments-api", "version": "1.4.2", **body})
    assert response.status_code == 200, response.content
    return response.json()


def checks_of(body):
    return {c["code"]: c for c in body["checks"]}


# --- hard and soft -----------------------------------------------------------------------


def test_a_hard_freeze_denies_and_says_when_it_ends(approved, environments, now):
    end = now + timedelta(hours=3)
    window("Quarter close", now - timedelta(hours=1), end)
    result = check(approved, environments, now)
    assert not result["freeze_window"].passed
    assert result["freeze_window"].waits
    assert result["freeze_window"].retry_after == end
    assert "Quarter close" in result["freeze_window"].message


def test_a_soft_freeze_needs_a_reason_and_passes_with_one(
    api_client, pipeline, approved, environments, now
):
    window(
        "Marketing launch week",
        now - timedelta(hours=1),
        now + timedelta(hours=5),
        hardness=Hardness.SOFT,
    )
    ci = api_client(pipeline)

    without = ask(ci, {"environment": "dev"})
    assert without["status"] == "waiting"
    assert not checks_of(without)["freeze_window"]["passed"]
    assert "give a reason" in checks_of(without)["freeze_window"]["message"]

    blank = ask(ci, {"environment": "dev", "reason": "   "})
    assert not checks_of(blank)["freeze_window"]["passed"]

    with_reason = ask(ci, {"environment": "dev", "reason": "Fix for the launch banner"})
    assert with_reason["status"] == "allowed", with_reason
    freeze = checks_of(with_reason)["freeze_window"]
    assert freeze["passed"] and "Fix for the launch banner" in freeze["message"]


def test_a_soft_blackout_is_reported_under_its_own_code(approved, environments, now):
    window(
        "Sales event",
        now - timedelta(hours=1),
        now + timedelta(hours=1),
        kind=WindowKind.BLACKOUT,
        hardness=Hardness.SOFT,
    )
    result = check(approved, environments, now)
    assert result["freeze_window"].passed
    assert not result["blackout_window"].passed
    assert check(approved, environments, now, reason="Hotfix")["blackout_window"].passed


def test_a_reason_does_not_open_a_hard_freeze(approved, environments, now):
    window("Hard", now - timedelta(hours=1), now + timedelta(hours=1))
    assert not check(approved, environments, now, reason="Please")["freeze_window"].passed


def test_maintenance_windows_inform_but_never_block(approved, environments, now):
    window("Patching", now - timedelta(hours=1), now + timedelta(hours=1), kind="maintenance")
    result = check(approved, environments, now)
    assert all(r.passed for r in result.values())


# --- holiday / peak-period policy: allowed change types ----------------------------------


@pytest.fixture
def holiday_freeze(now, environments):
    return window(
        "Holiday freeze",
        now - timedelta(days=1),
        now + timedelta(days=10),
        allowed_change_types=[ChangeType.STANDARD, ChangeType.EMERGENCY],
        environments=[environments["production"]],
    )


@pytest.mark.parametrize("change_type", [ChangeType.STANDARD, ChangeType.EMERGENCY])
def test_allowed_change_types_ship_during_the_holiday_freeze(
    approved, environments, now, holiday_freeze, change_type
):
    approved.change_type = change_type
    result = check(approved, environments, now)
    assert result["freeze_window"].passed
    assert result["exception_applied"].passed
    assert "Holiday freeze" in result["exception_applied"].message


def test_a_normal_change_needs_an_exception_during_the_holiday_freeze(
    approved, environments, now, holiday_freeze
):
    assert approved.change_type == ChangeType.NORMAL
    result = check(approved, environments, now)
    assert not result["freeze_window"].passed
    assert "exception_applied" not in result


# --- release windows ---------------------------------------------------------------------


@pytest.fixture
def mornings(now, environments):
    """A hard release window 09:00-12:00 UTC every day, for production."""
    start = now.replace(hour=9, minute=0, second=0) - timedelta(days=3)
    return window(
        "Morning release window",
        start,
        start + timedelta(hours=3),
        kind=WindowKind.RELEASE_WINDOW,
        rrule="FREQ=DAILY",
        environments=[environments["production"]],
    )


def test_outside_a_release_window_the_gate_waits_until_it_opens(
    approved, environments, now, mornings
):
    evening = now.replace(hour=18, minute=0, second=0)
    result = check(approved, environments, evening)
    reason = result["release_window"]
    assert not reason.passed and reason.waits
    assert reason.retry_after == (evening + timedelta(days=1)).replace(hour=9)
    assert "Morning release window" in reason.message


def test_inside_a_release_window_the_gate_passes(approved, environments, now, mornings):
    result = check(approved, environments, now.replace(hour=10, minute=30, second=0))
    assert result["release_window"].passed


def test_a_release_window_for_production_does_not_bind_staging(
    approved, environments, now, mornings
):
    evening = now.replace(hour=18, minute=0, second=0)
    assert check(approved, environments, evening, env="staging")["release_window"].passed


def test_a_soft_release_window_can_be_left_with_a_reason(approved, environments, now):
    start = now.replace(hour=9, minute=0, second=0) - timedelta(days=3)
    window(
        "Preferred mornings",
        start,
        start + timedelta(hours=3),
        kind=WindowKind.RELEASE_WINDOW,
        hardness=Hardness.SOFT,
        rrule="FREQ=DAILY",
    )
    evening = now.replace(hour=18, minute=0, second=0)
    without = check(approved, environments, evening)["release_window"]
    assert not without.passed and without.retry_after == (evening + timedelta(days=1)).replace(
        hour=9
    )
    assert check(approved, environments, evening, reason="Sev-1 fix")["release_window"].passed


def test_a_regional_release_window_binds_only_questions_about_that_region(
    approved, environments, now
):
    singapore = region("apac-sg", "Singapore", "Asia/Singapore", "SG")
    start = now.replace(hour=1, minute=0, second=0) - timedelta(days=3)
    window(
        "Singapore hours",
        start,
        start + timedelta(hours=8),
        kind=WindowKind.RELEASE_WINDOW,
        rrule="FREQ=DAILY",
        regions=[singapore],
    )
    evening = now.replace(hour=18, minute=0, second=0)
    assert not check(approved, environments, evening, region=singapore)["release_window"].passed
    assert check(approved, environments, evening)["release_window"].passed


# --- when to retry -----------------------------------------------------------------------


def test_back_to_back_freezes_chain_retry_after_to_the_end_of_the_last(
    api_client, pipeline, approved, environments, now
):
    window("First freeze", now - timedelta(hours=1), now + timedelta(hours=2))
    window("Second freeze", now + timedelta(hours=2), now + timedelta(hours=5))
    window("Later, separate", now + timedelta(hours=6), now + timedelta(hours=8))

    body = ask(api_client(pipeline), {"environment": "dev"})

    assert body["status"] == "waiting"
    assert datetime.fromisoformat(body["retry_after"]) == now + timedelta(hours=5)


def test_a_blackout_right_after_a_freeze_pushes_retry_after_to_its_end(approved, environments, now):
    window("Freeze", now - timedelta(hours=1), now + timedelta(hours=2))
    window(
        "Sales blackout",
        now + timedelta(hours=1),
        now + timedelta(hours=4),
        kind=WindowKind.BLACKOUT,
    )
    freeze = check(approved, environments, now)["freeze_window"]
    assert freeze.retry_after == now + timedelta(hours=4)
    assert "other windows follow" in freeze.message


def test_retry_after_a_freeze_waits_for_the_next_release_window(
    approved, environments, now, mornings
):
    at = now.replace(hour=10, minute=0, second=0)  # inside the morning window...
    window("Short freeze", at - timedelta(minutes=30), at + timedelta(hours=4))  # ...until 14:00
    result = check(approved, environments, at)
    assert not result["freeze_window"].passed
    # The freeze ends at 14:00, after the window closed at 12:00: the next chance is tomorrow 09:00.
    assert result["freeze_window"].retry_after == (at + timedelta(days=1)).replace(hour=9)


def test_an_approved_exception_lifts_only_its_own_window_in_the_chain(
    approved, environments, now, carol
):
    first = window("First", now - timedelta(hours=1), now + timedelta(hours=2))
    window("Second", now + timedelta(hours=2), now + timedelta(hours=5))
    # As scheduling.freeze_exceptions.active_exceptions hands it over: approved, time-boxed.
    exception = FreezeException(
        id=999,
        window=first,
        release=approved,
        decided_by=carol,
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=3),
    )
    scope = Scope.of(
        [rs.service for rs in approved.release_services.all()], environments["production"]
    )
    assert blocking_until(scope, now) == now + timedelta(hours=5)
    assert blocking_until(scope, now, approved, {first.pk: exception}) is None
    assert blocking_until(
        scope, now + timedelta(hours=2, minutes=1), approved, {first.pk: exception}
    ) == now + timedelta(hours=5)
