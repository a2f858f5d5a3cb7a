"""Release page panels: API compatibility and hotfix carry-forward (Packaging tab), integration
testing (Validation tab). Each does a fixed number of queries whatever the data size."""

from django import template

from releases import api_compat, hotfixes, integration

register = template.Library()


@register.inclusion_tag("releases/api_compat_panel.html", takes_context=True)
def interface_panels(context, release):
    """API changes with their flags (two queries) and the hotfix carry-forward (six at most)."""
    decision = api_compat.check(release)
    changes = api_compat.release_changes(release)
    for change, reason in zip(changes, decision.reasons, strict=False):
        change.reason = reason
    base = hotfixes.based_on_production(release) if hotfixes.is_hotfix(release) else None
    user = context["request"].user
    return {
        "release": release,
        "changes": changes,
        "compat": decision,
        "is_hotfix": hotfixes.is_hotfix(release),
        "base": base,
        "carry": hotfixes.for_release(release),
        "can_record": user.has_perm("releases.add_apichange")
        and release.state not in integration.FINISHED_STATES,
        "request": context.get("request"),
    }


@register.inclusion_tag("releases/integration_panel.html", takes_context=True)
def integration_panel(context, release):
    """Flows, the teams each spans and their sign-off; Sign / Refuse forms on the rows of the
    user's teams (``integration.sign`` still checks membership when they are posted)."""
    user = context["request"].user
    result = integration.release_status(release)
    my_teams = (
        set(user.teams.values_list("pk", flat=True))
        if result.flows and user.has_perm(integration.SIGN_PERMISSION)
        else set()
    )
    return {
        "release": release,
        "result": result,
        "my_teams": my_teams,
        "can_edit": user.has_perm("releases.add_integrationflow")
        and release.state not in integration.FINISHED_STATES,
        "csrf_token": context.get("csrf_token"),
    }
