"""/api/v1/windows/ (every kind, plus applicable/), /api/v1/freeze-windows/ (blocking kinds, public
contract) and /api/v1/regions/."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from scheduling.models import FreezeWindow, Region
from tests.factories import ServiceFactory, TeamFactory
from tests.scheduling.calendar_support import local, region, window

WINDOWS = "/api/v1/windows/"


@pytest.fixture
def manager(api_client, alice):
    return api_client(alice)


@pytest.fixture
def reader(api_client, audrey):
    return api_client(audrey)


@pytest.fixture
def eu(db):
    return region("eu-de", "Germany", "Europe/Berlin", "DE")


@pytest.fixture
def us(db):
    return region("us-east", "US East", "America/New_York", "US", subdivision="NY")


def full_body(**change):
    body = {
        "name": "Month-end close",
        "kind": "blackout",
        "hardness": "soft",
        "reason": "Finance closes the books.",
        "start": "2027-01-01T00:00:00+01:00",
        "end": "2027-01-02T00:00:00+01:00",
        "timezone": "Europe/Berlin",
        "rrule": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-3,-2,-1",
        "recurrence_until": "2027-12-31T23:59:00+01:00",
        "services": ["payments-api"],
        "teams": ["payments"],
        "environments": ["production"],
        "regions": ["eu-de"],
        "allowed_change_types": ["standard", "emergency"],
    }
    body.update(change)
    return body


def test_alice_creates_a_recurring_blackout_with_every_field(
    manager, alice, payments, environments, eu
):
    response = manager.post(WINDOWS, full_body())

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "blackout" and body["hardness"] == "soft"
    assert body["timezone"] == "Europe/Berlin"
    assert body["rrule"].startswith("FREQ=MONTHLY")
    assert (body["services"], body["teams"], body["environments"], body["regions"]) == (
        ["payments-api"],
        ["payments"],
        ["production"],
        ["eu-de"],
    )
    assert body["allowed_change_types"] == ["standard", "emergency"]
    assert body["policy"].startswith("Only standard and emergency changes may ship")
    assert body["created_by"] == "alice"
    window = FreezeWindow.objects.get(pk=body["id"])
    assert window.start == local(2026, 12, 31, 23, zone="UTC")
    assert list(window.regions.all()) == [eu]
    assert window.history.latest().history_user == alice


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"end": "2026-12-31T00:00:00+01:00"}, "end", "after the start"),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule", "does not parse"),
        ({"rrule": "FREQ=MINUTELY"}, "rrule", "at most daily"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "not a known time zone"),
        ({"recurrence_until": "2026-06-01T00:00:00Z"}, "recurrence_until", "after the first"),
        (
            {"rrule": "", "recurrence_until": "2027-06-01T00:00:00Z"},
            "recurrence_until",
            "recurring",
        ),
        ({"regions": ["atlantis"]}, "regions", "does not exist"),
        ({"teams": ["ghosts"]}, "teams", "does not exist"),
        ({"kind": "party"}, "kind", "not a valid choice"),
        ({"allowed_change_types": ["yolo"]}, "allowed_change_types", "not a valid choice"),
    ],
)
def test_bad_window_input_is_400_with_the_field_and_writes_nothing(
    manager, payments, environments, eu, change, field, words
):
    response = manager.post(WINDOWS, full_body(**change))

    assert response.status_code == 400
    errors = response.json()
    assert field in errors, errors
    assert words in str(errors[field])
    assert not FreezeWindow.objects.exists()
    assert not FreezeWindow.history.exists()


def test_a_developer_cannot_create_windows_and_anonymous_callers_get_401(
    api_client, dave, payments, environments, eu
):
    assert api_client(dave).post(WINDOWS, full_body()).status_code == 403
    assert api_client().get(WINDOWS).status_code == 401
    assert not FreezeWindow.objects.exists()


@pytest.fixture
def mix(db, environments, payments, eu, us):
    now = timezone.now().replace(microsecond=0)
    search = ServiceFactory(slug="search-api", team=TeamFactory(slug="search"))
    made = {
        "global_freeze": window(
            "Global freeze", now - timedelta(hours=1), now + timedelta(hours=1)
        ),
        "eu_holiday": window(
            "EU holiday", now - timedelta(hours=1), now + timedelta(hours=1), regions=[eu]
        ),
        "payments_team": window(
            "Payments team blackout",
            now - timedelta(hours=1),
            now + timedelta(hours=1),
            kind="blackout",
            teams=[payments.team],
        ),
        "prod_maintenance": window(
            "Nightly maintenance",
            now - timedelta(days=10, minutes=30),
            now - timedelta(days=10) + timedelta(minutes=30),
            kind="maintenance",
            rrule="FREQ=DAILY",
            environments=[environments["production"]],
        ),
        "search_release_window": window(
            "Search release window",
            now + timedelta(hours=3),
            now + timedelta(hours=4),
            kind="release_window",
            services=[search],
        ),
        "ended": window("Ended", now - timedelta(days=3), now - timedelta(days=2)),
    }
    return now, made


def names(response):
    assert response.status_code == 200, response.json()
    return sorted(w["name"] for w in response.json()["results"])


def test_windows_filter_by_kind_scope_and_the_moment_they_cover(reader, mix):
    now, _ = mix
    assert names(reader.get(WINDOWS, {"kind": "maintenance"})) == ["Nightly maintenance"]
    assert names(reader.get(WINDOWS, {"kind": ["maintenance", "release_window"]})) == [
        "Nightly maintenance",
        "Search release window",
    ]
    # active_at follows the daily recurrence, not just the first occurrence
    assert names(reader.get(WINDOWS, {"active_at": now.isoformat()})) == [
        "EU holiday",
        "Global freeze",
        "Nightly maintenance",
        "Payments team blackout",
    ]
    assert "Nightly maintenance" not in names(
        reader.get(WINDOWS, {"active_at": (now + timedelta(hours=2)).isoformat()})
    )
    assert names(reader.get(WINDOWS, {"region": "us-east"})) == [
        "Ended",
        "Global freeze",
        "Nightly maintenance",
        "Payments team blackout",
        "Search release window",
    ]
    assert "Payments team blackout" not in names(reader.get(WINDOWS, {"service": "search-api"}))
    assert "Payments team blackout" in names(reader.get(WINDOWS, {"service": "payments-api"}))
    assert "Nightly maintenance" not in names(reader.get(WINDOWS, {"environment": "staging"}))


def test_an_unknown_filter_value_is_a_400_not_an_empty_list(reader, mix):
    response = reader.get(WINDOWS, {"region": "atlantis"})
    assert response.status_code == 400
    assert "region" in response.json()


# --- applicable ------------------------------------------------------------------------------


def test_applicable_answers_what_applies_now_with_the_occurrence(reader, mix):
    now, made = mix
    response = reader.get(
        WINDOWS + "applicable/",
        {"service": "payments-api", "environment": "production", "region": "us-east"},
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["service"], body["environment"], body["region"]) == (
        "payments-api",
        "production",
        "us-east",
    )
    found = {w["window"]["name"]: w for w in body["windows"]}
    assert set(found) == {"Global freeze", "Payments team blackout", "Nightly maintenance"}
    maintenance = found["Nightly maintenance"]
    assert maintenance["blocks"] is False and found["Global freeze"]["blocks"] is True
    start = datetime.fromisoformat(maintenance["occurrence_start"])
    assert start == now - timedelta(minutes=30)
    assert datetime.fromisoformat(maintenance["occurrence_end"]) == now + timedelta(minutes=30)
    assert maintenance["window"]["rrule"] == "FREQ=DAILY"


def test_applicable_at_another_moment_and_for_another_region(reader, mix):
    now, _ = mix
    later = reader.get(
        WINDOWS + "applicable/",
        {
            "service": "search-api",
            "region": "eu-de",
            "at": (now + timedelta(hours=3, minutes=5)).isoformat(),
        },
    ).json()
    assert [w["window"]["name"] for w in later["windows"]] == ["Search release window"]
    eu_now = reader.get(WINDOWS + "applicable/", {"region": "eu-de", "kind": "freeze"}).json()
    assert sorted(w["window"]["name"] for w in eu_now["windows"]) == ["EU holiday", "Global freeze"]


@pytest.mark.parametrize(
    "params",
    [{"service": "ghost"}, {"region": "atlantis"}, {"at": "next tuesday"}, {"kind": "party"}],
)
def test_applicable_refuses_bad_parameters_with_400(reader, mix, params):
    response = reader.get(WINDOWS + "applicable/", params)
    assert response.status_code == 400
    assert set(params) <= set(response.json())


def test_applicable_needs_a_role(api_client, nobody, mix):
    assert api_client().get(WINDOWS + "applicable/").status_code == 401
    assert api_client(nobody).get(WINDOWS + "applicable/").status_code == 403


# --- the freeze-windows contract ---------------------------------------------------------------


def test_freeze_windows_lists_only_blocking_kinds_with_the_contract_fields(reader, mix):
    body = reader.get("/api/v1/freeze-windows/").json()
    assert sorted(w["name"] for w in body["results"]) == [
        "EU holiday",
        "Ended",
        "Global freeze",
        "Payments team blackout",
    ]
    for item in body["results"]:
        assert {"id", "name", "start", "end", "services", "environments"} <= set(item)


def test_freeze_windows_refuses_a_non_blocking_kind(manager, db):
    response = manager.post(
        "/api/v1/freeze-windows/",
        {
            "name": "Maintenance",
            "kind": "maintenance",
            "start": "2030-01-01T00:00Z",
            "end": "2030-01-01T02:00Z",
        },
    )
    assert response.status_code == 400 and "kind" in response.json()
    assert not FreezeWindow.objects.exists()


def test_a_maintenance_window_is_not_found_under_freeze_windows(reader, mix):
    _, made = mix
    assert reader.get(f"/api/v1/freeze-windows/{made['prod_maintenance'].pk}/").status_code == 404
    assert reader.get(f"{WINDOWS}{made['prod_maintenance'].pk}/").status_code == 200


# --- regions ---------------------------------------------------------------------------------


def test_alice_creates_and_edits_a_region_looked_up_by_code(manager, alice, db):
    response = manager.post(
        "/api/v1/regions/",
        {
            "code": "apac-sg",
            "name": "Singapore",
            "timezone": "Asia/Singapore",
            "country_code": "sg",
        },
    )
    assert response.status_code == 201, response.json()
    assert response.json()["country_code"] == "SG"
    assert response.json()["url"].endswith("/api/v1/regions/apac-sg/")
    patched = manager.patch("/api/v1/regions/apac-sg/", {"rollout_order": 5})
    assert patched.status_code == 200 and patched.json()["rollout_order"] == 5
    assert Region.objects.get(code="apac-sg").history.latest().history_user == alice


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"country_code": "XX"}, "country_code"),
        ({"subdivision": "ZZ"}, "subdivision"),
        ({"country_code": "", "subdivision": "BY"}, "subdivision"),
        ({"code": "not a slug"}, "code"),
    ],
)
def test_bad_region_input_is_400_and_writes_nothing(manager, db, change, field):
    body = {"code": "eu-de", "name": "Germany", "timezone": "Europe/Berlin", "country_code": "DE"}
    body.update(change)
    response = manager.post("/api/v1/regions/", body)
    assert response.status_code == 400
    assert field in response.json()
    assert not Region.objects.exists()


def test_regions_are_read_by_every_role_but_written_by_release_managers(
    api_client, dave, audrey, eu
):
    assert api_client(audrey).get("/api/v1/regions/eu-de/").json()["timezone"] == "Europe/Berlin"
    assert (
        api_client(dave)
        .post("/api/v1/regions/", {"code": "x", "name": "X", "timezone": "UTC"})
        .status_code
        == 403
    )
    assert api_client(dave).delete("/api/v1/regions/eu-de/").status_code == 403
    assert Region.objects.filter(code="eu-de").exists()


# --- bounded queries -------------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 200])
def test_window_and_region_lists_run_a_bounded_number_of_queries(
    reader, rows, environments, payments, django_assert_max_num_queries
):
    now = timezone.now()
    eu = region("eu-de", "Germany", "Europe/Berlin", "DE")
    for i in range(rows):
        region(f"r-{i}", f"Region {i}", "UTC", "")
        window(
            f"w{i}",
            now + timedelta(days=i - rows // 2),
            now + timedelta(days=i - rows // 2, hours=4),
            rrule="FREQ=WEEKLY" if i % 2 else "",
            services=[payments],
            teams=[payments.team],
            environments=[environments["production"]],
            regions=[eu],
        )
    for url, params in [
        (WINDOWS, {}),
        (WINDOWS, {"active_at": now.isoformat(), "service": "payments-api"}),
        (WINDOWS + "applicable/", {"service": "payments-api", "region": "eu-de"}),
        ("/api/v1/freeze-windows/", {}),
        ("/api/v1/regions/", {}),
    ]:
        with django_assert_max_num_queries(14):
            assert reader.get(url, params).status_code == 200, url


def test_a_moment_at_the_start_of_the_calendar_covers_no_window(reader, mix):
    # The earliest representable moment must answer an empty list, not fail computing a look-back.
    assert names(reader.get(WINDOWS, {"active_at": "0001-01-01T00:00:00Z"})) == []
    assert names(reader.get("/api/v1/freeze-windows/", {"active_at": "0001-01-01T00:00:00Z"})) == []
