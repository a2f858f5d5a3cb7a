"""The deployment page's Checklist panel and the dashboard's overdue post-mortem actions."""

from django import template
from django.db.models import Prefetch
from django.utils import timezone

from metrics import checklists, postmortems
from metrics.models.checklists import ChecklistRun, ChecklistRunItem, ChecklistTemplate

register = template.Library()
DASHBOARD_ROWS = 8


@register.inclusion_tag("metrics/checklist_panel.html", takes_context=True)
def checklist_panel(context, deployment):
    """The deployment's checklist runs with their items, and the checklists not yet run
    (three queries)."""
    user = context["request"].user
    runs = list(
        ChecklistRun.objects.filter(deployment=deployment)
        .select_related("version__template", "started_by")
        .prefetch_related(Prefetch("items", queryset=ChecklistRunItem.objects.order_by("pk")))
    )
    started = {r.version.template_id for r in runs}
    can_start = user.has_perm(checklists.RUN_PERMISSION)
    startable = (
        [t for t in ChecklistTemplate.objects.order_by("name") if t.pk not in started]
        if can_start
        else []
    )
    return {
        "deployment": deployment,
        "runs": runs,
        "startable": startable,
        "can_start": can_start,
        "can_tick": user.has_perm(checklists.TICK_PERMISSION),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("metrics/overdue_actions_card.html", takes_context=True)
def overdue_postmortem_actions_card(context):
    """Open post-mortem actions past their due date, oldest first (two queries)."""
    today = timezone.localdate()
    qs = postmortems.overdue_actions(today)
    rows = list(qs[:DASHBOARD_ROWS])
    total = len(rows) if len(rows) < DASHBOARD_ROWS else qs.count()
    return {"actions": rows, "total": total, "today": today}
