"""Builders for the planning tests (schedule check, vendors, go-live rules).

Times are relative to a Monday 00:00 UTC at least two weeks ahead, so the tests
do not depend on today's date and never plan in the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from scheduling.choices import ExceptionStatus, Hardness, WindowKind
from scheduling.models import (
    Environment,
    FreezeException,
    FreezeWindow,
    GoLiveRule,
    Region,
    Reservation,
    ValidationNeed,
    VendorDeliverable,
)
from tests.factories import EnvironmentFactory, ReleaseFactory

TWO_HOURS = timedelta(hours=2)


def monday(weeks_ahead: int = 2) -> datetime:
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def production() -> Environment:
    return EnvironmentFactory(slug="production", name="Production", order=90, is_production=True)


def staging(capacity: int = 1) -> Environment:
    env = EnvironmentFactory(slug="staging", name="Staging", order=50)
    env.capacity = capacity
    env.save()
    return env


def region(code: str, tz: str = "UTC", order: int = 100, name: str | None = None) -> Region:
    return Region.objects.create(
        code=code, name=name or code.upper(), timezone=tz, rollout_order=order
    )


def window(
    name: str,
    start: datetime,
    end: datetime,
    *,
    kind: str = WindowKind.FREEZE,
    hardness: str = Hardness.HARD,
    rrule: str = "",
    tz: str = "UTC",
    services=(),
    environments=(),
    regions=(),
    allowed=(),
) -> FreezeWindow:
    w = FreezeWindow.objects.create(
        name=name,
        kind=kind,
        hardness=hardness,
        start=start,
        end=end,
        rrule=rrule,
        timezone=tz,
        allowed_change_types=list(allowed),
    )
    w.services.set(services)
    w.environments.set(environments)
    w.regions.set(regions)
    return w


def planned(author, service, start: datetime, duration: timedelta = TWO_HOURS, **fields):
    return ReleaseFactory(
        author=author,
        services=[(service, "2.0.0")],
        planned_start=start,
        planned_end=start + duration,
        **fields,
    )


def booking(release, environment, start, end, user) -> Reservation:
    return Reservation.objects.create(
        release=release,
        environment=environment,
        purpose="uat",
        start=start,
        end=end,
        reserved_by=user,
    )


def need(release, environment, n_hours: int) -> ValidationNeed:
    return ValidationNeed.objects.create(release=release, environment=environment, hours=n_hours)


def deliverable(release, expected_at, buffer_hours=48, vendor="Acme Payments") -> VendorDeliverable:
    return VendorDeliverable.objects.create(
        release=release,
        vendor=vendor,
        description="PSD2 SCA SDK 4.2",
        expected_at=expected_at,
        buffer_hours=buffer_hours,
    )


def rule(region_, earliest_at, *, release=None, service=None, basis="Regulator notice period"):
    return GoLiveRule.objects.create(
        region=region_, release=release, service=service, earliest_at=earliest_at, legal_basis=basis
    )


def approved_exception(release, window_, decided_by, valid_from, valid_until) -> FreezeException:
    return FreezeException.objects.create(
        release=release,
        window=window_,
        justification="Regulatory fix",
        risk="Small change",
        valid_from=valid_from,
        valid_until=valid_until,
        status=ExceptionStatus.APPROVED,
        requested_by=release.author,
        decided_by=decided_by,
        decided_at=timezone.now(),
    )


def codes(decision, passed=None) -> list[str]:
    return [r.code for r in decision.reasons if passed is None or r.passed == passed]


def failed(decision, code):
    found = [r for r in decision.reasons if r.code == code and not r.passed]
    assert found, f"no failed {code} in {[(r.code, r.passed, r.message) for r in decision.reasons]}"
    return found[0]
