"""The release page's Validation panels "Rollback scope" and "DR validation", and the service
page's DR tests."""

from django import template

from releases import dr, rollback_scope
from releases.models import DrTest

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
        "can_delete": user.has_perm(rollback_scope.DELETE_PERMISSION)
        and release.state not in rollback_scope.FINISHED_STATES,
        "can_record_dr": user.has_perm(dr.ADD_PERMISSION),
    }


SERVICE_DR_TESTS = 5


@register.inclusion_tag("releases/service_dr_panel.html", takes_context=True)
def service_dr_panel(context, service):
    """The service's latest DR tests and, for an HA service, its DR verdict. At most four
    queries at any size: the latest tests, their count, and the verdict's two."""
    tests = DrTest.objects.filter(service=service).select_related("recorded_by")
    return {
        "service": service,
        "tests": list(tests.order_by("-tested_at", "-pk")[:SERVICE_DR_TESTS]),
        "count": tests.count(),
        "verdict": next(iter(dr.verdicts([service])), None),
        "dr_days": dr.validity_days(),
        "can_record_dr": context["request"].user.has_perm(dr.ADD_PERMISSION),
    }
