"""Vulnerability pages, patch SLA page and the dashboard panel: roles, validation, queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from releases.choices import ReleaseKind
from releases.models import Release
from scheduling.models import PatchSlaPolicy, Vulnerability
from tests.factories import ServiceFactory
from tests.scheduling.patching_support import released, vulnerability

pytestmark = pytest.mark.django_db


def _form(affected, **overrides):
    data = {
        "cve_id": "CVE-2024-3094",
        "title": "Backdoor in xz",
        "cvss": "10.0",
        "services": [s.pk for s in affected],
        "discovered_at": (timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "status": "open",
    }
    data.update(overrides)
    return data


# --- permissions ---------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, payments):
    v = vulnerability([payments])
    for url in (
        reverse("vulnerability_list"),
        reverse("vulnerability_detail", args=[v.pk]),
        reverse("vulnerability_create"),
        reverse("patch_sla"),
        reverse("vulnerability_patch_release", args=[v.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"], url


def test_a_user_without_a_role_is_refused(client, nobody, payments):
    v = vulnerability([payments])
    client.force_login(nobody)
    for url in (
        reverse("vulnerability_list"),
        reverse("vulnerability_detail", args=[v.pk]),
        reverse("patch_sla"),
    ):
        assert client.get(url).status_code == 403, url


def test_the_auditor_reads_but_cannot_write(client, audrey, payments):
    v = vulnerability([payments])
    client.force_login(audrey)
    assert client.get(reverse("vulnerability_list")).status_code == 200
    detail = client.get(reverse("vulnerability_detail", args=[v.pk]))
    assert detail.status_code == 200
    assert b"Create patch release" not in detail.content
    assert client.get(reverse("vulnerability_create")).status_code == 403
    assert client.post(reverse("vulnerability_create"), _form([payments])).status_code == 403
    assert client.get(reverse("vulnerability_update", args=[v.pk])).status_code == 403
    assert client.post(reverse("vulnerability_patch_release", args=[v.pk])).status_code == 403
    assert Vulnerability.objects.count() == 1


def test_a_developer_cannot_record_vulnerabilities(client, dave, payments):
    client.force_login(dave)
    assert client.post(reverse("vulnerability_create"), _form([payments])).status_code == 403
    assert not Vulnerability.objects.exists()


# --- create and edit -----------------------------------------------------------------------


def test_a_compliance_officer_records_a_vulnerability_and_gets_its_due_date(
    client, olivia, payments
):
    client.force_login(olivia)
    response = client.post(
        reverse("vulnerability_create"), _form([payments], cve_id=" cve-2024-3094 ")
    )

    v = Vulnerability.objects.get()
    assert response.status_code == 302 and response["Location"] == v.get_absolute_url()
    assert v.cve_id == "CVE-2024-3094"
    assert v.severity == "critical"
    assert v.due_at == v.discovered_at + timedelta(hours=48)
    assert list(v.services.all()) == [payments]
    row = v.history.first()
    assert row.history_user == olivia and row.history_change_reason == "Created"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cve_id", "CVE-24-1", "not a CVE id"),
        ("cvss", "10.5", "0.0 to 10.0"),
        ("cvss", "-1", "0.0 to 10.0"),
        ("cvss", "abc", "as a number"),
        ("discovered_at", "2099-01-01T10:00", "cannot be in the future"),
        ("services", [], "at least one affected service"),
    ],
)
def test_bad_input_gets_a_clear_message_and_writes_nothing(
    client, olivia, payments, field, value, message
):
    client.force_login(olivia)
    response = client.post(reverse("vulnerability_create"), _form([payments], **{field: value}))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert not Vulnerability.objects.exists()


def test_a_duplicate_cve_id_is_refused(client, olivia, payments):
    vulnerability([payments], cve="CVE-2024-3094")
    client.force_login(olivia)
    response = client.post(reverse("vulnerability_create"), _form([payments]))
    assert response.status_code == 400
    assert Vulnerability.objects.count() == 1


def test_rescoring_on_the_edit_page_moves_the_due_date_and_says_so(client, alice, payments):
    v = vulnerability([payments], cvss="9.8")
    client.force_login(alice)
    data = _form(
        [payments],
        cve_id=v.cve_id,
        cvss="7.2",
        discovered_at=timezone.localtime(v.discovered_at).strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.post(reverse("vulnerability_update", args=[v.pk]), data)

    assert response.status_code == 302
    v.refresh_from_db()
    assert v.severity == "high"
    assert v.due_at == v.discovered_at + timedelta(hours=168)
    assert "recomputed" in v.history.first().history_change_reason


# --- list and detail -----------------------------------------------------------------------


def test_the_list_is_ordered_by_due_date_with_resolved_ones_last(client, audrey):
    service = ServiceFactory()
    later = vulnerability([service], cvss="5.0", cve="CVE-2024-0003")
    sooner = vulnerability([service], cvss="9.8", cve="CVE-2024-0002")
    done = vulnerability([service], cvss="9.8", cve="CVE-2024-0001", status="patched")
    client.force_login(audrey)

    page = client.get(reverse("vulnerability_list")).context["page"]

    assert list(page) == [sooner, later, done]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sla=overdue", {"CVE-2024-0001"}),
        ("sla=at_risk", {"CVE-2024-0002"}),
        ("sla=on_track", {"CVE-2024-0003"}),
        ("severity=high", {"CVE-2024-0003"}),
        ("status=accepted", {"CVE-2024-0004"}),
        ("service=ledger", {"CVE-2024-0003"}),
        ("q=xz", {"CVE-2024-0002"}),
    ],
)
def test_list_filters(client, audrey, payments, query, expected):
    ledger = ServiceFactory(slug="ledger")
    vulnerability([payments], cvss="9.8", discovered_hours_ago=50, cve="CVE-2024-0001")
    vulnerability([payments], cvss="9.8", discovered_hours_ago=40, cve="CVE-2024-0002", title="xz")
    vulnerability([ledger], cvss="7.0", discovered_hours_ago=1, cve="CVE-2024-0003")
    vulnerability(
        [payments], cvss="2.0", discovered_hours_ago=1, cve="CVE-2024-0004", status="accepted"
    )
    client.force_login(audrey)

    response = client.get(reverse("vulnerability_list") + "?" + query)

    assert {v.cve_id for v in response.context["page"]} == expected


def test_an_unknown_filter_value_is_reported(client, audrey):
    client.force_login(audrey)
    response = client.get(reverse("vulnerability_list") + "?sla=soon")
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_runs_a_bounded_number_of_queries(
    client, audrey, payments, django_assert_max_num_queries, rows
):
    other = ServiceFactory()
    now = timezone.now()
    for i in range(rows):
        v = Vulnerability(
            cve_id=f"CVE-2024-{20000 + i}",
            title="t",
            cvss=Decimal("7.5"),
            discovered_at=now - timedelta(hours=i),
        )
        v.save()
        v.services.set([payments, other])
    client.force_login(audrey)
    client.get(reverse("vulnerability_list"))  # warm the session

    with django_assert_max_num_queries(12):
        response = client.get(reverse("vulnerability_list") + "?page=2")
    assert response.status_code == 200


def test_the_detail_shows_deadline_services_and_the_patch_button(client, alice, dave, payments):
    v = vulnerability([payments], cvss="9.8", discovered_hours_ago=40)
    client.force_login(alice)

    body = client.get(reverse("vulnerability_detail", args=[v.pk])).content.decode()

    assert v.cve_id in body and "Payments API" in body and "At risk" in body
    assert "Patch due in" in body
    assert reverse("vulnerability_patch_release", args=[v.pk]) in body


# --- patch release page --------------------------------------------------------------------


def test_a_release_manager_creates_the_patch_release_from_the_page(client, alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")
    client.force_login(alice)
    url = reverse("vulnerability_patch_release", args=[v.pk])

    form = client.get(url)
    assert form.status_code == 200
    assert form.context["form"][f"version_{payments.pk}"].value() == "1.4.3"

    start = timezone.localtime() + timedelta(days=1)
    response = client.post(
        url,
        {
            f"version_{payments.pk}": "1.4.3",
            "version": "1.4.3",
            "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )

    release = Release.objects.get(kind=ReleaseKind.SECURITY_PATCH)
    assert response.status_code == 302 and response["Location"] == release.get_absolute_url()
    v.refresh_from_db()
    assert v.patch_release == release and v.status == "patching"
    # A second visit goes to the existing release instead of offering a second one.
    again = client.get(url)
    assert again.status_code == 302 and again["Location"] == release.get_absolute_url()


@pytest.mark.parametrize(
    ("version", "hours", "message"),
    [
        ("", 2, "Enter the patch version of Payments API"),
        ("1.0.1", -2, "after the planned start"),
    ],
)
def test_bad_input_on_the_patch_page_writes_nothing(
    client, alice, payments, version, hours, message
):
    v = vulnerability([payments], cvss="7.5")
    client.force_login(alice)
    start = timezone.localtime() + timedelta(days=1)
    response = client.post(
        reverse("vulnerability_patch_release", args=[v.pk]),
        {
            f"version_{payments.pk}": version,
            "version": "1.0.1",
            "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
            "planned_end": (start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body and "Nothing was saved" in body
    assert not Release.objects.exists()
    v.refresh_from_db()
    assert v.status == "open"


def test_a_compliance_officer_cannot_create_the_patch_release(client, olivia, payments):
    v = vulnerability([payments], cvss="7.5")
    client.force_login(olivia)
    assert client.get(reverse("vulnerability_patch_release", args=[v.pk])).status_code == 403
    assert b"Create patch release" not in client.get(v.get_absolute_url()).content


# --- SLA policy page -----------------------------------------------------------------------


def _sla_post(extra=None, **hours):
    policies = list(PatchSlaPolicy.objects.order_by("pk"))
    data = {
        "form-TOTAL_FORMS": str(len(policies)),
        "form-INITIAL_FORMS": str(len(policies)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for i, policy in enumerate(policies):
        data[f"form-{i}-id"] = str(policy.pk)
        data[f"form-{i}-hours"] = str(hours.get(policy.severity, policy.hours))
        data[f"form-{i}-at_risk_fraction"] = str(policy.at_risk_fraction)
    data.update(extra or {})
    return data


def test_a_release_manager_changes_a_patch_sla(client, alice, payments):
    existing = vulnerability([payments], cvss="9.8")
    old_due = existing.due_at
    client.force_login(alice)

    response = client.post(reverse("patch_sla"), _sla_post(critical=24))

    assert response.status_code == 302
    policy = PatchSlaPolicy.objects.get(severity="critical")
    assert policy.hours == 24
    assert policy.history.first().history_user == alice
    existing.refresh_from_db()
    assert existing.due_at == old_due  # only new computations use the new SLA


def test_the_sla_page_can_also_move_open_due_dates(client, alice, payments):
    existing = vulnerability([payments], cvss="9.8")
    client.force_login(alice)

    client.post(reverse("patch_sla"), _sla_post({"recompute": "on"}, critical=24))

    existing.refresh_from_db()
    assert existing.due_at == existing.discovered_at + timedelta(hours=24)


def test_an_sla_of_zero_hours_is_refused_and_nothing_changes(client, alice):
    client.force_login(alice)
    response = client.post(reverse("patch_sla"), _sla_post(critical=0, high=100))
    assert response.status_code == 400
    assert PatchSlaPolicy.objects.get(severity="critical").hours == 48
    assert PatchSlaPolicy.objects.get(severity="high").hours == 168


def test_only_release_managers_change_patch_slas(client, olivia):
    client.force_login(olivia)
    assert client.get(reverse("patch_sla")).status_code == 200
    assert client.post(reverse("patch_sla"), _sla_post(critical=24)).status_code == 403
    assert PatchSlaPolicy.objects.get(severity="critical").hours == 48


# --- dashboard -----------------------------------------------------------------------------


def test_the_dashboard_lists_overdue_and_at_risk_patches(client, audrey, payments):
    overdue = vulnerability([payments], cvss="9.8", discovered_hours_ago=50)
    at_risk = vulnerability([payments], cvss="9.8", discovered_hours_ago=40)
    on_track = vulnerability([payments], cvss="9.8", discovered_hours_ago=1)
    client.force_login(audrey)

    response = client.get(reverse("dashboard"))

    assert list(response.context["patches"]) == [overdue, at_risk]
    body = response.content.decode()
    assert "Overdue and at-risk patches" in body
    assert overdue.cve_id in body and at_risk.cve_id in body and on_track.cve_id not in body


@pytest.mark.parametrize("rows", [5, 200])
def test_the_dashboard_panel_adds_a_bounded_number_of_queries(
    client, audrey, payments, django_assert_max_num_queries, rows
):
    now = timezone.now()
    for i in range(rows):
        v = Vulnerability(
            cve_id=f"CVE-2024-{30000 + i}",
            title="t",
            cvss=Decimal("9.8"),
            discovered_at=now - timedelta(hours=50),
        )
        v.save()
        v.services.set([payments])
    client.force_login(audrey)
    client.get(reverse("dashboard"))

    with django_assert_max_num_queries(20):
        response = client.get(reverse("dashboard"))
    assert len(response.context["patches"]) == min(rows, 8)
