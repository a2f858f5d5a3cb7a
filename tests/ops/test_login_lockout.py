"""Web sign-in lock-out: five failures in 15 minutes lock a username for 15 minutes."""

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from releasemgr.models import ApiToken
from releasemgr.models_harden import LoginAttempt, LoginOutcome
from releasemgr.security import login_lockout
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-in attempts"


def sign_in(client, username, password, url="/login/"):
    return client.post(url, {"username": username, "password": password})


def fail(client, username, times, url="/login/"):
    return [sign_in(client, username, "wrong-password", url) for _ in range(times)][-1]


def signed_in(client) -> bool:
    return SESSION_KEY in client.session


def outcomes(username):
    return list(
        LoginAttempt.objects.filter(username=username)
        .order_by("at")
        .values_list("outcome", flat=True)
    )


def age(username, minutes):
    """Move the recorded attempts into the past instead of sleeping."""
    for attempt in LoginAttempt.objects.filter(username=username):
        attempt.at -= timedelta(minutes=minutes)
        attempt.save(update_fields=["at"])


def test_five_failures_lock_the_username_even_for_the_right_password(client, alice):
    assert LOCKED not in fail(client, "alice", 4).content.decode()

    fifth = fail(client, "alice", 1)
    assert LOCKED in fifth.content.decode()
    assert "15 more minute(s)" in fifth.content.decode()

    refused = sign_in(client, "alice", PASSWORD)
    assert refused.status_code == 200
    assert LOCKED in refused.content.decode()
    assert not signed_in(client)
    assert outcomes("alice") == [LoginOutcome.FAILED] * 5 + [LoginOutcome.LOCKED]


def test_the_lock_reads_the_same_whether_or_not_the_user_exists(client, alice):
    real = fail(client, "alice", 5).content.decode()
    ghost = fail(client, "ghost", 5).content.decode()

    def message(html):
        start = html.index('data-testid="login-error"')
        return html[start : html.index("</div>", start)]

    assert LOCKED in message(real)
    assert message(real) == message(ghost)


def test_the_lock_runs_out_after_fifteen_minutes(client, alice):
    fail(client, "alice", 5)
    age("alice", 14)
    assert not signed_in(client) and LOCKED in sign_in(client, "alice", PASSWORD).content.decode()

    age("alice", 2)
    response = sign_in(client, "alice", PASSWORD)

    assert response.status_code == 302
    assert signed_in(client)
    assert outcomes("alice")[-1] == LoginOutcome.SUCCEEDED


def test_a_successful_sign_in_resets_the_count(client, alice):
    fail(client, "alice", 4)
    assert sign_in(client, "alice", PASSWORD).status_code == 302
    client.logout()
    fail(client, "alice", 4)

    assert not login_lockout("alice").locked
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_failures_older_than_the_window_do_not_count(client, alice):
    fail(client, "alice", 4)
    age("alice", 16)
    fail(client, "alice", 4)
    assert not login_lockout("alice").locked
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_usernames_are_counted_case_insensitively(client, alice):
    fail(client, "Alice", 3)
    fail(client, "ALICE ", 2)
    assert login_lockout("alice").locked


def test_one_username_locked_leaves_others_alone(client, alice, bob):
    fail(client, "alice", 5)
    assert sign_in(client, "bob", PASSWORD).status_code == 302


def test_api_tokens_are_not_subject_to_the_lock_out(client, alice):
    _token, key = ApiToken.issue(alice, "ci")
    fail(client, "alice", 5)
    assert login_lockout("alice").locked

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/teams/").status_code == 200


def test_the_admin_sign_in_is_locked_out_too(client, admin_user):
    fail(client, "admin", 5, url="/admin/login/")
    response = sign_in(client, "admin", "password", url="/admin/login/")
    assert LOCKED in response.content.decode()
    assert not signed_in(client)
    # Failures on either form count towards the same lock.
    assert LOCKED in sign_in(client, "admin", "password").content.decode()


def test_an_administrator_can_unlock_a_username(client, alice, capsys):
    fail(client, "alice", 5)

    call_command("unlock_login", "alice")

    assert "alice unlocked" in capsys.readouterr().out
    assert sign_in(client, "alice", PASSWORD).status_code == 302


def test_unlock_without_a_username_is_refused_and_records_nothing():
    with pytest.raises(CommandError, match="Give the username"):
        call_command("unlock_login", "  ")
    assert not LoginAttempt.objects.exists()


def test_per_ip_counting_locks_a_client_trying_many_names(client, settings, alice):
    settings.LOGIN_LOCKOUT_IP_FAILURES = 3
    for name in ("x", "y", "z"):
        fail(client, name, 1)
    response = sign_in(client, "alice", PASSWORD)
    assert LOCKED in response.content.decode()
    assert not signed_in(client)
    # The same person from another address is not affected.
    other = client.__class__(REMOTE_ADDR="10.0.0.7")
    assert sign_in(other, "alice", PASSWORD).status_code == 302


def test_an_empty_form_is_refused_and_records_nothing(client, alice):
    response = client.post("/login/", {"username": "", "password": ""})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not LoginAttempt.objects.exists()
