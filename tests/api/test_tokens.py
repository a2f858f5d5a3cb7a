"""API tokens: stored hashed, revocable, and telling when they were last used."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from releasemgr.models import ApiToken, hash_token


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_token_is_stored_only_as_its_hash(pipeline):
    token, key = ApiToken.issue(pipeline, "GitLab CI")

    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in {str(v) for v in stored.values()}
    assert stored["key_hash"] == hash_token(key)
    assert stored["prefix"] == key[:8]
    # Nor does the key leak into the token's history.
    for row in token.history.values():
        assert key not in {str(v) for v in row.values()}


def test_a_valid_token_authenticates_its_user(pipeline, payments, environments):
    _token, key = ApiToken.issue(pipeline, "GitLab CI")

    response = client_with(key).post(
        "/api/v1/gate/", {"service": "payments-api", "version": "1.0.0", "environment": "dev"}
    )

    assert response.status_code == 200


def test_an_unknown_token_is_401(db):
    response = client_with("not-a-real-token").get("/api/v1/releases/")

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_a_revoked_token_is_401_with_a_clear_message(pipeline, alice):
    token, key = ApiToken.issue(pipeline, "GitLab CI")
    assert client_with(key).get("/api/v1/releases/").status_code == 200

    token.revoke(by=alice)
    response = client_with(key).get("/api/v1/releases/")

    assert response.status_code == 401
    assert response.json()["detail"] == "Token has been revoked."
    token.refresh_from_db()
    assert token.revoked_by == alice


def test_a_token_of_a_deactivated_user_is_401(pipeline):
    _token, key = ApiToken.issue(pipeline, "GitLab CI")
    pipeline.is_active = False
    pipeline.save()

    response = client_with(key).get("/api/v1/releases/")

    assert response.status_code == 401


def test_using_a_token_records_when_it_was_last_used(pipeline):
    token, key = ApiToken.issue(pipeline, "GitLab CI")
    assert token.last_used_at is None
    before = timezone.now()

    client_with(key).get("/api/v1/releases/")

    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_last_used_is_refreshed_at_most_once_a_minute_without_history_rows(pipeline):
    token, key = ApiToken.issue(pipeline, "GitLab CI")
    history_rows = token.history.count()
    client = client_with(key)

    client.get("/api/v1/releases/")
    token.refresh_from_db()
    first = token.last_used_at
    client.get("/api/v1/releases/")
    token.refresh_from_db()
    assert token.last_used_at == first

    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=5))
    client.get("/api/v1/releases/")
    token.refresh_from_db()
    assert token.last_used_at >= first
    assert token.history.count() == history_rows


def test_a_malformed_authorization_header_is_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token two words")

    assert client.get("/api/v1/releases/").status_code == 401


def test_the_bearer_scheme_is_taken_too(pipeline):
    token, key = ApiToken.issue(pipeline, "GitHub Actions")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/releases/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None

    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-key")
    refused = client.get("/api/v1/releases/")
    assert refused.status_code == 401
    assert refused.json()["detail"] == "Invalid token."
    client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert client.get("/api/v1/releases/").status_code == 401  # not a scheme we take
