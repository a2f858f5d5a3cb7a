"""The register panels: the release page's "Risks & known errors" tab and the service page."""

from django import template

from governance import register as rules

register = template.Library()


LISTED = 50


def _load(release) -> list:
    """Entries on the release and on the services it ships (open first), loaded once per page:
    the tab's badge and the panel share them. One query."""
    cached = getattr(release, "_register_entries", None)
    if cached is None:
        cached = release._register_entries = list(
            rules.with_related(rules.for_release(release)).order_by("status", "-created")[:LISTED]
        )
    return cached


@register.inclusion_tag("governance/register_panel.html", takes_context=True)
def register_panel(context, release):
    """Entries on the release and on the services it ships (open first), with a button to
    record one (prefilled)."""
    user = context["request"].user
    entries = _load(release)
    own = [e for e in entries if e.release_id == release.pk]
    inherited = [e for e in entries if e.release_id != release.pk]
    return {
        "release": release,
        "own": own,
        "inherited": inherited,
        "open_count": sum(1 for e in entries if rules.is_open(e)),
        "can_add": user.has_perm(rules.ADD_PERMISSION),
        "request": context["request"],
    }


@register.simple_tag
def register_listed_count(release) -> int:
    """How many entries the tab lists (its badge): those on the release and on its services."""
    return len(_load(release))


@register.inclusion_tag("governance/register_service_panel.html", takes_context=True)
def service_register_panel(context, service):
    """Open entries on the service (and on releases shipping it). One query."""
    user = context["request"].user
    entries = list(
        rules.with_related(
            rules.open_entries().filter(service=service)
            | rules.open_entries().filter(release__release_services__service=service)
        )
        .distinct()
        .order_by("status", "-created")[:20]
    )
    return {
        "service": service,
        "entries": entries,
        "can_add": user.has_perm(rules.ADD_PERMISSION),
    }
