"""/calendar.ics: the calendar as an iCalendar feed, for a signed-in user or a ?token= key."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from releasemgr.models import ApiToken
from tests.factories import ReleaseFactory
from tests.scheduling.calendar_support import region, window

URL = reverse("calendar_feed")


@pytest.fixture
def upcoming(db, dave, payments, environments):
    now = timezone.now().replace(microsecond=0)
    eu = region("eu-de", "Germany", "Europe/Berlin", "DE")
    us = region("us-east", "US East", "America/New_York", "US")
    release = ReleaseFactory(
        author=dave,
        name="Payments 2.0",
        services=[(payments, "2.0.0")],
        planned_start=now + timedelta(days=3),
        planned_end=now + timedelta(days=3, hours=2),
    )
    holiday = window(
        "German holiday",
        now + timedelta(days=5),
        now + timedelta(days=6),
        regions=[eu],
        allowed_change_types=["emergency"],
    )
    us_only = window("US holiday", now + timedelta(days=7), now + timedelta(days=8), regions=[us])
    weekly = window(
        "Weekly maintenance",
        now + timedelta(days=1),
        now + timedelta(days=1, hours=2),
        kind="maintenance",
        rrule="FREQ=WEEKLY",
    )
    return {"now": now, "release": release, "holiday": holiday, "us": us_only, "weekly": weekly}


def events(response):
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    calendar = Calendar.from_ical(response.content)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}, calendar


def test_a_signed_in_user_downloads_the_feed_with_every_item(client, audrey, upcoming):
    client.force_login(audrey)
    found, calendar = events(client.get(URL))
    assert str(calendar["x-wr-calname"]) == "Release calendar"
    release = found[f"[Release] {upcoming['release'].key} Payments 2.0"]
    assert release.decoded("dtstart") == upcoming["release"].planned_start
    assert release.decoded("dtend") == upcoming["release"].planned_end
    assert str(release["url"]).endswith(upcoming["release"].get_absolute_url())
    assert str(release["url"]).startswith("http")
    holiday = found["[Freeze] German holiday"]
    assert "Only emergency changes may ship" in str(holiday["description"])
    assert holiday.decoded("dtstart") == upcoming["holiday"].start
    weekly = [e for s, e in found.items() if s == "[Maintenance] Weekly maintenance"]
    assert weekly  # recurring windows are expanded: every occurrence is its own event
    uids = [str(e["uid"]) for e in Calendar.from_ical(client.get(URL).content).walk("VEVENT")]
    assert len(uids) == len(set(uids))
    assert sum("window-" in uid for uid in uids) >= 2 + 20  # ~26 weekly occurrences in 6 months


def test_the_feed_applies_the_same_filters_as_the_page(client, audrey, upcoming):
    client.force_login(audrey)
    found, calendar = events(client.get(URL, {"region": "us-east"}))
    assert "[Freeze] US holiday" in found and "[Freeze] German holiday" not in found
    assert str(calendar["x-wr-calname"]) == "Release calendar (US East)"


def test_a_bad_filter_is_a_400_with_the_reason(client, audrey, upcoming):
    client.force_login(audrey)
    response = client.get(URL, {"region": "atlantis"})
    assert response.status_code == 400
    assert "region" in response.content.decode()


def test_a_calendar_app_reads_the_feed_with_a_token_in_the_url(client, audrey, upcoming):
    token, key = ApiToken.issue(audrey, "Calendar feed")
    found, _ = events(client.get(URL, {"token": key, "region": "eu-de"}))
    assert "[Freeze] German holiday" in found
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_wrong_or_revoked_token_is_refused_with_401(client, audrey, upcoming):
    assert client.get(URL, {"token": "not-a-token"}).status_code == 401
    token, key = ApiToken.issue(audrey, "Calendar feed")
    token.revoke()
    response = client.get(URL, {"token": key})
    assert response.status_code == 401
    assert b"BEGIN:VCALENDAR" not in response.content


def test_a_token_of_a_user_without_a_role_is_refused_with_403(client, nobody, upcoming):
    _, key = ApiToken.issue(nobody, "Calendar feed")
    response = client.get(URL, {"token": key})
    assert response.status_code == 403
    assert b"BEGIN:VCALENDAR" not in response.content


def test_without_a_session_or_token_the_browser_is_sent_to_login(client, upcoming):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response.url


def test_the_feed_runs_a_bounded_number_of_queries(
    client, audrey, upcoming, django_assert_max_num_queries
):
    _, key = ApiToken.issue(audrey, "Calendar feed")
    with django_assert_max_num_queries(16):
        assert client.get(URL, {"token": key, "team": "payments"}).status_code == 200
