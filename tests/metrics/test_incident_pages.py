"""The incident and integrity pages: list with filters, report, the advice and a decision on the
incident page, the release's Stabilisation panels and the missing-checks warning."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import DecisionRecord
from metrics import incidents, integrity
from metrics.models import Incident, IntegrityCheck, IntegrityResult, RecoveryDecision
from tests.factories import ScopeItemFactory
from tests.metrics.incident_helpers import finished_hours_ago, production_deployment


@pytest.fixture
def deployed(move_to):
    return move_to("deployed")


def incident(user, service, **kwargs):
    kwargs.setdefault("title", "Checkout errors")
    kwargs.setdefault("severity", "critical")
    kwargs.setdefault("started_at", timezone.now())
    return incidents.report_incident(user, service=service, **kwargs)[0]


def test_the_list_shows_incidents_and_filters_them(client, deployed, payments, bob):
    incident(bob, payments)
    incident(bob, payments, title="Slow refunds", severity="low")
    client.force_login(bob)

    page = client.get(reverse("incident_list"), {"severity": "low"})

    assert page.status_code == 200
    assert "Slow refunds" in page.text and "Checkout errors" not in page.text


def test_an_empty_list_says_how_incidents_arrive(client, bob):
    client.force_login(bob)

    assert "POST /api/v1/incidents/" in client.get(reverse("incident_list")).text


def test_the_list_page_uses_a_bounded_number_of_queries(
    client, deployed, payments, bob, django_assert_max_num_queries
):
    client.force_login(bob)
    incident(bob, payments)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("incident_list"))
    for i in range(15):
        incident(bob, payments, title=f"I{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("incident_list"))


def test_reporting_an_incident_on_the_page_attributes_it(client, deployed, payments, bob):
    finished_hours_ago(production_deployment(deployed), 1)
    client.force_login(bob)
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")

    response = client.post(
        reverse("incident_create"),
        {"service": "payments-api", "title": "500s", "severity": "high", "started_at": start},
    )

    created = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == created.get_absolute_url()
    assert created.release == deployed


def test_a_report_without_a_title_shows_the_error_and_writes_nothing(client, payments, bob):
    client.force_login(bob)

    response = client.post(
        reverse("incident_create"),
        {"service": "payments-api", "severity": "high", "started_at": "2026-11-27T10:00"},
    )

    assert response.status_code == 400
    assert "This field is required" in response.text
    assert Incident.objects.count() == 0


def test_the_incident_page_shows_the_advice_and_records_a_decision(client, deployed, payments, bob):
    found = incident(bob, payments)
    client.force_login(bob)

    page = client.get(found.get_absolute_url())
    decided = client.post(
        reverse("incident_decide", args=[found.pk]),
        {"choice": "rollback", "reason": "Checkout down for everyone."},
    )

    assert 'data-testid="recommendation"' in page.text and "Roll back" in page.text
    assert 'data-testid="decide-form"' in page.text
    assert decided.status_code == 302
    assert RecoveryDecision.objects.get().choice == "rollback"
    assert DecisionRecord.objects.filter(kind="recovery").count() == 1
    assert "Checkout down for everyone." in client.get(found.get_absolute_url()).text


def test_a_decision_without_a_reason_is_refused_on_the_page(client, deployed, payments, bob):
    found = incident(bob, payments)
    client.force_login(bob)

    response = client.post(reverse("incident_decide", args=[found.pk]), {"choice": "rollback"})

    assert response.status_code == 400
    assert "Say why" in response.text
    assert RecoveryDecision.objects.count() == 0


def test_a_developer_sees_the_advice_but_not_the_decision_form(
    client, deployed, payments, bob, dave
):
    found = incident(bob, payments)
    client.force_login(dave)

    page = client.get(found.get_absolute_url())

    assert 'data-testid="recovery-advice"' in page.text
    assert 'data-testid="decide-form"' not in page.text
    assert (
        client.post(
            reverse("incident_decide", args=[found.pk]), {"choice": "rollback", "reason": "x"}
        ).status_code
        == 403
    )


def test_resolving_on_the_page(client, payments, bob):
    found = incident(bob, payments)
    client.force_login(bob)

    response = client.post(reverse("incident_resolve", args=[found.pk]), {"status": "resolved"})

    assert response.status_code == 302
    found.refresh_from_db()
    assert found.status == "resolved" and found.resolved_at is not None


def test_the_release_stabilisation_tab_lists_incidents_and_integrity_checks(
    client, deployed, payments, alice, bob
):
    incident(bob, payments)
    c = integrity.add_check(deployed, alice, name="ledger sum", kind="sum")
    integrity.post_result(c, bob, before_value="5", after_value="6")
    client.force_login(alice)

    page = client.get(deployed.get_absolute_url()).text

    assert 'data-testid="incident-panel"' in page and "Checkout errors" in page
    assert 'data-testid="integrity-panel"' in page and "ledger sum" in page
    assert 'data-testid="integrity-blocks-close"' in page


def test_adding_a_check_and_posting_a_result_on_the_pages(client, deployed, alice):
    client.force_login(alice)

    added = client.post(
        reverse("release_integrity_check_add", args=[deployed.key]),
        {
            "name": "rows",
            "kind": "row_count",
            "relation": "within_tolerance",
            "tolerance_percent": "1",
        },
    )
    check = IntegrityCheck.objects.get()
    posted = client.post(
        reverse("integrity_check_result_add", args=[check.pk]),
        {"before_value": "1000", "after_value": "1005"},
    )

    assert added.status_code == 302 and posted.status_code == 302
    assert IntegrityResult.objects.get().passed is True
    assert "within the 1% tolerance" in client.get(check.get_absolute_url()).text


def test_a_bad_result_on_the_page_shows_the_error(client, deployed, alice):
    check = integrity.add_check(deployed, alice, name="rows", kind="row_count")
    client.force_login(alice)

    response = client.post(
        reverse("integrity_check_result_add", args=[check.pk]),
        {"before_value": "1", "after_value": "many"},
    )

    assert response.status_code == 400 and "is not a number" in response.text
    assert IntegrityResult.objects.count() == 0


def test_a_batch_job_release_without_checks_is_warned_about(client, draft_release, alice):
    ScopeItemFactory(release=draft_release, title="Nightly ledger ETL", kind="batch_job")
    client.force_login(alice)

    page = client.get(draft_release.get_absolute_url()).text

    assert 'data-testid="integrity-warning"' in page and "Nightly ledger ETL" in page


def test_an_old_incident_outside_the_window_shows_as_not_attributed(
    client, deployed, payments, bob
):
    incident(bob, payments, started_at=timezone.now() - timedelta(days=5))
    client.force_login(bob)

    assert "not attributed" in client.get(reverse("incident_list")).text
