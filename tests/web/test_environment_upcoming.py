from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import FreezeWindowFactory


@pytest.mark.django_db
def test_the_environment_page_lists_the_next_freezes_and_links_to_the_rest(
    client, alice, environments
):
    production = environments["production"]
    soon = timezone.now() + timedelta(days=1)
    for day in range(12):
        window = FreezeWindowFactory(
            name=f"Holiday {day:02d}",
            start=soon + timedelta(days=day),
            end=soon + timedelta(days=day, hours=8),
        )
        window.environments.add(production)
    client.force_login(alice)

    body = client.get(reverse("environment_detail", args=["production"])).content.decode()

    assert "Holiday 07" in body
    assert "Holiday 08" not in body
    assert "4 more on the calendar" in body
