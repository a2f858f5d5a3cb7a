"""Telling people things: a window now blocks their deployment, a patch is due.

Sending is idempotent: a notification is unique per (user, ``dedupe_key``),
so a job that runs twice, or on two workers at once, tells each person once.

Channels: the row itself is the in-app message (the bell, the list). Its email and chat
deliveries are written with it, in the same transaction, from the person's preferences
(``releasemgr.channels.plan``), and sent by Celery tasks with retries once it commits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from releasemgr.models import Notification
from releasemgr.models_notify import Channel, ChatWebhook, NotificationPreference

KEY_LENGTH = Notification._meta.get_field("dedupe_key").max_length
LINK_LENGTH = Notification._meta.get_field("link").max_length


def _key(dedupe_key: str) -> str:
    """Long keys are shortened to a stable digest so they still fit (and still dedupe)."""
    if len(dedupe_key) <= KEY_LENGTH:
        return dedupe_key
    digest = hashlib.sha256(dedupe_key.encode()).hexdigest()
    return f"{dedupe_key[: KEY_LENGTH - 66]}~{digest}"


@dataclass(frozen=True)
class Kind:
    label: str
    # Addressed to the person (their release, their action): email is on by default.
    personal: bool = True


# Every kind the code sends; the preferences page lists these. An unknown kind is broadcast-like.
KINDS: dict[str, Kind] = {
    "release_blocked": Kind("Planned deployment blocked"),
    "window_opened": Kind("Freeze in force", personal=False),
    "window_closed": Kind("Freeze lifted", personal=False),
    "patch_overdue": Kind("Security patch overdue"),
    "patch_at_risk": Kind("Security patch at risk"),
    "smoke_test_failed": Kind("Smoke test failed"),
    "deployment_partially_failed": Kind("Deployment partially failed"),
    "incident": Kind("Incident attributed to a release"),
    "kpi_alert": Kind("KPI alert during stabilisation"),
    "stabilisation_closed": Kind("Stabilisation window closed", personal=False),
    "known_errors_deployed": Kind("Known errors shipped to production", personal=False),
    "defect_escalated": Kind("Late defect escalated"),
    "risk_accepted": Kind("Residual risk accepted"),
    "release_delayed": Kind("Release delayed"),
    "retrospective_overdue": Kind("Emergency change retrospective overdue"),
    "postmortem_action_overdue": Kind("Post-mortem action overdue"),
    "vendor_late": Kind("Vendor deliverable late"),
    "deadline_missed": Kind("Deadline missed"),
    "compliance_deadline_missed": Kind("Compliance deadline missed"),
}


def kind_label(kind: str) -> str:
    """A kind as people read it: its label, or the code humanised for a kind no longer sent."""
    return KINDS[kind].label if kind in KINDS else kind.replace("_", " ").capitalize()


def default_channels(kind: str, hooks: Iterable[ChatWebhook] | None = None) -> dict[str, bool]:
    """Without a preference: in-app always; email when the kind is addressed to the person;
    chat when an active chat webhook takes this kind."""
    if hooks is None:
        hooks = ChatWebhook.objects.filter(active=True)
    spec = KINDS.get(kind)
    return {
        Channel.IN_APP: True,
        Channel.EMAIL: bool(spec and spec.personal),
        Channel.CHAT: any(h.covers(kind) for h in hooks),
    }


def preferences(user) -> list[dict]:
    """Each kind with the channels this person gets it on (their choice or the default)."""
    hooks = list(ChatWebhook.objects.filter(active=True))
    stored = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    kinds = list(KINDS) + sorted(k for k in stored if k not in KINDS)
    rows = []
    for kind in kinds:
        pref = stored.get(kind)
        default = default_channels(kind, hooks)
        chosen = (
            {Channel.IN_APP: pref.in_app, Channel.EMAIL: pref.email, Channel.CHAT: pref.chat}
            if pref
            else default
        )
        rows.append(
            {
                "kind": kind,
                "label": kind_label(kind),
                "channels": chosen,
                "customised": pref is not None,
                "chat_available": any(h.covers(kind) for h in hooks),
            }
        )
    return rows


def save_preferences(user, chosen: dict[str, set[str]]) -> int:
    """Store ``{kind: {channels}}`` for the kinds whose choice differs from what is stored (or
    from the default, for kinds without a row); returns how many rows changed. Unknown kinds or
    channels are refused with ValueError before anything is written."""
    unknown = [k for k in chosen if k not in KINDS]
    bad = sorted({c for cs in chosen.values() for c in cs} - set(Channel.values))
    if unknown or bad:
        raise ValueError(
            "Unknown notification kind(s) or channel(s): " + ", ".join(unknown + bad) + "."
        )
    hooks = list(ChatWebhook.objects.filter(active=True))
    stored = {p.kind: p for p in NotificationPreference.objects.filter(user=user)}
    changed = 0
    with transaction.atomic():
        for kind, channels in chosen.items():
            values = {c: c in channels for c in Channel.values}
            pref = stored.get(kind)
            current = (
                {Channel.IN_APP: pref.in_app, Channel.EMAIL: pref.email, Channel.CHAT: pref.chat}
                if pref
                else default_channels(kind, hooks)
            )
            if current == values:
                continue
            pref = pref or NotificationPreference(user=user, kind=kind)
            pref.in_app = values[Channel.IN_APP]
            pref.email = values[Channel.EMAIL]
            pref.chat = values[Channel.CHAT]
            pref.save_with_reason("notification settings changed", user=user)
            changed += 1
    return changed


def notify(user, kind: str, message: str, link: str = "", dedupe_key: str = ""):
    """Notify ``user`` once per ``dedupe_key``; returns (notification, created).

    Without a key the message itself is the key (the same words are not repeated).
    """
    key = _key(dedupe_key or f"{kind}:{message}")
    defaults = {"kind": kind, "message": message, "link": link[:LINK_LENGTH]}
    from releasemgr import channels

    try:
        with transaction.atomic():  # the message and its deliveries commit together
            # get_or_create retries the get when a concurrent insert wins the unique constraint.
            notification, created = Notification.objects.get_or_create(
                user=user, dedupe_key=key, defaults=defaults
            )
            if created:
                channels.plan([notification])
    except IntegrityError:  # pragma: no cover - race lost after get_or_create's own retry
        return Notification.objects.get(user=user, dedupe_key=key), False
    return notification, created


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
        from releasemgr import channels

        with transaction.atomic():  # the messages and their deliveries commit together
            Notification.objects.bulk_create(new, ignore_conflicts=True)
            # Their ids (bulk_create with ignore_conflicts returns none). Planning a row that a
            # concurrent sender wrote first adds nothing: deliveries are unique per channel.
            made = list(
                Notification.objects.filter(user_id__in=[n.user_id for n in new], dedupe_key=key)
            )
            for n in made:
                n.user = by_id[n.user_id]
            channels.plan(made)
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
