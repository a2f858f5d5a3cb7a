"""The scope-change API: request, accept/decline/withdraw, estimates, advice and the backlog."""

from datetime import timedelta

import pytest
from django.utils import timezone

from releases.models import ScopeChangeRequest, ScopeItem, TechDebtEstimate
from tests.factories import ReleaseFactory, ScopeItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/scope-change-requests/"


def _body(release, **kwargs):
    return {
        "release": release.key,
        "kind": "add",
        "title": "Export to CSV",
        "reason": "Finance needs it.",
        "plan_shift_days": 1,
        **kwargs,
    }


def test_developer_requests_and_the_product_owner_accepts_through_the_api(
    api_client, draft_release, dave, paula
):
    created = api_client(dave).post(URL, _body(draft_release), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["status"] == "pending" and created.json()["requested_by"] == "dave"

    accepted = api_client(paula).post(f"{URL}{created.json()['id']}/accept/", {}, format="json")
    assert accepted.status_code == 200, accepted.json()
    body = accepted.json()
    assert body["status"] == "accepted" and body["decided_by"] == "paula"
    assert ScopeItem.objects.get(pk=body["scope_item"]).release == draft_release


def test_bad_input_gets_field_errors_and_nothing_is_written(api_client, draft_release, dave):
    response = api_client(dave).post(
        URL, _body(draft_release, reason="", plan_shift_days=-2), format="json"
    )
    assert response.status_code == 400
    errors = response.json()
    assert errors["reason"] == ["Say why the scope should change."]
    assert "0 or more" in errors["plan_shift_days"][0]
    assert not ScopeChangeRequest.objects.exists()


def test_the_requester_deciding_gets_403_and_a_second_decision_409(
    api_client, draft_release, dave, alice, paula
):
    change_id = api_client(alice).post(URL, _body(draft_release), format="json").json()["id"]
    assert api_client(dave).post(f"{URL}{change_id}/accept/", {}).status_code == 403
    declined = api_client(paula).post(f"{URL}{change_id}/decline/", {"note": "Not now."})
    assert declined.status_code == 200 and declined.json()["decision_note"] == "Not now."
    again = api_client(paula).post(f"{URL}{change_id}/accept/", {})
    assert again.status_code == 409 and "already declined" in again.json()["detail"]


def test_declining_without_a_note_is_400(api_client, draft_release, dave, paula):
    change_id = api_client(dave).post(URL, _body(draft_release), format="json").json()["id"]
    response = api_client(paula).post(f"{URL}{change_id}/decline/", {"note": ""})
    assert response.status_code == 400 and "note" in response.json()
    assert ScopeChangeRequest.objects.get(pk=change_id).status == "pending"


def test_requester_withdraws_and_others_cannot(api_client, draft_release, dave, paula):
    change_id = api_client(dave).post(URL, _body(draft_release), format="json").json()["id"]
    assert api_client(paula).post(f"{URL}{change_id}/withdraw/", {}).status_code == 403
    response = api_client(dave).post(f"{URL}{change_id}/withdraw/", {})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"


def test_list_filters_by_status_release_kind_and_requester(
    api_client, draft_release, dave, alice, audrey
):
    api_client(dave).post(URL, _body(draft_release), format="json")
    api_client(alice).post(URL, _body(draft_release, kind="emergency_fix"), format="json")
    client = api_client(audrey)
    assert client.get(URL, {"requested_by": "alice"}).json()["count"] == 1
    assert client.get(URL, {"kind": "add", "release": draft_release.key}).json()["count"] == 1
    assert client.get(URL, {"status": "accepted"}).json()["count"] == 0
    assert client.get(URL, {"release": "NOPE-1"}).status_code == 400


def test_an_estimate_only_goes_on_tech_debt_and_within_its_ranges(api_client, draft_release, dave):
    debt = ScopeItemFactory(release=draft_release, kind="tech_debt", title="Drop v1 client")
    feature = ScopeItemFactory(release=draft_release, title="Refunds")
    client = api_client(dave)
    url = "/api/v1/tech-debt-estimates/"
    wrong = client.post(url, {"scope_item": feature.pk, "effort_days": "2", "risk_reduction": 3})
    assert wrong.status_code == 400 and "tech-debt" in wrong.json()["scope_item"][0]
    out_of_range = client.post(
        url, {"scope_item": debt.pk, "effort_days": "2", "risk_reduction": 9}
    )
    assert out_of_range.status_code == 400 and "risk_reduction" in out_of_range.json()
    assert not TechDebtEstimate.objects.exists()
    ok = client.post(url, {"scope_item": debt.pk, "effort_days": "1.5", "risk_reduction": 4})
    assert ok.status_code == 201, ok.json()
    assert ok.json()["release"] == draft_release.key


def test_scope_advice_lists_conflicts_and_tech_debt(api_client, dave, payments, audrey):
    feature = ReleaseFactory(
        author=dave,
        kind="feature",
        services=[(payments, "2.0.0")],
        planned_start=timezone.now() + timedelta(days=9),
    )
    from tests.releases import builders

    builders.submit(feature, dave)
    fix = ReleaseFactory(
        author=dave, kind="hotfix", change_type="emergency", services=[(payments, "1.4.3")]
    )
    fix.planned_start = timezone.now() + timedelta(hours=2)
    fix.save()
    ScopeItemFactory(release=fix, kind="tech_debt", title="Old retry loop", service=payments)
    body = api_client(audrey).get(f"/api/v1/releases/{fix.key}/scope-advice/").json()
    [conflict] = body["conflicts"]
    assert conflict["scheduled"] == feature.key and conflict["fix_release"] == fix.key
    assert [o["code"] for o in conflict["options"]] == ["ship_alone", "fold_in", "move_release"]
    [debt] = body["tech_debt"]
    assert debt["recommendation"] == "defer" and debt["reasons"][0]["code"] == "estimate"


def test_maintenance_backlog_lists_deferred_debt_and_a_maintenance_release_takes_it(
    api_client, draft_release, alice, audrey, bob
):
    item = ScopeItemFactory(
        release=draft_release, kind="tech_debt", decision="deferred", rationale="Later."
    )
    listed = api_client(audrey).get("/api/v1/maintenance-backlog/").json()
    assert [row["id"] for row in listed["results"]] == [item.pk]
    maintenance = ReleaseFactory(author=alice, kind="maintenance")
    take = f"/api/v1/maintenance-backlog/{item.pk}/take/"
    assert api_client(bob).post(take, {"release": maintenance.key}).status_code == 403
    refused = api_client(alice).post(take, {"release": draft_release.key})
    assert refused.status_code == 400 and "maintenance release" in refused.json()["release"][0]
    taken = api_client(alice).post(take, {"release": maintenance.key})
    assert taken.status_code == 200 and taken.json()["release"] == maintenance.key


@pytest.mark.parametrize("size", [1, 6])
def test_list_endpoints_use_a_constant_number_of_queries(
    api_client, draft_release, dave, audrey, django_assert_max_num_queries, size
):
    for n in range(size):
        api_client(dave).post(URL, _body(draft_release, title=f"Item {n}"), format="json")
        item = ScopeItemFactory(
            release=draft_release, kind="tech_debt", decision="deferred", rationale="Later."
        )
        TechDebtEstimate.objects.create(scope_item=item, effort_days=1, risk_reduction=2)
    client = api_client(audrey)
    for url in (URL, "/api/v1/tech-debt-estimates/", "/api/v1/maintenance-backlog/"):
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200
