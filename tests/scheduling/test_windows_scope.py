"""Scope: a window applies to its services (and their teams), environments and regions; empty
lists mean all; a question that does not name something could be about any of it."""

from datetime import timedelta
from itertools import product

import pytest
from django.utils import timezone

from scheduling.choices import BLOCKING_KINDS
from scheduling.models import FreezeWindow
from scheduling.windows import Scope, in_scope, scope_q, windows_at
from tests.factories import ServiceFactory, TeamFactory
from tests.scheduling.calendar_support import region, window


@pytest.fixture
def world(db, environments, payments):
    now = timezone.now()
    search_team = TeamFactory(slug="search", name="Search")
    return {
        "now": now,
        "payments": payments,
        "ledger": ServiceFactory(slug="ledger", name="Ledger", team=payments.team),
        "search": ServiceFactory(slug="search-api", name="Search API", team=search_team),
        "search_team": search_team,
        "eu": region("eu-de", "Germany", "Europe/Berlin", "DE"),
        "us": region("us-east", "US East", "America/New_York", "US"),
        "env": environments,
    }


def frozen(world, *, services=(), environment="production", region=None):
    scope = Scope.of(services, world["env"][environment] if environment else None, region)
    return [o.window.name for o in windows_at(world["now"], scope, BLOCKING_KINDS)]


def active(name, **scope):
    now = timezone.now()
    return window(name, now - timedelta(hours=1), now + timedelta(hours=1), **scope)


def test_a_window_for_one_region_does_not_block_another_region(world):
    active("German holiday", regions=[world["eu"]])
    assert frozen(world, services=[world["payments"]], region=world["eu"]) == ["German holiday"]
    assert frozen(world, services=[world["payments"]], region=world["us"]) == []


def test_a_question_without_a_region_is_held_to_regional_freezes(world):
    # It could be about any region, so the safe answer is that the regional freeze applies.
    active("German holiday", regions=[world["eu"]])
    assert frozen(world, services=[world["payments"]]) == ["German holiday"]


def test_a_team_window_covers_every_service_of_that_team_and_no_other(world):
    active("Payments team freeze", teams=[world["payments"].team])
    assert frozen(world, services=[world["payments"]]) == ["Payments team freeze"]
    assert frozen(world, services=[world["ledger"]]) == ["Payments team freeze"]
    assert frozen(world, services=[world["search"]]) == []


def test_services_and_teams_of_a_window_add_up(world):
    active("Search team and ledger", teams=[world["search_team"]], services=[world["ledger"]])
    assert frozen(world, services=[world["ledger"]]) == ["Search team and ledger"]
    assert frozen(world, services=[world["search"]]) == ["Search team and ledger"]
    assert frozen(world, services=[world["payments"]]) == []


def test_an_environment_window_does_not_block_other_environments(world):
    active("Production only", environments=[world["env"]["production"]])
    assert frozen(world, services=[world["payments"]], environment="production") == [
        "Production only"
    ]
    assert frozen(world, services=[world["payments"]], environment="staging") == []


def test_an_empty_scope_covers_everything(world):
    active("Everything")
    assert frozen(world, services=[world["search"]], environment="dev", region=world["us"]) == [
        "Everything"
    ]


def test_a_window_that_has_ended_or_not_started_does_not_apply(world):
    now = world["now"]
    window("Over", now - timedelta(days=2), now - timedelta(days=1))
    window("Later", now + timedelta(days=1), now + timedelta(days=2))
    assert frozen(world, services=[world["payments"]]) == []


def test_the_database_filter_and_in_scope_agree_on_every_combination(world):
    """``scope_q`` (SQL) and ``in_scope`` (Python) are two spellings of one rule."""
    now = world["now"]
    env = world["env"]
    options = {
        "services": [(), (world["payments"],), (world["search"],)],
        "teams": [(), (world["payments"].team,)],
        "environments": [(), (env["production"],)],
        "regions": [(), (world["eu"],), (world["eu"], world["us"])],
    }
    for i, (services, teams, envs, regions) in enumerate(product(*options.values())):
        window(
            f"w{i}",
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            services=services,
            teams=teams,
            environments=envs,
            regions=regions,
        )
    questions = [
        Scope.anything(),
        Scope.of([world["payments"]], env["production"], world["eu"]),
        Scope.of([world["search"]], env["staging"], world["us"]),
        Scope.of([world["ledger"]], None, None),
        Scope.of([], env["production"], None),
        Scope.for_filters(team=world["search_team"]),
        Scope.for_filters(service=world["payments"], region=world["us"]),
    ]
    loaded = list(
        FreezeWindow.objects.prefetch_related("services", "teams", "environments", "regions")
    )
    for scope in questions:
        by_python = {w.name for w in loaded if in_scope(w, scope)}
        by_sql = set(FreezeWindow.objects.filter(scope_q(scope)).values_list("name", flat=True))
        assert by_sql == by_python, scope
    # and the rule is not trivial: some windows apply to some questions only
    assert 0 < FreezeWindow.objects.filter(scope_q(questions[2])).count() < len(loaded)
