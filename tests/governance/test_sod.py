"""Segregation of duties (governance.sod): who made a release may not approve, sign off or ship it.

Every refusal path (lifecycle, page, API, gate answer, deployment start, a team's
pipeline account) leaves a SOD_REFUSAL entry in the decision log, even though the
refused request itself writes nothing else.
"""

import pytest

from governance import sod
from governance.models import Approval, DecisionRecord
from releasemgr.decisions import NotPermitted
from releases import gate, lifecycle
from releases.lifecycle import GateRefused
from releases.models import Deployment
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.releases import builders


def refusals():
    return list(DecisionRecord.objects.filter(kind="sod_refusal").order_by("sequence"))


@pytest.fixture
def team_pipeline(payments):
    """A pipeline service account that is a member of the team owning payments-api."""
    account = make_user("payments-ci", "pipeline")
    payments.team.members.add(account)
    return account


@pytest.fixture
def own_release(carol, alice, payments):
    """A release carol (a CAB member) authored; alice submitted it for her."""
    release = ReleaseFactory(author=carol, services=[(payments, "2.0.0")])
    return lifecycle.submit(release, alice)


# --- who made the release ----------------------------------------------------------------------


def test_the_author_contributors_and_team_pipelines_made_the_release(
    draft_release, dave, erin, team_pipeline, pipeline
):
    ScopeItemFactory(release=draft_release, contributor=erin)

    relations = sod.contributor_relations(draft_release)

    assert relations == {
        dave.pk: "author",
        erin.pk: "contributor",
        team_pipeline.pk: "team_pipeline",
    }
    # A pipeline account outside the owning team did not make it.
    assert pipeline.pk not in relations
    assert draft_release.contributor_ids() == set(relations)


def test_the_check_says_how_the_person_is_involved(draft_release, dave, erin, carol):
    ScopeItemFactory(release=draft_release, contributor=erin)

    assert sod.check(dave, draft_release, "approve").message == (
        f"dave authored {draft_release.key} and cannot approve it (segregation of duties)."
    )
    assert sod.check(erin, draft_release, "sign_off").message == (
        f"erin contributed a change to {draft_release.key} and cannot sign it off "
        "(segregation of duties)."
    )
    assert sod.check(carol, draft_release, "approve").passed


def test_the_residual_risk_acceptance_check_refuses_the_author(draft_release, dave, paula):
    refusal = sod.check(dave, draft_release, "accept_risk")

    assert not refusal.passed
    assert refusal.data["relation"] == "author"
    assert "cannot accept its residual risk" in refusal.message
    assert sod.check(paula, draft_release, "accept_risk").passed


def test_prime_loads_the_same_relations_for_many_releases(
    draft_release, dave, erin, payments, team_pipeline, django_assert_num_queries
):
    other = ReleaseFactory(author=erin, services=[(payments, "9.0.0")])
    ScopeItemFactory(release=draft_release, contributor=erin)
    expected = {r.pk: sod.contributor_relations(r) for r in (draft_release, other)}
    releases = [type(draft_release).objects.get(pk=r.pk) for r in (draft_release, other)]

    with django_assert_num_queries(2):
        sod.prime(releases)

    assert {r.pk: sod.contributor_relations(r) for r in releases} == expected


# --- every refusal path is recorded --------------------------------------------------------------


def test_the_author_approving_in_the_lifecycle_is_refused_and_recorded(own_release, carol):
    before = builders.footprint(own_release)

    with pytest.raises(NotPermitted) as info:
        lifecycle.approve(own_release, carol)

    assert "carol authored" in info.value.message
    assert builders.footprint(own_release) == before
    [entry] = refusals()
    assert entry.actor == carol
    assert entry.release_key == own_release.key
    assert entry.outcome == "refused"
    assert entry.data == {"act": "approve"}
    assert entry.reasons[0]["code"] == "segregation_of_duties"


def test_the_author_rejecting_is_refused_and_recorded(own_release, carol):
    with pytest.raises(NotPermitted):
        lifecycle.reject(own_release, carol, "no")

    assert [e.data["act"] for e in refusals()] == ["reject"]


def test_a_refusal_for_another_reason_is_not_a_segregation_refusal(submitted_release, olivia):
    with pytest.raises(NotPermitted):
        lifecycle.approve(submitted_release, olivia)

    assert refusals() == []


def test_the_author_posting_approve_on_the_page_is_refused_with_the_message_and_recorded(
    client, own_release, carol
):
    client.force_login(carol)

    response = client.post(f"/releases/{own_release.key}/actions/approve/")

    assert response.status_code == 403
    assert "carol authored" in response.content.decode()
    assert not Approval.objects.filter(release=own_release).exists()
    assert [e.actor for e in refusals()] == [carol]


def test_the_author_approving_through_the_api_is_403_and_recorded(api_client, own_release, carol):
    response = api_client(carol).post(f"/api/v1/releases/{own_release.key}/approve/")

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "not_permitted"
    assert "carol authored" in body["detail"]
    assert not Approval.objects.filter(release=own_release).exists()
    own_release.refresh_from_db()
    assert own_release.state == "submitted"
    [entry] = refusals()
    assert entry.actor == carol


def test_an_author_asking_the_gate_for_production_is_prevented_and_recorded(
    approved_release, dave, env_list
):
    result = gate.ask(approved_release.services.get(), "1.4.2", env_list[3], dave)

    assert result.status == "prevented"
    [entry] = refusals()
    assert entry.data["act"] == "deploy_production"
    assert entry.subject == f"gate-decision:{result.record.pk}"


def test_a_gate_question_about_a_lower_environment_needs_no_separation(
    approved_release, dave, env_list
):
    gate.ask(approved_release.services.get(), "1.4.2", env_list[0], dave)

    assert refusals() == []


def test_the_author_starting_a_production_deployment_is_refused_and_recorded(
    approved_release, bob, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)
    dave_deployer = make_user("dave", "deployer")

    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(approved_release, env_list[3], dave_deployer)

    assert "segregation_of_duties" in [r.code for r in info.value.reasons]
    assert not Deployment.objects.filter(environment=env_list[3]).exists()
    [entry] = refusals()
    assert entry.actor == dave_deployer
    assert entry.data["act"] == "deploy_production"


def test_the_pipeline_account_of_the_owning_team_may_not_ship_to_production(
    approved_release, bob, env_list, team_pipeline, pipeline
):
    builders.promote_through(approved_release, env_list[:3], bob)

    with pytest.raises(GateRefused) as info:
        lifecycle.start_deployment(approved_release, env_list[3], team_pipeline)

    refusal = next(r for r in info.value.reasons if r.code == "segregation_of_duties")
    assert "payments-ci is a pipeline account of a team that owns a service in" in refusal.message
    assert [e.actor for e in refusals()] == [team_pipeline]
    # The shared pipeline account, in no owning team, may ship it.
    deployment, created = lifecycle.start_deployment(approved_release, env_list[3], pipeline)
    assert created and deployment.environment == env_list[3]


def test_the_team_pipeline_asking_the_gate_through_the_api_is_prevented_and_recorded(
    api_client, approved_release, env_list, team_pipeline
):
    response = api_client(team_pipeline).post(
        "/api/v1/gate/",
        {"service": "payments-api", "version": "1.4.2", "environment": "production"},
        format="json",
    )

    assert response.status_code == 200
    failed = [c["code"] for c in response.json()["checks"] if not c["passed"]]
    assert "segregation_of_duties" in failed
    assert [e.actor for e in refusals()] == [team_pipeline]
