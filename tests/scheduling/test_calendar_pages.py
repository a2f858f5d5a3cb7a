"""The release calendar page: month and week views of releases, deployments, window occurrences
(with their policy), go-lives and patch deadlines; filters; navigation; bounded queries."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from releases.models import Deployment
from scheduling.models import GoLiveRule, Vulnerability
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory
from tests.scheduling.calendar_support import local, region, window

URL = reverse("calendar")


def items(html):
    """(data-kind, href, text) of every calendar item, in page order."""
    found = re.findall(
        r'<a class="cal-item ([^"]*)" href="([^"]*)" data-kind="([^"]*)"[^>]*>(.*?)</a>', html, re.S
    )
    return [(kind, href, re.sub(r"<[^>]+>", "", text)) for _css, href, kind, text in found]


def cell(html, day: date):
    start = html.index(f'data-date="{day.isoformat()}"')
    end = html.find('<div class="cal-day', start + 1)
    return html[start : end if end != -1 else None]


@pytest.fixture
def march(db, environments, payments, dave, bob):
    """March 2027: a release, its deployment, a recurring Berlin blackout, a German holiday,
    a US holiday, a go-live rule and a patch deadline."""
    eu = region("eu-de", "Germany", "Europe/Berlin", "DE")
    us = region("us-east", "US East", "America/New_York", "US")
    search = ServiceFactory(slug="search-api", name="Search API", team=TeamFactory(slug="search"))
    release = ReleaseFactory(
        author=dave,
        name="Payments 2.0",
        services=[(payments, "2.0.0")],
        planned_start=local(2027, 3, 10, 14, zone="UTC"),
        planned_end=local(2027, 3, 10, 16, zone="UTC"),
    )
    other = ReleaseFactory(
        author=dave,
        name="Search relevance",
        services=[(search, "5.0.0")],
        planned_start=local(2027, 3, 11, 9, zone="UTC"),
        planned_end=local(2027, 3, 11, 10, zone="UTC"),
    )
    deployment = Deployment.objects.create(
        release=release,
        environment=environments["staging"],
        region="eu-de",
        started_by=bob,
        started_at=local(2027, 3, 9, 13, zone="UTC"),
        finished_at=local(2027, 3, 9, 13, 40, zone="UTC"),
        status="succeeded",
    )
    blackout = window(
        "Month-end close",
        local(2027, 1, 1, zone="Europe/Berlin"),
        local(2027, 1, 2, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        kind="blackout",
        rrule="FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
        environments=[environments["production"]],
    )
    holiday = window(
        "Good Friday (Germany)",
        local(2027, 3, 26, zone="Europe/Berlin"),
        local(2027, 3, 27, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        hardness="soft",
        regions=[eu],
        allowed_change_types=["standard", "emergency"],
    )
    us_holiday = window(
        "Company day (US)",
        local(2027, 3, 12, zone="America/New_York"),
        local(2027, 3, 13, zone="America/New_York"),
        timezone="America/New_York",
        regions=[us],
    )
    rule = GoLiveRule.objects.create(
        region=eu,
        release=release,
        earliest_at=local(2027, 3, 15, 8, zone="UTC"),
        legal_basis="Regulator notice period",
    )
    vulnerability = Vulnerability(
        cve_id="CVE-2027-0001",
        title="Remote code execution in the card parser",
        cvss=Decimal("9.8"),
        severity="critical",
        discovered_at=local(2027, 3, 16, 9, zone="UTC"),
        due_at=local(2027, 3, 18, 9, zone="UTC"),
    )
    vulnerability.save()
    vulnerability.services.add(payments)
    vulnerability.refresh_from_db()
    return {
        "eu": eu,
        "release": release,
        "other": other,
        "deployment": deployment,
        "blackout": blackout,
        "holiday": holiday,
        "us_holiday": us_holiday,
        "rule": rule,
        "vulnerability": vulnerability,
    }


def get(client, user, **params):
    client.force_login(user)
    response = client.get(URL, params)
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_visitors_are_sent_to_login_and_users_without_a_role_get_403(client, nobody, db):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response.url
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_the_month_shows_releases_deployments_windows_go_lives_and_patch_deadlines(
    client, audrey, march
):
    html = get(client, audrey, date="2027-03-05")
    assert 'data-testid="cal-title">March 2027<' in html
    found = items(html)
    kinds = {kind for kind, _href, _text in found}
    assert kinds == {"release", "deployment", "blackout", "freeze", "golive", "patch"}
    hrefs = {href for _kind, href, _text in found}
    assert march["release"].get_absolute_url() in hrefs
    assert march["deployment"].get_absolute_url() in hrefs
    assert march["blackout"].get_absolute_url() in hrefs
    assert march["holiday"].get_absolute_url() in hrefs
    release_day = cell(html, date(2027, 3, 10))
    assert "Payments 2.0" in release_day and "14:00" in release_day
    assert "Staging (eu-de)" in cell(html, date(2027, 3, 9))
    assert "may go live in Germany" in cell(html, date(2027, 3, 15))
    assert "CVE-2027-0001" in cell(html, march["vulnerability"].due_at.date())


def test_a_recurring_window_appears_on_each_of_its_days_in_local_time(client, audrey, march):
    html = get(client, audrey, date="2027-03-05")
    # The last three business days of March 2027 are 29, 30 and 31 (in Berlin).
    for day in (29, 30, 31):
        assert "Month-end close" in cell(html, date(2027, 3, day)), day
    assert "Month-end close" not in cell(html, date(2027, 3, 26))
    # The calendar is in UTC here: a Berlin day starts at 22:00/23:00 the evening before.
    assert "Month-end close" in cell(html, date(2027, 3, 28))


def test_window_items_show_their_policy(client, audrey, march):
    html = get(client, audrey, date="2027-03-05")
    good_friday = cell(html, date(2027, 3, 26))
    assert (
        "Only standard and emergency changes may ship; normal changes need a written reason."
        in good_friday
    )
    assert " soft" in good_friday  # dashed edge for a soft window
    blackout = cell(html, date(2027, 3, 30))
    assert "Nothing ships: all changes need an approved exception." in blackout


def test_today_is_highlighted(client, audrey, db):
    html = get(client, audrey)
    today = timezone.localdate()
    assert f'data-date="{today.isoformat()}" data-testid="cal-today-cell"' in html
    assert html.count('data-testid="cal-today-cell"') == 1


def test_the_week_view_shows_times_and_navigates(client, audrey, march):
    html = get(client, audrey, view="week", date="2027-03-10")
    assert 'data-testid="cal-title">Week of 08 Mar 2027<' in html
    assert "14:00–16:00" in cell(html, date(2027, 3, 10))
    assert html.count('class="cal-day') == 7
    prev = re.search(r'href="\?([^"]*)" data-testid="cal-prev"', html).group(1)
    nxt = re.search(r'href="\?([^"]*)" data-testid="cal-next"', html).group(1)
    assert "view=week" in prev and "date=2027-03-01" in prev
    assert "date=2027-03-15" in nxt
    assert "may go live in Germany" in get(client, audrey, view="week", date="2027-03-15")


def test_month_navigation_moves_by_a_month(client, audrey, db):
    html = get(client, audrey, date="2027-01-31")
    prev = re.search(r'href="\?([^"]*)" data-testid="cal-prev"', html).group(1)
    nxt = re.search(r'href="\?([^"]*)" data-testid="cal-next"', html).group(1)
    assert "date=2026-12-01" in prev and "date=2027-02-01" in nxt


def test_the_region_filter_keeps_that_regions_windows_and_shows_its_time_zone(
    client, audrey, march
):
    html = get(client, audrey, date="2027-03-05", region="eu-de")
    assert 'data-testid="cal-zone">Europe/Berlin<' in html
    titles = " ".join(text for _k, _h, text in items(html))
    assert "Good Friday (Germany)" in titles and "Company day (US)" not in titles
    # In Berlin time the month-end blackout no longer spills into the evening before.
    assert "Month-end close" not in cell(html, date(2027, 3, 28))
    us = get(client, audrey, date="2027-03-05", region="us-east")
    titles = " ".join(text for _k, _h, text in items(us))
    assert "Company day (US)" in titles and "Good Friday" not in titles
    assert "Staging (eu-de)" not in us  # the deployment went to eu-de


def test_the_environment_filter_keeps_its_deployments_and_windows(client, audrey, march):
    html = get(client, audrey, date="2027-03-05", environment="production")
    titles = " ".join(text for _k, _h, text in items(html))
    assert "Month-end close" in titles and "Staging (eu-de)" not in titles
    staging = get(client, audrey, date="2027-03-05", environment="staging")
    titles = " ".join(text for _k, _h, text in items(staging))
    assert "Month-end close" not in titles and "Staging (eu-de)" in titles


def test_team_and_service_filters_keep_their_releases(client, audrey, march):
    html = get(client, audrey, date="2027-03-05", service="search-api")
    titles = " ".join(text for _k, _h, text in items(html))
    assert "Search relevance" in titles and "Payments 2.0" not in titles
    assert "may go live" not in titles and "CVE-2027-0001" not in titles
    team = get(client, audrey, date="2027-03-05", team="payments")
    titles = " ".join(text for _k, _h, text in items(team))
    assert "Payments 2.0" in titles and "Search relevance" not in titles


def test_an_unknown_filter_is_reported_and_ignored(client, audrey, march):
    html = get(client, audrey, date="2027-03-05", region="atlantis")
    assert 'data-testid="cal-filter-errors"' in html
    assert "Good Friday (Germany)" in html and "Company day (US)" in html


def test_the_subscribe_panel_offers_the_feed_with_the_same_filters(client, audrey, march):
    html = get(client, audrey, date="2027-03-05", region="eu-de", team="payments")
    feed = re.search(r'value="([^"]*)"[^>]*data-testid="feed-url"', html).group(1)
    assert "/calendar.ics?" in feed and "region=eu-de" in feed and "team=payments" in feed
    assert "token=YOUR-TOKEN" in feed
    assert "dedicated token" in html


def test_a_cell_with_many_items_links_to_its_week(client, audrey, environments, payments, dave):
    day = local(2027, 3, 10, 9, zone="UTC")
    for i in range(9):
        ReleaseFactory(
            author=dave,
            name=f"Busy {i}",
            services=[(payments, f"1.{i}.0")],
            planned_start=day + timedelta(minutes=i),
            planned_end=day + timedelta(hours=1),
        )
    html = get(client, audrey, date="2027-03-10")
    busy = cell(html, date(2027, 3, 10))
    assert "+3 more" in busy and "view=week&amp;date=2027-03-10" in busy


@pytest.mark.parametrize("rows", [5, 200])
def test_the_calendar_runs_a_bounded_number_of_queries(
    client, audrey, rows, environments, payments, dave, bob, django_assert_max_num_queries
):
    eu = region("eu-de", "Germany", "Europe/Berlin", "DE")
    base = local(2027, 3, 1, 8, zone="UTC")
    for i in range(rows):
        moment = base + timedelta(hours=3 * i)
        release = ReleaseFactory(
            author=dave,
            services=[(payments, f"3.{i}.0")],
            planned_start=moment,
            planned_end=moment + timedelta(hours=1),
        )
        Deployment.objects.create(
            release=release,
            environment=environments["staging"],
            started_by=bob,
            started_at=moment,
            finished_at=moment + timedelta(minutes=20),
            status="succeeded",
        )
        window(
            f"w{i}",
            moment,
            moment + timedelta(hours=2),
            rrule="FREQ=WEEKLY" if i % 4 == 0 else "",
            regions=[eu],
            teams=[payments.team],
        )
        GoLiveRule.objects.create(
            region=eu, release=release, earliest_at=moment, legal_basis="notice"
        )
    client.force_login(audrey)
    client.get(URL, {"date": "2027-03-05"})
    for params in (
        {"date": "2027-03-05"},
        {
            "date": "2027-03-05",
            "view": "week",
            "team": "payments",
            "region": "eu-de",
            "environment": "staging",
            "service": "payments-api",
        },
    ):
        with django_assert_max_num_queries(22):
            assert client.get(URL, params).status_code == 200
