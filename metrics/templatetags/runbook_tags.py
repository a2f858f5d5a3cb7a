"""The release page's "runbook updated" checklist panel."""

from django import template

from metrics import runbooks

register = template.Library()


@register.inclusion_tag("metrics/runbook_checklist_panel.html", takes_context=True)
def runbook_checklist_panel(context, release):
    """One item per service whose behaviour the release changes, with the versions that may
    be linked (a fixed number of queries: one per changed service for the choices)."""
    user = context["request"].user
    decision = runbooks.checklist(release)
    can_link = user.has_perm(runbooks.LINK_PERMISSION) and release.state not in (
        runbooks.CLOSED_STATES
    )
    items = []
    for reason in decision.reasons:
        slug = reason.data["service"]
        choices = []
        if can_link:
            choices = list(runbooks.eligible_versions(release, None, service_slug=slug)[:50])
        items.append({"reason": reason, "choices": choices})
    return {
        "release": release,
        "items": items,
        "can_link": can_link,
        "can_write": user.has_perm(runbooks.WRITE_PERMISSION),
        "csrf_token": context.get("csrf_token"),
    }
