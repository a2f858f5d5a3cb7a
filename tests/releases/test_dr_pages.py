"""Rollback-scope and DR pages: the Validation panel, adding steps, the DR test pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases.models import DrTest, RollbackStep
from tests.factories import ReleaseFactory, ServiceFactory


def a_test(service, **kw):
    values = {
        "tested_at": timezone.now() - timedelta(days=3),
        "scenario": "Region lost",
        "result": "passed",
        "rto_target_minutes": 30,
        "rto_achieved_minutes": 10,
        "rpo_target_minutes": 5,
        "rpo_achieved_minutes": 0,
        **kw,
    }
    return DrTest.objects.create(service=service, **values)


def test_the_validation_tab_shows_groups_flags_and_dr_verdicts(client, alice, dave, payments):
    payments.ha_required = True
    payments.save()
    ledger = ServiceFactory(slug="ledger", name="Ledger", recovery_sla_minutes=15)
    release = ReleaseFactory(author=dave, services=[(payments, "1.0.0"), (ledger, "1.0.0")])
    RollbackStep.objects.create(
        release=release, service=ledger, description="restore snapshot", estimated_minutes=20
    )
    client.force_login(alice)

    body = client.get(release.get_absolute_url()).content.decode()

    assert "Group 1: Backend, recovery SLA 15 min" in body
    assert "No rollback steps for Payments API" in body
    assert "Rolling back Ledger takes 20 min, 5 min over its 15 min recovery SLA." in body
    assert "Payments API has no recorded DR test" in body
    assert reverse("release_rollback_step_add", args=[release.key]) in body


def test_a_developer_adds_a_step_from_the_release_page(client, dave, draft_release):
    client.force_login(dave)
    url = reverse("release_rollback_step_add", args=[draft_release.key])
    service = draft_release.release_services.get().service

    response = client.post(
        url, {"service": service.pk, "description": "helm rollback", "estimated_minutes": 6}
    )

    assert response.status_code == 302
    assert draft_release.rollback_steps.get().estimated_minutes == 6


def test_a_step_of_zero_minutes_shows_the_field_error_and_writes_nothing(
    client, dave, draft_release
):
    client.force_login(dave)
    url = reverse("release_rollback_step_add", args=[draft_release.key])
    service = draft_release.release_services.get().service

    response = client.post(url, {"service": service.pk, "description": "x", "estimated_minutes": 0})

    assert response.status_code == 400
    assert "A step takes at least 1 minute." in response.content.decode()
    assert not RollbackStep.objects.exists()


@pytest.mark.parametrize("persona, status", [("bob", 403), ("audrey", 403), ("alice", 200)])
def test_only_release_managers_and_developers_open_the_step_form(
    client, request, draft_release, persona, status
):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("release_rollback_step_add", args=[draft_release.key])
    assert client.get(url).status_code == status


def test_a_deployer_records_a_dr_test_and_sees_it(client, bob, payments):
    client.force_login(bob)
    response = client.post(
        reverse("dr_test_create"),
        {
            "service": "payments-api",
            "tested_at": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "scenario": "Database failover",
            "result": "passed",
            "rto_achieved_minutes": 12,
            "rpo_target_minutes": 5,
            "rpo_achieved_minutes": 0,
        },
    )

    test = DrTest.objects.get()
    assert response.status_code == 302
    assert test.rto_target_minutes == 240
    assert "Database failover" in client.get(test.get_absolute_url()).content.decode()


def test_a_negative_rto_is_refused_on_the_form_and_nothing_is_written(client, alice, payments):
    client.force_login(alice)
    response = client.post(
        reverse("dr_test_create"),
        {
            "service": "payments-api",
            "tested_at": (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "scenario": "Database failover",
            "result": "passed",
            "rto_achieved_minutes": -4,
            "rpo_target_minutes": 5,
            "rpo_achieved_minutes": 0,
        },
    )

    assert response.status_code == 400
    assert "The recovery time achieved cannot be negative." in response.content.decode()
    assert not DrTest.objects.exists()


@pytest.mark.parametrize("persona, status", [("dave", 403), ("audrey", 403), ("bob", 200)])
def test_dr_test_form_per_role(client, request, persona, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("dr_test_create")).status_code == status


def test_the_dr_list_filters_by_result(client, audrey, payments):
    a_test(payments, scenario="Good run")
    a_test(payments, scenario="Bad run", result="failed")
    client.force_login(audrey)

    body = client.get(reverse("dr_test_list"), {"result": "failed"}).content.decode()

    assert "Bad run" in body and "Good run" not in body


@pytest.mark.parametrize("count", [3, 30])
def test_the_dr_list_uses_a_constant_number_of_queries(
    client, audrey, count, django_assert_max_num_queries
):
    for _ in range(count):
        a_test(ServiceFactory())
    client.force_login(audrey)

    with django_assert_max_num_queries(12):
        assert client.get(reverse("dr_test_list")).status_code == 200


@pytest.mark.parametrize("count", [1, 8])
def test_the_release_panel_uses_a_constant_number_of_queries(
    client, alice, dave, count, django_assert_max_num_queries
):
    services = [ServiceFactory(ha_required=True) for _ in range(count)]
    release = ReleaseFactory(author=dave, services=[(s, "1.0") for s in services])
    for s in services:
        a_test(s)
        RollbackStep.objects.create(
            release=release, service=s, description="x", estimated_minutes=1
        )
    client.force_login(alice)
    from tests.web.test_release_pages import DETAIL_QUERY_BOUND

    with django_assert_max_num_queries(DETAIL_QUERY_BOUND):
        assert client.get(release.get_absolute_url()).status_code == 200
