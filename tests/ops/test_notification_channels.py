"""Notification channels: in-app (the bell), email, chat webhooks; preferences; retries;
the Deliveries page. Receivers are loopback HTTP servers started by the test."""

import json

import pytest
from django.core import mail
from django.urls import reverse

from releasemgr import notifications
from releasemgr.models import Notification
from releasemgr.models_notify import (
    ChatWebhook,
    DeliveryStatus,
    NotificationDelivery,
    NotificationPreference,
)
from tests.conftest import PASSWORD
from tests.ops.receiver import loopback_receiver

# A worker is not the point here: tasks run in-process, retries at once.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_deliveries")]


def logged_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def chat_hook(url, fmt="slack", kinds=None):
    return ChatWebhook.objects.create(name=f"team-{fmt}", url=url, format=fmt, kinds=kinds or [])


def test_a_personal_notification_is_emailed_by_default(dave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(dave, "release_blocked", "REL-1 is blocked by a freeze.", "/r/1/")

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["dave@example.com"]
    assert "Planned deployment blocked" in sent.subject
    assert "REL-1 is blocked by a freeze." in sent.body
    assert "http://127.0.0.1:8000/r/1/" in sent.body
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.status, delivery.attempts) == ("email", "sent", 1)


def test_a_broadcast_kind_is_not_emailed_by_default(dave, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(dave, "window_opened", "Freeze in force.")
    assert mail.outbox == []
    assert not NotificationDelivery.objects.exists()


def test_a_slack_chat_webhook_receives_text_json_once_per_event(
    dave, carol, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        chat_hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            notifications.notify_many(
                [dave, carol], "incident", "High incident on Payments.", "/i/3/", "incident:3"
            )

    assert len(receiver.requests) == 1  # one post for the event, not one per person
    body = receiver.requests[0].json()
    assert set(body) == {"text"}
    assert "High incident on Payments." in body["text"]
    assert "http://127.0.0.1:8000/i/3/" in body["text"]
    chat = NotificationDelivery.objects.get(channel="chat")
    assert chat.status == DeliveryStatus.SENT
    assert len(mail.outbox) == 2


def test_a_teams_chat_webhook_receives_a_message_card(dave, django_capture_on_commit_callbacks):
    with loopback_receiver() as receiver:
        chat_hook(receiver.url, fmt="teams", kinds=["kpi_alert"])
        with django_capture_on_commit_callbacks(execute=True):
            notifications.notify(dave, "kpi_alert", "Error rate above 2 %.", "/k/")
            notifications.notify(dave, "risk_accepted", "Not for this hook.")

    assert len(receiver.requests) == 1
    card = receiver.requests[0].json()
    assert card["@type"] == "MessageCard"
    assert card["text"] == "Error rate above 2 %."
    assert card["potentialAction"][0]["targets"][0]["uri"] == "http://127.0.0.1:8000/k/"


def test_the_bell_counts_unread_notifications(client, dave, django_capture_on_commit_callbacks):
    notifications.notify(dave, "release_blocked", "one")
    notifications.notify(dave, "release_blocked", "two")
    page = logged_in(client, dave).get(reverse("notification_list"))
    assert b'data-testid="unread-count">2<' in page.content
    notifications.mark_all_read(dave)
    page = client.get(reverse("notification_list"))
    assert b'data-testid="unread-count"' not in page.content


def test_a_receiver_that_fails_once_gets_the_post_on_the_second_attempt(
    dave, django_capture_on_commit_callbacks
):
    with loopback_receiver(500, 200) as receiver:
        chat_hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            notifications.notify(dave, "incident", "Critical incident.")

    assert len(receiver.requests) == 2
    chat = NotificationDelivery.objects.get(channel="chat")
    assert (chat.status, chat.attempts) == (DeliveryStatus.SENT, 2)
    assert chat.sent_at is not None


def test_a_chat_webhook_that_always_answers_500_ends_failed_and_visible(
    client, alice, dave, django_capture_on_commit_callbacks
):
    with loopback_receiver(default=500) as receiver:
        chat_hook(receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            notifications.notify(dave, "incident", "Critical incident.")

        assert len(receiver.requests) == 3  # DELIVERY_MAX_ATTEMPTS
        chat = NotificationDelivery.objects.get(channel="chat")
        assert (chat.status, chat.attempts) == (DeliveryStatus.FAILED, 3)
        assert "HTTP 500" in chat.last_error
        # The notification itself is there (in-app) and the failure is on the page.
        assert Notification.objects.filter(user=dave).count() == 1
        page = logged_in(client, alice).get(
            reverse("notification_deliveries"), {"status": "failed"}
        )
        assert page.status_code == 200
        assert b'data-status="failed" data-channel="chat"' in page.content
        assert b"HTTP 500" in page.content

    # The receiver recovers; a release manager retries: sent.
    with loopback_receiver(200) as healthy:
        ChatWebhook.objects.update(url=healthy.url)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(reverse("notification_delivery_retry", args=[chat.pk]))
        assert answer.status_code == 302
    chat.refresh_from_db()
    assert (chat.status, chat.attempts) == (DeliveryStatus.SENT, 4)
    assert len(healthy.requests) == 1


def test_without_in_app_the_bell_stays_dark_but_email_still_goes(
    client, dave, django_capture_on_commit_callbacks
):
    notifications.save_preferences(dave, {"release_blocked": {"email"}})
    with django_capture_on_commit_callbacks(execute=True):
        notifications.notify(dave, "release_blocked", "Blocked.")
    assert notifications.unread_count(dave) == 0
    assert len(mail.outbox) == 1


def test_preferences_page_saves_my_choice_with_history(client, dave):
    logged_in(client, dave)
    page = client.get(reverse("notification_preferences"))
    assert page.status_code == 200
    assert b'data-kind="release_blocked"' in page.content

    answer = client.post(
        reverse("notification_preferences"),
        {
            "kind": ["release_blocked", "incident"],
            "channels-release_blocked": ["in_app"],
            "channels-incident": ["in_app", "email"],
        },
    )
    assert answer.status_code == 302
    pref = NotificationPreference.objects.get(user=dave)  # incident kept its default
    assert (pref.kind, pref.in_app, pref.email, pref.chat) == (
        "release_blocked",
        True,
        False,
        False,
    )
    assert pref.history.count() == 1
    assert pref.history.first().history_user == dave


def test_an_unknown_kind_or_channel_is_refused_and_nothing_saved(client, dave):
    logged_in(client, dave)
    answer = client.post(
        reverse("notification_preferences"),
        {"kind": ["release_blocked", "bogus"], "channels-release_blocked": ["pigeon"]},
    )
    assert answer.status_code == 400
    assert b"Unknown notification kind(s) or channel(s): bogus, pigeon." in answer.content
    assert not NotificationPreference.objects.exists()


def test_a_chat_webhook_url_that_is_not_http_is_refused(client, alice):
    answer = logged_in(client, alice).post(
        reverse("chat_webhook_list"),
        {"name": "ops", "url": "file:///etc/passwd", "format": "slack", "active": "on"},
    )
    assert answer.status_code == 400
    assert b"Use an http:// or https:// URL (this one has &#x27;file:&#x27;)." in answer.content
    assert not ChatWebhook.objects.exists()


def test_a_release_manager_adds_a_chat_webhook_and_its_url_stays_out_of_history(client, alice):
    answer = logged_in(client, alice).post(
        reverse("chat_webhook_list"),
        {
            "name": "ops",
            "url": "https://hooks.example.com/services/T0/B0/secret-token",
            "format": "teams",
            "kinds": ["incident"],
            "active": "on",
        },
    )
    assert answer.status_code == 302
    hook = ChatWebhook.objects.get()
    assert (hook.format, hook.kinds, hook.created_by) == ("teams", ["incident"], alice)
    assert not hasattr(hook.history.first(), "url")
    page = client.get(reverse("chat_webhook_list"))
    assert b"secret-token" not in page.content and b"https://hooks.example.com/" in page.content


def test_allowed_hosts_restrict_chat_urls_when_set(client, alice, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = [".example.com"]
    logged_in(client, alice)
    refused = client.post(
        reverse("chat_webhook_list"),
        {"name": "x", "url": "http://169.254.169.254/latest", "format": "slack"},
    )
    assert refused.status_code == 400
    assert b"is not one of the allowed webhook hosts" in refused.content
    ok = client.post(
        reverse("chat_webhook_list"),
        {"name": "y", "url": "https://chat.example.com/hook", "format": "slack"},
    )
    assert ok.status_code == 302
    assert list(ChatWebhook.objects.values_list("name", flat=True)) == ["y"]


@pytest.mark.parametrize(
    "persona, page, expected",
    [
        ("alice", "notification_deliveries", 200),
        ("dave", "notification_deliveries", 403),
        ("audrey", "notification_deliveries", 403),
        ("nobody", "notification_preferences", 403),
        ("dave", "notification_preferences", 200),
        ("audrey", "chat_webhook_list", 200),
    ],
)
def test_who_sees_which_page(client, request, persona, page, expected):
    user = request.getfixturevalue(persona)
    assert logged_in(client, user).get(reverse(page)).status_code == expected


def test_anonymous_is_sent_to_login(client):
    for page in ("notification_deliveries", "notification_preferences", "chat_webhook_list"):
        answer = client.get(reverse(page))
        assert answer.status_code == 302 and "/login" in answer["Location"]


def test_only_release_managers_add_chat_webhooks_or_retry(client, dave, alice):
    logged_in(client, dave)
    answer = client.post(
        reverse("chat_webhook_list"), {"name": "x", "url": "https://e.example/", "format": "slack"}
    )
    assert answer.status_code == 403
    assert not ChatWebhook.objects.exists()
    n, _ = notifications.notify(alice, "incident", "x")
    d = NotificationDelivery.objects.get(notification=n, channel="email")  # written with it
    NotificationDelivery.objects.filter(pk=d.pk).update(status="failed", attempts=3)
    assert client.post(reverse("notification_delivery_retry", args=[d.pk])).status_code == 403
    d.refresh_from_db()
    assert d.status == "failed"


@pytest.mark.parametrize("rows", [3, 30])
def test_the_deliveries_page_needs_a_bounded_number_of_queries(
    client, alice, dave, rows, django_assert_max_num_queries
):
    chat_hook("https://chat.example.com/hook")
    for i in range(rows):
        notifications.notify(dave, "incident", f"incident {i}")  # its chat delivery with it
    NotificationDelivery.objects.filter(channel="chat").update(
        status="failed", attempts=3, last_error="HTTP 500"
    )
    logged_in(client, alice)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("notification_deliveries"), {"channel": "chat"})
    assert page.status_code == 200
    assert page.content.count(b'data-status="failed"') == min(rows, 25)


def test_chat_body_for_slack_is_plain_text_json(dave):
    from releasemgr import channels

    hook = ChatWebhook(name="s", url="https://x.example/", format="slack")
    n = Notification(user=dave, kind="incident", message="Hi", link="")
    assert json.loads(json.dumps(channels.chat_body(hook, n))) == {
        "text": "*Incident attributed to a release*: Hi"
    }


def test_the_deliveries_filters_are_wide_enough_for_their_any_labels(client, alice):
    page = logged_in(client, alice).get(reverse("notification_deliveries")).content.decode()
    for name, label in (("status", "Any status"), ("channel", "Any channel")):
        assert f'<select name="{name}" class="form-select form-select-sm w-auto select-fit"' in page
        assert f'<option value="">{label}</option>' in page


def test_a_stored_choice_for_a_kind_no_longer_sent_reads_as_words(dave):
    NotificationPreference.objects.create(user=dave, kind="legacy_freeze_digest", email=False)
    rows = {r["kind"]: r for r in notifications.preferences(dave)}
    assert rows["legacy_freeze_digest"]["label"] == "Legacy freeze digest"
    assert rows["release_blocked"]["label"] == "Planned deployment blocked"
