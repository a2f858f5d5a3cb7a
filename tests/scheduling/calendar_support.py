"""Builders shared by the calendar-window tests (plain functions; each test module has its own
fixtures, so nothing here is collected or shadowed)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from scheduling.models import FreezeWindow, Region

UTC = ZoneInfo("UTC")


def local(year, month, day, hour=0, minute=0, zone="UTC") -> datetime:
    """An aware datetime at that wall-clock time in ``zone``."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def region(code="eu-de", name="Germany", zone="Europe/Berlin", country="DE", **fields) -> Region:
    found, _ = Region.objects.get_or_create(
        code=code,
        defaults={"name": name, "timezone": zone, "country_code": country, **fields},
    )
    return found


def window(
    name="Window",
    start=None,
    end=None,
    *,
    services=(),
    teams=(),
    environments=(),
    regions=(),
    **fields,
) -> FreezeWindow:
    """A calendar window, validated like the forms and the API do (``full_clean``)."""
    created = FreezeWindow(name=name, start=start, end=end, **fields)
    created.full_clean()
    created.save()
    for relation, objects in (
        ("services", services),
        ("teams", teams),
        ("environments", environments),
        ("regions", regions),
    ):
        if objects:
            getattr(created, relation).set(objects)
    return created
