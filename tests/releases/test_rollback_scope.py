"""Rollback scope per service (issue 5, item 5): groups, order, SLA overruns, the gate check,
and writing steps (bad input changes nothing)."""

import pytest

from releasemgr.decisions import IllegalTransition, NotPermitted
from releases import gate, lifecycle, rollback_scope
from releases.models import RollbackStep
from releases.rollback_scope import InvalidInput, add_step, check_rollback_plan
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory
from tests.releases import builders


@pytest.fixture
def shop(db):
    """A small graph: web (customer-facing, 30 min) → checkout (customer-facing, 15 min)
    → payments (customer-facing, 15 min) → ledger (backend, 15 min); reports (backend, 240)."""
    team = TeamFactory(slug="shop", name="Shop")

    def svc(slug, cf, sla):
        return ServiceFactory(slug=slug, team=team, customer_facing=cf, recovery_sla_minutes=sla)

    services = {
        "web": svc("web", True, 30),
        "checkout": svc("checkout", True, 15),
        "payments": svc("payments", True, 15),
        "ledger": svc("ledger", False, 15),
        "reports": svc("reports", False, 240),
    }
    for a, b in [("web", "checkout"), ("checkout", "payments"), ("payments", "ledger")]:
        DependencyFactory(service=services[a], depends_on=services[b])
    return services


@pytest.fixture
def shop_release(shop, dave):
    return ReleaseFactory(
        author=dave, version="2.0.0", services=[(s, "2.0.0") for s in shop.values()]
    )


def step(release, service, minutes, position=1, text="Redeploy the previous image"):
    return RollbackStep.objects.create(
        release=release,
        service=service,
        position=position,
        description=text,
        estimated_minutes=minutes,
    )


def test_groups_split_customer_facing_from_backend_and_differing_slas_tightest_first(
    shop_release,
):
    scope = rollback_scope.rollback_scope(shop_release)

    assert [(g.customer_facing, g.sla_minutes) for g in scope.groups] == [
        (True, 15),
        (False, 15),
        (True, 30),
        (False, 240),
    ]
    assert [[s.service.slug for s in g.services] for g in scope.groups] == [
        ["checkout", "payments"],
        ["ledger"],
        ["web"],
        ["reports"],
    ]


def test_dependents_are_rolled_back_before_what_they_depend_on_inside_a_group(shop, dave):
    # payments depends on ledger through another service the release does not ship
    fx = ServiceFactory(slug="fx", team=shop["web"].team, customer_facing=True)
    ledger_cf = ServiceFactory(
        slug="ledger-cf", team=shop["web"].team, customer_facing=True, recovery_sla_minutes=240
    )
    fx.recovery_sla_minutes = 240
    fx.save()
    api = ServiceFactory(
        slug="api", team=shop["web"].team, customer_facing=True, recovery_sla_minutes=240
    )
    DependencyFactory(service=ledger_cf, depends_on=fx)
    DependencyFactory(service=fx, depends_on=api)
    release = ReleaseFactory(author=dave, services=[(api, "1.0"), (ledger_cf, "1.0")])

    scope = rollback_scope.rollback_scope(release)

    # ledger-cf depends on api (through fx): ledger-cf is rolled back first, despite its name.
    assert scope.order == ["ledger-cf", "api"]


def test_a_dependent_in_a_later_group_is_noted(shop_release):
    scope = rollback_scope.rollback_scope(shop_release)

    assert any(
        note.startswith("Web (group 3) depends on Checkout (group 1)") for note in scope.notes
    )


def test_a_plan_that_overruns_the_sla_is_flagged_with_the_numbers(shop_release, shop):
    step(shop_release, shop["payments"], 10)
    step(shop_release, shop["payments"], 12, position=2, text="Restore the ledger snapshot")

    scope = rollback_scope.rollback_scope(shop_release)
    payments = next(s for s in scope.services if s.service.slug == "payments")

    assert (payments.total_minutes, payments.sla_minutes, payments.overrun_minutes) == (22, 15, 7)
    assert not payments.meets_sla
    assert [s.service.slug for s in scope.overruns] == ["payments"]


def test_the_check_fails_for_production_naming_services_without_steps(
    shop_release, shop, environments
):
    for slug in ("web", "checkout", "ledger"):
        step(shop_release, shop[slug], 5)

    reason = check_rollback_plan(shop_release, environments["production"])

    assert not reason.passed
    assert "no rollback steps for Payments, Reports" in reason.message
    assert reason.data["missing"] == ["payments", "reports"]


def test_the_check_fails_for_production_when_a_service_cannot_meet_its_sla(
    shop_release, shop, environments
):
    for service in shop.values():
        step(shop_release, service, 5)
    step(shop_release, shop["checkout"], 20, position=2)

    reason = check_rollback_plan(shop_release, environments["production"])

    assert not reason.passed
    assert "rolling back Checkout takes 25 min, 10 min over its 15 min recovery SLA" in (
        reason.message
    )
    assert reason.data["overruns"] == ["checkout"]


def test_the_check_passes_for_production_when_every_service_fits(shop_release, shop, environments):
    for service in shop.values():
        step(shop_release, service, 5)

    reason = check_rollback_plan(shop_release, environments["production"])

    assert reason.passed
    assert "Checkout 5 of 15 min" in reason.message


def test_the_check_passes_outside_production_saying_so(shop_release, environments):
    reason = check_rollback_plan(shop_release, environments["staging"])

    assert reason.passed
    assert "Staging is not production" in reason.message


def test_the_gate_prevents_production_without_a_rollback_plan(
    draft_release, dave, carol, bob, payments, pipeline, env_list
):
    builders.approve(draft_release, dave, carol)
    builders.promote_through(draft_release, env_list[:3], bob)
    RollbackStep.objects.filter(release=draft_release).delete()

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "prevented"
    assert [c["code"] for c in result.checks if not c["passed"]] == ["rollback_plan"]

    with pytest.raises(lifecycle.GateRefused):
        lifecycle.start_deployment(draft_release, env_list[3], bob)


def test_the_gate_allows_production_with_a_plan_within_the_sla(
    approved_release, bob, payments, pipeline, env_list
):
    builders.promote_through(approved_release, env_list[:3], bob)

    result = gate.ask(payments, "1.4.2", env_list[3], pipeline)

    assert result.status == "allowed", result.checks
    check = next(c for c in result.checks if c["code"] == "rollback_plan")
    assert "Payments API 5 of 240 min" in check["message"]


# --- writing steps ----------------------------------------------------------------------------


def test_a_developer_adds_steps_numbered_in_order(draft_release, dave, payments):
    first = add_step(
        draft_release, dave, service=payments, description="helm rollback", estimated_minutes=4
    )
    second = add_step(
        draft_release, dave, service=payments, description="purge cache", estimated_minutes=2
    )

    assert (first.position, second.position) == (1, 2)
    assert first.history.first().history_change_reason == "rollback step added"


@pytest.mark.parametrize(
    "minutes, field, message",
    [
        (0, "estimated_minutes", "A step takes at least 1 minute."),
        (None, "estimated_minutes", "This field cannot be null."),
    ],
)
def test_bad_minutes_are_refused_and_nothing_is_written(
    draft_release, dave, payments, minutes, field, message
):
    with pytest.raises(InvalidInput) as info:
        add_step(draft_release, dave, service=payments, description="x", estimated_minutes=minutes)

    assert (info.value.reasons[0].data["field"], info.value.reasons[0].message) == (field, message)
    assert not RollbackStep.objects.exists()


def test_a_step_for_a_service_the_release_does_not_ship_is_refused(draft_release, dave):
    other = ServiceFactory(slug="other")

    with pytest.raises(InvalidInput, match="does not ship Other"):
        add_step(draft_release, dave, service=other, description="x", estimated_minutes=3)
    assert not RollbackStep.objects.exists()


def test_a_blank_description_is_refused(draft_release, dave, payments):
    with pytest.raises(InvalidInput, match="This field cannot be blank"):
        add_step(draft_release, dave, service=payments, description="  ", estimated_minutes=3)
    assert not RollbackStep.objects.exists()


def test_roles_without_the_permission_cannot_add_steps(draft_release, bob, paula, payments):
    for user in (bob, paula):
        with pytest.raises(NotPermitted):
            add_step(draft_release, user, service=payments, description="x", estimated_minutes=3)
    assert not RollbackStep.objects.exists()


def test_a_deployed_release_keeps_its_plan_as_a_record(move_to, alice, payments):
    release = move_to("deployed")
    existing = release.rollback_steps.get()

    with pytest.raises(IllegalTransition, match="is deployed"):
        add_step(release, alice, service=payments, description="x", estimated_minutes=3)
    with pytest.raises(IllegalTransition):
        rollback_scope.edit_step(existing, alice, estimated_minutes=9)
    with pytest.raises(IllegalTransition):
        rollback_scope.delete_step(existing, alice)
    existing.refresh_from_db()
    assert existing.estimated_minutes == 5


def test_editing_a_step_records_why(draft_release, alice, payments):
    made = add_step(
        draft_release, alice, service=payments, description="helm rollback", estimated_minutes=4
    )

    rollback_scope.edit_step(made, alice, "measured in staging", estimated_minutes=7)

    made.refresh_from_db()
    assert made.estimated_minutes == 7
    assert made.history.first().history_change_reason == "measured in staging"
