"""The release page's scope-negotiation panel (Scope tab): ``{% scope_change_panel release %}``."""

from django import template

from releases import scope_changes
from releases.forms_scope_changes import DecideForm
from releases.models.scope_changes import ScopeChangeStatus

register = template.Library()


def _risk(context, release):
    """Reuse the page's risk assessment (the Risk tab's tags cache it per release)."""
    from governance import risk

    cache = context.render_context.setdefault("risk_results", {})
    if release.pk not in cache:
        cache[release.pk] = risk.assess(release)
    return cache[release.pk]


@register.inclusion_tag("releases/scope_change_panel.html", takes_context=True)
def scope_change_panel(context, release):
    """Change requests (Accept/Decline for the product owner), the emergency-fix conflicts with
    their options, and include/defer advice for tech debt. A fixed number of queries."""
    user = context["request"].user
    changes = list(
        release.scope_change_requests.select_related("requested_by", "decided_by", "service")
    )
    pending = [c for c in changes if c.status == ScopeChangeStatus.PENDING]
    decider_ids = (
        {u.pk for u in scope_changes.deciders(release)}
        if pending and user.has_perm(scope_changes.DECIDE_PERMISSION)
        else set()
    )
    for change in changes:
        change.can_decide = (
            change.status == ScopeChangeStatus.PENDING
            and user.pk in decider_ids
            and change.requested_by_id != user.pk
        )
    has_debt = any(i.kind == "tech_debt" for i in release.scope_items.all())
    advice = (
        scope_changes.tech_debt_recommendation(release, _risk(context, release)) if has_debt else []
    )
    return {
        "release": release,
        "changes": changes,
        "conflicts": scope_changes.conflicts(release, changes),
        "advice": advice,
        "decide_form": DecideForm(),
        "can_request": user.has_perm(scope_changes.REQUEST_PERMISSION),
        "can_estimate": user.has_perm("releases.change_techdebtestimate"),
    }
