"""The deploy form shows the strategy advice; the deployment page shows strategy and change record."""

import pytest
from django.urls import reverse

from releases.models import Deployment
from tests.releases.test_strategy import monitored, set_band


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client


def test_the_advice_partial_preselects_the_advised_strategy(
    bob_client, approved_release, environments, payments
):
    set_band(approved_release, "high")
    monitored(payments, environments["dev"])
    url = reverse("release_strategy_advice", args=[approved_release.key])

    response = bob_client.get(url, {"environment": "dev"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-advised="canary"' in html
    assert 'hx-swap-oob="true"' in html
    assert '<option value="canary" selected>' in html
    assert 'value="5:30, 25:30, 50:30, 100:0"' in html


def test_without_an_environment_the_advice_asks_for_one(bob_client, approved_release):
    url = reverse("release_strategy_advice", args=[approved_release.key])
    response = bob_client.get(url, HTTP_HX_REQUEST="true")
    assert "Choose an environment" in response.content.decode()


def test_the_advice_page_works_without_htmx(bob_client, approved_release, environments):
    url = reverse("release_strategy_advice", args=[approved_release.key])
    response = bob_client.get(url, {"environment": "dev"})
    assert response.status_code == 200
    assert "Deployment strategy for" in response.content.decode()


def test_the_release_page_loads_the_advice_with_htmx(bob_client, approved_release, environments):
    response = bob_client.get(approved_release.get_absolute_url())
    html = response.content.decode()
    assert 'id="strategy-advice"' in html
    assert reverse("release_strategy_advice", args=[approved_release.key]) in html
    assert 'name="canary_steps"' in html


def test_deploying_a_canary_from_the_form_records_steps_and_the_override(
    bob_client, approved_release, environments
):
    response = bob_client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "dev", "strategy": "canary", "canary_steps": "10:15, 50:15, 100"},
    )

    deployment = Deployment.objects.get()
    assert response.status_code == 302
    assert deployment.canary_steps == [
        {"percent": 10, "hold_minutes": 15},
        {"percent": 50, "hold_minutes": 15},
        {"percent": 100, "hold_minutes": 0},
    ]
    assert deployment.advice_overridden is True
    page = bob_client.get(deployment.get_absolute_url()).content.decode()
    assert 'data-testid="advice-overridden"' in page
    assert "10% of traffic, hold 15 min" in page
    assert "decision #" in page  # the change record


@pytest.mark.parametrize(
    ("strategy", "steps", "message"),
    [
        ("canary", "50:10, 25:10, 100", "percentages must go up"),
        ("canary", "5:10, 50", "last step must send 100%"),
        ("canary", "five:ten", "write percent:hold-minutes"),
        ("rolling", "5:10, 100", "apply only to the canary strategy"),
    ],
)
def test_bad_canary_steps_in_the_form_are_explained_and_nothing_starts(
    bob_client, approved_release, environments, strategy, steps, message
):
    response = bob_client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "dev", "strategy": strategy, "canary_steps": steps},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Deployment.objects.exists()
