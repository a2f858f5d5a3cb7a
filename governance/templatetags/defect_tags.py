"""Late-defect panels: the release page's Defects tab, and escalated defects for the CAB board."""

from django import template
from django.utils import timezone

from governance import defects
from governance.filtersets_defects import blocking_q
from governance.forms_defects import AcceptanceForm
from governance.models import Defect

register = template.Library()


class ReleaseDefects(list):
    """A release's defects (the tab's badge counts the open ones)."""

    @property
    def open_count(self) -> int:
        return sum(1 for d in self if d.status == "open")


def _load(release) -> ReleaseDefects:
    """Loaded once per page: the tab's badge and the panel share the list."""
    cached = getattr(release, "_defect_list", None)
    if cached is None:
        cached = release._defect_list = ReleaseDefects(
            release.defects.select_related("reported_by").order_by("status", "severity", "-created")
        )
    return cached


@register.simple_tag
def release_defects(release) -> ReleaseDefects:
    """``{% release_defects release as found %}``: load them once for the tab and the panel."""
    return _load(release)


@register.inclusion_tag("governance/defect_panel.html", takes_context=True)
def defect_panel(context, release):
    """The release's defects, the gate's ``open_defects`` verdict, its acceptances, and the two
    ways out for those allowed: delay (new dates and a reason) and accept the residual risk.

    One query for the defects (shared with ``release_defects``); two more (the acceptances
    with their defects) when there are any.
    """
    user = context["request"].user
    now = timezone.now()
    found = _load(release)
    acceptances = (
        list(release.risk_acceptances.select_related("accepted_by").prefetch_related("defects"))
        if found
        else []
    )
    verdict = defects.check_open_defects(release, now, defects=found, acceptances=acceptances)
    blocking = set(verdict.data.get("blocking", []))
    for defect in found:
        defect.blocks = defect.pk in blocking
    for acceptance in acceptances:
        acceptance.state = defects.acceptance_state(acceptance, now)
    finished = release.state in defects.FINISHED_STATES
    has_open = any(d.status == "open" for d in found)
    can_delay = user.has_perm(defects.DELAY_PERMISSION) and (
        release.state in defects.PRE_DEPLOYMENT_STATES
    )
    can_accept = user.has_perm(defects.ACCEPT_PERMISSION) and has_open and not finished
    return {
        "release": release,
        "defects": found,
        "verdict": verdict,
        "acceptances": acceptances,
        "can_add": user.has_perm(defects.ADD_PERMISSION) and not finished,
        "can_delay": can_delay,
        "can_accept": can_accept,
        "accept_form": AcceptanceForm(release=release, initial={"defects": list(blocking)})
        if can_accept
        else None,
        "max_days": defects.max_acceptance_days(),
        "csrf_token": context.get("csrf_token"),
    }


ESCALATED_LIMIT = 20


@register.inclusion_tag("governance/defect_escalated_panel.html", takes_context=True)
def escalated_defects_panel(context):
    """Escalated defects still blocking their release, across releases, soonest release first.
    Self-contained (for the CAB board); two queries."""
    from governance.jobs_defects import SHIPPING_STATES

    queryset = blocking_q(
        Defect.objects.filter(escalated_at__isnull=False, release__state__in=SHIPPING_STATES)
    ).select_related("release")
    rows = list(queryset.order_by("release__planned_start", "severity", "pk")[:ESCALATED_LIMIT])
    return {
        "rows": rows,
        "total": queryset.count() if len(rows) == ESCALATED_LIMIT else len(rows),
        "request": context.get("request"),
    }
