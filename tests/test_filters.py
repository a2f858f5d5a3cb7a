"""Date filters take any ISO 8601 offset without troubling the database."""

import pytest

from releases.models import Release


@pytest.mark.django_db
def test_a_date_filter_with_an_extreme_utc_offset_is_normalised_not_a_server_error(
    api_client, audrey, draft_release
):
    client = api_client(audrey)

    response = client.get("/api/v1/releases/", {"planned_after": "2026-01-03T10:11:17-21:42"})

    assert response.status_code == 200
    assert response.json()["count"] == Release.objects.count()


@pytest.mark.django_db
def test_a_date_filter_out_of_range_is_a_400(api_client, audrey):
    response = api_client(audrey).get(
        "/api/v1/releases/", {"planned_after": "0001-01-01T00:00:00+23:00"}
    )

    assert response.status_code == 400
    assert "planned_after" in response.json()
