"""Public holidays of a region, turned into calendar windows (curriculum 2.1, 2.5).

Each holiday becomes a one-off window from local midnight to the next local
midnight in the region's time zone, scoped to that region, with a
``source_key`` so importing the same year again changes nothing. The
holiday calendar comes from the ``holidays`` package (country and optional
subdivision of the region).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from django.db import transaction

from releasemgr.decisions import DomainError
from releases.choices import ChangeType
from scheduling.choices import Hardness, WindowKind
from scheduling.models import FreezeWindow, Region

IMPORTABLE_KINDS = (WindowKind.FREEZE, WindowKind.BLACKOUT)
FIRST_YEAR, LAST_YEAR = 2000, 2100


class HolidayImportError(DomainError):
    """The import cannot run as asked (unknown country, bad year, ...). Nothing was written."""

    status_code = 400
    code = "invalid"

    def __init__(self, message: str, field_name: str = "non_field_errors"):
        super().__init__(message)
        self.field = field_name


@dataclass
class ImportResult:
    region: Region
    year: int
    created: list[FreezeWindow] = field(default_factory=list)
    unchanged: list[FreezeWindow] = field(default_factory=list)

    @property
    def message(self) -> str:
        made = len(self.created)
        kept = len(self.unchanged)
        text = f"{made} public holiday window(s) created for {self.region.name} in {self.year}"
        if kept:
            text += f"; {kept} already imported, left as they were"
        return text + "."


def check_country(country: str, subdivision: str = "") -> tuple[str, str] | None:
    """(field, message) when the ``holidays`` package does not know the country/subdivision."""
    supported = holiday_calendars.list_supported_countries()
    if country not in supported:
        return "country_code", f"No public-holiday calendar for country code '{country}'."
    if subdivision and subdivision not in supported[country]:
        known = ", ".join(supported[country][:12])
        more = "…" if len(supported[country]) > 12 else ""
        return (
            "subdivision",
            f"'{subdivision}' is not a subdivision of {country}"
            + (f" (known: {known}{more})." if known else "; it has none."),
        )
    return None


def public_holidays(region: Region, year: int) -> list[tuple[date, str]]:
    """(date, name) of the region's public holidays in ``year``, in date order."""
    if not region.country_code:
        raise HolidayImportError(
            f"{region.name} has no country code, so its public holidays are unknown; "
            "set one on the region first.",
            "country_code",
        )
    problem = check_country(region.country_code, region.subdivision)
    if problem:
        raise HolidayImportError(problem[1], problem[0])
    calendar = holiday_calendars.country_holidays(
        region.country_code, subdiv=region.subdivision or None, years=year
    )
    return sorted(calendar.items())


def source_key(region: Region, day: date) -> str:
    return f"holiday:{region.code}:{day.isoformat()}"


def local_day(day: date, zone: str) -> tuple[datetime, datetime]:
    """Local midnight to the next local midnight, aware (23 or 25 hours on DST days)."""
    tz = ZoneInfo(zone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return start, end


def import_holidays(
    region: Region,
    year: int,
    *,
    kind: str = WindowKind.FREEZE,
    hardness: str = Hardness.SOFT,
    allowed_change_types: list[str] | tuple[str, ...] = (),
    user=None,
) -> ImportResult:
    """Create one window per public holiday of ``region`` in ``year`` (idempotent).

    A holiday already imported (same region and date) is left exactly as it is, even if it
    was edited since. Raises ``HolidayImportError`` (nothing written) for bad input.
    """
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise HolidayImportError(f"Choose a year between {FIRST_YEAR} and {LAST_YEAR}.", "year")
    if kind not in IMPORTABLE_KINDS:
        raise HolidayImportError("Holidays become freeze or blackout windows.", "kind")
    if hardness not in Hardness.values:
        raise HolidayImportError(f"Unknown hardness '{hardness}'.", "hardness")
    unknown = set(allowed_change_types) - set(ChangeType.values)
    if unknown:
        raise HolidayImportError(
            f"Unknown change type(s): {', '.join(sorted(unknown))}.", "allowed_change_types"
        )
    days = public_holidays(region, year)
    result = ImportResult(region, year)
    keys = {source_key(region, day): (day, name) for day, name in days}
    with transaction.atomic():
        existing = {w.source_key: w for w in FreezeWindow.objects.filter(source_key__in=keys)}
        for key, (day, name) in keys.items():
            if key in existing:
                result.unchanged.append(existing[key])
                continue
            start, end = local_day(day, region.timezone)
            window = FreezeWindow(
                name=f"{name} ({region.name})",
                kind=kind,
                hardness=hardness,
                timezone=region.timezone,
                start=start,
                end=end,
                reason=f"Public holiday in {region.name}: {name}.",
                allowed_change_types=list(allowed_change_types),
                source_key=key,
                created_by=user,
            )
            window.full_clean(exclude=["source_key"])
            window.save_with_reason(f"Imported public holiday {day:%Y-%m-%d}", user)
            window.regions.add(region)
            result.created.append(window)
    return result
