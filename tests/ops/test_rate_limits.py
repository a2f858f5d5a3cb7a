"""API rate limits: a token over its limit gets 429 with Retry-After; others carry on.

Limits are per hour here so that no test straddles the start of a new counting window.
"""

import os
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from releasemgr.models import ApiToken
from releasemgr.rates import env_rate, parse_rate
from releases.models import Team

pytestmark = pytest.mark.django_db

TEAMS = "/api/v1/teams/"

BACKENDS = {
    "database": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "releasemgr_cache",
    },
    "redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("REDIS_URL", ""),
    },
}


@pytest.fixture(params=["database", "redis"])
def shared_cache(request, settings):
    """Each cross-process cache the throttle may run on, with a prefix of this test's own."""
    if request.param == "redis" and not os.environ.get("REDIS_URL"):
        pytest.skip("REDIS_URL is not set")
    settings.CACHES = {"default": {**BACKENDS[request.param], "KEY_PREFIX": uuid.uuid4().hex}}
    if request.param == "database":
        # Made with the test database when the database cache is configured; not under Redis.
        call_command("createcachetable")
    return request.param


def token_client(user, name="ci"):
    token, key = ApiToken.issue(user, name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, token


def test_token_over_its_limit_gets_429_with_retry_after(shared_cache, settings, alice, bob):
    settings.API_RATE_LIMIT = "3/hour"
    client, _ = token_client(alice)
    for _ in range(3):
        assert client.get(TEAMS).status_code == 200

    refused = client.get(TEAMS)

    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 3600
    body = refused.json()
    assert body["code"] == "throttled"
    assert f"Retry in {refused['Retry-After']} seconds" in body["detail"]
    # Another person's token, and the same person's other token, each have their own count.
    assert token_client(bob)[0].get(TEAMS).status_code == 200
    assert token_client(alice, "another pipeline")[0].get(TEAMS).status_code == 200


def test_a_refused_request_writes_nothing(shared_cache, settings, alice):
    settings.API_RATE_LIMIT = "1/hour"
    client, _ = token_client(alice)
    assert client.post(TEAMS, {"slug": "first", "name": "First"}).status_code == 201

    refused = client.post(TEAMS, {"slug": "second", "name": "Second"})

    assert refused.status_code == 429
    assert list(Team.objects.values_list("slug", flat=True)) == ["first"]


def test_session_calls_are_limited_per_user(shared_cache, settings, client, alice, bob):
    settings.API_RATE_LIMIT = "2/hour"
    client.force_login(alice)
    assert [client.get(TEAMS).status_code for _ in range(3)] == [200, 200, 429]
    client.force_login(bob)
    assert client.get(TEAMS).status_code == 200


def test_a_token_override_replaces_the_default(shared_cache, settings, alice):
    settings.API_RATE_LIMIT = "100/min"
    slow, token = token_client(alice, "slow pipeline")
    token.rate_limit = "1/hour"
    token.full_clean()
    token.save()
    fast, _ = token_client(alice, "fast pipeline")

    assert [slow.get(TEAMS).status_code for _ in range(2)] == [200, 429]
    assert 1 <= int(slow.get(TEAMS)["Retry-After"]) <= 3600
    assert [fast.get(TEAMS).status_code for _ in range(5)] == [200] * 5


def test_off_means_no_limit(shared_cache, settings, alice):
    settings.API_RATE_LIMIT = "off"
    client, _ = token_client(alice)
    assert {client.get(TEAMS).status_code for _ in range(10)} == {200}


def test_anonymous_calls_get_401_not_429(shared_cache, settings):
    settings.API_RATE_LIMIT = "1/hour"
    assert [APIClient().get(TEAMS).status_code for _ in range(3)] == [401, 401, 401]


@pytest.mark.parametrize("bad", ["lots", "10", "10/fortnight", "0/min", "-1/s"])
def test_a_malformed_rate_is_refused_loudly(monkeypatch, bad, alice):
    monkeypatch.setenv("API_RATE_LIMIT", bad)
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        env_rate("API_RATE_LIMIT", "600/min")
    token, _ = ApiToken.issue(alice, "ci")
    token.rate_limit = bad
    with pytest.raises(ValidationError) as err:
        token.full_clean()
    assert "rate_limit" in err.value.message_dict
    token.refresh_from_db()
    assert token.rate_limit == ""


def test_rates_read_as_written():
    assert parse_rate("600/min") == (600, 60)
    assert parse_rate("5/s") == (5, 1)
    assert parse_rate("1000/hour") == (1000, 3600)
    assert parse_rate(" 2 / day ") == (2, 86400)
    assert parse_rate("off") is None
    assert parse_rate("") is None


def test_every_operation_documents_429_with_retry_after():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert operations
    for path, method, op in operations:
        response = op["responses"].get("429")
        assert response, f"{method.upper()} {path} does not document 429"
        assert "Retry-After" in response["headers"]
        assert response["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


def test_a_malformed_override_in_the_database_falls_back_to_the_default(
    shared_cache, settings, alice
):
    settings.API_RATE_LIMIT = "1/hour"
    client, token = token_client(alice)
    ApiToken.objects.filter(pk=token.pk).update(rate_limit="lots")  # around validation
    assert [client.get(TEAMS).status_code for _ in range(2)] == [200, 429]


def test_an_unreachable_cache_lets_requests_through(settings, alice):
    settings.API_RATE_LIMIT = "1/hour"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        }
    }
    client, _ = token_client(alice)
    assert [client.get(TEAMS).status_code for _ in range(3)] == [200, 200, 200]
