"""The quality score panel on the release's Stabilisation tab."""

from django import template

from metrics import quality_score
from metrics.models import ReleaseQualityScore

register = template.Library()


@register.inclusion_tag("metrics/quality_panel.html", takes_context=True)
def quality_score_panel(context, release):
    """The stored score and its components (one query)."""
    request = context["request"]
    return {
        "release": release,
        "row": ReleaseQualityScore.objects.filter(release=release).first(),
        "can_recompute": request.user.has_perm(quality_score.RECOMPUTE_PERMISSION),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
