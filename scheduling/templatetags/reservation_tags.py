# PLACEHOLDER until the reservation panel is built: renders nothing.
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def reservation_panel(context, release):
    return ""
