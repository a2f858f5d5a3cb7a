"""``{{ seconds|duration }}`` → "3 s", "2 min 5 s", "1 h 4 min", "2 d 3 h": exact for short
runs, where Django's ``timesince`` says "0 minutes"."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def duration(value) -> str:
    if value is None or value == "":
        return "—"
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    whole = int(round(seconds))
    for unit, size, smaller, smaller_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "min", 60),
        ("min", 60, "s", 1),
    ):
        if whole >= size:
            big, rest = divmod(whole, size)
            small = rest // smaller_size
            return f"{big} {unit} {small} {smaller}" if small else f"{big} {unit}"
    return f"{whole} s"  # pragma: no cover - unreachable (whole >= 60 here)
