# PLACEHOLDER until the exception panel is built: renders nothing.
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def exception_panel(context, release):
    return ""
