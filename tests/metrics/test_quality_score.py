"""Release quality score: each component worked out by hand on a small history, the stored
snapshot, the trend (the filters every metrics page reads, ``metrics.periods``, and the DORA
trend's buckets), the API and the page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics import quality_score
from metrics.models import (
    DeploymentRecord,
    Incident,
    KpiAlert,
    QualityWeights,
    ReleaseQualityScore,
    SupportTicket,
)
from metrics.periods import InvalidFilters, parse_filters, today_utc
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory
from tests.metrics.kpi_helpers import kpi


def record(release, service, env, finished_at, status="succeeded"):
    return DeploymentRecord.objects.create(
        release=release,
        service=service,
        team=service.team,
        environment=env,
        is_production=env.is_production,
        version=release.version,
        status=status,
        finished_at=finished_at,
    )


def ticket(n, release, service, *, classification="release_related", sentiment="", rating=None):
    return SupportTicket.objects.create(
        external_id=f"T-{n}",
        service=service,
        opened_at=timezone.now() - timedelta(hours=1),
        subject=f"ticket {n}",
        classification=classification,
        attributed_release=release,
        sentiment=sentiment,
        rating=rating,
    )


def incident(release, service, severity):
    return Incident.objects.create(
        title=f"{severity} outage",
        service=service,
        severity=severity,
        started_at=timezone.now() - timedelta(hours=2),
        release=release,
    )


def components(row):
    return {c["code"]: c for c in row.components}


@pytest.fixture
def shipped_release(move_to, environments, payments):
    """dave's payments-api 1.4.2, deployed to production (a stabilisation window is open)."""
    release = move_to("deployed")
    record(release, payments, environments["production"], timezone.now() - timedelta(days=1))
    return release


def test_release_without_problems_scores_100(shipped_release):
    assert quality_score.recompute(release_ids=[shipped_release.pk]) == 1
    row = ReleaseQualityScore.objects.get(release=shipped_release)
    assert row.score == 100
    assert all(c["deducted"] == 0 for c in row.components)
    assert components(row)["incidents"]["message"] == "No incidents attributed to it."


def test_each_component_deducts_its_points_worked_out_by_hand(
    shipped_release, payments, environments
):
    # 3 release-related tickets (5 each = 15); one negative, one rated 2, one rated 4 → 2
    # unhappy customers (3 each = 6). A pre-existing ticket counts for nothing.
    ticket(1, shipped_release, payments, sentiment="negative")
    ticket(2, shipped_release, payments, rating=2)
    ticket(3, shipped_release, payments, rating=4)
    ticket(4, shipped_release, payments, classification="pre_existing", sentiment="negative")
    # Incidents: 1 critical (25) + 2 low (3 each) = 31. One on another release: not counted.
    incident(shipped_release, payments, "critical")
    incident(shipped_release, payments, "low")
    incident(shipped_release, payments, "low")
    other = ReleaseFactory(version="9.9.9")
    incident(other, payments, "critical")
    # One KPI breach in the stabilisation window (5).
    window = shipped_release.stabilisation_windows.get()
    KpiAlert.objects.create(
        window=window,
        kpi=kpi(payments),
        breach_started_at=timezone.now(),
        value=9,
        limit=1,
        message="5xx",
    )
    quality_score.recompute(release_ids=[shipped_release.pk])
    row = ReleaseQualityScore.objects.get(release=shipped_release)
    parts = components(row)
    assert parts["tickets"]["deducted"] == 15
    assert parts["feedback"]["deducted"] == 6
    assert parts["incidents"]["deducted"] == 31
    assert parts["incidents"]["by_severity"] == {"critical": 1, "high": 0, "medium": 0, "low": 2}
    assert parts["incidents"]["message"] == "3 incidents: 1 critical × 25, 2 low × 3 = 31."
    assert parts["kpi_breaches"]["deducted"] == 5
    assert row.score == 100 - 15 - 6 - 31 - 5  # 43


def test_components_are_capped_and_score_never_below_zero(shipped_release, payments):
    for n in range(8):  # 8 × 5 = 40, capped at 30
        ticket(n, shipped_release, payments, sentiment="negative")  # 8 × 3 = 24, cap 15
    for _ in range(3):  # 3 × 25 = 75, cap 50
        incident(shipped_release, payments, "critical")
    quality_score.recompute(release_ids=[shipped_release.pk])
    row = ReleaseQualityScore.objects.get(release=shipped_release)
    parts = components(row)
    assert parts["tickets"]["deducted"] == 30
    assert parts["tickets"]["message"] == (
        "8 release-related support tickets × 5 points = 40, capped at 30."
    )
    assert parts["feedback"]["deducted"] == 15
    assert parts["incidents"]["deducted"] == 50
    assert row.score == 5  # 100 - 30 - 15 - 50
    weights = QualityWeights(ticket_cap=100, incident_cap=100)
    weights.save_with_reason("stricter")
    quality_score.recompute(release_ids=[shipped_release.pk])
    row.refresh_from_db()
    assert row.score == 0  # 100 - 40 - 15 - 75 is below zero
    assert row.history.count() == 2


def test_release_never_deployed_to_production_gets_no_score(
    client, alice, move_to, environments, payments
):
    """Staging only (succeeded there): no score, and the Recompute button says why."""
    release = move_to("approved")
    record(release, payments, environments["staging"], timezone.now())
    incident(release, payments, "high")
    assert quality_score.recompute(release_ids=[release.pk]) == 0
    assert not ReleaseQualityScore.objects.exists()
    client.force_login(alice)
    url = reverse("release_quality_score_update", args=[release.key])
    html = client.post(url, follow=True).content.decode()
    assert f"{release.key} has not reached production: no score yet." in html
    assert not ReleaseQualityScore.objects.exists()


def test_rolled_back_release_reached_production_and_is_scored(
    client, alice, environments, payments
):
    """Its only production deployment was rolled back, one high incident is attributed to it:
    100 - 15 (1 high × 15) - 20 (1 rolled-back production deployment × 20) = 65, both
    components shown; dated by that deployment."""
    release = ReleaseFactory(version="3.0.0")
    rolled_back_at = timezone.now() - timedelta(days=2)
    record(release, payments, environments["production"], rolled_back_at, status="rolled_back")
    incident(release, payments, "high")
    assert quality_score.recompute(release_ids=[release.pk]) == 1
    row = ReleaseQualityScore.objects.get(release=release)
    assert row.score == 65
    assert row.deployed_at == rolled_back_at
    parts = components(row)
    assert parts["incidents"]["deducted"] == 15
    assert parts["incidents"]["by_severity"] == {"critical": 0, "high": 1, "medium": 0, "low": 0}
    assert parts["incidents"]["message"] == "1 incident: 1 high × 15 = 15."
    failures = parts["production_failures"]
    assert (failures["count"], failures["deducted"]) == (1, 20)
    assert failures["message"] == (
        "1 production deployment that failed or was rolled back × 20 points = 20."
    )
    others = [c["deducted"] for c in row.components if c["code"] in ("tickets", "kpi_breaches")]
    assert others + [parts["feedback"]["deducted"]] == [0, 0, 0]
    # The periodic job takes it too (it first reached production two days ago).
    assert quality_score.recompute(days=30) == 1
    # The Recompute button on its Stabilisation tab shows the score instead of refusing.
    client.force_login(alice)
    url = reverse("release_quality_score_update", args=[release.key])
    html = client.post(url, follow=True).content.decode()
    assert f"{release.key} quality score: 65/100." in html
    assert "has not reached production" not in html
    assert "1 incident: 1 high × 15 = 15." in html


def test_failed_production_deployment_counts_and_dates_the_score_from_the_first(
    environments, payments
):
    """Failed in production on day -3, retried with success on day -1: scored, and
    ``deployed_at`` is the first time it reached production (the failure), not the retry.
    Each failed production deployment costs 20 points, capped at 40: one failure 80, three 60."""
    prod = environments["production"]
    release = ReleaseFactory(version="4.0.0")
    failed_at = timezone.now() - timedelta(days=3)
    record(release, payments, prod, failed_at, status="failed")
    record(release, payments, prod, timezone.now() - timedelta(days=1))
    only_failed = ReleaseFactory(version="4.0.1")
    record(only_failed, payments, prod, failed_at, status="failed")
    assert quality_score.recompute(release_ids=[release.pk, only_failed.pk]) == 2
    assert ReleaseQualityScore.objects.get(release=release).deployed_at == failed_at
    assert ReleaseQualityScore.objects.get(release=release).score == 80
    assert ReleaseQualityScore.objects.get(release=only_failed).score == 80
    for day in (4, 5):
        record(only_failed, payments, prod, failed_at - timedelta(days=day), status="rolled_back")
    quality_score.recompute(release_ids=[only_failed.pk])
    three = components(ReleaseQualityScore.objects.get(release=only_failed))["production_failures"]
    assert (three["count"], three["deducted"]) == (3, 40)
    assert three["message"] == (
        "3 production deployments that failed or were rolled back × 20 points = 60, capped at 40."
    )
    assert ReleaseQualityScore.objects.get(release=only_failed).score == 60


def test_periodic_recompute_takes_recent_releases_only(environments, payments):
    prod = environments["production"]
    recent, old = ReleaseFactory(version="1.0.0"), ReleaseFactory(version="0.9.0")
    record(recent, payments, prod, timezone.now() - timedelta(days=3))
    record(old, payments, prod, timezone.now() - timedelta(days=60))
    assert quality_score.recompute(days=30) == 1
    assert list(ReleaseQualityScore.objects.values_list("release", flat=True)) == [recent.pk]


def _scored(release, service, finished_at, score):
    record(release, service, service._prod, finished_at)
    ReleaseQualityScore.objects.create(
        release=release,
        score=score,
        components=[],
        deployed_at=finished_at,
        computed_at=finished_at,
    )


@pytest.fixture
def history(environments):
    """Two teams in two domains; scores placed by hand in two ISO weeks of November 2026
    (UTC)."""
    prod = environments["production"]
    pay = ServiceFactory(slug="pay", team=TeamFactory(slug="pay-team"), domain="payments")
    web = ServiceFactory(slug="web", team=TeamFactory(slug="web-team"), domain="storefront")
    pay._prod = web._prod = prod
    # Week of Monday 2 Nov: pay 80 and 60 (avg 70), web 100. Week of 9 Nov: pay 50.
    _scored(ReleaseFactory(version="1"), pay, datetime(2026, 11, 2, 0, 30, tzinfo=UTC), 80)
    _scored(ReleaseFactory(version="2"), pay, datetime(2026, 11, 8, 23, 59, tzinfo=UTC), 60)
    _scored(ReleaseFactory(version="3"), web, datetime(2026, 11, 4, tzinfo=UTC), 100)
    _scored(ReleaseFactory(version="4"), pay, datetime(2026, 11, 9, tzinfo=UTC), 50)
    # Outside the period (until is exclusive).
    _scored(ReleaseFactory(version="5"), pay, datetime(2026, 11, 16, tzinfo=UTC), 10)
    return pay, web


def test_trend_averages_per_week_and_team(history):
    params = {"since": "2026-11-01", "until": "2026-11-16"}
    assert quality_score.trend(parse_filters(params)) == [
        {"period": "2026-11-02", "average": 80.0, "releases": 3},  # (80 + 60 + 100) / 3
        {"period": "2026-11-09", "average": 50.0, "releases": 1},
    ]
    team = parse_filters({**params, "team": "pay-team"})
    assert quality_score.trend(team) == [
        {"period": "2026-11-02", "average": 70.0, "releases": 2},
        {"period": "2026-11-09", "average": 50.0, "releases": 1},
    ]
    monthly = parse_filters({**params, "service": "web"})
    assert quality_score.trend(monthly, "month") == [
        {"period": "2026-11-01", "average": 100.0, "releases": 1}
    ]


def test_trend_and_listing_include_a_rolled_back_release(history, environments, client, audrey):
    """pay's release 6 was rolled back in production on Tue 10 Nov with one high incident
    attributed: scored 100 - 15 - 20 = 65 by ``recompute``, it joins the week of 9 Nov (pay 50):
    (50 + 65) / 2,
    for everyone and for pay's team and domain (its scope comes from the rolled-back record)."""
    pay, _ = history
    release = ReleaseFactory(version="6")
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    record(release, pay, environments["production"], at, status="rolled_back")
    incident(release, pay, "high")
    assert quality_score.recompute(release_ids=[release.pk]) == 1
    params = {"since": "2026-11-01", "until": "2026-11-16"}
    week_of_9 = {"period": "2026-11-09", "average": 57.5, "releases": 2}
    assert quality_score.trend(parse_filters(params))[1] == week_of_9
    assert quality_score.trend(parse_filters({**params, "team": "pay-team"}))[1] == week_of_9
    payments = parse_filters({**params, "domain": "payments"})
    assert quality_score.trend(payments)[1] == week_of_9
    listed = quality_score.scores(payments).order_by("-deployed_at")
    assert [(r.release_id, r.score) for r in listed][:1] == [(release.pk, 65)]
    assert (
        not quality_score.scores(parse_filters({**params, "team": "web-team"}))
        .filter(release=release)
        .exists()
    )
    client.force_login(audrey)
    page = client.get(reverse("metrics_quality"), params)
    assert page.context["average"] == 71.0  # (80 + 60 + 100 + 50 + 65) / 5
    assert release.key in page.content.decode()


def test_trend_filters_by_domain(history):
    params = {"since": "2026-11-01", "until": "2026-11-16"}
    payments = parse_filters({**params, "domain": "payments"})
    assert quality_score.trend(payments) == [
        {"period": "2026-11-02", "average": 70.0, "releases": 2},  # web (storefront) left out
        {"period": "2026-11-09", "average": 50.0, "releases": 1},
    ]
    storefront = parse_filters({**params, "domain": "storefront"})
    assert [s.score for s in quality_score.scores(storefront)] == [100]
    # Domain and team together: pay-team has nothing in the storefront domain.
    assert not quality_score.scores(
        parse_filters({**params, "domain": "storefront", "team": "pay-team"})
    ).exists()


def test_trend_buckets_are_the_dora_trends(history):
    """A period starting mid-week: the first bucket starts on the period's first day, as in
    ``metrics.dora.buckets`` (Wed 4 Nov – Sun 8 Nov, then the week of Monday 9 Nov)."""
    filters = parse_filters({"since": "2026-11-04", "until": "2026-11-16"})
    assert quality_score.trend(filters) == [
        {"period": "2026-11-04", "average": 80.0, "releases": 2},  # web 100 (4 Nov), pay 60
        {"period": "2026-11-09", "average": 50.0, "releases": 1},
    ]


@pytest.mark.django_db
def test_default_period_is_the_last_90_days_like_every_metrics_page():
    filters = parse_filters({})
    assert filters.until == today_utc() + timedelta(days=1)
    assert filters.days == 90


@pytest.mark.django_db
def test_bad_filters_are_explained_in_the_metrics_words():
    with pytest.raises(InvalidFilters) as error:
        parse_filters({"since": "2026-11-10", "until": "2026-11-01", "team": "nope"})
    errors = error.value.field_errors()
    assert "ends (2026-11-01) before it starts (2026-11-10)" in errors["until"][0]
    assert errors["team"] == ["No team 'nope'; GET /api/v1/teams/ lists them."]
    with pytest.raises(InvalidFilters) as error:
        quality_score.trend(parse_filters({}), "year")
    assert error.value.field_errors()["bucket"] == ["bucket: 'year' is not one of week, month."]


# --- API, pages, permissions ---


def test_api_returns_releases_and_trend_with_bounded_queries(
    history, api_client, audrey, django_assert_max_num_queries
):
    client = api_client(audrey)
    url = "/api/v1/metrics/quality/?since=2026-11-01&until=2026-11-16&team=pay-team"
    with django_assert_max_num_queries(8):
        response = client.get(url)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert body["average"] == 63.3  # (80 + 60 + 50) / 3
    assert [r["score"] for r in body["releases"]] == [50, 60, 80]
    assert body["trend"][0] == {"period": "2026-11-02", "average": 70.0, "releases": 2}
    pay = history[0]
    for n in range(20):  # many more releases: the same number of queries
        _scored(ReleaseFactory(version=f"7.{n}"), pay, datetime(2026, 11, 10, tzinfo=UTC), 90)
    with django_assert_max_num_queries(8):
        assert client.get(url).json()["count"] == 23


def test_api_filters_by_domain_and_echoes_the_filters(history, api_client, audrey):
    url = "/api/v1/metrics/quality/?since=2026-11-01&until=2026-11-16&domain=storefront"
    body = api_client(audrey).get(url).json()
    assert body["filters"] == {
        "since": "2026-11-01",
        "until": "2026-11-16",
        "domain": "storefront",
        "bucket": "week",
    }
    assert body["count"] == 1
    assert [r["score"] for r in body["releases"]] == [100]


def test_api_default_period_is_90_days(api_client, audrey, environments):
    pay = ServiceFactory(slug="pay")
    pay._prod = environments["production"]
    now = timezone.now()
    _scored(ReleaseFactory(version="1"), pay, now - timedelta(days=80), 70)
    _scored(ReleaseFactory(version="2"), pay, now - timedelta(days=100), 10)  # too old
    body = api_client(audrey).get("/api/v1/metrics/quality/").json()
    assert [r["score"] for r in body["releases"]] == [70]


@pytest.mark.parametrize(
    ("query", "field", "code", "words"),
    [
        ("since=2026-11-10&until=2026-11-01", "until", "period_order", "before it starts"),
        (
            "since=2026-11-20&until=2026-11-20",
            "until",
            "period_order",
            "The period is empty: 'until' (2026-11-20) must be a later day than 'since' "
            "(2026-11-20)",
        ),
        ("team=nope", "team", "unknown_team", "No team 'nope'"),
        ("service=ghost", "service", "unknown_service", "No service 'ghost'"),
        ("domain=atlantis", "domain", "unknown_domain", "the domain 'atlantis'"),
        ("since=yesterday", "since", "bad_date", "since: 'yesterday' is not a date"),
        ("bucket=year", "bucket", "bad_bucket", "bucket: 'year' is not one of week, month"),
    ],
)
def test_api_bad_filters_are_400_naming_the_field_and_write_nothing(
    api_client, audrey, history, query, field, code, words
):
    before = (ReleaseQualityScore.objects.count(), ReleaseQualityScore.history.count())
    response = api_client(audrey).get(f"/api/v1/metrics/quality/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_filters"
    assert words in body["detail"]
    [check] = body["checks"]
    assert check["code"] == code and check["passed"] is False
    assert field in check["message"]  # each message names the field it is about
    after = (ReleaseQualityScore.objects.count(), ReleaseQualityScore.history.count())
    assert after == before


def test_api_lists_every_problem_at_once(api_client, audrey, db):
    response = api_client(audrey).get(
        "/api/v1/metrics/quality/?since=2026-11-10&until=2026-11-01&service=ghost"
    )
    assert response.status_code == 400
    codes = [c["code"] for c in response.json()["checks"]]
    assert codes == ["unknown_service", "period_order"]


def test_recompute_endpoint_is_for_release_managers(
    api_client, shipped_release, alice, audrey, dave
):
    url = "/api/v1/metrics/quality/recompute/"
    for user in (audrey, dave):
        assert api_client(user).post(url, {"release": shipped_release.key}).status_code == 403
    assert not ReleaseQualityScore.objects.exists()
    bad = api_client(alice).post(url, {"release": "REL-NOPE"})
    assert bad.status_code == 400
    assert bad.json()["release"] == ["No release 'REL-NOPE'."]
    assert not ReleaseQualityScore.objects.exists()
    ok = api_client(alice).post(url, {"release": shipped_release.key})
    assert ok.json() == {"recomputed": 1}
    assert ReleaseQualityScore.objects.get(release=shipped_release).score == 100


def test_quality_page_shows_chart_table_and_csv(client, audrey, history):
    client.force_login(audrey)
    url = reverse("metrics_quality")
    page = client.get(url, {"since": "2026-11-01", "until": "2026-11-16"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="quality-chart"' in html
    assert "quality-chart-data" in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert page.context["average"] == 72.5  # (80 + 60 + 100 + 50) / 4
    csv_response = client.get(
        url, {"since": "2026-11-01", "until": "2026-11-16", "team": "web-team", "format": "csv"}
    )
    lines = csv_response.content.decode().strip().splitlines()
    assert lines[0].startswith("release,name,version,deployed_at,score")
    assert len(lines) == 2 and lines[1].split(",")[4] == "100"


def test_quality_page_filters_by_domain(client, audrey, history):
    client.force_login(audrey)
    page = client.get(
        reverse("metrics_quality"),
        {"since": "2026-11-01", "until": "2026-11-16", "domain": "payments"},
    )
    assert page.status_code == 200
    assert page.context["average"] == 63.3  # pay only: (80 + 60 + 50) / 3
    html = page.content.decode()
    assert '<option value="payments" selected>' in html
    assert "· domain payments" in html


def test_quality_page_empty_state(client, audrey, db):
    client.force_login(audrey)
    empty = client.get(reverse("metrics_quality"))
    assert empty.status_code == 200
    assert "No release reached production in this period" in empty.content.decode()
    assert empty.context["filters"].days == 90


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-11-10", "until": "2026-11-01"}, "The period ends (2026-11-01) before"),
        ({"team": "nope"}, "No team &#x27;nope&#x27;"),
        ({"domain": "atlantis"}, "No service is in the domain &#x27;atlantis&#x27;"),
        ({"bucket": "year"}, "bucket: &#x27;year&#x27; is not one of week, month."),
    ],
)
def test_quality_page_bad_filters_show_the_message_and_write_nothing(
    client, audrey, history, params, message
):
    client.force_login(audrey)
    before = (ReleaseQualityScore.objects.count(), ReleaseQualityScore.history.count())
    for extra in ({}, {"format": "csv"}):  # the CSV export is refused the same way
        bad = client.get(reverse("metrics_quality"), {**params, **extra})
        assert bad.status_code == 400
        html = bad.content.decode()
        assert 'data-testid="quality-errors"' in html
        assert message in html
        assert 'id="quality-chart"' not in html
    after = (ReleaseQualityScore.objects.count(), ReleaseQualityScore.history.count())
    assert after == before


WEIGHTS_FORM = {
    "ticket_points": 10,
    "ticket_cap": 40,
    "incident_critical_points": 25,
    "incident_high_points": 15,
    "incident_medium_points": 8,
    "incident_low_points": 3,
    "incident_cap": 50,
    "kpi_alert_points": 5,
    "kpi_alert_cap": 20,
    "feedback_points": 3,
    "feedback_cap": 15,
    "production_failure_points": 20,
    "production_failure_cap": 40,
}


def test_release_manager_edits_weights_with_reason_and_history(client, alice, carol, db):
    url = reverse("quality_weights_edit")
    client.force_login(carol)
    assert client.post(url, {"ticket_points": 1}).status_code == 403
    client.force_login(alice)
    form = WEIGHTS_FORM
    missing_reason = client.post(url, form)
    assert missing_reason.status_code == 400
    assert not QualityWeights.objects.exists()
    negative = client.post(url, {**form, "ticket_points": -1, "reason": "x"})
    assert negative.status_code == 400
    assert not QualityWeights.objects.exists()
    assert client.post(url, {**form, "reason": "tickets hurt more"}).status_code == 302
    weights = QualityWeights.objects.get()
    assert weights.ticket_points == 10
    assert weights.history.first().history_change_reason == "tickets hurt more"


def test_weights_form_speaks_the_quality_pages_words(client, alice, db):
    client.force_login(alice)
    html = client.get(reverse("quality_weights_edit")).content.decode()
    for label in (
        "Per support ticket",
        "Support tickets: most taken",
        "Per critical incident",
        "Per low incident",
        "Incidents: most taken",
        "Per KPI breach",
        "KPI breaches: most taken",
        "Per unhappy customer",
        "Unhappy customers: most taken",
        "Per failed or rolled-back production deployment",
        "Failed or rolled-back production deployments: most taken",
    ):
        assert f">{label} <span" in html, label  # each label, then its required star
    assert "Kpi alert" not in html and "Feedback points" not in html
    assert html.count("The most this component takes off the score of 100.") == 5
    # styled like the other forms (Bootstrap), each box offering 0-100
    assert html.count('min="0" class="form-control" max="100"') == 13


@pytest.mark.parametrize("field", ["ticket_cap", "incident_critical_points", "feedback_cap"])
def test_weights_above_100_are_refused_and_nothing_is_saved(client, alice, db, field):
    client.force_login(alice)
    response = client.post(
        reverse("quality_weights_edit"), {**WEIGHTS_FORM, field: 500, "reason": "typo"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "At most 100: a score starts at 100, so no weight can take off more." in html
    assert "Nothing was saved." in html
    assert not QualityWeights.objects.exists()
    assert not QualityWeights.history.exists()
    ok = client.post(reverse("quality_weights_edit"), {**WEIGHTS_FORM, field: 100, "reason": "x"})
    assert ok.status_code == 302
    assert getattr(QualityWeights.objects.get(), field) == 100


def test_stabilisation_panel_shows_score_and_recompute(client, alice, audrey, shipped_release):
    quality_score.recompute(release_ids=[shipped_release.pk])
    url = reverse("release_quality_score_update", args=[shipped_release.key])
    client.force_login(audrey)
    assert client.post(url).status_code == 403
    client.force_login(alice)
    response = client.post(url, follow=True)
    html = response.content.decode()
    assert 'data-testid="quality-panel"' in html
    assert "quality score: 100/100" in html
