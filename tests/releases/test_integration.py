"""Integration testing across teams: flows, the teams they span, sign-off (item 13)."""

import pytest

from governance.models import DecisionRecord
from releasemgr.decisions import NotPermitted
from releases import integration
from releases.models import TeamSignOff
from tests.conftest import make_user
from tests.factories import ServiceFactory, TeamFactory


@pytest.fixture
def teams(payments):
    storefront = TeamFactory(slug="storefront", name="Storefront")
    identity = TeamFactory(slug="identity", name="Identity")
    return {
        "payments": payments.team,
        "storefront": storefront,
        "identity": identity,
        "checkout": ServiceFactory(slug="checkout-service", team=storefront),
        "login": ServiceFactory(slug="identity-service", team=identity),
    }


@pytest.fixture
def flow(draft_release, dave, payments, teams):
    return integration.add_flow(
        draft_release,
        dave,
        name="Checkout and pay",
        services=[payments, teams["checkout"]],
    )


def _member(username, team, *roles):
    user = make_user(username, *roles)
    team.members.add(user)
    return user


def test_a_flow_spans_the_teams_owning_its_services(flow, draft_release):
    result = integration.release_status(draft_release)
    (fs,) = result.flows
    assert [t.team.name for t in fs.teams] == ["Payments", "Storefront"]
    assert {t.status for t in fs.teams} == {"pending"}
    assert not result.complete
    assert "waiting for Payments, Storefront" in result.decision.failed[0].message


def test_the_plan_is_complete_only_when_every_team_of_every_flow_signed(
    flow, draft_release, dave, payments, teams
):
    second = integration.add_flow(
        draft_release, dave, name="Sign in", services=[teams["login"], payments]
    )
    pay = _member("pia", teams["payments"], "developer")
    shop = _member("sam", teams["storefront"], "developer")
    ident = _member("ida", teams["identity"], "developer")
    integration.sign(flow, teams["payments"], pay)
    integration.sign(flow, teams["storefront"], shop)
    integration.sign(second, teams["identity"], ident)
    assert not integration.release_status(draft_release).complete
    integration.sign(second, teams["payments"], pay, "works with our sandbox")
    result = integration.release_status(draft_release)
    assert result.complete
    assert all(r.passed for r in result.decision.reasons)


def test_a_refusal_keeps_the_plan_incomplete_and_needs_a_note(flow, teams, draft_release):
    shop = _member("sam", teams["storefront"], "developer")
    with pytest.raises(integration.InvalidInput, match="Say why"):
        integration.sign(flow, teams["storefront"], shop, refuse=True)
    assert not TeamSignOff.objects.exists()
    integration.sign(flow, teams["storefront"], shop, "basket total wrong", refuse=True)
    assert (
        "refused by Storefront"
        in integration.release_status(draft_release).decision.failed[0].message
    )


def test_only_a_member_of_the_team_signs_for_it(flow, teams, alice):
    with pytest.raises(NotPermitted, match="not a member of team Storefront"):
        integration.sign(flow, teams["storefront"], alice)
    assert not TeamSignOff.objects.exists()


def test_a_member_cannot_sign_for_a_team_the_flow_does_not_span(flow, teams):
    ida = _member("ida", teams["identity"], "developer")
    with pytest.raises(integration.InvalidInput, match="does not span"):
        integration.sign(flow, teams["identity"], ida)


def test_a_member_without_a_signing_role_cannot_sign(flow, teams):
    auditor = _member("audra", teams["storefront"], "auditor")
    with pytest.raises(NotPermitted):
        integration.sign(flow, teams["storefront"], auditor)


def test_signing_writes_a_sign_off_decision_with_history(flow, teams, draft_release):
    shop = _member("sam", teams["storefront"], "developer")
    sign_off = integration.sign(flow, teams["storefront"], shop, "all green")
    record = DecisionRecord.objects.get(kind="sign_off")
    assert record.release_key == draft_release.key
    assert record.outcome == "signed"
    assert "Storefront signed integration flow 'Checkout and pay'" in record.summary
    assert sign_off.history.first().history_user == shop


def test_a_flow_needs_a_name_and_services(draft_release, dave):
    with pytest.raises(integration.InvalidInput) as caught:
        integration.add_flow(draft_release, dave, name=" ", services=[])
    assert {r.data["field"] for r in caught.value.reasons} == {"name", "services"}
    assert integration.plan_of(draft_release) is None


def test_a_release_without_a_plan_is_not_complete(draft_release):
    result = integration.release_status(draft_release)
    assert not result.complete
    assert "no integration test plan" in result.decision.reasons[0].message


def test_status_queries_do_not_grow_with_flows(
    flow, draft_release, dave, payments, teams, django_assert_max_num_queries
):
    with django_assert_max_num_queries(5):
        integration.release_status(draft_release)
    for n in range(5):
        integration.add_flow(
            draft_release, dave, name=f"Flow {n}", services=[payments, teams["login"]]
        )
    with django_assert_max_num_queries(5):
        assert len(integration.release_status(draft_release).flows) == 6
