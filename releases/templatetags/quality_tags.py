"""The release page's quality-gates panel (Validation tab)."""

from django import template

from releases import quality
from scheduling.models import Environment

register = template.Library()


@register.inclusion_tag("releases/quality_panel.html", takes_context=True)
def quality_panel(context, release):
    """Per environment: each active gate, each criterion with its verdict (and any load
    shortfall and accepted assumption), and the latest result per suite. Three queries
    (environments, gates, the release's results), whatever their number."""
    rows = quality.release_quality(release, list(Environment.objects.order_by("order")))
    user = context["request"].user
    return {
        "release": release,
        "rows": rows,
        "can_add_gate": user.has_perm(quality.GATE_PERMISSIONS["add"]),
    }
