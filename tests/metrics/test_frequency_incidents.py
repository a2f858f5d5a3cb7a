"""Deployment frequency vs incidents (curriculum 8.3): weekly pairs from the rollups, Pearson and
Spearman correlations worked out by hand, the plain-words verdict, and the API."""

from datetime import date, timedelta

import pytest

from metrics import rollups
from metrics.frequency_incidents import frequency_vs_incidents, pearson, ranks, spearman
from metrics.periods import Filters
from tests.metrics.history_helpers import at, deploy, incident, world

MONDAY = date(2026, 3, 2)


@pytest.fixture
def w(environments):
    return world(environments)


def build(w, deployments, incidents):
    """Week i: deployments[i] production deployments of pay-api on Tuesday, incidents[i]
    incidents on Wednesday."""
    for i, (d, n) in enumerate(zip(deployments, incidents, strict=True)):
        tuesday = at(f"{MONDAY + timedelta(days=7 * i + 1)}T10:00")
        for k in range(d):
            deploy(w["api"], w["prod"], tuesday + timedelta(minutes=k))
        for k in range(n):
            incident(w["api"], tuesday + timedelta(days=1, minutes=k), None)
    rollups.rebuild(MONDAY + timedelta(days=i) for i in range(7 * len(deployments)))


def period(weeks, **extra):
    return Filters(since=MONDAY, until=MONDAY + timedelta(days=7 * weeks), **extra)


def test_ranks_and_correlations_by_hand():
    assert ranks([10, 20, 20, 5]) == [2, 3.5, 3.5, 1]
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1)
    assert pearson([1, 1, 1], [1, 2, 3]) is None  # no variance
    # Spearman only sees the order: a monotone but curved relation is perfect.
    assert spearman([1, 2, 3, 4], [1, 4, 9, 100]) == pytest.approx(1)


def test_perfect_positive_over_eight_weeks(w):
    build(w, [1, 2, 3, 4, 5, 6, 7, 8], [2, 4, 6, 8, 10, 12, 14, 16])
    result = frequency_vs_incidents(period(8))
    assert result.week_count == 8
    assert [row.deployments for row in result.weeks] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [row.incidents_started for row in result.weeks] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert result.pearson == pytest.approx(1)
    assert result.spearman == pytest.approx(1)
    assert result.conclusion == "strong"
    assert "strong positive correlation" in result.message
    assert "not causation" in result.message


def test_weak_negative_worked_by_hand(w):
    # x - 4.5 = -3.5..3.5, y - 0.5 = ±0.5 alternating: Σxy = -2, Σx² = 42, Σy² = 2,
    # r = -2 / √84 = -0.2182; the ranks are a linear map of the values, so ρ is the same.
    build(w, [1, 2, 3, 4, 5, 6, 7, 8], [1, 0, 1, 0, 1, 0, 1, 0])
    result = frequency_vs_incidents(period(8))
    assert result.pearson == pytest.approx(-2 / 84**0.5)
    assert result.spearman == pytest.approx(-2 / 84**0.5)
    assert result.conclusion == "weak"
    assert "weak negative correlation" in result.message


def test_fewer_than_eight_weeks_is_too_few(w):
    build(w, [1, 2, 3, 4, 5, 6, 7], [2, 4, 6, 8, 10, 12, 14])
    result = frequency_vs_incidents(period(7))
    assert result.pearson == pytest.approx(1)
    assert result.conclusion == "too_few"
    assert "Only 7 weeks" in result.message and "too few" in result.message


def test_no_variation_or_no_deployments_is_too_few(w):
    build(w, [3] * 8, [0, 1, 2, 3, 4, 5, 6, 7])
    assert frequency_vs_incidents(period(8)).conclusion == "too_few"
    # the other team has no deployments at all: zeros, no error
    result = frequency_vs_incidents(period(8, team=w["search"]))
    assert [row.deployments for row in result.weeks] == [0] * 8
    assert result.pearson is None
    assert "did not vary" in result.message


def test_api(w, api_client, dave):
    build(w, [1, 2, 3, 4, 5, 6, 7, 8], [2, 4, 6, 8, 10, 12, 14, 16])
    client = api_client(dave)
    answer = client.get(
        "/api/v1/metrics/frequency-incidents/",
        {"team": "payments", "since": "2026-03-02", "until": "2026-04-27"},
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["weeks"] == 8
    assert body["conclusion"] == "strong"
    assert body["pearson"] == pytest.approx(1)
    assert body["per_week"][0] == {
        "week": "2026-03-02",
        "deployments": 1,
        "succeeded": 1,
        "failed": 0,
        "rolled_back": 0,
        "change_failure_rate": 0.0,
        "incidents": 2,
    }
    assert body["points"][7] == {
        "team": "payments",
        "week": "2026-04-20",
        "deployments": 8,
        "incidents": 16,
    }
    assert body["filters"]["team"] == "payments"


@pytest.mark.parametrize(
    "params, field_text",
    [
        ({"since": "2026-04-01", "until": "2026-03-01"}, "ends (2026-03-01) before it starts"),
        ({"team": "nope"}, "No team 'nope'"),
        ({"since": "March"}, "not a date"),
    ],
)
def test_api_bad_filters_are_400(w, api_client, dave, params, field_text):
    answer = api_client(dave).get("/api/v1/metrics/frequency-incidents/", params)
    assert answer.status_code == 400
    assert field_text in answer.json()["detail"]


def test_api_needs_a_login(w, api_client):
    assert api_client().get("/api/v1/metrics/frequency-incidents/").status_code in (401, 403)
