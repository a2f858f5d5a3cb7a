"""Telling people things: a window now blocks their deployment, a patch is due.

Sending is idempotent: a notification is unique per (user, ``dedupe_key``),
so a job that runs twice, or on two workers at once, tells each person once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from releasemgr.models import Notification

KEY_LENGTH = Notification._meta.get_field("dedupe_key").max_length
LINK_LENGTH = Notification._meta.get_field("link").max_length


def _key(dedupe_key: str) -> str:
    """Long keys are shortened to a stable digest so they still fit (and still dedupe)."""
    if len(dedupe_key) <= KEY_LENGTH:
        return dedupe_key
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()
    return f"{dedupe_key[: KEY_LENGTH - 66]}~{digest}"


def notify(user, kind: str, message: str, link: str = "", dedupe_key: str = ""):
    """Notify ``user`` once per ``dedupe_key``; returns (notification, created).

    Without a key the message itself is the key (the same words are not repeated).
    """
    key = _key(dedupe_key or f"{kind}:{message}")
    defaults = {"kind": kind, "message": message, "link": link[:LINK_LENGTH]}
    try:
        # get_or_create retries the get when a concurrent insert wins the unique constraint.
        return Notification.objects.get_or_create(user=user, dedupe_key=key, defaults=defaults)
    except IntegrityError:  # pragma: no cover - race lost after get_or_create's own retry
        return Notification.objects.get(user=user, dedupe_key=key), False


def notify_many(users: Iterable, kind: str, message: str, link: str = "", dedupe_key: str = ""):
    """Notify each distinct user once per ``dedupe_key``; returns how many were new.

    Two queries whatever the number of users; safe against concurrent senders.
    """
    key = _key(dedupe_key or f"{kind}:{message}")
    by_id = {u.pk: u for u in users if u is not None and u.is_active}
    if not by_id:
        return 0
    already = set(
        Notification.objects.filter(user_id__in=by_id, dedupe_key=key).values_list(
            "user_id", flat=True
        )
    )
    new = [
        Notification(
            user_id=uid, kind=kind, message=message, link=link[:LINK_LENGTH], dedupe_key=key
        )
        for uid in by_id
        if uid not in already
    ]
    if new:
        with transaction.atomic():
            Notification.objects.bulk_create(new, ignore_conflicts=True)
    return len(new)


def for_user(user):
    """A person's notifications, unread first, newest first."""
    return Notification.objects.filter(user=user).order_by(
        Case(When(read_at__isnull=True, then=Value(0)), default=Value(1)), "-created", "-pk"
    )


def unread_count(user) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notification_id: int) -> Notification:
    """Mark one of ``user``'s notifications read (someone else's is not found)."""
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def mark_all_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
