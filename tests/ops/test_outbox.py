"""Deliveries are an outbox: the email, chat and webhook rows are written in the same
transaction as the thing they tell about, so a process that dies between the commit and the
enqueue (the after-commit callback never runs) loses nothing: the rows are pending and the
sweep job sends them. Work that rolls back leaves no rows.

Inside a pytest-django test the after-commit callbacks are captured and not run, which is
exactly the state a crash after the commit leaves behind."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from releasemgr import notifications, tasks_notify
from releasemgr.models import Notification
from releasemgr.models_notify import (
    ChatWebhook,
    DeliveryStatus,
    NotificationDelivery,
    WebhookDelivery,
)
from releases import lifecycle
from tests.ops.receiver import loopback_receiver
from tests.ops.test_webhooks import receiver_verifies, subscribe

# A worker is not the point here: tasks run in-process, retries at once.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_deliveries")]


def overdue(model) -> None:
    """Let the sweep's grace period pass for every pending row."""
    past = timezone.now() - timedelta(seconds=tasks_notify.SWEEP_GRACE_SECONDS + 5)
    model.objects.filter(status=DeliveryStatus.PENDING).update(next_attempt_at=past)


def test_a_notification_commits_with_its_deliveries_and_the_sweep_sends_a_lost_enqueue(
    dave, carol, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        ChatWebhook.objects.create(name="ops", url=receiver.url, format="slack")
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            transaction.atomic(),
        ):
            notifications.notify(dave, "release_blocked", "REL-9 is blocked.", "/r/9/")
            notifications.notify_many(
                [dave, carol], "incident", "High incident on Payments.", "", "incident:9"
            )

        # Committed with the notifications, nothing sent yet: the process "died" here.
        pending = NotificationDelivery.objects.filter(status=DeliveryStatus.PENDING)
        assert sorted(pending.values_list("channel", "recipient")) == [
            ("chat", "ops"),  # the incident: one chat post for the event, not one per person
            ("chat", "ops"),  # the blocked release
            ("email", "carol@example.com"),
            ("email", "dave@example.com"),
            ("email", "dave@example.com"),
        ]
        assert len(callbacks) == 2  # the enqueues that never ran
        assert mail.outbox == [] and receiver.requests == []

        # A sweep inside the grace period leaves them to their own tasks.
        assert "0 overdue" in tasks_notify.sweep()
        overdue(NotificationDelivery)
        assert "5 overdue deliveries re-enqueued" in tasks_notify.sweep()

    assert sorted(m.to[0] for m in mail.outbox) == [
        "carol@example.com",
        "dave@example.com",
        "dave@example.com",
    ]
    assert len(receiver.requests) == 2
    assert set(NotificationDelivery.objects.values_list("status", "attempts")) == {("sent", 1)}
    # A second sweep finds nothing to do: each delivery went out once.
    overdue(NotificationDelivery)
    assert "0 overdue" in tasks_notify.sweep()
    assert len(mail.outbox) == 3


def test_a_notification_that_rolls_back_leaves_no_delivery(dave):
    with pytest.raises(RuntimeError), transaction.atomic():
        notifications.notify(dave, "release_blocked", "REL-9 is blocked.")
        notifications.notify_many([dave], "incident", "Incident.", "", "incident:1")
        raise RuntimeError("the request failed after notifying")
    assert not Notification.objects.exists()
    assert not NotificationDelivery.objects.exists()


def test_the_enqueue_after_commit_sends_each_delivery_once(
    dave, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(dave, "release_blocked", "REL-9 is blocked.")
    assert len(mail.outbox) == 1
    overdue(NotificationDelivery)
    assert "0 overdue" in tasks_notify.sweep()
    assert len(mail.outbox) == 1


def test_a_webhook_event_commits_with_the_change_and_the_sweep_sends_a_lost_enqueue(
    alice, dave, draft_release, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        _subscription, secret = subscribe(alice, receiver.url)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            lifecycle.submit(draft_release, dave)

        delivery = WebhookDelivery.objects.get()
        assert (delivery.event, delivery.status, delivery.attempts) == (
            "release.state_changed",
            "pending",
            0,
        )
        assert len(callbacks) == 1 and receiver.requests == []

        overdue(WebhookDelivery)
        assert "1 overdue deliveries re-enqueued" in tasks_notify.sweep()

    assert len(receiver.requests) == 1
    assert receiver_verifies(secret, receiver.requests[0])
    assert receiver.requests[0].json()["data"]["to"] == "submitted"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_a_webhook_event_without_subscribers_writes_nothing(dave, draft_release):
    lifecycle.submit(draft_release, dave)
    assert not WebhookDelivery.objects.exists()
