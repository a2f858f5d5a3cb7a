"""Limits and hardening (issue 8): API rate limits, login lock-out, session timeouts, CSP.

- ``ApiRateThrottle``: a DRF throttle per API token (or per user for session calls).
- ``login_lockout`` / ``record_login_attempt``: the lock-out rule and its log, called by
  the sign-in forms (``LockoutFormMixin``); API tokens never go through them.
- ``SessionStore``: the session engine (``SESSION_ENGINE = "releasemgr.security"``) that
  files each session under its user, so ``end_user_sessions`` is one DELETE.
- ``SessionTimeoutMiddleware``: idle and absolute session lifetimes.
- ``SecurityHeadersMiddleware``: Content-Security-Policy with a per-request nonce, and
  Permissions-Policy; Django's SecurityMiddleware/XFrameOptionsMiddleware send the rest.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.http import HttpResponse, JsonResponse
from django.shortcuts import resolve_url
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from releasemgr.models import ApiToken
from releasemgr.models_harden import LoginAttempt, LoginOutcome, UserSession
from releasemgr.rates import parse_rate

logger = logging.getLogger(__name__)

# --- API rate limits ------------------------------------------------------------------------


def token_rate(token: ApiToken | None) -> tuple[int, int] | None:
    """The rate that applies to a request: the token's own override, else API_RATE_LIMIT."""
    override = getattr(token, "rate_limit", "") if token is not None else ""
    if override:
        try:
            return parse_rate(override)
        except ValueError:  # written around validation (a queryset update): use the default
            logger.warning("API token %s has a malformed rate_limit %r", token.pk, override)
    return parse_rate(settings.API_RATE_LIMIT)


class ApiRateThrottle(BaseThrottle):
    """A fixed-window counter per token (``Authorization: Token``) or per signed-in user.

    The counter lives in the ``API_RATE_LIMIT_CACHE`` cache, shared by every web process:
    Redis when REDIS_URL is set (atomic INCR), else Django's database cache. Anonymous calls
    are not counted here: they get a 401 before any work is done.
    """

    def __init__(self):
        self._wait: float | None = None

    def identity(self, request) -> str | None:
        if isinstance(request.auth, ApiToken):
            # The key hash, not the pk: unique across databases sharing one Redis.
            return f"token:{request.auth.key_hash[:32]}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return None

    def allow_request(self, request, view) -> bool:
        ident = self.identity(request)
        if ident is None:
            return True
        rate = token_rate(request.auth if isinstance(request.auth, ApiToken) else None)
        if rate is None:
            return True
        limit, period = rate
        now = time.time()
        window = int(now // period)
        key = f"ratelimit:{ident}:{period}:{window}"
        try:
            count = self.count(key, period)
        except Exception:  # a limiter that cannot count must not take the API down with it
            logger.warning("Rate limit not applied: the cache did not answer", exc_info=True)
            return True
        if count > limit:
            self._wait = (window + 1) * period - now
            return False
        return True

    @staticmethod
    def count(key: str, period: int) -> int:
        cache = caches[settings.API_RATE_LIMIT_CACHE]
        if cache.add(key, 1, timeout=period + 1):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr: a new window
            cache.set(key, 1, timeout=period + 1)
            return 1

    def wait(self) -> float | None:
        return self._wait


# --- login lock-out -------------------------------------------------------------------------


@dataclass(frozen=True)
class Lockout:
    locked: bool
    until: datetime | None = None

    @property
    def minutes_left(self) -> int:
        if not self.until:
            return 0
        return max(1, math.ceil((self.until - timezone.now()).total_seconds() / 60))


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()[:150]


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client says unless a trusted proxy
    # rewrites it, so the per-IP rule is off by default (README "Limits and hardening").
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def locked_until(attempts, threshold: int, resets: bool) -> datetime | None:
    """The newest ``threshold`` failures (stopping at a reset) lock until the newest + lock."""
    failures = []
    for outcome, at in attempts:
        if outcome == LoginOutcome.FAILED:
            failures.append(at)
        elif resets:
            break
        if len(failures) >= threshold:
            break
    if len(failures) < threshold:
        return None
    return failures[0] + timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)


def login_lockout(username: str, ip: str | None = None) -> Lockout:
    """Is signing in as ``username`` (from ``ip``) locked right now?

    A username is locked once LOGIN_LOCKOUT_FAILURES failures fall within
    LOGIN_FAILURE_WINDOW_SECONDS with no success (or unlock) after them; the lock lasts
    LOGIN_LOCKOUT_SECONDS from the last of those failures. Tries refused while locked are
    logged but do not extend the lock. The same rule applies per IP when
    LOGIN_LOCKOUT_IP_FAILURES > 0 (successes do not reset an IP's count). Existing and
    unknown usernames are treated alike.
    """
    now = timezone.now()
    since = now - timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS)
    counted = [LoginOutcome.FAILED, LoginOutcome.SUCCEEDED, LoginOutcome.UNLOCKED]
    threshold = settings.LOGIN_LOCKOUT_FAILURES
    untils = []
    if threshold > 0:
        attempts = (
            LoginAttempt.objects.filter(
                username=normalise_username(username), at__gte=since, outcome__in=counted
            )
            .order_by("-at")
            .values_list("outcome", "at")[: threshold * 2]
        )
        untils.append(locked_until(attempts, threshold, resets=True))
    ip_threshold = settings.LOGIN_LOCKOUT_IP_FAILURES
    if ip and ip_threshold > 0:
        attempts = (
            LoginAttempt.objects.filter(ip=ip, at__gte=since, outcome=LoginOutcome.FAILED)
            .order_by("-at")
            .values_list("outcome", "at")[:ip_threshold]
        )
        untils.append(locked_until(attempts, ip_threshold, resets=False))
    until = max((u for u in untils if u and u > now), default=None)
    return Lockout(locked=until is not None, until=until)


def record_login_attempt(username: str, ip: str | None, outcome: str, by=None) -> LoginAttempt:
    return LoginAttempt.objects.create(
        username=normalise_username(username), ip=ip, outcome=outcome, by=by
    )


def unlock_login(username: str, by=None) -> LoginAttempt:
    """An administrator lifts a lock-out: failures before this no longer count. ``by``: who,
    from the Sign-ins page (None from the command line)."""
    return record_login_attempt(username, None, LoginOutcome.UNLOCKED, by=by)


LOCKED_MESSAGE = (
    "Too many failed sign-in attempts. Signing in with this username is paused for "
    "%(minutes)s more minute(s). Try again later, or ask an administrator to unlock it."
)


class LockoutFormMixin:
    """For ``AuthenticationForm`` subclasses: refuse while locked, log every try.

    A locked username is refused before its password is checked, with the same message
    whether or not the user exists.
    """

    def clean(self):
        username = self.cleaned_data.get("username")
        if not username or not self.cleaned_data.get("password"):
            return super().clean()
        ip = client_ip(getattr(self, "request", None))
        state = login_lockout(username, ip)
        if state.locked:
            record_login_attempt(username, ip, LoginOutcome.LOCKED)
            raise self._locked_error(state)
        try:
            cleaned = super().clean()
        except ValidationError:
            record_login_attempt(username, ip, LoginOutcome.FAILED)
            state = login_lockout(username, ip)
            if state.locked:
                raise self._locked_error(state) from None
            raise
        record_login_attempt(username, ip, LoginOutcome.SUCCEEDED)
        return cleaned

    @staticmethod
    def _locked_error(state: Lockout) -> ValidationError:
        return ValidationError(
            LOCKED_MESSAGE, code="locked", params={"minutes": state.minutes_left}
        )


# --- sessions -------------------------------------------------------------------------------


class SessionStore(DBStore):
    """Database sessions filed under their user (``UserSession.user_pk``)."""

    @classmethod
    def get_model_class(cls):
        return UserSession

    def _validate_session_key(self, key):
        """Keys we issue are 32 lowercase letters and digits; anything else in the cookie (a
        NUL byte, which PostgreSQL cannot even compare) is no session, not a lookup."""
        return bool(key) and 8 <= len(key) <= 40 and key.isascii() and key.isalnum()

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        obj.user_pk = data.get(SESSION_KEY)
        return obj


def end_user_sessions(user) -> int:
    """End every session of ``user`` on the server (one DELETE). Tokens are left alone:
    authentication refuses an inactive user's tokens without revoking them."""
    deleted, _ = UserSession.objects.filter(user_pk=str(user.pk)).delete()
    return deleted


STARTED = "_session_started_at"
SEEN = "_session_seen_at"


def session_expired(session, now: float) -> str | None:
    """Why a signed-in session has ended, or None. Timestamps are epoch seconds."""
    started, seen = session.get(STARTED), session.get(SEEN)
    if started is None or seen is None:
        return None
    if now - started > settings.SESSION_ABSOLUTE_TIMEOUT:
        return "Your session reached its maximum length. Please sign in again."
    if now - seen > settings.SESSION_IDLE_TIMEOUT:
        return "Your session expired after a period of inactivity. Please sign in again."
    return None


class SessionTimeoutMiddleware:
    """Idle (SESSION_IDLE_TIMEOUT) and absolute (SESSION_ABSOLUTE_TIMEOUT) session limits.

    Goes after AuthenticationMiddleware. The last-seen time is written at most once per
    SEEN_RESOLUTION seconds, so a busy page does not save its session on every request.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None and SESSION_KEY in session:
            now = time.time()
            reason = session_expired(session, now)
            if reason:
                logout(request)  # flushes the session row and rotates the cookie
                return self.expired(request, reason)
            if session.get(STARTED) is None:
                session[STARTED] = now
            resolution = min(60, max(1, settings.SESSION_IDLE_TIMEOUT // 10))
            if session.get(SEEN) is None or now - session[SEEN] >= resolution:
                session[SEEN] = now
        return self.get_response(request)

    def expired(self, request, reason: str):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": reason, "code": "session_expired"}, status=401)
        messages.info(request, reason)
        if request.headers.get("HX-Request") == "true":  # django-htmx's middleware runs later
            response = HttpResponse(status=204)
            response["HX-Redirect"] = (
                f"{resolve_url(settings.LOGIN_URL)}?{urlencode({'next': request.path})}"
            )
            return response
        return self.get_response(request)  # the view sends an anonymous user to sign in


def start_session_clock(request) -> None:
    """``user_logged_in``: both clocks start at sign-in (the key was just rotated)."""
    if request is None or not hasattr(request, "session"):
        return
    now = time.time()
    request.session[STARTED] = now
    request.session[SEEN] = now


# --- security headers -----------------------------------------------------------------------


def content_security_policy(nonce: str) -> str:
    directives = {
        name: value.replace("{nonce}", f"'nonce-{nonce}'")
        for name, value in settings.CSP_DIRECTIVES.items()
    }
    return "; ".join(f"{name} {value}".strip() for name, value in directives.items())


class SecurityHeadersMiddleware:
    """Content-Security-Policy (with ``request.csp_nonce`` for the few inline scripts and
    style blocks) and Permissions-Policy on every response, in every mode."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.csp_nonce = secrets.token_urlsafe(18)
        response = self.get_response(request)
        header = (
            "Content-Security-Policy-Report-Only"
            if settings.CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )
        if header not in response:
            response[header] = content_security_policy(request.csp_nonce)
        if settings.PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = settings.PERMISSIONS_POLICY
        return response


class AdminLoginForm(LockoutFormMixin, AdminAuthenticationForm):
    """The admin's sign-in form under the same lock-out (``admin.site.login_form``)."""
