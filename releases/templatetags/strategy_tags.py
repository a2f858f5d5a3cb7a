from django import template

from releases.choices import DeploymentStrategy

register = template.Library()


@register.filter
def strategy_label(value: str) -> str:
    """``blue_green`` → ``Blue-green`` (unknown values unchanged)."""
    try:
        return DeploymentStrategy(value).label
    except ValueError:
        return value
