"""Single sign-on with OpenID Connect (mozilla-django-oidc), and the rule for roles.

The rule (``apply_sso_login``): a user who signs in through the provider is IdP-managed.
At every sign-in their role groups become exactly the roles their groups claim maps to
(``OIDC_GROUP_ROLE_MAP``), or ``OIDC_DEFAULT_ROLE`` when none maps; a role granted by
hand is taken away at the next sign-in, so the provider is the one place where access is
given. Groups that are not roles, ``is_staff`` and ``is_superuser`` are left alone. A
sign-in whose groups map to no role (and no default role) is refused and writes nothing.

Users are found by their (issuer, subject) identity; a first sign-in links an existing
account only through an email address the provider says is verified, otherwise it creates
a user. Every sign-in is recorded on the identity's history with the role changes it made.

Settings come from the environment (``releasemgr.sso_config``). The provider's endpoints are
read when a sign-in happens, from the discovery document when ``OIDC_OP_DISCOVERY_URL`` is
set, so a provider that is down never stops local sign-in or the app from starting.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import SuspiciousOperation
from django.db import IntegrityError, transaction
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from releasemgr.models_oidc import SSOIdentity
from releasemgr.roles import ALL_ROLES, sync_roles
from releasemgr.sso_config import ENDPOINT_SETTINGS

log = logging.getLogger("releasemgr.sso")

NO_ROLE_MESSAGE = "Your account has no role in this application; ask an administrator."
DEACTIVATED_MESSAGE = "Your account here is deactivated; ask an administrator."
TOKEN_REFUSED_MESSAGE = "The sign-in could not be verified; nothing was changed. Try again."
_USERNAME_MAX = 150
_USERNAME_BAD = re.compile(r"[^\w.@+-]+")


class SSORefused(SuspiciousOperation):
    """A sign-in refused for a reason the person signing in is told (``user_message``)."""

    def __init__(self, user_message: str, detail: str = ""):
        super().__init__(detail or user_message)
        self.user_message = user_message


class ProviderUnavailable(Exception):
    """The provider's discovery document could not be fetched or is incomplete."""


def provider_name() -> str:
    return getattr(settings, "OIDC_PROVIDER_NAME", "") or "single sign-on"


# --- the provider's configuration ------------------------------------------------------------

_discovery_cache: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


def discovery_document() -> dict:
    """The provider's ``.well-known/openid-configuration``, cached per URL for a while."""
    url = getattr(settings, "OIDC_OP_DISCOVERY_URL", "")
    if not url:
        return {}
    with _discovery_lock:
        cached = _discovery_cache.get(url)
        if cached and cached[0] > time.monotonic():
            return cached[1]
    try:
        response = requests.get(url, timeout=settings.OIDC_TIMEOUT, verify=settings.OIDC_VERIFY_SSL)
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ProviderUnavailable(f"discovery document {url}: {exc}") from exc
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"discovery document {url} is not a JSON object")
    with _discovery_lock:
        _discovery_cache[url] = (
            time.monotonic() + settings.OIDC_DISCOVERY_CACHE_SECONDS,
            document,
        )
    return document


def provider_setting(name: str) -> str:
    """An endpoint (or the issuer): the explicit setting, else the discovery document's."""
    explicit = getattr(settings, name, "")
    if explicit or not getattr(settings, "OIDC_OP_DISCOVERY_URL", ""):
        return explicit or ""
    value = discovery_document().get(ENDPOINT_SETTINGS[name]) or ""
    if not value and name in ("OIDC_OP_AUTHORIZATION_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT"):
        raise ProviderUnavailable(f"the discovery document has no {ENDPOINT_SETTINGS[name]}")
    if not value and name == "OIDC_OP_JWKS_ENDPOINT" and settings.OIDC_RP_SIGN_ALGO != "HS256":
        raise ProviderUnavailable("the discovery document has no jwks_uri")
    return value


def _get_settings(attr, *args):
    # mozilla-django-oidc reads everything through get_settings; endpoints come from here.
    if attr in ENDPOINT_SETTINGS:
        return provider_setting(attr) or (args[0] if args else None)
    return import_from_settings(attr, *args)


# --- the rule: who signs in, with which roles ------------------------------------------------


def claimed_groups(claims: dict) -> list[str]:
    """The groups claim as a list of names (a single string counts as one group)."""
    raw = claims.get(settings.OIDC_GROUPS_CLAIM)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple):
        return []
    return [str(group) for group in raw if str(group)]


def roles_for_groups(groups: list[str]) -> list[str]:
    """Our roles for the IdP groups, through OIDC_GROUP_ROLE_MAP.

    A group matches its map entry as claimed or without a leading "/" (Keycloak can send
    full group paths). Roles that do not exist are ignored (the system check reports them).
    """
    mapping: dict[str, list[str]] = settings.OIDC_GROUP_ROLE_MAP
    roles: set[str] = set()
    for group in groups:
        roles.update(mapping.get(group) or mapping.get(group.lstrip("/")) or ())
    return sorted(role for role in roles if role in ALL_ROLES)


def _username_for(claims: dict) -> str:
    """A free username from preferred_username (or the email's local part), sanitised."""
    User = get_user_model()
    wanted = str(claims.get("preferred_username") or "")
    if not wanted:
        wanted = str(claims.get("email") or "").split("@")[0]
    base = _USERNAME_BAD.sub("-", wanted).strip("-.")[: _USERNAME_MAX - 4]
    if not base:
        base = "sso-" + hashlib.sha256(str(claims["sub"]).encode()).hexdigest()[:12]
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _linkable_user(claims: dict):
    """An existing account to link on a first sign-in: one with the same verified email."""
    User = get_user_model()
    email = str(claims.get("email") or "")
    if not email or claims.get("email_verified") is not True:
        return None
    users = list(User.objects.filter(email__iexact=email)[:2])
    if len(users) > 1:
        raise SSORefused(
            "Several accounts here share your email address; ask an administrator.",
            f"several users with email {email}",
        )
    return users[0] if users else None


def _role_groups(roles: list[str]) -> list[Group]:
    groups = list(Group.objects.filter(name__in=roles))
    if len(groups) != len(roles):  # a fresh database before the first migrate hook ran
        sync_roles()
        groups = list(Group.objects.filter(name__in=roles))
    return groups


@transaction.atomic
def _link_and_set_roles(claims: dict, issuer: str, subject: str, groups: list[str], roles):
    """Find or create the user, set exactly ``roles``, record the sign-in (one transaction)."""
    User = get_user_model()
    identity = (
        SSOIdentity.objects.select_for_update()
        .select_related("user")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    user = identity.user if identity else _linkable_user(claims)
    if identity is None and user is not None and SSOIdentity.objects.filter(user=user).exists():
        raise SSORefused(
            "Your email address belongs to an account linked to another sign-in; "
            "ask an administrator.",
            f"user {user} is linked to another identity",
        )
    if user is not None and not user.is_active:
        raise SSORefused(DEACTIVATED_MESSAGE, f"user {user} is inactive")

    created = user is None
    if created:
        user = User(username=_username_for(claims))
        user.set_unusable_password()
    user.email = str(claims.get("email") or user.email or "")[:254]
    user.first_name = str(claims.get("given_name") or user.first_name or "")[:150]
    user.last_name = str(claims.get("family_name") or user.last_name or "")[:150]
    user.save()

    before = set(user.groups.filter(name__in=ALL_ROLES).values_list("name", flat=True))
    added, removed = sorted(set(roles) - before), sorted(before - set(roles))
    if removed:
        user.groups.remove(*Group.objects.filter(name__in=removed))
    if added:
        user.groups.add(*_role_groups(added))
    user.__dict__.pop("_role_names", None)

    now = timezone.now()
    if identity is None:
        identity = SSOIdentity(user=user, issuer=issuer, subject=subject)
    identity.claimed_groups = groups[:200]
    identity.roles_from_idp = roles
    identity.last_login_at = now
    changes = ", ".join([*(f"+{r}" for r in added), *(f"-{r}" for r in removed)])
    reason = "SSO sign-in" + (" (new user)" if created else "")
    reason += f": roles {changes}" if changes else ": roles unchanged"
    identity.save_with_reason(reason, user=user)
    return user, created, added, removed


def apply_sso_login(claims: dict, issuer: str):
    """The user for verified ID-token/userinfo ``claims``, created or updated, with roles set.

    Raises :class:`SSORefused` (and writes nothing) when no role maps, the account is
    deactivated, or the claims cannot identify anyone.
    """
    subject = str(claims.get("sub") or "")
    if not subject or not issuer:
        raise SSORefused(TOKEN_REFUSED_MESSAGE, "the token has no subject or issuer")
    groups = claimed_groups(claims)
    roles = roles_for_groups(groups)
    if not roles and settings.OIDC_DEFAULT_ROLE in ALL_ROLES:
        roles = [settings.OIDC_DEFAULT_ROLE]
    if not roles:
        raise SSORefused(NO_ROLE_MESSAGE, f"no role for groups {groups!r} of {subject}")

    try:
        user, created, added, removed = _link_and_set_roles(claims, issuer, subject, groups, roles)
    except IntegrityError as exc:  # the same first sign-in twice at once: one of them wins
        raise SSORefused(
            "Another sign-in to this account was under way; try again.", str(exc)
        ) from exc

    log.info(
        "SSO sign-in user=%s subject=%s created=%s roles=%s added=%s removed=%s",
        user.username,
        subject,
        created,
        ",".join(roles),
        ",".join(added) or "-",
        ",".join(removed) or "-",
    )
    return user


# --- the authentication backend ----------------------------------------------------------------


class OIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's code flow, with checked tokens and ``apply_sso_login``.

    Django builds every backend for every sign-in, password ones too, so nothing here
    reads the provider until a callback actually arrives.
    """

    get_settings = staticmethod(_get_settings)
    OIDC_RP_IDP_SIGN_KEY = None  # keys come from the provider's JWKS

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    OIDC_OP_TOKEN_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_TOKEN_ENDPOINT"))
    OIDC_OP_USER_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_USER_ENDPOINT"))
    OIDC_OP_JWKS_ENDPOINT = property(lambda self: provider_setting("OIDC_OP_JWKS_ENDPOINT"))
    OIDC_RP_CLIENT_ID = property(lambda self: settings.OIDC_RP_CLIENT_ID)
    OIDC_RP_CLIENT_SECRET = property(lambda self: settings.OIDC_RP_CLIENT_SECRET)
    OIDC_RP_SIGN_ALGO = property(lambda self: settings.OIDC_RP_SIGN_ALGO)

    def authenticate(self, request, **kwargs):
        # Only the OIDC callback passes a nonce; a password sign-in is not ours.
        if request is None or not getattr(settings, "OIDC_ENABLED", False):
            return None
        if "nonce" not in kwargs or "username" in kwargs or "password" in kwargs:
            return None
        try:
            return super().authenticate(request, **kwargs)
        except SuspiciousOperation as exc:  # nonce, signature, audience, expiry, issuer
            return self._refuse(request, TOKEN_REFUSED_MESSAGE, str(exc))
        except ProviderUnavailable as exc:
            return self._refuse(request, _unreachable_message(), str(exc))
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            return self._refuse(request, _unreachable_message(), f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _refuse(request, message: str, detail: str):
        log.warning("SSO sign-in refused: %s", detail)
        request.sso_refusal = message
        return None

    def _verify_jws(self, payload, key):
        """Signature, algorithm, audience, expiry and (when known) issuer of the ID token.

        mozilla-django-oidc checks only the signature and expiry; a token issued for another
        client of the same provider must not sign anybody in here.
        """
        header = jwt.get_unverified_header(payload)
        alg = header.get("alg")
        if alg != self.OIDC_RP_SIGN_ALGO:
            raise SuspiciousOperation(f"token algorithm {alg!r} is not {self.OIDC_RP_SIGN_ALGO}")
        issuer = provider_setting("OIDC_OP_ISSUER")
        try:
            claims = jwt.decode(
                payload,
                key,
                algorithms=[alg],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=issuer or None,
                leeway=settings.OIDC_CLOCK_SKEW_SECONDS,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as exc:
            raise SuspiciousOperation(f"ID token rejected: {exc}") from exc
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token for several audiences without our azp")
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        userinfo = {}
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = self.get_userinfo(access_token, id_token, payload)
            if not isinstance(userinfo, dict) or str(userinfo.get("sub")) != str(
                payload.get("sub")
            ):
                # OIDC Core 5.3.2: userinfo about someone else must not be used.
                raise SSORefused(TOKEN_REFUSED_MESSAGE, "userinfo sub differs from the ID token")
        claims = {**payload, **userinfo}
        try:
            return apply_sso_login(claims, issuer=str(payload.get("iss") or ""))
        except SSORefused as exc:
            self.request.sso_refusal = exc.user_message
            raise


def _unreachable_message() -> str:
    return f"{provider_name()} could not be reached or answered unexpectedly; try again later."


# --- the views behind /oidc/ -----------------------------------------------------------------


class _OnlyWhenEnabled:
    def dispatch(self, request, *args, **kwargs):
        if not getattr(settings, "OIDC_ENABLED", False):
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)


class SSOAuthenticationRequestView(_OnlyWhenEnabled, OIDCAuthenticationRequestView):
    """/oidc/authenticate/: off to the provider (endpoints read now, not at start-up)."""

    get_settings = staticmethod(_get_settings)

    def __init__(self, *args, **kwargs):
        View.__init__(self, *args, **kwargs)

    def get(self, request):
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
        except ProviderUnavailable as exc:
            log.warning("SSO sign-in not started: %s", exc)
            messages.error(request, _unreachable_message())
            return redirect("login")
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


class SSOCallbackView(_OnlyWhenEnabled, OIDCAuthenticationCallbackView):
    """/oidc/callback/: the provider sends the browser back here with a code."""

    get_settings = staticmethod(_get_settings)

    def get(self, request):
        try:
            return super().get(request)
        except SuspiciousOperation as exc:  # a state this browser never started
            log.warning("SSO callback refused: %s", exc)
            request.sso_refusal = TOKEN_REFUSED_MESSAGE
            return self.login_failure()

    def login_failure(self):
        message = getattr(self.request, "sso_refusal", None)
        if message is None and self.request.GET.get("error"):
            error = self.request.GET["error"][:80]
            message = f"{provider_name()} did not sign you in ({error})."
        messages.error(self.request, message or TOKEN_REFUSED_MESSAGE)
        return redirect("login")
