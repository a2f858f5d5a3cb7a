"""The register panels: the release page's "Risks & known errors" tab and the service page."""

from django import template

from governance import register as rules

register = template.Library()


@register.inclusion_tag("governance/register_panel.html", takes_context=True)
def register_panel(context, release):
    """Entries on the release and on the services it ships (open first), with buttons to record
    one (prefilled) and, for auditors, compliance officers and release managers, an evidence
    pack. Two queries."""
    user = context["request"].user
    entries = list(
        rules.with_related(rules.for_release(release)).order_by("status", "-created")[:50]
    )
    own = [e for e in entries if e.release_id == release.pk]
    inherited = [e for e in entries if e.release_id != release.pk]
    return {
        "release": release,
        "own": own,
        "inherited": inherited,
        "open_count": sum(1 for e in entries if rules.is_open(e)),
        "can_add": user.has_perm(rules.ADD_PERMISSION),
        "can_export": user.has_perm("governance.export_evidence"),
        "request": context["request"],
    }


@register.simple_tag
def register_open_count(release) -> int:
    """Open entries on the release or its services (the tab's badge). One query."""
    return rules.open_entries(rules.for_release(release)).count()


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
