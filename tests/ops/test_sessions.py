"""Sessions end after 30 idle minutes or 12 hours, on sign-out, and when a user is deactivated."""

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from rest_framework.test import APIClient

from releasemgr.models import ApiToken
from releasemgr.models_harden import UserSession
from releasemgr.security import SEEN, STARTED

pytestmark = pytest.mark.django_db

DASHBOARD = "/"


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def shift(client, **seconds_back):
    """Move the session's stored clocks into the past instead of sleeping."""
    session = client.session
    for key, seconds in seconds_back.items():
        session[{"seen": SEEN, "started": STARTED}[key]] -= seconds
    session.save()


def test_a_session_is_filed_under_its_user(alice):
    client = signed_in_client(alice)
    row = UserSession.objects.get(session_key=client.session.session_key)
    assert row.user_pk == str(alice.pk)


def test_thirty_idle_minutes_end_the_session(settings, alice):
    client = signed_in_client(alice)
    key = client.session.session_key
    assert client.get(DASHBOARD).status_code == 200

    shift(client, seen=settings.SESSION_IDLE_TIMEOUT + 1)
    response = client.get(DASHBOARD, follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/")
    assert "expired after a period of inactivity" in response.content.decode()
    assert not UserSession.objects.filter(session_key=key).exists()
    assert SESSION_KEY not in client.session


def test_activity_keeps_a_session_alive(settings, alice):
    client = signed_in_client(alice)
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT - 60)

    assert client.get(DASHBOARD).status_code == 200
    assert time.time() - client.session[SEEN] < 5
    assert client.get(DASHBOARD).status_code == 200


def test_twelve_hours_end_a_session_however_active(settings, alice):
    assert settings.SESSION_ABSOLUTE_TIMEOUT == 12 * 3600
    client = signed_in_client(alice)
    shift(client, started=settings.SESSION_ABSOLUTE_TIMEOUT + 1)

    response = client.get(DASHBOARD, follow=True)

    assert response.redirect_chain[-1][0].startswith("/login/")
    assert "reached its maximum length" in response.content.decode()


def test_an_expired_session_on_the_api_gets_401_in_json(settings, alice):
    client = APIClient()
    client.force_login(alice)
    assert client.get("/api/v1/teams/").status_code == 200
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT + 1)

    response = client.get("/api/v1/teams/")

    assert response.status_code == 401
    assert response.json()["code"] == "session_expired"


def test_an_expired_htmx_request_is_sent_to_sign_in(settings, alice):
    client = signed_in_client(alice)
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT + 1)
    response = client.get(DASHBOARD, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == "/login/?next=%2F"


def test_signing_out_ends_the_session_on_the_server(alice):
    client = signed_in_client(alice)
    key = client.session.session_key

    client.post("/logout/")

    assert not UserSession.objects.filter(session_key=key).exists()
    assert client.get(DASHBOARD).status_code == 302


def test_deactivating_a_user_ends_all_their_sessions_at_once(alice, bob):
    laptop, phone, bobs = signed_in_client(alice), signed_in_client(alice), signed_in_client(bob)
    _token, key = ApiToken.issue(alice, "ci")
    assert UserSession.objects.filter(user_pk=str(alice.pk)).count() == 2

    alice.is_active = False
    alice.save()

    assert not UserSession.objects.filter(user_pk=str(alice.pk)).exists()
    for client in (laptop, phone):
        assert client.get(DASHBOARD).status_code == 302
    assert bobs.get(DASHBOARD).status_code == 200
    # Her token is not revoked behind anyone's back; it just stops authenticating.
    token = ApiToken.objects.get(user=alice)
    assert token.revoked_at is None
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/teams/").status_code == 401


def test_deactivating_in_the_admin_ends_sessions(admin_client, alice):
    client = signed_in_client(alice)
    response = admin_client.post(
        f"/admin/auth/user/{alice.pk}/change/",
        {
            "username": alice.username,
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice.refresh_from_db()
    assert not alice.is_active
    assert client.get(DASHBOARD).status_code == 302


def test_deactivate_user_command(alice, capsys):
    client = signed_in_client(alice)

    call_command("deactivate_user", "alice")

    assert "ended 1 session(s)" in capsys.readouterr().out
    assert client.get(DASHBOARD).status_code == 302


def test_deactivate_user_refuses_unknown_and_inactive_users(alice):
    client = signed_in_client(alice)
    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("deactivate_user", "ghost")
    assert client.get(DASHBOARD).status_code == 200
    alice.is_active = False
    alice.save()
    with pytest.raises(CommandError, match="already inactive"):
        call_command("deactivate_user", "alice")
