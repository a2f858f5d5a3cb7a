"""Demo data for the calendar: regions and windows of every kind (called by ``seed_demo``).

Idempotent: regions are found by code, windows by ``source_key`` (``demo:...``), holidays by
the import's own keys. Nothing here blocks a deployment on the day the demo is seeded (so the
other demo flows and the tests that seed it keep working): the recurring blackout starts next
month, the release window is regional (it binds only questions about that region), the
year-end freeze starts at least two days ahead and holidays are imported for next year.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

from releases.choices import ChangeType
from releases.models import Service
from scheduling.choices import Hardness, WindowKind
from scheduling.holidays import HolidayImportError, import_holidays
from scheduling.models import FreezeWindow, Region

REGIONS = [
    # code, name, zone, country, subdivision, rollout order
    ("eu-de", "Germany", "Europe/Berlin", "DE", "", 10),
    ("us-east", "US East", "America/New_York", "US", "NY", 20),
    ("apac-sg", "Singapore", "Asia/Singapore", "SG", "", 30),
]


def _at(day: date, hour: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone))


def _window(key: str, user, scope: dict, **fields) -> FreezeWindow:
    window = FreezeWindow.objects.filter(source_key=key).first()
    if window is not None:
        return window
    window = FreezeWindow(source_key=key, created_by=user, **fields)
    window.full_clean(exclude=["source_key"])
    window.save_with_reason("Demo data", user)
    for relation, objects in scope.items():
        getattr(window, relation).set([o for o in objects if o is not None])
    return window


def demo(users: dict, envs: dict) -> None:
    manager = users.get("release_manager")
    regions = {}
    for code, name, zone, country, subdivision, order in REGIONS:
        regions[code], _ = Region.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "timezone": zone,
                "country_code": country,
                "subdivision": subdivision,
                "rollout_order": order,
            },
        )
    production = envs.get("production")
    payments = Service.objects.filter(slug="payments-api").first()
    today = timezone.localdate()
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)

    _window(
        "demo:month-end-close",
        manager,
        {"services": [payments], "environments": [production]},
        name="Month-end close",
        kind=WindowKind.BLACKOUT,
        hardness=Hardness.HARD,
        timezone="Europe/Berlin",
        start=_at(next_month, 0, "Europe/Berlin"),
        end=_at(next_month + timedelta(days=1), 0, "Europe/Berlin"),
        rrule="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
        reason="Finance closes the books on the last three business days of the month.",
        allowed_change_types=[ChangeType.EMERGENCY],
    )
    sunday = today + timedelta(days=(6 - today.weekday()) % 7 or 7)
    _window(
        "demo:sunday-maintenance",
        manager,
        {},
        name="Sunday platform maintenance",
        kind=WindowKind.MAINTENANCE,
        hardness=Hardness.SOFT,
        timezone="UTC",
        start=_at(sunday, 2, "UTC"),
        end=_at(sunday, 4, "UTC"),
        rrule="FREQ=WEEKLY;BYDAY=SU",
        reason="Database and cluster patching by the platform team.",
    )
    _window(
        "demo:apac-release-window",
        manager,
        {"environments": [production], "regions": [regions["apac-sg"]]},
        name="APAC business-hours release window",
        kind=WindowKind.RELEASE_WINDOW,
        hardness=Hardness.SOFT,
        timezone="Asia/Singapore",
        start=_at(today, 9, "Asia/Singapore"),
        end=_at(today, 17, "Asia/Singapore"),
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        reason="Production changes in Singapore happen while the support desk is staffed.",
    )
    year = today.year
    freeze_start = date(year, 12, 20)
    if freeze_start <= today + timedelta(days=2):
        freeze_start = date(year + 1, 12, 20)
    _window(
        f"demo:year-end-freeze-{freeze_start.year}",
        manager,
        {"environments": [production]},
        name=f"Year-end holiday freeze {freeze_start.year}",
        kind=WindowKind.FREEZE,
        hardness=Hardness.HARD,
        timezone="Europe/Berlin",
        start=_at(freeze_start, 0, "Europe/Berlin"),
        end=_at(date(freeze_start.year + 1, 1, 4), 0, "Europe/Berlin"),
        reason="Reduced staffing over the holidays.",
        allowed_change_types=[ChangeType.STANDARD, ChangeType.EMERGENCY],
    )
    for code in ("eu-de", "us-east"):
        try:
            import_holidays(
                regions[code],
                year + 1,
                kind=WindowKind.FREEZE,
                hardness=Hardness.SOFT,
                allowed_change_types=[ChangeType.STANDARD, ChangeType.EMERGENCY],
                user=manager,
            )
        except HolidayImportError:  # a region edited since to an unknown country
            continue
