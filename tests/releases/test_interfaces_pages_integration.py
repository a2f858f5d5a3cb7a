"""Integration testing on the release's Validation tab: add a flow, and teams sign it off (or
refuse it with a note) through their members only."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from governance.models import DecisionRecord
from releases import integration
from releases.models import IntegrationFlow, TeamSignOff
from tests.conftest import make_user
from tests.factories import ServiceFactory, TeamFactory

VALIDATION = "#validation"


@pytest.fixture
def checkout(db):
    return ServiceFactory(
        slug="checkout-service", team=TeamFactory(slug="storefront", name="Storefront")
    )


@pytest.fixture
def flow(draft_release, dave, payments, checkout):
    return integration.add_flow(
        draft_release, dave, name="Checkout and pay", services=[payments, checkout]
    )


@pytest.fixture
def sam(checkout):
    """A developer in team Storefront."""
    user = make_user("sam", "developer")
    checkout.team.members.add(user)
    return user


# --- adding a flow --------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["alice", "dave"])
def test_release_managers_and_developers_add_a_flow_from_the_validation_tab(
    client, request, persona, draft_release, payments, checkout
):
    client.force_login(request.getfixturevalue(persona))
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="add-flow"' in page
    url = reverse("release_integration_flow_add", args=[draft_release.key])
    form = client.get(url).content.decode()
    assert "Payments API (team Payments)" in form
    response = client.post(
        url,
        {
            "name": "Checkout and pay",
            "description": "Basket to receipt.",
            "services": [payments.pk, checkout.pk],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == draft_release.get_absolute_url() + VALIDATION
    flow = IntegrationFlow.objects.get()
    assert flow.plan.release == draft_release and set(flow.services.all()) == {payments, checkout}
    html = client.get(response["Location"]).content.decode()
    assert "Checkout and pay" in html and "Storefront" in html


def test_a_flow_without_a_name_or_services_shows_both_errors_and_writes_nothing(
    client, dave, draft_release
):
    client.force_login(dave)
    url = reverse("release_integration_flow_add", args=[draft_release.key])
    response = client.post(url, {"name": "  ", "services": []})
    assert response.status_code == 400
    html = response.content.decode()
    assert (
        "Name the end-to-end flow" in html and "Choose the services the flow goes through." in html
    )
    assert not IntegrationFlow.objects.exists()


def test_an_unknown_service_is_a_field_error(client, dave, draft_release):
    client.force_login(dave)
    url = reverse("release_integration_flow_add", args=[draft_release.key])
    response = client.post(url, {"name": "x", "services": [99999]})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not IntegrationFlow.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "paula", "audrey"])
def test_roles_that_do_not_plan_integration_tests_cannot_add_flows(
    client, request, persona, draft_release, payments
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("release_integration_flow_add", args=[draft_release.key])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x", "services": [payments.pk]}).status_code == 403
    assert not IntegrationFlow.objects.exists()
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="add-flow"' not in page


# --- signing off ----------------------------------------------------------------------------------


def test_pending_teams_show_a_pending_badge(client, alice, flow):
    client.force_login(alice)
    html = client.get(flow.plan.release.get_absolute_url()).content.decode()
    assert html.count('data-status="pending"') == 2
    assert "text-bg-warning" in html


def test_a_member_signs_for_the_team_from_the_release_page(client, sam, flow, checkout):
    client.force_login(sam)
    release = flow.plan.release
    page = client.get(release.get_absolute_url()).content.decode()
    assert f'data-testid="sign-{flow.pk}-storefront"' in page
    assert f'data-testid="sign-{flow.pk}-payments"' not in page
    response = client.post(
        reverse("integration_flow_sign", args=[flow.pk]),
        {"team": "storefront", "verdict": "signed", "note": "green"},
    )
    assert response.status_code == 302 and response["Location"].endswith(VALIDATION)
    sign_off = TeamSignOff.objects.get()
    assert (sign_off.team, sign_off.status, sign_off.signed_by) == (checkout.team, "signed", sam)
    record = DecisionRecord.objects.get(subject=f"teamsignoff:{sign_off.pk}")
    assert record.outcome == "signed" and record.actor == sam
    html = client.get(response["Location"]).content.decode()
    assert 'data-status="signed"' in html and 'data-status="pending"' in html


def test_a_refusal_needs_a_note_and_then_shows_on_the_release(client, sam, flow):
    client.force_login(sam)
    url = reverse("integration_flow_sign", args=[flow.pk])
    response = client.post(url, {"team": "storefront", "verdict": "refused", "note": " "})
    assert response.status_code == 400
    assert "Say why the team refuses." in response.content.decode()
    assert not TeamSignOff.objects.exists()
    response = client.post(
        url, {"team": "storefront", "verdict": "refused", "note": "Receipts are not sent."}
    )
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert 'data-status="refused"' in html and "Receipts are not sent." in html
    assert "Not complete." in html


def test_a_non_member_is_refused_with_a_clear_message_and_nothing_written(client, dave, flow):
    client.force_login(dave)  # a developer, but in no team of the flow
    url = reverse("integration_flow_sign", args=[flow.pk])
    assert 'data-testid="not-a-member"' in client.get(url).content.decode()
    response = client.post(url, {"team": "storefront", "verdict": "signed"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "dave is not a member of team Storefront" in html
    assert "nobody signs on a team&#x27;s behalf" in html
    assert not TeamSignOff.objects.exists()


def test_a_release_manager_does_not_sign_on_a_team_s_behalf(client, alice, flow):
    client.force_login(alice)
    page = client.get(flow.plan.release.get_absolute_url()).content.decode()
    assert f'data-testid="sign-{flow.pk}-storefront"' not in page
    response = client.post(
        reverse("integration_flow_sign", args=[flow.pk]),
        {"team": "storefront", "verdict": "signed"},
    )
    assert response.status_code == 403
    assert not TeamSignOff.objects.exists()


def test_a_team_the_flow_does_not_span_or_a_bad_verdict_is_a_field_error(client, sam, flow):
    TeamFactory(slug="search", name="Search")
    client.force_login(sam)
    url = reverse("integration_flow_sign", args=[flow.pk])
    response = client.post(url, {"team": "search", "verdict": "maybe"})
    assert response.status_code == 400
    assert response.content.decode().count("Select a valid choice") == 2
    assert not TeamSignOff.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "audrey"])
def test_roles_that_do_not_sign_off_are_refused(client, request, persona, flow, checkout):
    user = request.getfixturevalue(persona)
    checkout.team.members.add(user)
    client.force_login(user)
    url = reverse("integration_flow_sign", args=[flow.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"team": "storefront", "verdict": "signed"}).status_code == 403
    assert not TeamSignOff.objects.exists()


def test_a_product_owner_in_the_team_may_sign(client, paula, flow, checkout):
    checkout.team.members.add(paula)
    client.force_login(paula)
    response = client.post(
        reverse("integration_flow_sign", args=[flow.pk]),
        {"team": "storefront", "verdict": "signed"},
    )
    assert response.status_code == 302
    assert TeamSignOff.objects.get().signed_by == paula


def test_sign_forms_add_no_queries_per_flow(client, sam, flow, draft_release, payments, checkout):
    client.force_login(sam)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(draft_release.get_absolute_url()).status_code == 200
        return len(ctx)

    count()
    small = count()
    for n in range(5):
        integration.add_flow(draft_release, sam, name=f"Flow {n}", services=[payments, checkout])
    assert count() == small
