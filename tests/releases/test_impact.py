"""Impact analysis over the dependency graph: who is affected, how far away, and through what."""

import signal
from contextlib import contextmanager

import pytest

from releases import impact
from tests.factories import DependencyFactory, ReleaseFactory, ServiceFactory, TeamFactory


@contextmanager
def finishes_within(seconds: int):
    """Fail instead of hanging if the walk loops on a cycle."""

    def _timeout(signum, frame):
        raise AssertionError(f"impact analysis did not finish within {seconds}s (loop?)")

    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def graph(db):
    """ledger ← api (runtime) and ledger ← reports (library); web depends on both (a diamond);
    notify depends on web; ledger depends on notify (a cycle back to the start).

    Arrows point from the changed service to what it affects:
        ledger → api → web → notify → ledger
        ledger → reports → web
    """
    core = TeamFactory(slug="core", name="Core")
    front = TeamFactory(slug="front", name="Front")
    s = {
        "ledger": ServiceFactory(slug="ledger", name="A Ledger", team=core),
        "api": ServiceFactory(slug="api", name="B Api", team=core),
        "reports": ServiceFactory(slug="reports", name="C Reports", team=core),
        "web": ServiceFactory(slug="web", name="D Web", team=front, customer_facing=True),
        "notify": ServiceFactory(slug="notify", name="E Notify", team=front),
        "lonely": ServiceFactory(slug="lonely", name="Lonely", team=front),
    }
    DependencyFactory(service=s["api"], depends_on=s["ledger"], kind="runtime")
    DependencyFactory(service=s["reports"], depends_on=s["ledger"], kind="library")
    DependencyFactory(service=s["web"], depends_on=s["api"], kind="runtime")
    DependencyFactory(service=s["web"], depends_on=s["reports"], kind="library")
    DependencyFactory(service=s["notify"], depends_on=s["web"], kind="runtime")
    DependencyFactory(service=s["ledger"], depends_on=s["notify"], kind="runtime")
    return s


def by_slug(analysis):
    return {a.service.slug: a for a in analysis.all_services}


def test_changing_a_service_reaches_everything_that_depends_on_it_once(graph):
    with finishes_within(5):
        analysis = impact.analyse([graph["ledger"]])

    rows = by_slug(analysis)
    assert [a.service.slug for a in analysis.changed] == ["ledger"]
    assert sorted(a.service.slug for a in analysis.affected) == ["api", "notify", "reports", "web"]
    assert len(analysis.all_services) == len(rows)  # the diamond and cycle add no duplicates
    assert "lonely" not in rows


def test_depths_are_the_shortest_distance_from_the_change(graph):
    with finishes_within(5):
        rows = by_slug(impact.analyse([graph["ledger"]]))

    assert {slug: a.depth for slug, a in rows.items()} == {
        "ledger": 0,
        "api": 1,
        "reports": 1,
        "web": 2,
        "notify": 3,
    }


def test_each_affected_service_comes_with_a_real_path_from_the_change(graph):
    with finishes_within(5):
        rows = by_slug(impact.analyse([graph["ledger"]]))

    assert rows["api"].path == ("ledger", "api")
    assert rows["reports"].path == ("ledger", "reports")
    assert rows["web"].path in {("ledger", "api", "web"), ("ledger", "reports", "web")}
    assert rows["notify"].path[0] == "ledger"
    assert rows["notify"].path[-2:] == ("web", "notify")
    assert len(rows["notify"].path) == 4


def test_library_and_runtime_links_are_told_apart(graph):
    rows = by_slug(impact.analyse([graph["ledger"]]))

    assert rows["ledger"].kind == "changed"
    assert rows["api"].kind == "runtime"
    assert rows["reports"].kind == "library"
    # web is reached through the edge named last on its path.
    expected = "runtime" if rows["web"].path[1] == "api" else "library"
    assert rows["web"].kind == expected


def test_a_change_in_the_middle_of_the_cycle_wraps_around_without_looping(graph):
    with finishes_within(5):
        rows = by_slug(impact.analyse([graph["web"]]))

    assert {slug: a.depth for slug, a in rows.items()} == {
        "web": 0,
        "notify": 1,
        "ledger": 2,
        "api": 3,
        "reports": 3,
    }


def test_a_service_nothing_depends_on_is_a_single_application_change(graph):
    analysis = impact.analyse([graph["lonely"]])

    assert analysis.classification == "single_application"
    assert analysis.affected == []
    assert [r.code for r in analysis.reasons] == ["single_application"]


def test_a_change_with_dependents_is_a_multi_system_change_naming_the_teams(graph):
    analysis = impact.analyse([graph["ledger"]])

    assert analysis.classification == "multi_system"
    multi = next(r for r in analysis.reasons if r.code == "multi_system")
    assert multi.data["teams"] == ["Core", "Front"]
    customer = next(r for r in analysis.reasons if r.code == "customer_facing")
    assert customer.data["services"] == ["D Web"]


def test_two_unrelated_changed_services_are_a_multi_system_change(graph, payments):
    analysis = impact.analyse([graph["lonely"], payments])

    assert analysis.classification == "multi_system"
    assert analysis.affected == []
    assert len(analysis.changed) == 2


def test_a_release_without_services_has_unknown_impact(db):
    analysis = impact.analyse([])

    assert [(r.code, r.passed) for r in analysis.reasons] == [("impact_scope", False)]


def test_release_impact_uses_the_services_the_release_ships(graph, dave):
    release = ReleaseFactory(author=dave, services=[(graph["reports"], "3.1.0")])

    data = impact.release_impact(release).as_dict()

    assert data["classification"] == "multi_system"
    assert [row["service"] for row in data["changed"]] == ["reports"]
    assert {row["service"]: row["via"] for row in data["affected"]} == {
        "web": "library",
        "notify": "runtime",
        "ledger": "runtime",
        "api": "runtime",
    }


def test_the_walk_loads_the_graph_in_two_queries(graph, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        impact.analyse([graph["ledger"]])
