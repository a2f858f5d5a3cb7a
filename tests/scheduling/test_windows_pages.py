"""Calendar-window pages (kind, hardness, time zone, recurrence, scope, policy) and region pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling.models import FreezeWindow, GoLiveRule, Region
from tests.factories import TeamFactory
from tests.scheduling.calendar_support import local, region, window


@pytest.fixture
def eu(db):
    return region("eu-de", "Germany", "Europe/Berlin", "DE")


def form_data(**change):
    data = {
        "name": "Berlin release hours",
        "kind": "release_window",
        "hardness": "hard",
        "timezone": "Europe/Berlin",
        "start": "2027-03-01T09:00",
        "end": "2027-03-01T17:00",
        "rrule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        "recurrence_until": "",
        "reason": "Support desk staffed",
    }
    data.update(change)
    return data


def test_release_manager_creates_a_recurring_window_in_its_own_time_zone(
    client, alice, eu, environments, payments
):
    client.force_login(alice)
    form = client.get(reverse("freeze_create")).content.decode()
    assert 'data-testid="rrule-presets"' in form
    assert "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1" in form  # preset offered
    assert 'list="zone-names"' in form
    response = client.post(
        reverse("freeze_create"),
        form_data(
            regions=[eu.pk],
            teams=[payments.team.pk],
            environments=[environments["production"].pk],
            allowed_change_types=["emergency"],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    window = FreezeWindow.objects.get(name="Berlin release hours")
    # 09:00 in Berlin in winter is 08:00 UTC.
    assert window.start == local(2027, 3, 1, 8, zone="UTC")
    assert window.end == local(2027, 3, 1, 16, zone="UTC")
    assert (window.kind, window.hardness, window.timezone) == (
        "release_window",
        "hard",
        "Europe/Berlin",
    )
    assert list(window.regions.all()) == [eu] and list(window.teams.all()) == [payments.team]
    assert window.allowed_change_types == ["emergency"]
    assert window.created_by == alice


def test_the_detail_page_lists_next_occurrences_in_the_window_zone_and_utc(client, audrey, db):
    created = window(
        "Berlin release hours",
        local(2027, 3, 25, 9, zone="Europe/Berlin"),
        local(2027, 3, 25, 17, zone="Europe/Berlin"),
        timezone="Europe/Berlin",
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        kind="release_window",
    )
    client.force_login(audrey)
    html = client.get(created.get_absolute_url()).content.decode()
    table = html[html.index('data-testid="occurrences"') :].split("</table>")[0]
    rows = table.split("<tr")[2:]
    assert "Thu 2027-03-25 09:00 → 17:00" in rows[0] and "03-25 08:00 → 03-25 16:00" in rows[0]
    # After the DST change (28 March) it is still 09:00 in Berlin, 07:00 UTC.
    assert "Mon 2027-03-29 09:00 → 17:00" in rows[2] and "03-29 07:00 → 03-29 15:00" in rows[2]
    assert len(rows) == 10
    assert "Every weekday (Mon–Fri)" in html
    policy = html[html.index('data-testid="freeze-policy"') :].split("</div>")[0]
    assert "only inside this window" in policy


def test_the_edit_form_shows_times_in_the_window_zone(client, alice, db):
    created = window(
        "Tokyo hours",
        local(2027, 3, 1, 9, zone="Asia/Tokyo"),
        local(2027, 3, 1, 17, zone="Asia/Tokyo"),
        timezone="Asia/Tokyo",
    )
    client.force_login(alice)
    html = client.get(reverse("freeze_update", args=[created.pk])).content.decode()
    assert 'value="2027-03-01T09:00"' in html and 'value="2027-03-01T17:00"' in html
    response = client.post(
        reverse("freeze_update", args=[created.pk]),
        form_data(name="Tokyo hours", timezone="Asia/Tokyo", rrule="", change_reason="moved"),
    )
    assert response.status_code == 302
    created.refresh_from_db()
    assert created.start == local(2027, 3, 1, 0, zone="UTC")  # 09:00 JST


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2027-03-01T08:00"}, "The end must be after the start."),
        ({"rrule": "FREQ=SOMETIMES"}, "The recurrence rule does not parse"),
        ({"rrule": "BYDAY=MO"}, "needs a frequency"),
        ({"timezone": "Europe/Atlantis"}, "is not a known time zone"),
        (
            {"recurrence_until": "2027-02-01T00:00"},
            "The recurrence must end after the first start.",
        ),
        ({"kind": "party"}, "Select a valid choice"),
        ({"allowed_change_types": ["yolo"]}, "Select a valid choice"),
        ({"name": ""}, "This field is required."),
    ],
)
def test_bad_window_input_gets_a_field_error_and_writes_nothing(client, alice, db, change, message):
    client.force_login(alice)
    response = client.post(reverse("freeze_create"), form_data(**change))
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert "Nothing was saved" in html
    assert not FreezeWindow.objects.exists()
    assert not FreezeWindow.history.exists()


def test_the_window_list_groups_recurring_windows_and_filters_by_kind_region_and_team(
    client, audrey, eu, payments
):
    now = timezone.now()
    us = region("us-east", "US East", "America/New_York", "US")
    window("One-off freeze", now - timedelta(hours=1), now + timedelta(hours=1))
    window(
        "Nightly maintenance",
        now - timedelta(days=5),
        now - timedelta(days=5, hours=-1),
        rrule="FREQ=DAILY",
        kind="maintenance",
        regions=[us],
    )
    window(
        "Payments blackout",
        now + timedelta(days=2),
        now + timedelta(days=3),
        kind="blackout",
        teams=[payments.team],
        regions=[eu],
    )
    client.force_login(audrey)
    html = client.get(reverse("freeze_list")).content.decode()
    table = html[html.index('data-testid="freeze-table"') :]
    assert table.index("Active now") < table.index("Recurring") < table.index("Upcoming")
    assert (
        table.index("One-off freeze")
        < table.index("Nightly maintenance")
        < table.index("Payments blackout")
    )
    row = table[table.index("Nightly maintenance") :].split("</tr>")[0]
    assert "Every day" in row and "Maintenance" in row and "US East" in row
    kind = client.get(reverse("freeze_list"), {"kind": "blackout"}).content.decode()
    assert "Payments blackout" in kind and "Nightly maintenance" not in kind
    by_region = client.get(reverse("freeze_list"), {"region": "us-east"}).content.decode()
    assert "Nightly maintenance" in by_region and "Payments blackout" not in by_region
    other_team = TeamFactory(slug="search")
    by_team = client.get(reverse("freeze_list"), {"team": other_team.slug}).content.decode()
    assert "Payments blackout" not in by_team and "One-off freeze" in by_team


@pytest.mark.parametrize("rows", [5, 200])
def test_the_window_list_with_recurring_and_scoped_windows_runs_bounded_queries(
    client, dave, rows, environments, payments, eu, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(rows):
        window(
            f"w{i}",
            now + timedelta(days=i - rows // 2),
            now + timedelta(days=i - rows // 2, hours=3),
            rrule="FREQ=WEEKLY" if i % 3 == 0 else "",
            services=[payments],
            teams=[payments.team],
            environments=[environments["production"]],
            regions=[eu],
        )
    client.force_login(dave)
    client.get(reverse("freeze_list"))
    with django_assert_max_num_queries(18):
        assert client.get(reverse("freeze_list")).status_code == 200
    with django_assert_max_num_queries(19):
        response = client.get(reverse("freeze_list"), {"when": "current", "region": "eu-de"})
        assert response.status_code == 200


# --- regions ---------------------------------------------------------------------------------


def region_urls():
    return [
        reverse("region_list"),
        reverse("region_detail", args=["eu-de"]),
        reverse("region_create"),
        reverse("region_update", args=["eu-de"]),
        reverse("region_delete", args=["eu-de"]),
    ]


def test_region_pages_send_anonymous_visitors_to_login_and_refuse_users_without_a_role(
    client, nobody, eu
):
    for url in region_urls():
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response.url, url
    client.force_login(nobody)
    for url in region_urls():
        assert client.get(url).status_code == 403, url


def test_the_auditor_reads_regions_but_cannot_change_them(client, audrey, eu):
    client.force_login(audrey)
    assert client.get(reverse("region_list")).status_code == 200
    assert client.get(reverse("region_detail", args=["eu-de"])).status_code == 200
    assert client.get(reverse("region_create")).status_code == 403
    response = client.post(
        reverse("region_update", args=["eu-de"]),
        {"code": "eu-de", "name": "X", "timezone": "UTC", "rollout_order": 1},
    )
    assert response.status_code == 403
    assert Region.objects.get(code="eu-de").name == "Germany"


def test_release_manager_creates_and_edits_a_region(client, alice, db):
    client.force_login(alice)
    response = client.post(
        reverse("region_create"),
        {
            "code": "us-east",
            "name": "US East",
            "timezone": "America/New_York",
            "country_code": "us",
            "subdivision": "ny",
            "rollout_order": "20",
        },
    )
    assert response.status_code == 302
    created = Region.objects.get(code="us-east")
    assert (created.country_code, created.subdivision) == ("US", "NY")
    response = client.post(
        reverse("region_update", args=["us-east"]),
        {
            "code": "us-east",
            "name": "US East (Virginia)",
            "timezone": "America/New_York",
            "country_code": "US",
            "subdivision": "",
            "rollout_order": "20",
            "change_reason": "renamed",
        },
    )
    assert response.status_code == 302
    assert created.history.latest().history_change_reason == "renamed"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timezone": "Europe/Atlantis"}, "is not a known time zone"),
        ({"country_code": "XX"}, "No public-holiday calendar for country code"),
        ({"subdivision": "ZZ"}, "is not a subdivision of DE"),
        ({"country_code": "", "subdivision": "BY"}, "A subdivision needs a country code."),
        ({"code": "new"}, "is reserved"),
    ],
)
def test_bad_region_input_gets_a_field_error_and_writes_nothing(client, alice, db, change, message):
    client.force_login(alice)
    data = {
        "code": "eu-de",
        "name": "Germany",
        "timezone": "Europe/Berlin",
        "country_code": "DE",
        "rollout_order": "10",
    }
    data.update(change)
    response = client.post(reverse("region_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Region.objects.exists()


def test_region_detail_shows_its_windows_and_go_live_rules(client, audrey, eu, draft_release):
    now = timezone.now()
    window("German holiday", now + timedelta(days=3), now + timedelta(days=4), regions=[eu])
    window("Global freeze", now + timedelta(days=5), now + timedelta(days=6))
    us = region("us-east", "US East", "America/New_York", "US")
    window("US holiday", now + timedelta(days=3), now + timedelta(days=4), regions=[us])
    GoLiveRule.objects.create(
        region=eu,
        release=draft_release,
        earliest_at=now + timedelta(days=20),
        legal_basis="BaFin notice period",
    )
    client.force_login(audrey)
    html = client.get(reverse("region_detail", args=["eu-de"])).content.decode()
    own = html[html.index('data-testid="region-windows"') :].split("</table>")[0]
    assert "German holiday" in own and "Global freeze" not in own and "US holiday" not in own
    upcoming = html[html.index('data-testid="region-upcoming"') :].split("</ul>")[0]
    assert "German holiday" in upcoming and "Global freeze" in upcoming
    assert "US holiday" not in upcoming
    rules = html[html.index('data-testid="region-rules"') :].split("</table>")[0]
    assert draft_release.key in rules and "BaFin notice period" in rules


def test_deleting_a_region_leaves_its_windows(client, alice, eu):
    now = timezone.now()
    held = window("German holiday", now, now + timedelta(days=1), regions=[eu])
    client.force_login(alice)
    page = client.get(reverse("region_delete", args=["eu-de"])).content.decode()
    assert "1 window(s) are scoped to it" in page
    assert client.post(reverse("region_delete", args=["eu-de"])).status_code == 302
    assert not Region.objects.exists()
    assert FreezeWindow.objects.filter(pk=held.pk).exists()


@pytest.mark.parametrize("rows", [5, 200])
def test_the_region_list_runs_a_bounded_number_of_queries(
    client, dave, rows, django_assert_max_num_queries
):
    for i in range(rows):
        created = region(f"r-{i}", f"Region {i}", "Europe/Berlin", "DE")
        if i % 2:
            window(f"w{i}", timezone.now(), timezone.now() + timedelta(hours=1), regions=[created])
    client.force_login(dave)
    client.get(reverse("region_list"))
    with django_assert_max_num_queries(10):
        response = client.get(reverse("region_list"))
    assert response.status_code == 200
    table = response.content.decode().split('data-testid="region-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + min(rows, 50)  # header + one page
