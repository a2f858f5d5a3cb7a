"""Public holidays of a region become windows: local midnight to midnight, scoped to the region,
idempotent (scheduling.holidays, the region page's form and POST /api/v1/regions/{code}/import-holidays/)."""

from datetime import date, timedelta

import pytest
from django.urls import reverse

from releases.choices import ChangeType
from scheduling.choices import Hardness, WindowKind
from scheduling.holidays import HolidayImportError, import_holidays
from scheduling.models import FreezeWindow
from scheduling.windows import Scope, windows_at
from tests.scheduling.calendar_support import local, region

# Germany's nationwide public holidays in 2027 (Bavaria adds Epiphany, Corpus Christi, All Saints).
GERMANY_2027 = {
    "2027-01-01": "New Year's Day",
    "2027-03-26": "Good Friday",
    "2027-03-29": "Easter Monday",
    "2027-05-01": "Labor Day",
    "2027-05-06": "Ascension Day",
    "2027-05-17": "Pentecost Monday",
    "2027-10-03": "German Unity Day",
    "2027-12-25": "Christmas Day",
    "2027-12-26": "Second Day of Christmas",
}


@pytest.fixture
def germany(db):
    return region("eu-de", "Germany", "Europe/Berlin", "DE")


def windows():
    return FreezeWindow.objects.order_by("start")


def test_a_years_holidays_become_soft_freezes_scoped_to_the_region(germany, alice):
    result = import_holidays(germany, 2027, user=alice)

    assert len(result.created) == len(GERMANY_2027) and result.unchanged == []
    made = list(windows())
    assert [
        w.start.astimezone(local(2027, 1, 1, zone="Europe/Berlin").tzinfo).date().isoformat()
        for w in made
    ] == list(GERMANY_2027)
    for w in made:
        assert (w.kind, w.hardness, w.timezone) == ("freeze", "soft", "Europe/Berlin")
        assert list(w.regions.all()) == [germany]
        assert not w.services.exists() and not w.environments.exists()
        assert w.source_key.startswith("holiday:eu-de:")
        assert w.created_by == alice
        assert w.history.latest().history_change_reason.startswith("Imported public holiday")
    assert "German Unity Day" in made[6].name


def test_a_holiday_runs_from_local_midnight_to_local_midnight(germany):
    import_holidays(germany, 2027)
    winter = windows().get(source_key="holiday:eu-de:2027-01-01")
    summer = windows().get(source_key="holiday:eu-de:2027-10-03")
    # CET is UTC+1, CEST UTC+2.
    assert (winter.start, winter.end) == (
        local(2026, 12, 31, 23, zone="UTC"),
        local(2027, 1, 1, 23, zone="UTC"),
    )
    assert (summer.start, summer.end) == (
        local(2027, 10, 2, 22, zone="UTC"),
        local(2027, 10, 3, 22, zone="UTC"),
    )


def test_a_subdivision_adds_its_own_holidays(db):
    bavaria = region("eu-de-by", "Bavaria", "Europe/Berlin", "DE", subdivision="BY")
    import_holidays(bavaria, 2027)
    days = {w.source_key.rsplit(":", 1)[1] for w in windows()}
    assert set(GERMANY_2027) < days
    assert {"2027-01-06", "2027-05-27", "2027-11-01"} <= days


def test_importing_the_same_year_again_changes_nothing(germany, alice):
    import_holidays(germany, 2027, user=alice)
    edited = windows().first()
    edited.hardness = Hardness.HARD
    edited.save()
    before = (FreezeWindow.objects.count(), FreezeWindow.history.count())

    again = import_holidays(germany, 2027, kind=WindowKind.BLACKOUT, user=alice)

    assert again.created == [] and len(again.unchanged) == len(GERMANY_2027)
    assert (FreezeWindow.objects.count(), FreezeWindow.history.count()) == before
    edited.refresh_from_db()
    assert (edited.kind, edited.hardness) == ("freeze", "hard")  # the edit survives


def test_the_chosen_kind_hardness_and_allowed_change_types_are_used(germany):
    import_holidays(
        germany,
        2028,
        kind=WindowKind.BLACKOUT,
        hardness=Hardness.HARD,
        allowed_change_types=[ChangeType.EMERGENCY],
    )
    assert set(windows().values_list("kind", "hardness")) == {("blackout", "hard")}
    assert all(w.allowed_change_types == ["emergency"] for w in windows())


@pytest.mark.parametrize(
    ("change", "kwargs", "field"),
    [
        ({"country_code": ""}, {}, "country_code"),
        ({"country_code": "XX"}, {}, "country_code"),
        ({"subdivision": "ZZ"}, {}, "subdivision"),
        ({}, {"year": 1850}, "year"),
        ({}, {"kind": WindowKind.MAINTENANCE}, "kind"),
        ({}, {"hardness": "medium"}, "hardness"),
        ({}, {"allowed_change_types": ["yolo"]}, "allowed_change_types"),
    ],
)
def test_an_import_that_cannot_run_says_why_and_writes_nothing(germany, change, kwargs, field):
    for key, value in change.items():
        setattr(germany, key, value)
    with pytest.raises(HolidayImportError) as info:
        import_holidays(germany, kwargs.pop("year", 2027), **kwargs)
    assert info.value.field == field and info.value.message
    assert not FreezeWindow.objects.exists()


def test_imported_holidays_block_only_their_region(germany):
    us = region("us-east", "US East", "America/New_York", "US")
    import_holidays(germany, 2027, hardness=Hardness.HARD)
    unity_day_noon = local(2027, 10, 3, 12, zone="Europe/Berlin")
    assert windows_at(unity_day_noon, Scope(None, None, None, germany.pk))
    assert windows_at(unity_day_noon, Scope(None, None, None, us.pk)) == []
    assert windows_at(unity_day_noon + timedelta(days=1), Scope(None, None, None, germany.pk)) == []


# --- the page --------------------------------------------------------------------------------


def test_release_manager_imports_holidays_from_the_region_page(client, alice, germany):
    client.force_login(alice)
    page = client.get(reverse("region_detail", args=["eu-de"])).content.decode()
    assert 'data-testid="holiday-form"' in page
    response = client.post(
        reverse("region_import_holidays", args=["eu-de"]),
        {
            "year": "2027",
            "kind": "freeze",
            "hardness": "soft",
            "allowed_change_types": ["standard", "emergency"],
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "9 public holiday window(s) created for Germany in 2027." in response.content.decode()
    assert FreezeWindow.objects.count() == len(GERMANY_2027)
    assert windows().first().allowed_change_types == ["standard", "emergency"]
    again = client.post(
        reverse("region_import_holidays", args=["eu-de"]),
        {"year": "2027", "kind": "freeze", "hardness": "soft"},
        follow=True,
    ).content.decode()
    assert "0 public holiday window(s) created" in again and "9 already imported" in again
    assert FreezeWindow.objects.count() == len(GERMANY_2027)


def test_a_bad_import_form_is_refused_with_the_reason_and_writes_nothing(client, alice, germany):
    client.force_login(alice)
    response = client.post(
        reverse("region_import_holidays", args=["eu-de"]),
        {"year": "1850", "kind": "maintenance", "hardness": "soft"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "nothing was written" in html
    assert "Ensure this value is greater than or equal to 2000." in html
    assert "Select a valid choice" in html
    assert not FreezeWindow.objects.exists()


def test_a_region_without_a_country_cannot_import(client, alice, db):
    region("moon", "Moon base", "UTC", "")
    client.force_login(alice)
    response = client.post(
        reverse("region_import_holidays", args=["moon"]),
        {"year": "2027", "kind": "freeze", "hardness": "soft"},
    )
    assert response.status_code == 400
    assert "has no country code" in response.content.decode()
    assert not FreezeWindow.objects.exists()


def test_a_developer_cannot_import_holidays(client, dave, germany):
    client.force_login(dave)
    response = client.post(
        reverse("region_import_holidays", args=["eu-de"]),
        {"year": "2027", "kind": "freeze", "hardness": "soft"},
    )
    assert response.status_code == 403
    assert not FreezeWindow.objects.exists()


def test_anonymous_import_is_sent_to_login(client, germany):
    response = client.post(reverse("region_import_holidays", args=["eu-de"]), {"year": "2027"})
    assert response.status_code == 302 and reverse("login") in response.url
    assert not FreezeWindow.objects.exists()


# --- the API ---------------------------------------------------------------------------------

URL = "/api/v1/regions/eu-de/import-holidays/"


def test_the_api_imports_holidays_then_answers_200_with_nothing_new(api_client, alice, germany):
    client = api_client(alice)
    first = client.post(URL, {"year": 2027, "kind": "blackout", "hardness": "hard"})
    assert first.status_code == 201, first.json()
    body = first.json()
    assert (body["created"], body["unchanged"], body["region"]) == (9, 0, "eu-de")
    assert {w["kind"] for w in body["windows"]} == {"blackout"}
    assert body["windows"][0]["regions"] == ["eu-de"]
    again = client.post(URL, {"year": 2027, "kind": "blackout", "hardness": "hard"})
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 9)
    assert FreezeWindow.objects.count() == 9


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"year": 1999}, "year"),
        ({"year": 2027, "kind": "maintenance"}, "kind"),
        ({"year": 2027, "hardness": "medium"}, "hardness"),
        ({"kind": "freeze"}, "year"),
    ],
)
def test_the_api_refuses_a_bad_import_with_400(api_client, alice, germany, body, field):
    response = api_client(alice).post(URL, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not FreezeWindow.objects.exists()


def test_the_api_says_when_a_region_has_no_holiday_calendar(api_client, alice, db):
    region("moon", "Moon base", "UTC", "")
    response = api_client(alice).post("/api/v1/regions/moon/import-holidays/", {"year": 2027})
    assert response.status_code == 400
    assert "country code" in response.json()["country_code"][0]


def test_the_api_import_needs_a_token_and_the_right_role(api_client, dave, audrey, germany):
    assert api_client().post(URL, {"year": 2027}).status_code == 401
    assert api_client(dave).post(URL, {"year": 2027}).status_code == 403
    assert api_client(audrey).post(URL, {"year": 2027}).status_code == 403
    assert (
        api_client(dave)
        .post("/api/v1/regions/nowhere/import-holidays/", {"year": 2027})
        .status_code
        == 403
    )
    assert not FreezeWindow.objects.exists()


def test_the_holiday_dates_match_the_calendar_of_the_holidays_package(germany):
    import_holidays(germany, 2027)
    assert FreezeWindow.objects.filter(name__startswith="Good Friday").get().start.astimezone(
        local(2027, 1, 1, zone="Europe/Berlin").tzinfo
    ).date() == date(2027, 3, 26)
