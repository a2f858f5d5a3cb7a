"""The release form's Owner field: accountable person, defaulting to whoever creates it."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from releases.models import Release

CREATE_URL = reverse("release_create")


def test_the_owner_help_text_says_it_defaults_to_you(client, dave, payments):
    client.force_login(dave)
    html = client.get(CREATE_URL).content.decode()
    assert "Who is accountable for this release (defaults to you)." in html
    assert "The release manager accountable for this release" not in html


def test_a_release_created_without_an_owner_is_owned_by_its_creator(client, dave, payments):
    client.force_login(dave)
    start = timezone.now() + timedelta(days=3)
    response = client.post(
        CREATE_URL,
        {
            "name": "Payments spring release",
            "version": "1.5.0",
            "kind": "feature",
            "change_type": "normal",
            "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "owner": "",
            "description": "New card flow.",
            "rollback_plan": "Redeploy 1.4.2.",
            "services-TOTAL_FORMS": "1",
            "services-INITIAL_FORMS": "0",
            "services-MIN_NUM_FORMS": "0",
            "services-MAX_NUM_FORMS": "1000",
            "services-0-service": "payments-api",
            "services-0-version": "1.5.0",
        },
    )
    assert response.status_code == 302
    assert Release.objects.get().owner == dave
