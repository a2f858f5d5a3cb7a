"""Small helpers for the calendar-window and calendar pages."""

from zoneinfo import ZoneInfo

from django import template
from django.utils.html import format_html

from scheduling.choices import WindowKind
from scheduling.forms import describe_rrule
from scheduling.windows import policy_text

register = template.Library()

KIND_ICONS = {
    WindowKind.FREEZE: "❄",
    WindowKind.BLACKOUT: "■",
    WindowKind.MAINTENANCE: "⚙",
    WindowKind.RELEASE_WINDOW: "✓",
}
SHORT_KIND = {
    WindowKind.FREEZE: "Freeze",
    WindowKind.BLACKOUT: "Blackout",
    WindowKind.MAINTENANCE: "Maintenance",
    WindowKind.RELEASE_WINDOW: "Release window",
}


@register.simple_tag
def kind_badge(window):
    """The window's kind as a coloured badge (same colours as on the calendar)."""
    kind = window.kind
    return format_html(
        '<span class="badge cal-badge cal-{}">{} {}</span>',
        kind.replace("_", "-"),
        KIND_ICONS.get(kind, ""),
        SHORT_KIND.get(kind, kind),
    )


@register.simple_tag
def hardness_badge(window):
    if window.kind == WindowKind.MAINTENANCE:
        return ""  # maintenance never blocks: hard/soft would contradict its policy
    if window.hardness == "soft":
        return format_html(
            '<span class="badge text-bg-light border" title="{}">soft</span>',
            "Warns; deploying needs a reason",
        )
    return format_html('<span class="badge text-bg-dark" title="{}">hard</span>', "The gate denies")


@register.filter
def rule_label(rrule: str) -> str:
    """A rule in plain words (a preset's name, or a common shape), else the rule itself."""
    return describe_rrule(rrule)


@register.filter
def policy(window) -> str:
    return policy_text(window)


@register.filter
def in_zone(moment, zone):
    """The wall-clock time of ``moment`` in the IANA zone ``zone`` (a name or a ZoneInfo).

    Naive on purpose: Django's date and time filters would turn an aware value back into the
    site's zone. Templates name the zone next to it."""
    if moment is None:
        return None
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    return moment.astimezone(zone).replace(tzinfo=None)
