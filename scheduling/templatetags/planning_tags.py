# PLACEHOLDER until the planning panel is built: renders nothing.
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def planning_panel(context, release):
    return ""
