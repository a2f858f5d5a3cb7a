"""Notification preferences, chat webhooks, outbound webhook subscriptions and their deliveries.

Preferences, chat webhooks and subscriptions are configuration people change: they keep a
history (without their secret URL or signing secret). Deliveries are an append-only log of
attempts to send something somewhere; their rows change status but carry no history.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from releasemgr.models import HistoryViaBase, Notification


class Channel(models.TextChoices):
    IN_APP = "in_app", "In-app"
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    # Claimed by a worker (a conditional UPDATE from pending): nobody else sends it.
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class ChatFormat(models.TextChoices):
    SLACK = "slack", 'Slack-compatible ({"text": ...})'
    TEAMS = "teams", "Teams-compatible (MessageCard)"


class _Configured(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def save_with_reason(self, reason: str, user=None, **kwargs):
        self._change_reason = reason
        if user is not None and getattr(user, "is_authenticated", False):
            self._history_user = user
        self.save(**kwargs)


class NotificationPreference(_Configured):
    """Which channels one person wants for one kind of notification.

    No row means the defaults (``releasemgr.notifications.default_channels``).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=50)
    in_app = models.BooleanField(default=True)
    email = models.BooleanField(default=False)
    chat = models.BooleanField(default=False)
    history = HistoricalRecords(bases=[HistoryViaBase])

    class Meta:
        ordering = ["user_id", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="unique_notification_preference")
        ]

    def __str__(self):
        return f"{self.user} {self.kind}"

    def get_absolute_url(self):
        return reverse("notification_preferences")


class ChatWebhook(_Configured):
    """A team chat channel (Slack- or Teams-compatible incoming webhook) notifications go to.

    The URL is a credential (incoming-webhook URLs carry their token): lists show its host only
    and the history does not keep it.
    """

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=10, choices=ChatFormat.choices, default=ChatFormat.SLACK)
    kinds = models.JSONField(
        default=list, blank=True, help_text="Notification kinds posted here; empty = every kind."
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords(excluded_fields=["url"], bases=[HistoryViaBase])

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("chat_webhook_list")

    def covers(self, kind: str) -> bool:
        return self.active and (not self.kinds or kind in self.kinds)

    @property
    def url_hint(self) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}/…"


class NotificationDelivery(models.Model):
    """One attempt-tracked sending of a notification over email or chat (append-only log).

    In-app needs no delivery: the Notification row is the in-app message.
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    webhook = models.ForeignKey(
        ChatWebhook, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    recipient = models.CharField(max_length=254, help_text="Email address or chat webhook name.")
    # Chat: one post per webhook and event, however many people the event notified.
    chat_key = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    attempt_limit = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-pk"]
        permissions = [("retry_delivery", "Can see every delivery and retry failed ones")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notifdelivery_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["notification", "channel"],
                condition=models.Q(webhook__isnull=True),
                name="unique_delivery_per_channel",
            ),
            models.UniqueConstraint(
                fields=["webhook", "chat_key"],
                condition=models.Q(webhook__isnull=False),
                name="unique_chat_delivery",
            ),
        ]

    def __str__(self):
        return f"{self.channel} to {self.recipient}: {self.status}"


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookSubscription(_Configured):
    """An integrator's URL that receives signed JSON POSTs for the events it subscribed to.

    The signing secret is stored (we need it to sign) but shown only once, when created;
    lists, the API and the history show ``secret_hint`` only.
    """

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords(excluded_fields=["secret"], bases=[HistoryViaBase])

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("webhook_detail", args=[self.pk])

    @property
    def secret_hint(self) -> str:
        return f"whsec_…{self.secret[-4:]}"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription: the exact body, every attempt's
    outcome (append-only log; a redelivery is a new row pointing at the original)."""

    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=50)
    body = models.TextField(help_text="The exact JSON sent (the same bytes on every attempt).")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    attempt_limit = models.PositiveIntegerField(default=1)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    redelivery_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="redeliveries"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhookdelivery_due")]

    def __str__(self):
        return f"{self.event} → {self.subscription}: {self.status}"
