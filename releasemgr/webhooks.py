"""Outbound webhooks: integrators subscribe a URL to events and receive signed JSON POSTs.

``emit(event, payload)`` is called once where the thing happens (a release changes state, the
gate answers, a deployment finishes, an incident is attributed). It freezes the body at once and
writes one pending delivery row per active subscription in the caller's transaction (an outbox):
the rows commit with the work or roll back with it, so nothing is sent for work that rolled back
and nothing is lost when the process dies after the commit. The rows are enqueued once the
transaction commits; a row whose enqueue never happened is sent by the sweep job.

Each POST carries (documented in docs/webhooks.md)::

    X-Releasemgr-Event: release.state_changed
    X-Releasemgr-Delivery: <uuid of the delivery>
    X-Releasemgr-Timestamp: <unix seconds of this attempt>
    X-Releasemgr-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from releasemgr import channels
from releasemgr.decisions import DomainError
from releasemgr.models_notify import WebhookDelivery, WebhookSubscription, new_secret

logger = logging.getLogger(__name__)

RELEASE_STATE_CHANGED = "release.state_changed"
GATE_ANSWERED = "gate.answered"
DEPLOYMENT_FINISHED = "deployment.finished"
INCIDENT_ATTRIBUTED = "incident.attributed"
EVENTS: dict[str, str] = {
    RELEASE_STATE_CHANGED: "A release moved through its lifecycle (submitted, approved, ...).",
    GATE_ANSWERED: "The deployment gate answered a pipeline (allowed, waiting, prevented).",
    DEPLOYMENT_FINISHED: "A deployment reached a final status (succeeded, failed, ...).",
    INCIDENT_ATTRIBUTED: "An incident was reported and attributed to a release.",
}
# Not subscribable: sent on request ("Send test event") to one subscription only.
PING = "ping"
SIGNATURE_PREFIX = "sha256="


# --- emitting -----------------------------------------------------------------------------------


def emit(event: str, payload: dict) -> list[int]:
    """Send ``event`` to every subscription of it: the delivery rows are written now, in the
    current transaction, and enqueued once it commits. Returns the rows' ids."""
    if event not in EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}")
    return _fan_out(event, _body(event, payload))


def _body(event: str, payload: dict) -> str:
    """The frozen JSON of one event: compact, keys sorted, the same bytes on every attempt."""
    return json.dumps(
        {"event": event, "occurred_at": timezone.now(), "data": payload},
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
    )


def _fan_out(event: str, body: str) -> list[int]:
    """The outbox rows of one event (one query when nobody subscribes), enqueued on commit."""
    subscriptions = [
        s for s in WebhookSubscription.objects.filter(active=True) if event in (s.events or [])
    ]
    if not subscriptions:
        return []
    now = timezone.now()
    rows = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                subscription=s,
                event=event,
                body=body,
                attempt_limit=settings.DELIVERY_MAX_ATTEMPTS,
                next_attempt_at=now,
            )
            for s in subscriptions
        ]
    )
    ids = [r.pk for r in rows]
    transaction.on_commit(partial(enqueue_many, ids), robust=True)
    return ids


def enqueue_many(ids: list[int]) -> None:
    for pk in ids:
        enqueue(pk)


def enqueue(pk: int) -> None:
    from releasemgr.tasks_notify import send_webhook_delivery

    try:
        send_webhook_delivery.apply_async((pk,))
    except Exception:  # the broker is down: the sweep job sends it later
        logger.exception("Could not enqueue webhook delivery %s", pk)


# Payloads: built only from what the caller already holds (no queries inside its transaction).


def release_payload(release, previous: str, transition: str, user, comment: str = "") -> dict:
    return {
        "release": release.key,
        "name": release.name,
        "version": release.version,
        "from": previous,
        "to": release.state,
        "transition": transition,
        "by": getattr(user, "username", None),
        "comment": comment,
    }


def gate_payload(result, *, environment, service=None, version: str = "", region=None) -> dict:
    return {
        "decision_id": str(result.record.pk) if result.record else None,
        "status": result.status,
        "allowed": result.allowed,
        "release": result.release.key if result.release else None,
        "service": service.slug if service else None,
        "version": version,
        "environment": environment.slug,
        "region": getattr(region, "code", region or "") or None,
        "checks": [
            {"code": c["code"], "passed": c["passed"], "message": c["message"]}
            for c in result.checks
        ],
        "retry_after": result.retry_after,
    }


def deployment_payload(deployment, release) -> dict:
    return {
        "deployment": deployment.pk,
        "release": release.key,
        "environment": deployment.environment.slug,
        "production": deployment.environment.is_production,
        "status": deployment.status,
        "started_at": deployment.started_at,
        "finished_at": deployment.finished_at,
    }


def incident_payload(incident) -> dict:
    return {
        "incident": incident.pk,
        "title": incident.title,
        "service": incident.service.slug,
        "severity": incident.severity,
        "started_at": incident.started_at,
        "release": incident.release.key if incident.release_id else None,
        "deployment": incident.caused_by_id,
        "attribution": incident.attribution,
        "reason": incident.attribution_reason,
    }


# --- signing ------------------------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 keyed with the secret over ``<timestamp>.<body>``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300) -> bool:
    """What a receiver does (a reference for integrators; docs/webhooks.md has it in prose)."""
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


# --- subscriptions ------------------------------------------------------------------------------


def clean_events(events) -> list[str]:
    if not isinstance(events, (list, tuple)) or not events:
        raise ValidationError({"events": "Choose at least one event."})
    unknown = [str(e) for e in events if e not in EVENTS]
    if unknown:
        raise ValidationError(
            {
                "events": f"Unknown event(s): {', '.join(unknown)}. "
                f"Known events: {', '.join(EVENTS)}."
            }
        )
    return sorted(set(events))


def clean(name: str, url: str, events) -> dict:
    """Validated fields of a subscription, or a ValidationError with every field's problem."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the subscription a name."]
    elif len(name) > 100:
        errors["name"] = ["Keep the name under 100 characters."]
    for check in (lambda: channels.check_url(url), lambda: clean_events(events)):
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    if len((url or "").strip()) > 500:
        errors.setdefault("url", []).append("Keep the URL under 500 characters.")
    if errors:
        raise ValidationError(errors)
    return {"name": name, "url": url.strip(), "events": clean_events(events)}


def create_subscription(user, *, name: str, url: str, events, active: bool = True):
    """A new subscription with a fresh secret; returns (subscription, secret) — the only time
    the secret is handed out."""
    fields = clean(name, url, events)
    subscription = WebhookSubscription(**fields, active=active, created_by=user)
    subscription.save_with_reason("subscription created", user=user)
    return subscription, subscription.secret


def update_subscription(subscription, user, **changes):
    """Change name, URL, events or active with the create rules; an unchanged subscription is
    not saved (no empty history row). A refusal raises before anything is set or written."""
    fields = clean(
        changes.get("name", subscription.name),
        changes.get("url", subscription.url),
        changes.get("events", subscription.events),
    )
    if "active" in changes:
        fields["active"] = bool(changes["active"])
    changed = [name for name, value in fields.items() if getattr(subscription, name) != value]
    if not changed:
        return subscription
    for name in changed:
        setattr(subscription, name, fields[name])
    subscription.save_with_reason("subscription changed", user=user)
    return subscription


def rotate_secret(subscription, user) -> str:
    """A new signing secret, returned once. The history records the rotation (and the new
    hint), never the secret. Every attempt from now on, retries of older deliveries included,
    is signed with the new secret: signatures are computed at sending time."""
    subscription.secret = new_secret()
    subscription.save_with_reason(
        f"signing secret rotated (now {subscription.secret_hint})", user=user
    )
    return subscription.secret


def ping(subscription, user=None) -> WebhookDelivery:
    """A ``ping`` event to this subscription only, through the outbox like a real event (row
    written now, enqueued on commit). A paused subscription is refused: it would not be sent."""
    if not subscription.active:
        raise DomainError(
            f"{subscription.name} is paused and receives nothing: resume it to send a test event."
        )
    body = _body(PING, {"subscription": subscription.pk, "name": subscription.name})
    delivery = WebhookDelivery.objects.create(
        subscription=subscription,
        event=PING,
        body=body,
        attempt_limit=settings.DELIVERY_MAX_ATTEMPTS,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(enqueue, delivery.pk), robust=True)
    return delivery


# --- sending ------------------------------------------------------------------------------------


def attempt(pk: int) -> int | None:
    """One attempt at one webhook delivery; returns the retry countdown, or None."""
    if not channels.claim(WebhookDelivery, pk):
        return None
    delivery = WebhookDelivery.objects.select_related("subscription").get(pk=pk)
    subscription = delivery.subscription
    body = delivery.body.encode()
    timestamp = str(int(time.time()))
    headers = {
        "X-Releasemgr-Event": delivery.event,
        "X-Releasemgr-Delivery": str(delivery.uuid),
        "X-Releasemgr-Timestamp": timestamp,
        "X-Releasemgr-Signature": sign(subscription.secret, timestamp, body),
    }
    if not subscription.active:
        return channels.settle(
            WebhookDelivery,
            pk,
            ok=False,
            permanent=True,
            error="The subscription was deactivated before this delivery was sent.",
        )
    result = channels.post_json(subscription.url, body, headers)
    error = result.error or ("" if result.ok else f"HTTP {result.status}")
    return channels.settle(
        WebhookDelivery,
        pk,
        ok=result.ok,
        error=error,
        permanent=result.permanent,
        response_code=result.status,
        response_excerpt=result.excerpt,
        duration_ms=result.duration_ms,
    )


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the same body again as a new delivery (new id, fresh attempts) after commit."""
    copy = WebhookDelivery.objects.create(
        subscription=delivery.subscription,
        event=delivery.event,
        body=delivery.body,
        attempt_limit=settings.DELIVERY_MAX_ATTEMPTS,
        next_attempt_at=timezone.now(),
        redelivery_of=delivery,
    )
    transaction.on_commit(partial(enqueue, copy.pk), robust=True)
    return copy
