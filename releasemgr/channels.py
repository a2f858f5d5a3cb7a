"""Delivering notifications by email and chat, and the delivery mechanics webhooks share.

A delivery row is written per (notification, channel[, chat webhook]) in the notification's own
transaction (an outbox); once it commits, a Celery task sends it. Each attempt:

1. claims the row with a conditional UPDATE (``status='pending'`` and due → ``'sending'``,
   ``attempts + 1``): when two workers hold the same message, only one sends;
2. sends, and settles the row: ``sent``; or back to ``pending`` with ``next_attempt_at`` after
   an exponential backoff (the task retries itself with that countdown); or ``failed`` once
   ``attempt_limit`` attempts are spent (or the error cannot be cured by retrying).

A failed row stays visible on the Deliveries page with its last error, and can be retried.
The sweep job re-sends pending rows whose task was lost (broker down, worker died while the row
was ``sending``), so nothing is lost silently.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from releasemgr.models import Notification
from releasemgr.models_notify import Channel as Ch
from releasemgr.models_notify import (
    ChatFormat,
    ChatWebhook,
    DeliveryStatus,
    NotificationDelivery,
    NotificationPreference,
)
from releasemgr.notifications import kind_label

logger = logging.getLogger(__name__)

EXCERPT_LENGTH = 1000
# Answers that retrying will not change (a wrong URL, a refused payload); 408/429 may pass later.
_PERMANENT = {400, 401, 403, 404, 405, 410, 413, 422}


# --- URLs ---------------------------------------------------------------------------------------

# Labels of letters, digits, hyphens and underscores (internal names like ``ci_runner`` exist),
# dot-separated; single-label names (``jenkins``) are fine on a private network.
_HOST = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?"
)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_url(url: str, field: str = "url") -> str:
    """A webhook or chat URL we may POST to, or a ValidationError saying why not.

    Only http(s) with a host; when ``WEBHOOK_ALLOWED_HOSTS`` is set, only those hosts
    (``.example.com`` admits the domain and its subdomains).
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        raise ValidationError(
            {field: f"Use an http:// or https:// URL (this one has {shown})."}, code="scheme"
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError({field: "The URL has no host."}, code="host")
    if not _HOST.fullmatch(host) and not _is_ip(host):
        raise ValidationError(
            {field: f"'{host[:100]}' is not a host name or an IP address."}, code="host"
        )
    try:
        port = parts.port  # None without one; ValueError when not a number in 0-65535
    except ValueError:
        port = 0
    host_and_port = parts.netloc.rpartition("@")[2]
    after_host = (
        host_and_port.rpartition("]")[2] if host_and_port.startswith("[") else host_and_port
    )
    if port == 0 or (port is None and ":" in after_host):  # ":0", ":99999", "host:" or ":abc"
        raise ValidationError({field: "The port must be a number from 1 to 65535."}, code="port")
    allowed = [h.lower() for h in settings.WEBHOOK_ALLOWED_HOSTS]
    if allowed and not any(
        host == a or (a.startswith(".") and (host == a[1:] or host.endswith(a))) for a in allowed
    ):
        raise ValidationError(
            {field: f"{host} is not one of the allowed webhook hosts (WEBHOOK_ALLOWED_HOSTS)."},
            code="host",
        )
    return url


# --- HTTP ---------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect would send the body to a host nobody checked.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


@dataclass
class HttpResult:
    status: int | None
    excerpt: str
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def permanent(self) -> bool:
        return self.status in _PERMANENT


def post_json(url: str, body: bytes, headers: dict[str, str] | None = None) -> HttpResult:
    """POST ``body`` as JSON with the configured timeout; never raises for HTTP or network errors."""
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "releasemgr-webhooks/1")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    started = time.monotonic()
    try:
        check_url(url)
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            text = response.read(EXCERPT_LENGTH).decode("utf-8", "replace")
            status = response.status
        error = ""
    except urllib.error.HTTPError as exc:
        status = exc.code
        text = exc.read(EXCERPT_LENGTH).decode("utf-8", "replace") if exc.fp else ""
        error = f"HTTP {exc.code} {exc.reason}"
    except ValidationError as exc:
        status, text, error = None, "", "; ".join(exc.messages)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        status, text = None, ""
        error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
    duration = int((time.monotonic() - started) * 1000)
    return HttpResult(status, text, duration, error)


# --- claim and settle (notification and webhook deliveries alike) --------------------------------


def backoff(attempt: int) -> int:
    """Seconds before attempt ``attempt + 1``: base × 2^(attempt-1), capped."""
    base = settings.DELIVERY_BACKOFF_SECONDS
    return min(base * 2 ** max(attempt - 1, 0), settings.DELIVERY_BACKOFF_MAX_SECONDS)


def claim(model, pk: int) -> bool:
    """Take a due pending delivery for this worker; False if someone else has it or it is done."""
    now = timezone.now()
    return (
        model.objects.filter(pk=pk, status=DeliveryStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=DeliveryStatus.SENDING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            updated=now,
        )
        == 1
    )


def settle(model, pk: int, *, ok: bool, error: str = "", permanent: bool = False, **fields):
    """Record an attempt's outcome; returns the seconds to wait before retrying, or None."""
    now = timezone.now()
    row = model.objects.only("attempts", "attempt_limit").get(pk=pk)
    mine = model.objects.filter(pk=pk, status=DeliveryStatus.SENDING)
    if ok:
        mine.update(status=DeliveryStatus.SENT, sent_at=now, last_error="", updated=now, **fields)
        return None
    if permanent or row.attempts >= row.attempt_limit:
        mine.update(status=DeliveryStatus.FAILED, last_error=error[:4000], updated=now, **fields)
        logger.warning(
            "%s %s failed after %s attempt(s): %s", model.__name__, pk, row.attempts, error
        )
        return None
    delay = backoff(row.attempts)
    mine.update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now + timedelta(seconds=delay),
        last_error=error[:4000],
        updated=now,
        **fields,
    )
    return delay


def release_stale_claims(model) -> int:
    """Hand back rows claimed by a worker that died while sending (they are sent again)."""
    cutoff = timezone.now() - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS)
    return model.objects.filter(status=DeliveryStatus.SENDING, claimed_at__lt=cutoff).update(
        status=DeliveryStatus.PENDING, next_attempt_at=timezone.now(), updated=timezone.now()
    )


def retry_failed(model, pk: int) -> bool:
    """A person asked to try a failed delivery again: it gets a fresh set of attempts."""
    now = timezone.now()
    changed = model.objects.filter(pk=pk, status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        attempt_limit=F("attempts") + settings.DELIVERY_MAX_ATTEMPTS,
        updated=now,
    )
    return changed == 1


# --- planning notification deliveries ----------------------------------------------------------


def effective_channels(user, kind: str, pref, hooks) -> dict[str, bool]:
    from releasemgr.notifications import default_channels

    if pref is not None:
        return {Ch.IN_APP: pref.in_app, Ch.EMAIL: pref.email, Ch.CHAT: pref.chat}
    return default_channels(kind, hooks)


def plan(notes: list[Notification]) -> int:
    """Write the pending email/chat delivery rows of these new notifications (an outbox), in the
    caller's transaction, and enqueue them once it commits; returns the rows written.

    The rows commit with the notification or roll back with it: a process that dies after the
    commit leaves them pending, and the sweep job sends them. ``notes`` have their ``user``
    loaded. The unique constraints keep one row per (notification, channel) and one chat post
    per (webhook, event key), however many people the event notified.
    """
    if not notes:
        return 0
    prefs = {
        (p.user_id, p.kind): p
        for p in NotificationPreference.objects.filter(
            user_id__in={n.user_id for n in notes}, kind__in={n.kind for n in notes}
        )
    }
    hooks = list(ChatWebhook.objects.filter(active=True))
    rows, hide = [], []
    limit = settings.DELIVERY_MAX_ATTEMPTS
    now = timezone.now()
    for n in notes:
        wanted = effective_channels(n.user, n.kind, prefs.get((n.user_id, n.kind)), hooks)
        if not wanted[Ch.IN_APP] and n.read_at is None:
            hide.append(n.pk)  # kept for the record, but it does not light the bell
        if wanted[Ch.EMAIL] and n.user.email:
            rows.append(
                NotificationDelivery(
                    notification=n,
                    channel=Ch.EMAIL,
                    recipient=n.user.email,
                    attempt_limit=limit,
                    next_attempt_at=now,
                )
            )
        if wanted[Ch.CHAT]:
            for hook in hooks:
                if hook.covers(n.kind):
                    rows.append(
                        NotificationDelivery(
                            notification=n,
                            channel=Ch.CHAT,
                            webhook=hook,
                            recipient=hook.name,
                            chat_key=n.dedupe_key,
                            attempt_limit=limit,
                            next_attempt_at=now,
                        )
                    )
    with transaction.atomic():
        if hide:
            Notification.objects.filter(pk__in=hide, read_at__isnull=True).update(read_at=now)
        if rows:
            NotificationDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    if rows:
        transaction.on_commit(partial(enqueue_new, [n.pk for n in notes]), robust=True)
    return len(rows)


def enqueue_new(notification_ids: list[int]) -> list[int]:
    """After the commit: enqueue the not-yet-attempted deliveries of these notifications."""
    ids = list(
        NotificationDelivery.objects.filter(
            notification_id__in=notification_ids, status=DeliveryStatus.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue_notification_delivery(pk)
    return ids


def enqueue_notification_delivery(pk: int) -> None:
    from releasemgr.tasks_notify import send_notification_delivery

    try:
        send_notification_delivery.apply_async((pk,))
    except Exception:  # the broker is down: the sweep job sends it later
        logger.exception("Could not enqueue notification delivery %s", pk)


# --- sending ------------------------------------------------------------------------------------


def absolute(link: str) -> str:
    if not link or link.startswith(("http://", "https://")):
        return link
    return settings.NOTIFY_BASE_URL + link


def chat_body(hook: ChatWebhook, notification: Notification) -> dict:
    """The JSON a Slack- or Teams-compatible incoming webhook takes."""
    label = kind_label(notification.kind)
    link = absolute(notification.link)
    if hook.format == ChatFormat.TEAMS:
        card = {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": label,
            "themeColor": "0d6efd",
            "title": label,
            "text": notification.message,
        }
        if link:
            card["potentialAction"] = [
                {"@type": "OpenUri", "name": "Open", "targets": [{"os": "default", "uri": link}]}
            ]
        return card
    text = f"*{label}*: {notification.message}"
    if link:
        text += f" <{link}|Open>"
    return {"text": text}


def attempt_notification_delivery(pk: int) -> int | None:
    """One attempt at one delivery; returns the retry countdown, or None when settled/not ours."""
    if not claim(NotificationDelivery, pk):
        return None
    delivery = NotificationDelivery.objects.select_related("notification", "webhook").get(pk=pk)
    notification = delivery.notification
    if delivery.channel == Ch.EMAIL:
        try:
            body = notification.message
            if notification.link:
                body += f"\n\n{absolute(notification.link)}"
            body += "\n\n— Release manager (change what you receive under Notification settings)"
            send_mail(
                f"[Release manager] {kind_label(notification.kind)}",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [delivery.recipient],
                fail_silently=False,
            )
        except Exception as exc:  # SMTP refusals, timeouts: retried
            return settle(NotificationDelivery, pk, ok=False, error=f"{type(exc).__name__}: {exc}")
        return settle(NotificationDelivery, pk, ok=True)
    hook = delivery.webhook
    if hook is None or not hook.active:
        return settle(
            NotificationDelivery, pk, ok=False, permanent=True, error="The chat webhook is gone."
        )
    payload = json.dumps(chat_body(hook, notification)).encode()
    result = post_json(hook.url, payload)
    if result.ok:
        return settle(NotificationDelivery, pk, ok=True)
    error = result.error or f"HTTP {result.status}"
    if result.excerpt:
        error += f": {result.excerpt[:300]}"
    return settle(NotificationDelivery, pk, ok=False, error=error, permanent=result.permanent)
