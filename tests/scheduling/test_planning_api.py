"""Planning API: schedule check, rollout plan, go-live rules, vendor deliverables (+ actions)."""

from datetime import timedelta

import pytest

from releasemgr.models import Notification
from scheduling.models import GoLiveRule, Region, VendorDeliverable
from tests.scheduling.planning_builders import (
    deliverable,
    hours,
    monday,
    planned,
    production,
    region,
    rule,
    window,
)

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/schedule-check/"
ROLLOUT = "/api/v1/rollout-plan/"
RULES = "/api/v1/go-live-rules/"
VENDORS = "/api/v1/vendor-deliverables/"


@pytest.fixture
def start():
    return monday() + hours(10)


@pytest.fixture
def release(dave, alice, payments, start):
    production()
    return planned(dave, payments, start, owner=alice)


@pytest.fixture
def eu():
    return region("eu-de", "Europe/Berlin", order=1, name="Germany")


@pytest.fixture
def item(release, start):
    return deliverable(release, start - timedelta(days=3), buffer_hours=24)


def iso(moment) -> str:
    """How the API writes a moment (DRF: UTC with ``Z``)."""
    return moment.isoformat().replace("+00:00", "Z")


def _period(release, start, end, **extra):
    return {"release": release.key, "start": start.isoformat(), "end": end.isoformat(), **extra}


# ------------------------------------------------------------------ schedule check


def test_the_schedule_check_lists_conflicts_and_the_next_free_slot(
    api_client, dave, release, start, eu
):
    window("Quarter-end freeze", start - hours(1), start + hours(5))
    rule(eu, start + hours(8), release=release, basis="BaFin notice")
    client = api_client(dave)
    body = client.post(
        CHECK, _period(release, start, start + hours(2), region="eu-de"), format="json"
    ).json()
    assert body["ok"] is False and body["blocked"] is True
    assert body["region"] == "eu-de"
    failed = {c["code"]: c for c in body["conflicts"] if not c["passed"]}
    assert set(failed) == {"freeze_window", "regional_go_live"}
    assert failed["freeze_window"]["data"]["window_name"] == "Quarter-end freeze"
    assert "BaFin notice" in failed["regional_go_live"]["message"]
    assert body["conflicts"][0]["passed"] is False  # failed first
    assert body["next_free_slot"]["start"] == iso(start + hours(8))
    assert body["next_free_slot"]["end"] == iso(start + hours(10))


def test_the_schedule_check_answers_get_too_and_writes_nothing(api_client, audrey, release, start):
    before = release.history.count()
    body = api_client(audrey).get(CHECK, _period(release, start, start + hours(2))).json()
    assert body["ok"] is True
    assert body["next_free_slot"]["start"] == iso(start)
    assert release.history.count() == before


def test_the_schedule_check_flags_the_compliance_deadline(api_client, dave, release, start):
    release.compliance_deadline = start + hours(1)
    release.save()
    body = api_client(dave).post(CHECK, _period(release, start, start + hours(2))).json()
    missed = [c for c in body["conflicts"] if c["code"] == "compliance_deadline_missed"]
    assert missed and missed[0]["passed"] is False
    assert body["blocked"] is False and body["ok"] is False


def test_deadlines_set_on_the_release_resource_feed_the_check(api_client, dave, release, start):
    client = api_client(dave)
    audit = (start + hours(1)).isoformat()
    response = client.patch(
        f"/api/v1/releases/{release.key}/", {"compliance_deadline": audit}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["compliance_deadline"] == iso(start + hours(1))
    body = client.get(CHECK, _period(release, start, start + hours(2))).json()
    assert [c["code"] for c in body["conflicts"] if not c["passed"]] == [
        "compliance_deadline_missed"
    ]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"end": "START-1"}, "end"),
        ({"start": "PAST", "end": "PAST+1"}, "start"),
        ({"release": "REL-1900-0001"}, "release"),
        ({"region": "atlantis"}, "region"),
        ({"start": "tomorrow"}, "start"),
    ],
)
def test_bad_schedule_check_input_is_a_400_with_the_field(
    api_client, dave, release, start, change, field
):
    from django.utils import timezone

    past = timezone.now() - timedelta(days=10)
    values = {
        "START-1": (start - hours(1)).isoformat(),
        "PAST": past.isoformat(),
        "PAST+1": (past + hours(1)).isoformat(),
    }
    data = _period(release, start, start + hours(2))
    data.update({k: values.get(v, v) for k, v in change.items()})
    response = api_client(dave).post(CHECK, data, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_the_schedule_check_needs_a_token_and_a_role(api_client, nobody, release, start):
    data = _period(release, start, start + hours(2))
    assert api_client().post(CHECK, data).status_code == 401
    assert api_client(nobody).post(CHECK, data).status_code == 403


# ------------------------------------------------------------------ rollout plan


def test_the_rollout_plan_lists_regions_in_order_with_local_times(
    api_client, audrey, release, start, eu
):
    us = region("us-east", "America/New_York", order=2, name="US East")
    rule(eu, start + timedelta(days=2), release=release, basis="BaFin notice")
    body = api_client(audrey).get(ROLLOUT, {"release": release.key}).json()
    assert [r["region"] for r in body["regions"]] == [us.code, eu.code]
    germany = body["regions"][1]
    assert germany["order"] == 2
    assert germany["planned_at"] == iso(start + timedelta(days=2))
    assert germany["planned_at_local"].endswith(("CET", "CEST"))
    assert any("BaFin notice" in r["message"] for r in germany["reasons"])


def test_the_rollout_plan_needs_a_known_release(api_client, audrey):
    assert api_client(audrey).get(ROLLOUT).status_code == 400
    assert api_client(audrey).get(ROLLOUT, {"release": "REL-1900-0001"}).status_code == 400


# ------------------------------------------------------------------ go-live rules


def test_a_compliance_officer_creates_edits_and_deletes_a_rule(
    api_client, olivia, release, start, eu
):
    client = api_client(olivia)
    created = client.post(
        RULES,
        {
            "region": "eu-de",
            "release": release.key,
            "earliest_at": (start + timedelta(days=1)).isoformat(),
            "legal_basis": "BaFin notice",
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    rule_ = GoLiveRule.objects.get(pk=pk)
    assert rule_.history.first().history_user == olivia
    assert client.patch(f"{RULES}{pk}/", {"legal_basis": "BaFin: 4 weeks"}).status_code == 200
    assert client.get(RULES, {"release": release.key}).json()["count"] == 1
    assert client.delete(f"{RULES}{pk}/").status_code == 204
    assert GoLiveRule.history.filter(id=pk).count() == 3


@pytest.mark.parametrize(
    "change, message",
    [
        ({"release": None}, "Name the release"),
        ({"service": "payments-api"}, "not both"),
        ({"legal_basis": ""}, "blank"),
        ({"region": "atlantis"}, "does not exist"),
    ],
)
def test_a_bad_rule_is_a_400_and_nothing_is_written(
    api_client, olivia, release, start, eu, change, message
):
    data = {
        "region": "eu-de",
        "release": release.key,
        "earliest_at": (start + timedelta(days=1)).isoformat(),
        "legal_basis": "BaFin notice",
        **change,
    }
    response = api_client(olivia).post(RULES, data, format="json")
    assert response.status_code == 400
    assert message in str(response.json())
    assert not GoLiveRule.objects.exists()


def test_rule_writes_follow_the_roles(api_client, dave, audrey, release, start, eu):
    data = {
        "region": "eu-de",
        "release": release.key,
        "earliest_at": (start + timedelta(days=1)).isoformat(),
        "legal_basis": "x",
    }
    assert api_client(dave).post(RULES, data, format="json").status_code == 403
    assert api_client(audrey).post(RULES, data, format="json").status_code == 403
    assert api_client(audrey).get(RULES).status_code == 200
    assert api_client().get(RULES).status_code == 401
    assert not GoLiveRule.objects.exists()


# ------------------------------------------------------------------ vendor deliverables


def test_a_developer_adds_a_deliverable_and_edits_it_with_a_reason(
    api_client, dave, release, start
):
    client = api_client(dave)
    created = client.post(
        VENDORS,
        {
            "release": release.key,
            "vendor": "Acme",
            "description": "SDK 5",
            "expected_at": (start - timedelta(days=3)).isoformat(),
            "buffer_hours": 24,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["ready_at"] == iso(start - timedelta(days=2))
    pk = body["id"]
    moved = (start - timedelta(days=2)).isoformat()
    refused = client.patch(f"{VENDORS}{pk}/", {"expected_at": moved}, format="json")
    assert refused.status_code == 400 and "change_reason" in refused.json()
    item = VendorDeliverable.objects.get(pk=pk)
    assert item.expected_at == start - timedelta(days=3)
    ok = client.patch(
        f"{VENDORS}{pk}/",
        {"expected_at": moved, "change_reason": "vendor confirmed"},
        format="json",
    )
    assert ok.status_code == 200
    assert item.history.order_by("-history_date").first().history_change_reason == (
        "vendor confirmed"
    )


def test_a_buffer_longer_than_a_year_is_refused_and_nothing_is_written(
    api_client, dave, release, start
):
    before = VendorDeliverable.objects.count()
    refused = api_client(dave).post(
        VENDORS,
        {
            "release": release.key,
            "vendor": "Acme",
            "description": "SDK 5",
            "expected_at": (start - timedelta(days=3)).isoformat(),
            "buffer_hours": 1966101061,
        },
        format="json",
    )
    assert refused.status_code == 400
    assert "8784" in refused.json()["buffer_hours"][0]
    assert VendorDeliverable.objects.count() == before


def test_mark_late_re_plans_flags_the_audit_deadline_and_notifies_once(
    api_client, dave, alice, release, item, start
):
    release.compliance_deadline = start + timedelta(days=1)
    release.save()
    client = api_client(dave)
    url = f"{VENDORS}{item.pk}/mark-late/"
    data = {"expected_at": (start + timedelta(days=2)).isoformat(), "reason": "QA failed"}
    body = client.post(url, data, format="json").json()
    assert body["replanned"] is True and body["notified"] is True
    assert body["release"]["planned_start"] == iso(start + timedelta(days=3))
    assert [r["code"] for r in body["reasons"]] == ["compliance_deadline_missed"]
    again = client.post(url, data, format="json").json()
    assert again["changed"] is False and again["notified"] is False
    assert [r["code"] for r in again["reasons"]] == ["compliance_deadline_missed"]
    assert Notification.objects.filter(user=alice).count() == 1
    check = client.get(
        CHECK,
        _period(release, start + timedelta(days=3), start + timedelta(days=3) + hours(2)),
    ).json()
    assert any(
        c["code"] == "compliance_deadline_missed" and not c["passed"] for c in check["conflicts"]
    )


@pytest.mark.parametrize(
    "data, field",
    [
        ({"expected_at": "EARLIER", "reason": "late"}, "expected_at"),
        ({"expected_at": "LATER", "reason": ""}, "reason"),
        ({"reason": "late"}, "expected_at"),
    ],
)
def test_bad_mark_late_input_is_a_400_and_writes_nothing(
    api_client, dave, release, item, start, data, field
):
    values = {
        "EARLIER": (start - timedelta(days=5)).isoformat(),
        "LATER": (start + timedelta(days=1)).isoformat(),
    }
    response = api_client(dave).post(
        f"{VENDORS}{item.pk}/mark-late/",
        {k: values.get(v, v) for k, v in data.items()},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()
    item.refresh_from_db()
    release.refresh_from_db()
    assert item.expected_at == start - timedelta(days=3)
    assert release.planned_start == start


def test_mark_delivered_then_late_is_a_conflict(api_client, dave, item, start):
    client = api_client(dave)
    delivered = client.post(f"{VENDORS}{item.pk}/mark-delivered/", {"note": "SFTP"}, format="json")
    assert delivered.status_code == 200 and delivered.json()["changed"] is True
    assert delivered.json()["deliverable"]["delivered_at"] is not None
    late = client.post(
        f"{VENDORS}{item.pk}/mark-late/",
        {"expected_at": (start + timedelta(days=1)).isoformat(), "reason": "x"},
        format="json",
    )
    assert late.status_code == 409


def test_vendor_actions_follow_the_roles(api_client, paula, audrey, item, start):
    data = {"expected_at": (start + timedelta(days=1)).isoformat(), "reason": "late"}
    for user in (paula, audrey):
        client = api_client(user)
        assert client.post(f"{VENDORS}{item.pk}/mark-late/", data, format="json").status_code == 403
        assert client.post(f"{VENDORS}{item.pk}/mark-delivered/", {}).status_code == 403
    assert api_client(audrey).get(VENDORS).status_code == 200
    assert api_client().get(VENDORS).status_code == 401
    item.refresh_from_db()
    assert item.expected_at == start - timedelta(days=3) and item.delivered_at is None


def test_the_vendor_list_filters_by_release_and_status(api_client, audrey, release, item, start):
    deliverable(release, start - timedelta(days=1), vendor="Other")
    VendorDeliverable.objects.filter(vendor="Other").update(delivered_at=start - timedelta(days=5))
    client = api_client(audrey)
    assert client.get(VENDORS, {"release": release.key}).json()["count"] == 2
    delivered = client.get(VENDORS, {"status": "delivered"}).json()["results"]
    assert [d["vendor"] for d in delivered] == ["Other"]


# ------------------------------------------------------------------ schema and query counts


def test_the_planning_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    for path in (
        "/api/v1/schedule-check/",
        "/api/v1/rollout-plan/",
        "/api/v1/go-live-rules/",
        "/api/v1/vendor-deliverables/{id}/mark-late/",
        "/api/v1/vendor-deliverables/{id}/mark-delivered/",
    ):
        assert path in paths


MAX_QUERIES = 10


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_endpoints_run_a_bounded_number_of_queries(
    api_client, audrey, dave, payments, start, rows, django_assert_max_num_queries
):
    production()
    regions = Region.objects.bulk_create(
        [Region(code=f"r-{i}", name=f"R {i}", timezone="UTC") for i in range(5)]
    )
    releases = [planned(dave, payments, start + hours(i)) for i in range(5)]
    GoLiveRule.objects.bulk_create(
        [
            GoLiveRule(
                region=regions[i % 5], release=releases[i % 5], earliest_at=start, legal_basis="x"
            )
            for i in range(rows)
        ]
    )
    VendorDeliverable.objects.bulk_create(
        [
            VendorDeliverable(
                release=releases[i % 5], vendor=f"V{i}", description="d", expected_at=start
            )
            for i in range(rows)
        ]
    )
    client = api_client(audrey)
    for url in (RULES, VENDORS):
        with django_assert_max_num_queries(MAX_QUERIES):
            assert client.get(url, {"page_size": 500}).status_code == 200
