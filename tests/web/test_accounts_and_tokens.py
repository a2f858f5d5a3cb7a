"""Signing in and out, and API tokens managed from the web UI."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from releasemgr.models import ApiToken, hash_token
from tests.conftest import PASSWORD

RELEASES_API = "/api/v1/releases/"


def issue_via_ui(client, name="CI", **extra):
    """POST the issue form; return (response, clear key shown on the page)."""
    response = client.post(reverse("token_create"), {"name": name, **extra})
    assert response.status_code == 200, response.content
    match = re.search(r'data-testid="token-key"', response.content.decode())
    assert match, "the result page shows the key"
    key = re.search(r'id="token-key"[^>]*value="([^"]+)"', response.content.decode()).group(1)
    return response, key


# --- login / logout -----------------------------------------------------------------------


def test_login_page_shows_the_app_name_and_a_form(client, db):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Release manager" in html and 'name="password"' in html and "csrfmiddlewaretoken" in html


def test_wrong_password_shows_an_error_and_does_not_sign_in(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_signing_in_leads_to_the_dashboard(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_signing_in_returns_to_the_page_asked_for(client, alice):
    target = reverse("service_list")
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD, "next": target}
    )
    assert response.url == target


def test_logging_out_needs_a_post(login, alice):
    client = login(alice)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response.url == reverse("login")
    assert "_auth_user_id" not in client.session


# --- token pages: access ------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_login_from_token_pages(client, alice):
    token, _key = ApiToken.issue(alice, "x")
    for url in (
        reverse("token_list"),
        reverse("token_create"),
        token.get_absolute_url(),
        reverse("token_revoke", args=[token.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login")), url


def test_user_without_a_role_still_manages_own_tokens(login, nobody):
    client = login(nobody)
    assert client.get(reverse("token_list")).status_code == 200
    _response, key = issue_via_ui(client, name="laptop")
    assert ApiToken.objects.get(key_hash=hash_token(key)).user == nobody


def test_token_list_shows_only_my_tokens(login, dave, alice):
    ApiToken.issue(dave, "dave's script")
    ApiToken.issue(alice, "alice's script")
    html = login(dave).get(reverse("token_list")).content.decode()
    assert "dave&#x27;s script" in html and "alice&#x27;s script" not in html


def test_someone_elses_token_is_forbidden(login, dave, alice):
    token, key = ApiToken.issue(alice, "alice's script")
    client = login(dave)
    assert client.get(token.get_absolute_url()).status_code == 403
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 403
    token.refresh_from_db()
    assert token.is_active


# --- issuing ------------------------------------------------------------------------------


def test_issued_key_is_shown_once_and_only_its_hash_is_stored(login, dave, api_client):
    client = login(dave)
    response, key = issue_via_ui(client, name="GitLab CI")
    html = response.content.decode()
    assert "will not be shown again" in html
    assert response["Cache-Control"] == "no-store"

    token = ApiToken.objects.get(name="GitLab CI")
    assert token.user == dave and token.created_by == dave
    assert token.key_hash == hash_token(key) != key
    assert key.startswith(token.prefix)
    # The clear key is nowhere in the database: not in the token row, its history, or sessions.
    with connection.cursor() as cursor:
        for table in ("releasemgr_apitoken", "releasemgr_historicalapitoken", "django_session"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            assert key not in repr(cursor.fetchall()), table
    # ...nor on any later page.
    for url in (reverse("token_list"), token.get_absolute_url()):
        assert key not in client.get(url).content.decode()
    assert token.prefix in client.get(reverse("token_list")).content.decode()


def test_issued_key_works_and_its_last_use_is_recorded(login, dave, client):
    _response, key = issue_via_ui(login(dave), name="script")
    token = ApiToken.objects.get(name="script")
    assert token.last_used_at is None
    client.logout()
    response = client.get(RELEASES_API, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    client.force_login(dave)
    html = client.get(token.get_absolute_url()).content.decode()
    last_used = html[html.index('data-testid="last-used"') :].split("</dd>")[0]
    assert "never" not in last_used


def test_token_without_a_name_is_refused(login, dave):
    response = login(dave).post(reverse("token_create"), {"name": "  "})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_plain_user_cannot_issue_a_token_for_someone_else(login, dave, pipeline):
    client = login(dave)
    assert 'name="user"' not in client.get(reverse("token_create")).content.decode()
    issue_via_ui(client, name="sneaky", user="pipeline")
    assert ApiToken.objects.get(name="sneaky").user == dave
    assert not ApiToken.objects.filter(user=pipeline).exists()


def test_token_manager_sees_everyones_tokens_and_issues_one_for_the_pipeline(
    login, admin, dave, pipeline, client
):
    ApiToken.issue(dave, "dave's laptop")
    manager = login(admin)
    html = manager.get(reverse("token_list")).content.decode()
    assert "dave&#x27;s laptop" in html
    _response, key = issue_via_ui(manager, name="Jenkins", user="pipeline")
    token = ApiToken.objects.get(name="Jenkins")
    assert token.user == pipeline and token.created_by == admin
    html = manager.get(reverse("token_list"), {"user": "pipeline"}).content.decode()
    assert "Jenkins" in html and "dave&#x27;s laptop" not in html
    client.logout()
    assert client.get(RELEASES_API, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200


# --- revoking -----------------------------------------------------------------------------


def test_revoking_asks_for_confirmation_then_the_api_refuses_the_key(login, dave, client):
    _response, key = issue_via_ui(login(dave), name="old CI")
    token = ApiToken.objects.get(name="old CI")
    url = reverse("token_revoke", args=[token.pk])
    assert "Revoke token" in client.get(url).content.decode()
    token.refresh_from_db()
    assert token.is_active  # GET changes nothing
    response = client.post(url)
    assert response.status_code == 302
    token.refresh_from_db()
    assert not token.is_active and token.revoked_by == dave
    assert token.history.latest().history_change_reason == "revoked"

    client.logout()
    assert client.get(RELEASES_API, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401
    client.force_login(dave)
    html = client.get(reverse("token_list"), {"state": "revoked"}).content.decode()
    assert "old CI" in html and "revoked" in html


def test_token_manager_revokes_someone_elses_token(login, admin, dave):
    token, _key = ApiToken.issue(dave, "leaked")
    response = login(admin).post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_by == admin


def test_token_detail_shows_its_history(login, dave):
    token, _key = ApiToken.issue(dave, "history", created_by=dave)
    token.revoke(by=dave)
    html = login(dave).get(token.get_absolute_url()).content.decode()
    history = html[html.index('data-testid="history"') :]
    assert "issued" in history and "revoked" in history


@pytest.mark.parametrize("rows", [5, 200])
def test_token_list_runs_a_bounded_number_of_queries(
    login, admin, dave, rows, django_assert_max_num_queries
):
    for i in range(rows):
        token, _key = ApiToken.issue(dave, f"t{i}", created_by=admin)
        if i % 2:
            token.revoke(by=admin)
    client = login(admin)
    client.get(reverse("token_list"))
    with django_assert_max_num_queries(8):
        assert client.get(reverse("token_list")).status_code == 200


def test_posting_the_issue_form_again_issues_no_second_token(login, dave):
    """A refresh of the page that shows the key re-posts the form: nothing new is issued and
    the key is not shown again; the person is sent to the token issued the first time."""
    client = login(dave)
    page = client.get(reverse("token_create")).content.decode()
    nonce = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    first = client.post(reverse("token_create"), {"name": "CI", "submission": nonce})
    assert first.status_code == 200 and first["Cache-Control"] == "no-store"
    token = ApiToken.objects.get()

    again = client.post(reverse("token_create"), {"name": "CI", "submission": nonce}, follow=True)
    assert ApiToken.objects.count() == 1
    assert again.redirect_chain[-1][0] == reverse("token_detail", args=[token.pk])
    assert "already issued by that form" in again.content.decode()
    assert 'data-testid="token-key"' not in again.content.decode()


def test_a_refused_issue_form_keeps_its_nonce_and_issues_once_fixed(login, dave):
    client = login(dave)
    page = client.get(reverse("token_create")).content.decode()
    nonce = re.search(r'name="submission" value="([^"]+)"', page).group(1)
    refused = client.post(reverse("token_create"), {"name": " ", "submission": nonce})
    assert refused.status_code == 400 and f'value="{nonce}"' in refused.content.decode()
    assert not ApiToken.objects.exists()
    assert (
        client.post(reverse("token_create"), {"name": "CI", "submission": nonce}).status_code == 200
    )
    assert ApiToken.objects.count() == 1
