"""Single sign-on settings (OpenID Connect), read from the environment.

Imported by ``releasemgr.settings`` (so nothing here may touch models); tests call
:func:`oidc_settings` with an environment of their own and apply the result with
``override_settings``, so the same parsing is tested. OIDC is on when ``OIDC_RP_CLIENT_ID``
is set; without it the app signs in with local accounts only, exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
SIGN_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256")
# Where a setting comes from when OIDC_OP_DISCOVERY_URL is used (the discovery document).
ENDPOINT_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_ISSUER": "issuer",
}


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false)")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from exc


def parse_group_role_map(raw: str) -> dict[str, list[str]]:
    """``"release-managers=release_manager,cab=cab_member"`` → ``{group: [roles]}``.

    A group may be named twice to give it two roles. Role names are checked against
    ``releasemgr.roles`` by a system check (models cannot be imported from settings).
    """
    mapping: dict[str, list[str]] = {}
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        group, sep, role = item.rpartition("=")
        group, role = group.strip(), role.strip()
        if not sep or not group or not role:
            raise ImproperlyConfigured(
                f"OIDC_GROUP_ROLE_MAP: {item!r} is not <idp group>=<role> "
                "(e.g. release-managers=release_manager,cab=cab_member)"
            )
        roles = mapping.setdefault(group, [])
        if role not in roles:
            roles.append(role)
    return mapping


def oidc_settings(env: Mapping[str, str]) -> dict:
    """The Django settings for single sign-on, from ``env`` (``os.environ``)."""
    client_id = env.get("OIDC_RP_CLIENT_ID", "").strip()
    result: dict = {
        "OIDC_ENABLED": bool(client_id),
        # Local accounts (the sign-in form and the admin) stay unless turned off explicitly.
        "OIDC_ALLOW_LOCAL_LOGIN": _bool(env, "OIDC_ALLOW_LOCAL_LOGIN", True),
        # The views behind /oidc/ (404 while OIDC is off); mozilla_django_oidc.urls reads these.
        "OIDC_AUTHENTICATE_CLASS": "releasemgr.sso.SSOAuthenticationRequestView",
        "OIDC_CALLBACK_CLASS": "releasemgr.sso.SSOCallbackView",
    }
    if not client_id:
        result["OIDC_ALLOW_LOCAL_LOGIN"] = True
        return result
    secret = env.get("OIDC_RP_CLIENT_SECRET", "")
    if not secret:
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_SECRET is required when OIDC_RP_CLIENT_ID is set"
        )
    algo = env.get("OIDC_RP_SIGN_ALGO", "").strip() or "RS256"
    if algo not in SIGN_ALGORITHMS:
        raise ImproperlyConfigured(
            f"OIDC_RP_SIGN_ALGO={algo!r} is not one of {', '.join(SIGN_ALGORITHMS)}"
        )
    discovery = env.get("OIDC_OP_DISCOVERY_URL", "").strip()
    endpoints = {name: env.get(name, "").strip() for name in ENDPOINT_SETTINGS}
    if not discovery:
        needed = ["OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT"]
        if algo != "HS256":
            needed.append("OIDC_OP_JWKS_ENDPOINT")
        missing = [name for name in needed if not endpoints[name]]
        if missing:
            raise ImproperlyConfigured(f"OIDC needs OIDC_OP_DISCOVERY_URL or {', '.join(missing)}")
    default_role = env.get("OIDC_DEFAULT_ROLE", "").strip()
    result.update(
        {
            "OIDC_RP_CLIENT_ID": client_id,
            "OIDC_RP_CLIENT_SECRET": secret,
            "OIDC_RP_SIGN_ALGO": algo,
            "OIDC_OP_DISCOVERY_URL": discovery,
            # Explicit endpoints win over the discovery document; blank ones come from it.
            **endpoints,
            "OIDC_RP_SCOPES": env.get("OIDC_RP_SCOPES", "").strip() or "openid email profile",
            "OIDC_PROVIDER_NAME": env.get("OIDC_PROVIDER_NAME", "").strip() or "single sign-on",
            "OIDC_GROUPS_CLAIM": env.get("OIDC_GROUPS_CLAIM", "").strip() or "groups",
            "OIDC_GROUP_ROLE_MAP": parse_group_role_map(env.get("OIDC_GROUP_ROLE_MAP", "")),
            "OIDC_DEFAULT_ROLE": default_role,
            "OIDC_USE_PKCE": _bool(env, "OIDC_USE_PKCE", True),
            "OIDC_TIMEOUT": _int(env, "OIDC_TIMEOUT", 10),
            "OIDC_VERIFY_SSL": _bool(env, "OIDC_VERIFY_SSL", True),
            # Seconds of clock difference with the provider tolerated on exp/iat/nbf.
            "OIDC_CLOCK_SKEW_SECONDS": _int(env, "OIDC_CLOCK_SKEW_SECONDS", 60),
            # How long the discovery document and the provider's keys are cached.
            "OIDC_DISCOVERY_CACHE_SECONDS": _int(env, "OIDC_DISCOVERY_CACHE_SECONDS", 3600),
            "OIDC_CREATE_USER": True,
            "OIDC_STORE_ID_TOKEN": False,
            "OIDC_STORE_ACCESS_TOKEN": False,
        }
    )
    return result


@checks.register(checks.Tags.security)
def check_oidc_roles(app_configs=None, **kwargs):
    """Every role named in OIDC_GROUP_ROLE_MAP / OIDC_DEFAULT_ROLE must be one of ours."""
    from django.conf import settings

    from releasemgr.roles import ALL_ROLES

    if not getattr(settings, "OIDC_ENABLED", False):
        return []
    errors = []
    named = [
        (f"OIDC_GROUP_ROLE_MAP ({group})", role)
        for group, roles in settings.OIDC_GROUP_ROLE_MAP.items()
        for role in roles
    ]
    if settings.OIDC_DEFAULT_ROLE:
        named.append(("OIDC_DEFAULT_ROLE", settings.OIDC_DEFAULT_ROLE))
    for where, role in named:
        if role not in ALL_ROLES:
            errors.append(
                checks.Error(
                    f"{where} names the role {role!r}, which does not exist",
                    hint=f"Roles: {', '.join(ALL_ROLES)}",
                    id="releasemgr.E801",
                )
            )
    if not settings.OIDC_GROUP_ROLE_MAP and not settings.OIDC_DEFAULT_ROLE:
        errors.append(
            checks.Warning(
                "OIDC is on but OIDC_GROUP_ROLE_MAP and OIDC_DEFAULT_ROLE are empty: "
                "every single sign-on will be refused",
                id="releasemgr.W801",
            )
        )
    return errors
