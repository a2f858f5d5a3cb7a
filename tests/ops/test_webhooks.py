"""Outbound webhooks: subscriptions (API and page), events emitted where things happen, signed
deliveries verified by a loopback receiver with the documented algorithm, retries, redelivery,
bad input, permissions; and one retry on a real Celery worker."""

import hashlib
import hmac
import json
import re
import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releasemgr import webhooks
from releasemgr.models_notify import DeliveryStatus, WebhookDelivery, WebhookSubscription
from releases import lifecycle
from tests.conftest import PASSWORD
from tests.ops.receiver import loopback_receiver

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/"


@pytest.fixture
def eager(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.DELIVERY_BACKOFF_SECONDS = 0
    settings.DELIVERY_MAX_ATTEMPTS = 3


def receiver_verifies(secret: str, request) -> bool:
    """The receiver's side, exactly as docs/webhooks.md describes it."""
    timestamp = request.headers["X-Releasemgr-Timestamp"]
    expected = (
        "sha256="
        + hmac.new(
            secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
        ).hexdigest()
    )
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, request.headers["X-Releasemgr-Signature"])


def subscribe(alice, url, events=("release.state_changed",)):
    return webhooks.create_subscription(alice, name="ci", url=url, events=list(events))


# --- API -----------------------------------------------------------------------------------------


def test_the_secret_is_in_the_create_answer_only(api_client, alice):
    client = api_client(alice)
    created = client.post(
        URL,
        {"name": "CI", "url": "https://ci.example.com/hook", "events": ["gate.answered"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    secret = created.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    assert created.json()["secret_hint"] == f"whsec_…{secret[-4:]}"

    listed = client.get(URL)
    detail = client.get(f"{URL}{created.json()['id']}/")
    for answer in (listed, detail):
        assert answer.status_code == 200
        assert secret not in answer.content.decode()
        assert "secret_hint" in answer.content.decode()
    subscription = WebhookSubscription.objects.get()
    assert subscription.secret == secret
    assert not hasattr(subscription.history.first(), "secret")


@pytest.mark.parametrize(
    "body, field, message",
    [
        (
            {"name": "x", "url": "ftp://ci.example.com/", "events": ["gate.answered"]},
            "url",
            "Use an http:// or https:// URL (this one has 'ftp:').",
        ),
        (
            {"name": "x", "url": "https://ci.example.com/", "events": ["release.deleted"]},
            "events",
            "Unknown event(s): release.deleted.",
        ),
        (
            {"name": "x", "url": "http://exa mple.com/x", "events": ["gate.answered"]},
            "url",
            "'exa mple.com' is not a host name or an IP address.",
        ),
        (
            {"name": "x", "url": "http://127.0.0.1:99999/x", "events": ["gate.answered"]},
            "url",
            "The port must be a number from 1 to 65535.",
        ),
        (
            {"name": "x", "url": "http://ci.example.com:/x", "events": ["gate.answered"]},
            "url",
            "The port must be a number from 1 to 65535.",
        ),
        ({"name": "x", "url": "https://ci.example.com/", "events": []}, "events", "Choose"),
        ({"name": "", "url": "https://ci.example.com/", "events": ["gate.answered"]}, "name", ""),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(api_client, alice, body, field, message):
    answer = api_client(alice).post(URL, body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()
    assert message in " ".join(answer.json()[field])
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "http://exa mple.com/x", "http://127.0.0.1:99999/x"]
)
def test_a_change_to_a_bad_url_is_refused_and_keeps_the_old_one(api_client, alice, url):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    answer = api_client(alice).patch(f"{URL}{subscription.pk}/", {"url": url}, format="json")
    assert answer.status_code == 400
    subscription.refresh_from_db()
    assert subscription.url == "https://ci.example.com/hook"


@pytest.mark.parametrize(
    "url",
    [
        "http://jenkins:8080/hook",  # a single-label name on a private network
        "http://ci_runner.internal/hook",
        "http://[::1]:8080/hook",
        "https://hooks.slack.com/services/T0/B0/x",
    ],
)
def test_internal_names_ports_and_ipv6_are_valid_urls(api_client, alice, url):
    answer = api_client(alice).post(
        URL, {"name": "x", "url": url, "events": ["gate.answered"]}, format="json"
    )
    assert answer.status_code == 201, answer.content


@pytest.mark.parametrize(
    "persona, method, expected",
    [
        ("alice", "post", 201),
        ("dave", "post", 403),
        ("audrey", "post", 403),
        ("pipeline", "post", 403),
        ("audrey", "get", 200),
        ("dave", "get", 200),
        ("nobody", "get", 403),
    ],
)
def test_permissions_per_role(api_client, request, persona, method, expected):
    client = api_client(request.getfixturevalue(persona))
    body = {"name": "x", "url": "https://ci.example.com/", "events": ["gate.answered"]}
    answer = client.post(URL, body, format="json") if method == "post" else client.get(URL)
    assert answer.status_code == expected
    if method == "post" and expected != 201:
        assert not WebhookSubscription.objects.exists()


def test_anonymous_gets_401(api_client):
    assert api_client().get(URL).status_code == 401


def test_only_release_managers_delete_or_redeliver(api_client, alice, dave):
    subscription, _ = subscribe(alice, "https://ci.example.com/hook")
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event="gate.answered", body="{}", status="failed"
    )
    client = api_client(dave)
    assert client.delete(f"{URL}{subscription.pk}/").status_code == 403
    assert (
        client.post(f"{URL}{subscription.pk}/deliveries/{delivery.pk}/redeliver/").status_code
        == 403
    )
    assert WebhookDelivery.objects.count() == 1
    assert api_client(alice).delete(f"{URL}{subscription.pk}/").status_code == 204


# --- events and signed deliveries ---------------------------------------------------------------


def test_a_release_state_change_is_posted_signed(
    eager, alice, dave, draft_release, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        subscription, secret = subscribe(alice, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.submit(draft_release, dave)

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert receiver_verifies(secret, got)
    assert not receiver_verifies("whsec_wrong", got)
    assert got.headers["X-Releasemgr-Event"] == "release.state_changed"
    assert got.headers["Content-Type"] == "application/json"
    body = got.json()
    assert body["event"] == "release.state_changed"
    assert body["data"]["release"] == draft_release.key
    assert (body["data"]["from"], body["data"]["to"]) == ("draft", "submitted")
    assert body["data"]["by"] == "dave"
    delivery = WebhookDelivery.objects.get()
    assert got.headers["X-Releasemgr-Delivery"] == str(delivery.uuid)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 1, 200)
    assert delivery.body.encode() == got.body
    assert delivery.duration_ms is not None and '"ok": true' in delivery.response_excerpt


def test_a_rolled_back_change_sends_nothing(alice, dave, draft_release, eager):
    from django.db import transaction

    with loopback_receiver() as receiver:
        subscribe(alice, receiver.url)
        with pytest.raises(RuntimeError), transaction.atomic():
            lifecycle.submit(draft_release, dave)
            raise RuntimeError("the request failed after the transition")
    assert receiver.requests == []
    assert not WebhookDelivery.objects.exists()


def test_gate_answers_and_attributed_incidents_are_events(
    eager,
    alice,
    approved_release,
    payments,
    environments,
    pipeline,
    django_capture_on_commit_callbacks,
):
    from metrics.incidents import report_incident
    from releases import gate

    with loopback_receiver() as receiver:
        _, secret = subscribe(alice, receiver.url, ["gate.answered", "incident.attributed"])
        with django_capture_on_commit_callbacks(execute=True):
            gate.ask(payments, "1.4.2", environments["dev"], pipeline)
        with django_capture_on_commit_callbacks(execute=True):
            incident, _ = report_incident(
                alice,
                service=payments,
                title="Checkout errors",
                severity="high",
                started_at=timezone.now() - timedelta(hours=1),
                release=approved_release,
            )
    events = [r.headers["X-Releasemgr-Event"] for r in receiver.requests]
    assert events == ["gate.answered", "incident.attributed"]
    attributed = receiver.requests[1].json()["data"]
    assert (attributed["incident"], attributed["release"]) == (incident.pk, approved_release.key)
    body = receiver.requests[0].json()["data"]
    assert body["service"] == "payments-api" and body["environment"] == "dev"
    assert body["status"] in ("allowed", "waiting", "prevented")
    assert all(receiver_verifies(secret, r) for r in receiver.requests)


def test_a_failing_receiver_gets_the_delivery_on_the_second_attempt(
    eager, alice, dave, draft_release, django_capture_on_commit_callbacks
):
    with loopback_receiver(500, 200) as receiver:
        _, secret = subscribe(alice, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.submit(draft_release, dave)

    assert len(receiver.requests) == 2
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Releasemgr-Delivery"] == second.headers["X-Releasemgr-Delivery"]
    assert receiver_verifies(secret, second)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("sent", 2, 200)


def test_a_receiver_that_always_fails_leaves_a_failed_delivery_to_redeliver(
    eager, client, alice, dave, draft_release, api_client, django_capture_on_commit_callbacks
):
    with loopback_receiver(default=503) as receiver:
        subscription, _ = subscribe(alice, receiver.url)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.submit(draft_release, dave)
        assert len(receiver.requests) == 3
    failed = WebhookDelivery.objects.get()
    assert (failed.status, failed.attempts, failed.response_code) == ("failed", 3, 503)
    assert "receiver says no" in failed.response_excerpt

    listed = api_client(alice).get(f"{URL}{subscription.pk}/deliveries/", {"status": "failed"})
    assert listed.status_code == 200
    assert [d["id"] for d in listed.json()["results"]] == [failed.pk]

    assert client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("webhook_detail", args=[subscription.pk]))
    assert b'data-status="failed"' in page.content and b"503" in page.content

    with loopback_receiver() as healthy:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(url=healthy.url)
        with django_capture_on_commit_callbacks(execute=True):
            answer = client.post(reverse("webhook_redeliver", args=[subscription.pk, failed.pk]))
        assert answer.status_code == 302
    assert len(healthy.requests) == 1
    again = WebhookDelivery.objects.exclude(pk=failed.pk).get()
    assert (again.status, again.redelivery_of_id, again.body) == ("sent", failed.pk, failed.body)
    assert healthy.requests[0].headers["X-Releasemgr-Delivery"] == str(again.uuid)


def test_an_unknown_event_cannot_be_emitted():
    with pytest.raises(ValueError, match="Unknown webhook event"):
        webhooks.emit("release.exploded", {})


def test_a_paused_subscription_gets_nothing(
    eager, alice, dave, draft_release, django_capture_on_commit_callbacks
):
    with loopback_receiver() as receiver:
        subscription, _ = subscribe(alice, receiver.url)
        webhooks.update_subscription(subscription, alice, active=False)
        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.submit(draft_release, dave)
    assert receiver.requests == []


# --- pages ---------------------------------------------------------------------------------------


def test_the_page_shows_the_secret_once_and_refuses_a_bad_url(client, alice):
    assert client.login(username="alice", password=PASSWORD)
    bad = client.post(
        reverse("webhook_list"),
        {"name": "ci", "url": "gopher://x.example/", "events": ["gate.answered"]},
    )
    assert bad.status_code == 400
    assert b"Use an http:// or https:// URL" in bad.content
    assert not WebhookSubscription.objects.exists()

    made = client.post(
        reverse("webhook_list"),
        {
            "name": "ci",
            "url": "https://ci.example.com/",
            "events": ["gate.answered"],
            "active": "on",
        },
    )
    assert made.status_code == 201
    secret = WebhookSubscription.objects.get().secret
    assert secret.encode() in made.content
    for page in (reverse("webhook_list"), reverse("webhook_detail", args=[1])):
        shown = client.get(page)
        assert secret.encode() not in shown.content


@pytest.mark.parametrize("persona, expected", [("alice", 201), ("dave", 403), ("audrey", 403)])
def test_who_may_subscribe_on_the_page(client, request, persona, expected):
    user = request.getfixturevalue(persona)
    assert client.login(username=user.username, password=PASSWORD)
    answer = client.post(
        reverse("webhook_list"),
        {"name": "ci", "url": "https://ci.example.com/", "events": ["gate.answered"]},
    )
    assert answer.status_code == expected
    assert WebhookSubscription.objects.exists() == (expected == 201)


@pytest.mark.parametrize("rows", [3, 30])
def test_the_delivery_log_needs_a_bounded_number_of_queries(
    client, alice, rows, django_assert_max_num_queries
):
    subscription, _ = subscribe(alice, "https://ci.example.com/")
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(subscription=subscription, event="gate.answered", body=json.dumps({"i": i}))
        for i in range(rows)
    )
    assert client.login(username="alice", password=PASSWORD)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("webhook_detail", args=[subscription.pk]))
    assert page.status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("webhook_list")).status_code == 200


# --- a real worker --------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_failing_receiver_until_it_answers(alice, tmp_path, monkeypatch):
    from releasemgr.celery import app as celery_app
    from releasemgr.tasks_notify import send_webhook_delivery
    from tests.celery_worker import real_worker

    monkeypatch.setenv("DELIVERY_BACKOFF_SECONDS", "1")
    with loopback_receiver(500, 500, 200) as receiver:
        subscription, secret = subscribe(alice, receiver.url)
        delivery = WebhookDelivery.objects.create(
            subscription=subscription,
            event="gate.answered",
            body='{"data":{},"event":"gate.answered"}',
            attempt_limit=5,
        )
        with real_worker(tmp_path) as worker:
            # Retries re-publish to the worker's own queue (the task's request keeps it).
            with celery_app.connection_for_write(
                transport_options=worker.transport_options
            ) as conn:
                send_webhook_delivery.apply_async(
                    (delivery.pk,), connection=conn, queue=worker.queue
                )
                send_webhook_delivery.apply_async(
                    (delivery.pk,), connection=conn, queue=worker.queue
                )
            worker.wait_until(
                lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == DeliveryStatus.SENT,
                timeout=60,
            )
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.response_code) == (3, 200)
    assert len(receiver.requests) == 3  # the duplicate message sent nothing
    assert all(receiver_verifies(secret, r) for r in receiver.requests)


def test_the_history_import_emits_no_events_for_past_facts(alice):
    """Documented in docs/webhooks.md: imported history is not replayed at subscribers."""
    from metrics.history import import_lines

    subscribe(alice, "https://ci.example.com/hook", events=list(webhooks.EVENTS))
    lines = [
        json.dumps(
            {
                "kind": "deployment",
                "external_id": "gl-1",
                "service": "billing",
                "environment": "production",
                "version": "1.0.0",
                "finished_at": "2026-01-05T10:00:00Z",
                "status": "succeeded",
            }
        ),
        json.dumps(
            {
                "kind": "incident",
                "external_id": "pd-1",
                "service": "billing",
                "severity": "high",
                "started_at": "2026-01-05T12:00:00Z",
            }
        ),
    ]
    result = import_lines(lines, None, create_missing=True)
    assert result.ok and result.incidents_created == 1
    assert not WebhookDelivery.objects.exists()


def test_posting_the_create_form_again_creates_nothing_more(client, alice):
    """A refresh of the "secret shown once" page re-posts the form: same nonce, no second
    subscription (it would receive every event twice), and the secret is not shown again."""
    assert client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("webhook_list")).content.decode()
    nonce = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    form = {
        "name": "ci",
        "url": "https://ci.example.com/",
        "events": ["gate.answered"],
        "active": "on",
        "submission": nonce,
    }
    first = client.post(reverse("webhook_list"), form)
    assert first.status_code == 201 and first["Cache-Control"] == "no-store"
    subscription = WebhookSubscription.objects.get()

    again = client.post(reverse("webhook_list"), form, follow=True)
    assert WebhookSubscription.objects.count() == 1
    assert again.redirect_chain[-1][0] == subscription.get_absolute_url()
    assert "already created by that form" in again.content.decode()
    assert "Rotate the secret on this page if it was lost." in again.content.decode()
    assert subscription.secret not in again.content.decode()

    # A fresh form (new nonce) creates another, as asked.
    other = client.get(reverse("webhook_list")).content.decode()
    form["submission"] = re.search(r'name="submission" value="([^"]+)"', other).group(1)
    assert form["submission"] != nonce
    assert client.post(reverse("webhook_list"), form).status_code == 201
    assert WebhookSubscription.objects.count() == 2
