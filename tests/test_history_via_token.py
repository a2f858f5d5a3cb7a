"""History says who made a change and, for API changes, through which token."""

import pytest

from releasemgr.models import ApiToken
from releases.models import Release


@pytest.mark.django_db
def test_a_release_created_through_the_api_records_the_token_user_and_the_token(dave, payments):
    from rest_framework.test import APIClient

    token, key = ApiToken.issue(dave, "dave laptop")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = client.post(
        "/api/v1/releases/",
        {
            "name": "Faster refunds",
            "version": "1.5.0",
            "services": [{"service": "payments-api", "version": "1.5.0"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    release = Release.objects.get(key=response.json()["key"])
    row = release.history.latest("history_date")
    assert row.history_user == dave
    assert row.history_via == f"API token 'dave laptop' ({token.prefix}…)"


@pytest.mark.django_db
def test_a_change_saved_outside_an_api_request_has_no_token_on_its_history(dave, draft_release):
    draft_release.name = "Renamed"
    draft_release.save_with_reason("edited", user=dave)

    row = draft_release.history.latest("history_date")
    assert row.history_user == dave
    assert row.history_via == ""
