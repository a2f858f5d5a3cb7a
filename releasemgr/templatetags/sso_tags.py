"""The sign-in page's single sign-on button (releasemgr.sso)."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def sso_login():
    """What the sign-in page offers: ``{"enabled", "provider", "local"}``."""
    enabled = getattr(settings, "OIDC_ENABLED", False)
    return {
        "enabled": enabled,
        "provider": getattr(settings, "OIDC_PROVIDER_NAME", "") or "single sign-on",
        "local": not enabled or getattr(settings, "OIDC_ALLOW_LOCAL_LOGIN", True),
    }
