"""Freeze enforcement (curriculum 5.5): the gate, the deployment API and the deploy form
all honour freeze windows and approved exceptions, and a security patch for a critical
vulnerability takes the same expedited path at each door."""

from datetime import timedelta

import pytest
from django.urls import reverse

from releases.models import Deployment, GateDecision
from scheduling import freeze_exceptions, patching
from tests.releases import builders
from tests.scheduling.exceptions_support import ask, grant, window
from tests.scheduling.patching_support import released, vulnerability

DOORS = ["gate_api", "deploy_api", "deploy_form"]


@pytest.fixture
def knock(api_client, client, bob, environments):
    """``knock(door, release)`` → (allowed, {code: check}) as that door answered."""
    api = api_client(bob)
    client.force_login(bob)

    def _knock(door, release, env="dev"):
        rs = release.release_services.select_related("service").first()
        before = Deployment.objects.count()
        if door == "gate_api":
            body = api.post(
                "/api/v1/gate/",
                {"service": rs.service.slug, "version": rs.version, "environment": env},
                format="json",
            ).json()
            return body["allowed"], {c["code"]: c for c in body["checks"]}
        if door == "deploy_api":
            response = api.post(
                "/api/v1/deployments/", {"release": release.key, "environment": env}, format="json"
            )
            assert response.status_code in (201, 409), response.json()
            allowed = response.status_code == 201
        else:
            response = client.post(
                reverse("release_deploy", args=[release.key]),
                {"environment": env, "strategy": "rolling"},
            )
            assert response.status_code in (302, 409)
            allowed = response.status_code == 302
        assert Deployment.objects.count() == before + (1 if allowed else 0)
        answer = GateDecision.objects.filter(purpose="deployment").order_by("-created").first()
        return allowed, {c["code"]: c for c in answer.checks}

    return _knock


@pytest.fixture
def approved(draft_release, dave, carol):
    return builders.approve(draft_release, dave, carol)


@pytest.mark.parametrize("door", DOORS)
def test_a_hard_freeze_stops_every_door(knock, approved, door):
    window("Quarter-end freeze")

    allowed, checks = knock(door, approved)

    assert not allowed
    assert checks["freeze_window"]["passed"] is False
    assert "'Quarter-end freeze'" in checks["freeze_window"]["message"]
    assert "exception_applied" not in checks


@pytest.mark.parametrize("door", DOORS)
def test_an_approved_exception_opens_every_door_and_says_which(knock, approved, dave, carol, door):
    freeze = window("Quarter-end freeze")
    exception = grant(approved, freeze, dave, carol)

    allowed, checks = knock(door, approved)

    assert allowed
    assert checks["freeze_window"]["passed"] is True
    assert checks["exception_applied"]["passed"] is True
    assert f"Exception #{exception.pk}" in checks["exception_applied"]["message"]


@pytest.mark.parametrize("door", DOORS)
def test_a_pending_or_expired_exception_does_not_open_a_door(knock, approved, dave, carol, door):
    freeze = window("Quarter-end freeze")
    pending = ask(approved, freeze, dave)  # not decided yet

    assert knock(door, approved)[0] is False

    freeze_exceptions.withdraw(pending, dave)
    exception = grant(approved, freeze, dave, carol)
    type(exception).objects.filter(pk=exception.pk).update(
        valid_until=exception.valid_from + timedelta(seconds=1)
    )

    allowed, checks = knock(door, approved)
    assert not allowed and checks["freeze_window"]["passed"] is False


@pytest.fixture
def critical_patch(alice, dave, carol, payments):
    """A security-patch release for a critical vulnerability of payments-api, approved."""
    patching.ensure_policies()
    released(payments, "1.4.2", dave)
    release = patching.create_patch_release(vulnerability([payments], cvss="9.8"), alice)
    assert (release.kind, release.change_type) == ("security_patch", "emergency")
    return builders.approve(release, alice, carol)


@pytest.mark.parametrize("door", DOORS)
def test_a_critical_security_patch_passes_a_freeze_that_allows_emergency_changes(
    knock, critical_patch, door
):
    window("Holiday freeze", allowed_change_types=["emergency"])

    allowed, checks = knock(door, critical_patch)

    assert allowed
    assert checks["freeze_window"]["passed"] is True
    assert (
        "Emergency changes may ship during 'Holiday freeze'"
        in (checks["exception_applied"]["message"])
    )


@pytest.mark.parametrize("door", DOORS)
def test_a_critical_security_patch_needs_its_expedited_exception_where_the_freeze_does_not_allow_it(
    knock, critical_patch, alice, carol, door
):
    freeze = window("Year-end freeze", allowed_change_types=["standard"])

    assert knock(door, critical_patch)[0] is False

    exception = grant(critical_patch, freeze, alice, carol)
    assert exception.expedited is True  # decided first, as security patches are

    allowed, checks = knock(door, critical_patch)
    assert allowed
    assert f"Exception #{exception.pk}" in checks["exception_applied"]["message"]


def test_the_gate_and_the_deployment_start_give_the_same_checks(knock, critical_patch):
    window("Holiday freeze", allowed_change_types=["emergency"])

    _, at_gate = knock("gate_api", critical_patch)
    _, at_start = knock("deploy_api", critical_patch)

    assert {c: v["passed"] for c, v in at_gate.items()} == {
        c: v["passed"] for c, v in at_start.items()
    }
