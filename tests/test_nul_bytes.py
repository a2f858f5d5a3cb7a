"""A NUL character in a query string is bad input everywhere (PostgreSQL cannot store it)."""

import pytest

from metrics.models import ConfigSnapshot


@pytest.mark.django_db
def test_an_api_query_with_a_nul_byte_is_a_400_in_json(api_client, alice, payments):
    before = ConfigSnapshot.objects.count()
    response = api_client(alice).get(
        "/api/v1/config-diff/",
        {"service": "pay\x00ments", "left": "staging", "right": "production"},
    )
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]
    assert ConfigSnapshot.objects.count() == before


@pytest.mark.django_db
def test_a_page_query_with_a_nul_byte_is_a_400(client, alice):
    client.force_login(alice)
    response = client.get("/releases/", {"q": "a\x00b"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_an_ordinary_query_still_works(api_client, alice, payments):
    response = api_client(alice).get("/api/v1/teams/", {"slug": "payments"})
    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["abc\x00defghijklmnop", "not a key at all!", "x" * 300])
def test_a_malformed_session_cookie_is_no_session_not_an_error(api_client, alice, client, cookie):
    # With a token: the API answers as usual. Without: the page asks to sign in.
    api = api_client(alice)
    api.cookies["sessionid"] = cookie
    assert api.get("/api/v1/teams/").status_code == 200
    client.cookies["sessionid"] = cookie
    response = client.get("/releases/")
    assert response.status_code == 302 and "/login/" in response["Location"]
