"""Rates written as ``"<count>/<period>"`` (``600/min``), shared by settings and throttles.

No Django imports: settings read it before apps load, to refuse a bad value loudly.
"""

import re

PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
PERIODS |= {"h": 3600, "hour": 3600, "d": 86400, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*([a-z]+)\s*$")
OFF = {"", "off", "none"}


def parse_rate(value: str) -> tuple[int, int] | None:
    """``"600/min"`` → ``(600, 60)``; ``"off"`` or empty → ``None`` (no limit).

    Raises ``ValueError`` with a readable message for anything else.
    """
    if value is None or value.strip().lower() in OFF:
        return None
    match = _RATE.match(value.lower())
    if not match or match.group(2) not in PERIODS or int(match.group(1)) < 1:
        raise ValueError(
            f"{value!r} is not a rate: write <count>/<period> with a count of at least 1 "
            "and a period of s, min, hour or day (e.g. 600/min), or 'off'"
        )
    return int(match.group(1)), PERIODS[match.group(2)]


def env_rate(name: str, default: str) -> str:
    """A rate from the environment, refused loudly at start-up when malformed."""
    import os

    from django.core.exceptions import ImproperlyConfigured

    value = os.environ.get(name, default)
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from exc
    return value


def validate_rate(value: str) -> None:
    """Model/form validator for a rate field (blank means "the default")."""
    from django.core.exceptions import ValidationError

    try:
        parse_rate(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
