"""``/api/v1/defects/``, ``/api/v1/risk-acceptances/``, ``POST /api/v1/releases/{key}/delay/``."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance.choices import DecisionKind
from governance.models import DecisionRecord, Defect, RiskAcceptance
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.governance.defects_support import accept, defect, footprint

pytestmark = pytest.mark.django_db

DEFECTS = "/api/v1/defects/"
ACCEPTANCES = "/api/v1/risk-acceptances/"


def iso(delta):
    return (timezone.now() + delta).isoformat()


def test_a_developer_reports_a_defect_and_it_blocks(api_client, dave, approved_release):
    response = api_client(dave).post(
        DEFECTS,
        {"release": approved_release.key, "title": "Crash", "severity": "critical"},
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "open" and body["reported_by"] == "dave" and body["blocking"] is True


def test_bad_defects_get_field_errors_and_nothing_is_written(api_client, dave, approved_release):
    response = api_client(dave).post(
        DEFECTS, {"release": approved_release.key, "title": " ", "severity": "urgent"}
    )

    assert response.status_code == 400
    assert set(response.json()) >= {"severity"}
    assert not Defect.objects.exists()


def test_the_list_filters_and_marks_blocking(api_client, audrey, approved_release, dave, paula):
    blocking = defect(approved_release, dave, title="Blocks")
    accepted = defect(approved_release, dave, title="Accepted")
    accept(approved_release, [accepted], paula)
    client = api_client(audrey)

    everything = {d["title"]: d["blocking"] for d in client.get(DEFECTS).json()["results"]}
    only = client.get(DEFECTS, {"blocking": "true"}).json()["results"]

    assert everything == {"Blocks": True, "Accepted": False}
    assert [d["id"] for d in only] == [blocking.pk]
    assert client.get(DEFECTS, {"service": "payments-api"}).json()["count"] == 2


def test_edit_and_resolve(api_client, alice, approved_release, dave):
    found = defect(approved_release, dave)
    client = api_client(alice)

    edited = client.patch(f"{DEFECTS}{found.pk}/", {"severity": "medium"})
    resolved = client.post(f"{DEFECTS}{found.pk}/resolve/", {"comment": "fixed in 1.4.3"})
    again = client.post(f"{DEFECTS}{found.pk}/resolve/", {})

    assert edited.status_code == 200 and edited.json()["severity"] == "medium"
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert again.status_code == 409


def test_a_cab_member_cannot_write_defects(api_client, carol, approved_release, dave):
    found = defect(approved_release, dave)
    client = api_client(carol)
    before = footprint()

    assert client.post(DEFECTS, {"release": approved_release.key}).status_code == 403
    assert client.post(f"{DEFECTS}{found.pk}/resolve/", {}).status_code == 403
    assert footprint() == before


def test_a_product_owner_accepts_through_the_api(api_client, paula, approved_release, dave):
    found = defect(approved_release, dave)

    response = api_client(paula).post(
        ACCEPTANCES,
        {
            "release": approved_release.key,
            "defects": [found.pk],
            "rationale": "Workaround documented.",
            "expires_at": iso(timedelta(days=3)),
        },
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["state"] == "active" and body["accepted_by"] == "paula"
    assert body["role"] == "product_owner" and body["defects"] == [found.pk]


def test_an_acceptance_without_an_expiry_is_a_400_field_error_and_nothing_is_written(
    api_client, paula, approved_release, dave
):
    found = defect(approved_release, dave)
    before = footprint()

    response = api_client(paula).post(
        ACCEPTANCES,
        {"release": approved_release.key, "defects": [found.pk], "rationale": "Fine."},
    )

    assert response.status_code == 400
    assert response.json() == {"expires_at": ["An acceptance needs an expiry; give one."]}
    assert footprint() == before
    assert not DecisionRecord.objects.filter(kind=DecisionKind.RISK_ACCEPTANCE).exists()


def test_an_acceptance_too_long_is_refused(api_client, olivia, approved_release, dave):
    found = defect(approved_release, dave)

    response = api_client(olivia).post(
        ACCEPTANCES,
        {
            "release": approved_release.key,
            "defects": [found.pk],
            "rationale": "Fine.",
            "expires_at": iso(timedelta(days=45)),
        },
    )

    assert response.status_code == 400
    assert "at most 30 days" in response.json()["expires_at"][0]


def test_a_contributor_is_refused_with_the_reason_and_the_refusal_is_kept(
    api_client, olivia, approved_release, dave
):
    ScopeItemFactory(release=approved_release, contributor=olivia)
    found = defect(approved_release, dave)

    response = api_client(olivia).post(
        ACCEPTANCES,
        {
            "release": approved_release.key,
            "defects": [found.pk],
            "rationale": "Fine.",
            "expires_at": iso(timedelta(days=3)),
        },
    )

    assert response.status_code == 403
    assert response.json()["checks"][0]["code"] == "segregation_of_duties"
    assert not RiskAcceptance.objects.exists()
    assert DecisionRecord.objects.filter(kind=DecisionKind.SOD_REFUSAL, actor=olivia).exists()


def test_a_developer_cannot_accept_and_revoke(api_client, dave, paula, approved_release):
    acceptance = accept(approved_release, [defect(approved_release, dave)], paula)
    client = api_client(dave)

    assert client.post(ACCEPTANCES, {}).status_code == 403
    assert client.post(f"{ACCEPTANCES}{acceptance.pk}/revoke/", {}).status_code == 403


def test_revoke_then_revoke_again(api_client, olivia, paula, approved_release, dave):
    acceptance = accept(approved_release, [defect(approved_release, dave)], paula)
    client = api_client(olivia)

    first = client.post(f"{ACCEPTANCES}{acceptance.pk}/revoke/", {"reason": "new facts"})
    second = client.post(f"{ACCEPTANCES}{acceptance.pk}/revoke/", {})

    assert first.status_code == 200 and first.json()["state"] == "revoked"
    assert first.json()["revoked_by"] == "olivia"
    assert second.status_code == 409


def test_delay_through_the_api(api_client, alice, approved_release):
    url = f"/api/v1/releases/{approved_release.key}/delay/"
    start = timezone.now() + timedelta(days=9)

    response = api_client(alice).post(
        url, {"planned_start": start.isoformat(), "reason": "PAY-812"}
    )

    assert response.status_code == 200, response.json()
    approved_release.refresh_from_db()
    assert approved_release.planned_start == start
    assert response.json()["state"] == "approved"


def test_a_bad_delay_is_a_400_with_field_errors(api_client, alice, approved_release):
    url = f"/api/v1/releases/{approved_release.key}/delay/"

    response = api_client(alice).post(url, {"planned_start": iso(timedelta(days=-1)), "reason": ""})

    assert response.status_code == 400
    assert set(response.json()) == {"planned_start", "reason"}


def test_delay_needs_the_permission_and_a_known_release(api_client, bob, alice):
    assert api_client(bob).post("/api/v1/releases/REL-1/delay/", {}).status_code == 403
    assert api_client(alice).post("/api/v1/releases/REL-1/delay/", {}).status_code == 404


def test_a_deploying_release_cannot_be_delayed(api_client, alice, move_to):
    release = move_to("deploying")

    response = api_client(alice).post(
        f"/api/v1/releases/{release.key}/delay/",
        {"planned_start": iso(timedelta(days=3)), "reason": "late"},
    )

    assert response.status_code == 409


@pytest.mark.parametrize("size", [2, 20])
def test_lists_run_a_bounded_number_of_queries(
    api_client, audrey, dave, paula, payments, size, django_assert_max_num_queries
):
    for n in range(size):
        release = ReleaseFactory(author=dave, services=[(payments, f"1.{n}.0")])
        accept(release, [defect(release, dave)], paula)
    client = api_client(audrey)

    with django_assert_max_num_queries(10):
        assert client.get(ACCEPTANCES).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(DEFECTS).status_code == 200
