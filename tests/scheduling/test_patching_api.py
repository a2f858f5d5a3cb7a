"""The vulnerabilities and patch SLA API: roles, computed fields, validation, patch releases."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from releases.choices import ReleaseKind
from releases.models import Release
from scheduling.models import PatchSlaPolicy, Vulnerability
from tests.factories import ServiceFactory
from tests.scheduling.patching_support import released, vulnerability

pytestmark = pytest.mark.django_db

URL = "/api/v1/vulnerabilities/"


def _body(**overrides):
    body = {
        "cve_id": "CVE-2023-44487",
        "title": "HTTP/2 rapid reset",
        "cvss": "7.5",
        "services": ["payments-api"],
        "discovered_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    body.update(overrides)
    return body


def test_anonymous_callers_get_401(api_client, payments):
    assert api_client().get(URL).status_code == 401
    assert api_client().post(URL, _body(), format="json").status_code == 401


def test_a_user_without_a_role_gets_403(api_client, nobody, payments):
    client = api_client(nobody)
    assert client.get(URL).status_code == 403
    assert client.post(URL, _body(), format="json").status_code == 403


@pytest.mark.parametrize("persona", ["audrey", "dave", "bob", "carol", "paula", "pipeline"])
def test_readers_list_but_cannot_record(api_client, request, payments, persona):
    client = api_client(request.getfixturevalue(persona))
    assert client.get(URL).status_code == 200
    assert client.post(URL, _body(), format="json").status_code == 403
    assert not Vulnerability.objects.exists()


@pytest.mark.parametrize("persona", ["olivia", "alice"])
def test_compliance_officers_and_release_managers_record_vulnerabilities(
    api_client, request, payments, persona
):
    user = request.getfixturevalue(persona)
    response = api_client(user).post(URL, _body(cve_id="cve-2023-44487"), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["cve_id"] == "CVE-2023-44487"
    assert data["severity"] == "high"
    assert data["sla_state"] == "on_track"
    v = Vulnerability.objects.get()
    assert v.due_at == v.discovered_at + timedelta(hours=168)
    assert v.history.first().history_user == user


def test_severity_and_due_date_cannot_be_written(api_client, olivia, payments):
    far = (timezone.now() + timedelta(days=365)).isoformat()
    response = api_client(olivia).post(
        URL, _body(severity="low", due_at=far, cvss="9.9"), format="json"
    )
    assert response.status_code == 201
    v = Vulnerability.objects.get()
    assert v.severity == "critical"
    assert v.due_at == v.discovered_at + timedelta(hours=48)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"cve_id": "CVE-123"}, "cve_id"),
        ({"cvss": "10.1"}, "cvss"),
        ({"cvss": "-0.1"}, "cvss"),
        ({"discovered_at": "2999-01-01T00:00:00Z"}, "discovered_at"),
        ({"services": []}, "services"),
        ({"services": ["no-such-service"]}, "services"),
        ({"status": "fixed"}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    api_client, olivia, payments, overrides, field
):
    response = api_client(olivia).post(URL, _body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Vulnerability.objects.exists()


def test_rescoring_through_the_api_recomputes_the_due_date(api_client, alice, payments):
    v = vulnerability([payments], cvss="9.8")
    response = api_client(alice).patch(f"{URL}{v.pk}/", {"cvss": "4.2"}, format="json")
    assert response.status_code == 200
    assert response.json()["severity"] == "medium"
    v.refresh_from_db()
    assert v.due_at == v.discovered_at + timedelta(hours=720)
    assert "recomputed" in v.history.first().history_change_reason


def test_the_sla_filter_lists_overdue_ones(api_client, audrey, payments):
    overdue = vulnerability([payments], cvss="9.8", discovered_hours_ago=50)
    vulnerability([payments], cvss="9.8", discovered_hours_ago=1)
    response = api_client(audrey).get(URL + "?sla=overdue")
    assert [row["cve_id"] for row in response.json()["results"]] == [overdue.cve_id]
    assert response.json()["results"][0]["sla_state"] == "overdue"


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_runs_a_bounded_number_of_queries(
    api_client, audrey, payments, django_assert_max_num_queries, rows
):
    other = ServiceFactory()
    now = timezone.now()
    for i in range(rows):
        v = Vulnerability(
            cve_id=f"CVE-2024-{40000 + i}",
            title="t",
            cvss=Decimal("9.1"),
            discovered_at=now - timedelta(hours=i),
        )
        v.save()
        v.services.set([payments, other])
    client = api_client(audrey)

    with django_assert_max_num_queries(10):
        response = client.get(URL)
    assert response.json()["count"] == rows


# --- patch release action ------------------------------------------------------------------


def test_a_release_manager_creates_a_patch_release_through_the_api(
    api_client, alice, dave, payments
):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="9.8")

    response = api_client(alice).post(f"{URL}{v.pk}/patch-release/", {}, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["kind"] == "security_patch"
    assert data["change_type"] == "emergency"
    assert data["state"] == "draft"
    assert data["services"] == [{"service": "payments-api", "version": "1.4.3"}]
    v.refresh_from_db()
    assert v.patch_release.key == data["key"]
    assert api_client(alice).get(f"{URL}{v.pk}/").json()["patch_release"] == data["key"]


def test_a_patch_release_needs_a_version_for_a_service_never_released(api_client, alice, payments):
    v = vulnerability([payments], cvss="7.5")
    client = api_client(alice)

    missing = client.post(f"{URL}{v.pk}/patch-release/", {}, format="json")
    assert missing.status_code == 400
    assert "versions" in missing.json()
    bad = client.post(
        f"{URL}{v.pk}/patch-release/", {"versions": {"payments-api": "x.y"}}, format="json"
    )
    assert bad.status_code == 400
    other = client.post(
        f"{URL}{v.pk}/patch-release/", {"versions": {"ledger": "1.0.1"}}, format="json"
    )
    assert other.status_code == 400
    assert not Release.objects.exists()

    ok = client.post(
        f"{URL}{v.pk}/patch-release/", {"versions": {"payments-api": "5.0.1"}}, format="json"
    )
    assert ok.status_code == 201
    assert ok.json()["services"] == [{"service": "payments-api", "version": "5.0.1"}]


def test_a_second_patch_release_is_a_409(api_client, alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")
    client = api_client(alice)
    assert client.post(f"{URL}{v.pk}/patch-release/", {}, format="json").status_code == 201
    second = client.post(f"{URL}{v.pk}/patch-release/", {}, format="json")
    assert second.status_code == 409
    assert Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).count() == 1


@pytest.mark.parametrize(("persona", "code"), [("olivia", 403), ("dave", 403), ("audrey", 403)])
def test_other_roles_cannot_create_patch_releases(
    api_client, request, dave, payments, persona, code
):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")
    user = request.getfixturevalue(persona)
    response = api_client(user).post(f"{URL}{v.pk}/patch-release/", {}, format="json")
    assert response.status_code == code
    assert Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).count() == 0


# --- patch SLA policies --------------------------------------------------------------------


def test_everyone_with_a_role_reads_the_patch_slas(api_client, audrey):
    response = api_client(audrey).get("/api/v1/patch-sla-policies/")
    assert response.status_code == 200
    hours = {row["severity"]: row["hours"] for row in response.json()["results"]}
    assert hours == {"critical": 48, "high": 168, "medium": 720, "low": 2160}


def test_a_release_manager_changes_a_patch_sla_through_the_api(api_client, alice):
    response = api_client(alice).patch(
        "/api/v1/patch-sla-policies/critical/", {"hours": 24}, format="json"
    )
    assert response.status_code == 200
    policy = PatchSlaPolicy.objects.get(severity="critical")
    assert policy.hours == 24
    assert policy.history.first().history_user == alice


def test_patch_sla_changes_are_validated_and_restricted(api_client, alice, olivia):
    assert (
        api_client(olivia)
        .patch("/api/v1/patch-sla-policies/critical/", {"hours": 24}, format="json")
        .status_code
        == 403
    )
    bad = api_client(alice).patch(
        "/api/v1/patch-sla-policies/critical/", {"at_risk_fraction": "1.5"}, format="json"
    )
    assert bad.status_code == 400
    assert api_client(alice).delete("/api/v1/patch-sla-policies/critical/").status_code == 405
    assert PatchSlaPolicy.objects.get(severity="critical").hours == 48


def test_the_endpoints_are_in_the_openapi_schema(client, audrey):
    client.force_login(audrey)
    schema = client.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert "/api/v1/vulnerabilities/" in paths
    assert "/api/v1/vulnerabilities/{id}/patch-release/" in paths
    assert "/api/v1/patch-sla-policies/{severity}/" in paths
    assert "/api/v1/notifications/" in paths
    assert "/api/v1/notifications/{id}/read/" in paths
