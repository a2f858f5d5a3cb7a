from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dateutil.rrule import DAILY, rrulestr
from django.core.exceptions import ValidationError


def validate_timezone(value: str) -> None:
    if not value or value not in _zones():
        raise ValidationError(
            "'%(value)s' is not a known time zone; use an IANA name such as Europe/Berlin or UTC.",
            code="invalid_timezone",
            params={"value": value},
        )
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError as exc:  # pragma: no cover - zones() and ZoneInfo agree
        raise ValidationError(f"'{value}' is not a known time zone.") from exc


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
        _ZONES.add("UTC")
    return _ZONES


def validate_rrule(value: str) -> None:
    """An iCalendar RRULE body such as ``FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1``."""
    if not value:
        return
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if "DTSTART" in text.upper():
        raise ValidationError("Leave DTSTART out of the rule: the window's start is used.")
    if "FREQ=" not in text.upper().replace(" ", ""):
        raise ValidationError(
            "The recurrence rule needs a frequency, e.g. FREQ=WEEKLY;BYDAY=SA,SU.",
            code="invalid_rrule",
        )
    try:
        rule = rrulestr(text, ignoretz=True)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            "The recurrence rule does not parse (%(error)s). Example: "
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
            code="invalid_rrule",
            params={"error": exc},
        ) from exc
    if getattr(rule, "_count", None) == 0:
        raise ValidationError(
            "COUNT=0 gives no occurrence at all: use a positive COUNT or leave it out.",
            code="invalid_rrule",
        )
    # Calendar windows repeat daily at most often (expanding finer rules costs without benefit).
    if getattr(rule, "_freq", 0) > DAILY:
        raise ValidationError(
            "Windows repeat at most daily: use FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.",
            code="invalid_rrule",
        )
