"""Builders shared by the freeze-exception tests (plain functions; each test module has its
own fixtures, so nothing here is collected or shadowed)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from scheduling import freeze_exceptions
from scheduling.models import FreezeException, FreezeWindow
from tests.factories import FreezeWindowFactory

JUSTIFICATION = "Payment failures for card holders in the EU; the fix cannot wait."
RISK = "One service, feature-flagged; rollback by redeploying 1.4.1 in five minutes."


def window(
    name: str = "Quarter-end freeze",
    *,
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=2),
    services=(),
    environments=(),
    **fields,
) -> FreezeWindow:
    """A hard freeze (or any kind given) that is active now unless ``starts_in`` says otherwise."""
    start = timezone.now().replace(microsecond=0) + starts_in
    created = FreezeWindowFactory(name=name, start=start, end=start + lasts, **fields)
    if services:
        created.services.set(services)
    if environments:
        created.environments.set(environments)
    return created


def ask(release, freeze: FreezeWindow, user, **overrides) -> FreezeException:
    """Request an exception valid from now for a day (unless overridden)."""
    now = timezone.now()
    values = {
        "justification": JUSTIFICATION,
        "risk": RISK,
        "risk_level": "medium",
        "valid_from": now - timedelta(minutes=1),
        "valid_until": now + timedelta(days=1),
    }
    values.update(overrides)
    return freeze_exceptions.request(release, freeze, user, **values)


def grant(release, freeze: FreezeWindow, requester, approver, **overrides) -> FreezeException:
    return freeze_exceptions.decide(
        ask(release, freeze, requester, **overrides), approver, approve=True, comment="ok"
    )


def footprint() -> tuple[int, int]:
    """Exceptions and their history rows: a refused request changes neither."""
    return FreezeException.objects.count(), FreezeException.history.count()
