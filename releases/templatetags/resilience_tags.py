"""The release page's Validation panels "Rollback scope" and "DR validation"."""

from django import template

from releases import dr, rollback_scope

register = template.Library()


@register.inclusion_tag("releases/rollback_panel.html", takes_context=True)
def rollback_panel(context, release):
    """Rollback groups in order with each service's steps and minutes against its SLA, the
    flags, and each HA service's DR verdict. Constant queries: the shipped services, the
    steps, the dependency edges; the DR tests in the period and older test dates."""
    user = context["request"].user
    scope = rollback_scope.rollback_scope(release)
    services = [row.service for row in scope.services]
    return {
        "release": release,
        "scope": scope,
        "dr_verdicts": dr.verdicts(services),
        "dr_days": dr.validity_days(),
        "can_add": user.has_perm(rollback_scope.ADD_PERMISSION)
        and release.state not in rollback_scope.FINISHED_STATES,
        "can_change": user.has_perm(rollback_scope.CHANGE_PERMISSION)
        and release.state not in rollback_scope.FINISHED_STATES,
        "can_record_dr": user.has_perm(dr.ADD_PERMISSION),
    }
