"""Release-page panels: incidents attributed to the release (with the latest rollback-or-fix-
forward decision), its data integrity checks, and the warning when a release that changes
batch or ETL jobs has no checks."""

from django import template
from django.db.models import Prefetch

from metrics import incidents, integrity
from metrics.forms_incidents import IntegrityCheckForm
from metrics.models import RecoveryDecision

register = template.Library()


@register.inclusion_tag("metrics/incident_panel.html", takes_context=True)
def incident_panel(context, release):
    """Two queries: the incidents with their service, and their decisions."""
    rows = list(
        release.incidents.select_related("service")
        .prefetch_related(
            Prefetch(
                "recovery_decisions",
                queryset=RecoveryDecision.objects.select_related("decided_by").order_by(
                    "-created", "-pk"
                ),
            )
        )
        .order_by("-started_at", "-pk")
    )
    for incident in rows:
        decisions = list(incident.recovery_decisions.all())
        incident.latest_decision = decisions[0] if decisions else None
    user = context["request"].user
    return {
        "release": release,
        "incidents": rows,
        "open_count": sum(1 for i in rows if not i.is_resolved),
        "can_add": user.has_perm(incidents.ADD_PERMISSION),
    }


@register.inclusion_tag("metrics/integrity_panel.html", takes_context=True)
def integrity_panel(context, release):
    """The checks with their latest result, whether closing is blocked, and the add form."""
    user = context["request"].user
    checks = integrity.checks_with_latest(release)
    verdict = integrity.integrity_verdict(release, checks)
    open_release = release.state not in integrity.FINISHED_STATES
    can_add = user.has_perm(integrity.ADD_PERMISSION) and open_release
    return {
        "release": release,
        "checks": checks,
        "verdict": verdict,
        "warning": integrity.missing_checks_warning(release, has_checks=bool(checks)),
        "can_add": can_add,
        "form": IntegrityCheckForm(release=release) if can_add else None,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("metrics/integrity_warning.html")
def integrity_warning(release):
    return {"release": release, "warning": integrity.missing_checks_warning(release)}
