"""The metrics page: cards, charts' data, correlation text, filters, CSV exports, bad filters
(400 with the message), permissions and a bounded number of queries."""

import csv
import io
import json
from datetime import date, timedelta

import pytest

from metrics import rollups
from tests.metrics.history_helpers import at, deploy, incident, world

URL = "/metrics/"
PERIOD = {"since": "2026-03-02", "until": "2026-03-16"}  # two weeks


@pytest.fixture
def w(environments):
    return world(environments)


def history(w, extra_per_week=0):
    """Week 1: pay-api 2 succeeded + 1 failed, ledger 1 rolled back; search-svc 1 succeeded.
    Week 2: pay-api 1 succeeded with an incident attributed (resolved after 3 h)."""
    api, ledger, search, prod = w["api"], w["ledger"], w["search-svc"], w["prod"]
    deploy(api, prod, at("2026-03-03T10:00"))
    deploy(api, prod, at("2026-03-03T11:00"))
    deploy(api, prod, at("2026-03-04T10:00"), "failed")
    deploy(ledger, prod, at("2026-03-05T10:00"), "rolled_back")
    deploy(search, prod, at("2026-03-05T12:00"))
    bad = deploy(api, prod, at("2026-03-10T10:00"))
    incident(api, at("2026-03-10T12:00"), at("2026-03-10T15:00"), record=bad)
    for i in range(extra_per_week):
        deploy(search, prod, at("2026-03-06T10:00") + timedelta(minutes=i))
        deploy(search, prod, at("2026-03-12T10:00") + timedelta(minutes=i), "failed")
        incident(search, at("2026-03-12T10:00") + timedelta(minutes=i))
    rollups.rebuild(date(2026, 3, 2) + timedelta(days=i) for i in range(14))


def chart(response):
    html = response.content.decode()
    start = html.index('id="metrics-chart-data"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_page_shows_cards_charts_and_tables(w, client, dave):
    history(w)
    client.force_login(dave)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    html = response.content.decode()
    data = chart(response)
    assert data["labels"] == ["2026-03-02", "2026-03-09"]
    assert data["succeeded"] == [3, 1]
    assert data["failed"] == [1, 0]
    assert data["rolled_back"] == [1, 0]
    assert data["cfr"] == [40.0, 100.0]  # 2 of 5; the week-2 deployment caused an incident
    assert data["incidents"] == [0, 1]
    assert {"x": 1, "y": 1, "team": "payments", "week": "2026-03-09"} in data["points"]
    ctx = response.context
    assert ctx["figures"]["deployments"] == 6
    assert ctx["figures"]["change_failure_rate"] == 0.5  # failed, rolled back, attributed
    assert ctx["summary"]["success_rate"] == pytest.approx(4 / 6, abs=1e-4)
    assert ctx["summary"]["mttr_hours"] == 3.0
    assert 'data-testid="card-deployments">6<' in html
    assert "Only 2 weeks of data: too few to conclude" in html
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in html


def test_the_deployments_card_rounds_the_weekly_frequency(w, client, dave):
    history(w)
    client.force_login(dave)
    # 4 successful over 15 days: 1.866... per week
    html = client.get(URL, {**PERIOD, "until": "2026-03-17"}).content.decode()
    assert "1.9 successful / week" in html
    assert "1.867 successful" not in html


def test_team_filter_changes_the_figures(w, client, dave):
    history(w)
    client.force_login(dave)
    response = client.get(URL, {**PERIOD, "team": "search"})
    assert response.context["figures"]["deployments"] == 1
    assert chart(response)["succeeded"] == [1, 0]
    assert chart(response)["incidents"] == [0, 0]
    domain = client.get(URL, {**PERIOD, "domain": "money"})
    assert domain.context["figures"]["deployments"] == 5


def test_empty_state(w, client, dave):
    client.force_login(dave)
    response = client.get(URL, PERIOD)
    assert response.status_code == 200
    assert 'data-testid="metrics-empty"' in response.content.decode()
    assert response.context["figures"]["deployments"] == 0


@pytest.mark.parametrize(
    "params, message",
    [
        ({"since": "2026-04-01", "until": "2026-03-01"}, "before it starts"),
        ({"team": "nope"}, "No team &#x27;nope&#x27;"),
        ({"since": "yesterday"}, "is not a date"),
        ({**PERIOD, "format": "csv", "table": "secrets"}, "is not one of"),
    ],
)
def test_bad_filters_are_a_400_page_with_the_message(w, client, dave, params, message):
    client.force_login(dave)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'data-testid="metrics-errors"' in response.content.decode()


def test_csv_exports(w, client, dave):
    history(w)
    client.force_login(dave)
    weekly = client.get(URL, {**PERIOD, "format": "csv", "table": "weekly"})
    assert weekly["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(weekly.content.decode())))
    assert rows[0][:2] == ["week", "deployments"]
    assert rows[1] == ["2026-03-02", "5", "3", "1", "1", "0.4", "0", "0"]
    assert rows[2] == ["2026-03-09", "1", "1", "0", "0", "1.0", "1", "1"]
    dora = list(
        csv.reader(
            io.StringIO(
                client.get(URL, {**PERIOD, "format": "csv", "table": "dora"}).content.decode()
            )
        )
    )
    assert dora[1] == ["Deployments", "count", "6", ""]
    assert dora[4][:3] == ["Change failure rate", "fraction 0..1", "0.5"]
    points = list(
        csv.reader(
            io.StringIO(
                client.get(URL, {**PERIOD, "format": "csv", "table": "points"}).content.decode()
            )
        )
    )
    assert points[0] == ["team", "week", "deployments", "incidents"]
    assert ["search", "2026-03-02", "1", "0"] in points


def test_permissions(w, client, nobody):
    assert client.get(URL).status_code == 302  # anonymous: login
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_bounded_queries(w, client, dave, django_assert_max_num_queries):
    history(w)
    client.force_login(dave)
    with django_assert_max_num_queries(40) as few:
        client.get(URL, PERIOD)
    history_more = 30
    history(w, extra_per_week=history_more)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, PERIOD)
    assert response.context["figures"]["deployments"] > 60


def test_the_page_says_how_each_figure_is_counted_without_pointing_at_the_repository(
    w, client, dave
):
    history(w)
    client.force_login(dave)
    html = client.get(URL, PERIOD).content.decode()
    assert "definitions in the README" not in html
    assert "How these are counted" in html
    assert "successful deployments ÷ weeks in the period" in html
    assert "deployments that failed, were rolled back or caused an incident" in html


def test_the_success_rate_says_it_counts_deployments_not_releases(w, client, dave):
    history(w)
    client.force_login(dave)
    html = client.get(URL, PERIOD).content.decode()
    assert ">Deployment success rate<" in html
    assert "4 of 6 deployments succeeded. Counts deployments, not releases." in html


@pytest.mark.parametrize(
    ("params", "message", "not_shown"),
    [
        (
            {"since": "2026-04-01", "until": "2026-03-01"},
            "The period ends (2026-03-01) before it starts (2026-04-01): “Until” must be a "
            "later day than “From” (Until is exclusive).",
            "&#x27;until&#x27; is exclusive and must be after &#x27;since&#x27;",
        ),
        (
            {"since": "2026-03-10", "until": "2026-03-10"},
            "The period is empty: “Until” must be a later day than “From” (Until is "
            "exclusive, so 2026-03-10 to 2026-03-10 holds no day).",
            "before it starts",
        ),
        (
            {"team": "nope"},
            "No team &#x27;nope&#x27;. Pick one from the Team list.",
            "GET /api/v1/teams/",
        ),
        (
            {"service": "ghost"},
            "No service &#x27;ghost&#x27;. Pick one from the Service list.",
            "GET /api/v1/services/",
        ),
        ({"since": "yesterday"}, "From: &#x27;yesterday&#x27; is not a date", "since:"),
    ],
)
def test_bad_filters_speak_the_words_of_the_form(w, client, dave, params, message, not_shown):
    client.force_login(dave)
    html = client.get(URL, params).content.decode()
    assert message in html
    assert not_shown not in html


def test_the_api_keeps_its_parameter_names_in_the_messages(w, api_client, dave):
    body = (
        api_client(dave)
        .get(
            "/api/v1/metrics/dora/", {"since": "2026-04-01", "until": "2026-03-01", "team": "nope"}
        )
        .json()
    )
    assert "'until' is exclusive and must be after 'since'" in body["detail"]
    assert "No team 'nope'; GET /api/v1/teams/ lists them." in body["detail"]


def test_the_menu_names_the_two_delivery_pages_by_what_they_show(w, client, dave):
    client.force_login(dave)
    html = client.get(URL).content.decode()
    assert f'href="{URL}">Deployments and incidents per week</a>' in html
    assert (
        'href="/metrics/delivery/">Delivery performance: DORA trends, release success</a>' in html
    )
    assert ">Delivery metrics<" not in html
