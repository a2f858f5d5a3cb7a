"""Looking after a webhook subscription after it is made: edit it (page and API, with the create
rules, kept in its history), rotate its signing secret (shown once, a refresh rotates nothing,
old signatures stop verifying), send it a signed ``ping``; the page explains verification
itself; the chat webhook list speaks in labels, not codes."""

import html
import re
import time

import pytest
from django.urls import reverse

from releasemgr import webhooks
from releasemgr.models_notify import ChatWebhook, WebhookDelivery, WebhookSubscription
from tests.conftest import PASSWORD
from tests.ops.receiver import loopback_receiver
from tests.ops.test_webhooks import URL, receiver_verifies, subscribe

pytestmark = pytest.mark.django_db

FORBIDDEN = ["dave", "audrey", "pipeline", "carol"]


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DELIVERY_BACKOFF_SECONDS = 0
    settings.DELIVERY_MAX_ATTEMPTS = 3


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def nonce_of(page: str, action: str) -> str:
    form = re.search(rf'action="{re.escape(action)}".*?</form>', page, re.S).group(0)
    return re.search(r'name="submission" value="([^"]+)"', form).group(1)


def edit_form(**fields):
    form = {
        "edit-name": "ci",
        "edit-url": "https://ci.example.com/hook",
        "edit-events": ["release.state_changed"],
        "edit-active": "on",
    }
    form.update({f"edit-{k}": v for k, v in fields.items()})
    return {k: v for k, v in form.items() if v is not None}


def snapshot(subscription):
    subscription.refresh_from_db()
    return (
        subscription.name,
        subscription.url,
        subscription.events,
        subscription.active,
        subscription.secret,
        subscription.history.count(),
        subscription.deliveries.count(),
    )


# --- edit ----------------------------------------------------------------------------------------


def test_a_release_manager_edits_a_subscription_on_its_page_and_the_history_shows_it(client, alice):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    login(client, alice)
    page = client.get(subscription.get_absolute_url()).content.decode()
    assert 'data-testid="webhook-edit-form"' in page
    assert 'value="https://ci.example.com/hook"' in page

    answer = client.post(
        reverse("webhook_edit", args=[subscription.pk]),
        edit_form(
            name="ci (new)",
            url="https://hooks.example.com/new",
            events=["gate.answered", "deployment.finished"],
            active=None,
        ),
        follow=True,
    )
    assert answer.redirect_chain[-1][0] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    assert subscription.name == "ci (new)"
    assert subscription.url == "https://hooks.example.com/new"
    assert subscription.events == ["deployment.finished", "gate.answered"]
    assert subscription.active is False
    latest = subscription.history.first()
    assert (latest.history_change_reason, latest.history_user) == ("subscription changed", alice)

    history = answer.content.decode().split('data-testid="history"')[1]
    assert "subscription changed" in history and "alice" in history
    assert "https://hooks.example.com/new" in history and "ci (new)" in history


@pytest.mark.parametrize(
    "fields, field_error",
    [
        ({"url": "ftp://ci.example.com/"}, "Use an http:// or https:// URL (this one has 'ftp:')."),
        ({"url": "javascript:alert(1)"}, "Use an http:// or https:// URL"),
        ({"events": ["release.deleted"]}, "release.deleted"),
        ({"events": ["ping"]}, "ping"),
        ({"events": None}, "This field is required."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_a_bad_edit_is_refused_with_a_clear_message_and_writes_nothing(
    client, alice, fields, field_error
):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    before = snapshot(subscription)
    answer = login(client, alice).post(
        reverse("webhook_edit", args=[subscription.pk]), edit_form(**fields)
    )
    assert answer.status_code == 400
    page = html.unescape(answer.content.decode())
    assert field_error in page
    assert re.search(r'data-testid="webhook-edit" open', page)  # the form stays open
    assert snapshot(subscription) == before


def test_an_edit_that_changes_nothing_writes_no_history_row(client, alice):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    answer = login(client, alice).post(
        reverse("webhook_edit", args=[subscription.pk]), edit_form(), follow=True
    )
    assert "Nothing changed." in answer.content.decode()
    assert subscription.history.count() == 1


def test_the_api_changes_a_subscription_with_patch_and_keeps_the_history(api_client, alice):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    answer = api_client(alice).patch(
        f"{URL}{subscription.pk}/",
        {"name": "renamed", "events": ["gate.answered"]},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert (answer.json()["name"], answer.json()["events"]) == ("renamed", ["gate.answered"])
    assert subscription.history.first().history_change_reason == "subscription changed"

    refused = api_client(alice).patch(
        f"{URL}{subscription.pk}/", {"events": ["ping"]}, format="json"
    )
    assert refused.status_code == 400 and "ping" in " ".join(refused.json()["events"])
    subscription.refresh_from_db()
    assert subscription.events == ["gate.answered"]


# --- permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", FORBIDDEN)
@pytest.mark.parametrize("action", ["webhook_edit", "webhook_rotate", "webhook_ping"])
def test_roles_without_the_change_permission_get_403_on_the_page_and_nothing_changes(
    client, request, alice, persona, action
):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    before = snapshot(subscription)
    user = request.getfixturevalue(persona)
    login(client, user)
    answer = client.post(reverse(action, args=[subscription.pk]), edit_form(name="hacked"))
    assert answer.status_code == 403
    assert snapshot(subscription) == before
    if persona in ("dave", "audrey"):  # they read the page, without the buttons
        page = client.get(subscription.get_absolute_url()).content.decode()
        for button in ("Send test event", "Rotate the secret now", "webhook-edit-form"):
            assert button not in page


@pytest.mark.parametrize("persona", FORBIDDEN)
@pytest.mark.parametrize(
    "method, path, body",
    [
        ("patch", "", {"name": "hacked"}),
        ("post", "rotate-secret/", None),
        ("post", "ping/", None),
    ],
)
def test_roles_without_the_change_permission_get_403_from_the_api_and_nothing_changes(
    api_client, request, alice, persona, method, path, body
):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    before = snapshot(subscription)
    client = api_client(request.getfixturevalue(persona))
    answer = getattr(client, method)(f"{URL}{subscription.pk}/{path}", body, format="json")
    assert answer.status_code == 403
    assert snapshot(subscription) == before


def test_anonymous_is_sent_to_sign_in_and_changes_nothing(client, alice, api_client):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    before = snapshot(subscription)
    for action in ("webhook_edit", "webhook_rotate", "webhook_ping"):
        answer = client.post(reverse(action, args=[subscription.pk]), edit_form(name="x"))
        assert answer.status_code == 302 and "login" in answer["Location"]
    assert api_client().post(f"{URL}{subscription.pk}/rotate-secret/").status_code == 401
    assert snapshot(subscription) == before


# --- rotating the secret -------------------------------------------------------------------------


def test_a_rotated_secret_is_shown_once_and_a_refresh_does_not_rotate_again(client, alice):
    subscription, old = subscribe(alice, "https://ci.example.com/hook")
    login(client, alice)
    action = reverse("webhook_rotate", args=[subscription.pk])
    page = client.get(subscription.get_absolute_url()).content.decode()
    form = {"submission": nonce_of(page, action)}

    first = client.post(action, form)
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    subscription.refresh_from_db()
    new = subscription.secret
    assert new != old and new.startswith("whsec_")
    assert new in first.content.decode() and "new signing secret" in first.content.decode()

    again = client.post(action, form, follow=True)  # the browser's refresh re-posts the form
    subscription.refresh_from_db()
    assert subscription.secret == new
    assert again.redirect_chain[-1][0] == subscription.get_absolute_url()
    assert "already rotated by that form" in again.content.decode()
    assert new not in again.content.decode()
    assert subscription.history.count() == 2  # created, rotated once

    # The page never shows it again; a fresh form rotates again, as asked.
    page = client.get(subscription.get_absolute_url()).content.decode()
    assert new not in page and subscription.secret_hint in page
    assert client.post(action, {"submission": nonce_of(page, action)}).status_code == 200
    subscription.refresh_from_db()
    assert subscription.secret not in (old, new)


def test_the_rotation_is_in_the_history_without_the_secret(client, alice):
    subscription, old = subscribe(alice, "https://ci.example.com/hook")
    new = webhooks.rotate_secret(subscription, alice)
    record = subscription.history.first()
    assert not hasattr(record, "secret")
    assert record.history_change_reason == f"signing secret rotated (now whsec_…{new[-4:]})"
    assert record.history_user == alice
    page = login(client, alice).get(subscription.get_absolute_url()).content.decode()
    history = page.split('data-testid="history"')[1]
    assert "signing secret rotated" in history
    assert new not in page and old not in page


def test_after_a_rotation_deliveries_verify_with_the_new_secret_only(
    eager, alice, api_client, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        subscription, old = subscribe(alice, receiver.url, events=["gate.answered"])
        answer = api_client(alice).post(f"{URL}{subscription.pk}/rotate-secret/")
        assert answer.status_code == 200 and answer["Cache-Control"] == "no-store"
        new = answer.json()["secret"]
        assert new != old and answer.json()["secret_hint"] == f"whsec_…{new[-4:]}"
        with django_capture_on_commit_callbacks(execute=True):
            webhooks.emit("gate.answered", {"status": "allowed"})

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert receiver_verifies(new, got)
    assert not receiver_verifies(old, got)
    # Read back, the subscription shows the hint only.
    detail = api_client(alice).get(f"{URL}{subscription.pk}/").json()
    assert "secret" not in detail and detail["secret_hint"] == f"whsec_…{new[-4:]}"


# --- test event ----------------------------------------------------------------------------------


def test_send_test_event_posts_a_signed_ping_to_that_subscription_only(
    eager, client, alice, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver, loopback_receiver() as other:
        subscription, secret = subscribe(alice, receiver.url)
        bystander, _ = webhooks.create_subscription(
            alice, name="other", url=other.url, events=list(webhooks.EVENTS)
        )
        login(client, alice)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(reverse("webhook_ping", args=[subscription.pk]))
        assert answer.status_code == 302
        assert other.requests == []

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert receiver_verifies(secret, got)
    assert got.headers["X-Releasemgr-Event"] == "ping"
    body = got.json()
    assert body["event"] == "ping" and body["occurred_at"]
    assert body["data"] == {"subscription": subscription.pk, "name": "ci"}
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert (delivery.event, delivery.status, delivery.response_code) == ("ping", "sent", 200)
    assert got.headers["X-Releasemgr-Delivery"] == str(delivery.uuid)
    assert not bystander.deliveries.exists()

    page = client.get(subscription.get_absolute_url()).content.decode()
    log = page.split('data-testid="webhook-deliveries"')[1]
    assert "<strong>ping</strong>" in log and str(delivery.uuid) in log


def test_a_ping_is_an_outbox_row_enqueued_on_commit(
    alice, api_client, monkeypatch, django_capture_on_commit_callbacks
):
    """Written in the request's transaction; handed to the worker only once it commits."""
    queued = []
    monkeypatch.setattr(webhooks, "enqueue", queued.append)
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    with django_capture_on_commit_callbacks() as callbacks:
        answer = api_client(alice).post(f"{URL}{subscription.pk}/ping/")
        assert answer.status_code == 201, answer.content
        delivery = WebhookDelivery.objects.get()
        assert (answer.json()["id"], answer.json()["event"]) == (delivery.pk, "ping")
        assert delivery.status == "pending"
        assert queued == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued == [delivery.pk]


def test_a_paused_subscription_is_not_pinged(client, alice, api_client):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    webhooks.update_subscription(subscription, alice, active=False)
    answer = api_client(alice).post(f"{URL}{subscription.pk}/ping/")
    assert answer.status_code == 409
    assert "paused" in answer.json()["detail"]
    page = login(client, alice).post(reverse("webhook_ping", args=[subscription.pk]), follow=True)
    assert "is paused and receives nothing" in page.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_ping_is_not_a_subscribable_event(alice):
    assert "ping" not in webhooks.EVENTS
    with pytest.raises(ValueError):
        webhooks.emit("ping", {})
    with pytest.raises(Exception, match="Unknown event"):
        subscribe(alice, "https://ci.example.com/hook", events=["ping"])
    assert not WebhookSubscription.objects.exists()


# --- the page explains itself ---------------------------------------------------------------------


@pytest.mark.parametrize("page", ["webhook_list", "webhook_detail"])
def test_the_pages_explain_how_to_verify_a_delivery_without_the_repository(client, alice, page):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    url = reverse(page, args=[subscription.pk] if page == "webhook_detail" else [])
    page_html = login(client, alice).get(url).content.decode()
    assert "docs/webhooks.md" not in page_html
    box = re.search(r'<details[^>]*data-testid="webhook-verify".*?</details>', page_html, re.S)
    assert box and "How to verify a delivery" in box.group(0)
    text = box.group(0)
    for header in (
        "X-Releasemgr-Event",
        "X-Releasemgr-Delivery",
        "X-Releasemgr-Timestamp",
        "X-Releasemgr-Signature",
    ):
        assert header in text
    # The example on the page is the real algorithm: run it against a signed body.
    code = html.unescape(re.search(r"<pre[^>]*><code>(.*?)</code></pre>", text, re.S).group(1))
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own page's example
    body = b'{"data":{},"event":"ping"}'
    ts = str(int(time.time()))
    headers = {
        "X-Releasemgr-Timestamp": ts,
        "X-Releasemgr-Signature": webhooks.sign("whsec_abc", ts, body),
    }
    assert namespace["verify"]("whsec_abc", headers, body)
    assert not namespace["verify"]("whsec_other", headers, body)


# --- chat webhooks list ----------------------------------------------------------------------------


def test_the_chat_webhook_list_shows_labels_not_codes(client, alice):
    from releasemgr.notifications import KINDS

    kind = next(iter(KINDS))
    ChatWebhook.objects.create(
        name="ops", url="https://hooks.slack.com/x", format="slack", kinds=[kind, "gone_kind"]
    )
    page_html = login(client, alice).get(reverse("chat_webhook_list")).content.decode()
    row = html.unescape(re.search(r"<tr><td>ops</td>.*?</tr>", page_html, re.S).group(0))
    assert "Slack-compatible" in row
    assert KINDS[kind].label in row and "Gone kind" in row
    assert f">{kind}" not in row and "gone_kind" not in row
    assert "<td>slack</td>" not in row
