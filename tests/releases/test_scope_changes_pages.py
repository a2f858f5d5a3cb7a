"""Scope-change pages: the Scope tab panel, request form, decide, list/detail, backlog."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases import scope_changes
from releases.models import ScopeChangeRequest, TechDebtEstimate
from tests.factories import ReleaseFactory, ScopeItemFactory
from tests.releases import builders

pytestmark = pytest.mark.django_db


def _change(release, user, **kwargs):
    values = {"kind": "add", "title": "Export to CSV", "reason": "Finance needs it."}
    values.update(kwargs)
    return scope_changes.request_change(release, user, **values)


def test_developer_files_a_request_from_the_form_and_sees_it_on_the_scope_tab(
    client, draft_release, dave
):
    client.force_login(dave)
    url = reverse("release_scope_change_create", args=[draft_release.key])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "kind": "add",
            "title": "Refunds",
            "reason": "Support asks.",
            "plan_shift_days": 1,
            "item_kind": "feature",
        },
    )
    assert response.status_code == 302
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert "Refunds" in page and "Pending" in page


def test_request_form_shows_field_errors_and_writes_nothing(client, draft_release, dave):
    client.force_login(dave)
    url = reverse("release_scope_change_create", args=[draft_release.key])
    response = client.post(
        url, {"kind": "add", "title": "X", "reason": "", "plan_shift_days": -1, "item_kind": "fix"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Say why the scope should change." in body and "0 or more" in body
    assert not ScopeChangeRequest.objects.exists()


def test_product_owner_sees_accept_and_decline_and_others_do_not(
    client, draft_release, dave, paula, alice
):
    change = _change(draft_release, dave)
    client.force_login(paula)
    assert (
        f'data-testid="decide-{change.pk}"'
        in client.get(draft_release.get_absolute_url()).content.decode()
    )
    client.force_login(alice)
    assert (
        f'data-testid="decide-{change.pk}"'
        not in client.get(draft_release.get_absolute_url()).content.decode()
    )


def test_decide_view_declines_with_a_note_and_refuses_others(
    client, draft_release, dave, paula, alice
):
    change = _change(draft_release, dave)
    url = reverse("scope_change_decide", args=[change.pk])
    client.force_login(alice)
    assert client.post(url, {"decision": "accept"}).status_code == 403
    client.force_login(paula)
    assert client.post(url, {"decision": "decline", "note": ""}).status_code == 400
    assert client.post(url, {"decision": "decline", "note": "Not now."}).status_code == 302
    change.refresh_from_db()
    assert change.status == "declined"
    assert client.post(url, {"decision": "accept"}).status_code == 409


@pytest.mark.parametrize("persona", ["alice", "bob", "carol", "dave", "olivia", "paula", "audrey"])
def test_every_role_reads_the_list_detail_and_backlog(
    client, request, draft_release, dave, persona
):
    change = _change(draft_release, dave)
    client.force_login(request.getfixturevalue(persona))
    for url in (
        reverse("scope_change_list"),
        reverse("scope_change_list") + "?status=pending&kind=add",
        change.get_absolute_url(),
        reverse("maintenance_backlog"),
    ):
        assert client.get(url).status_code == 200, url


def test_list_filter_errors_are_shown(client, audrey):
    client.force_login(audrey)
    response = client.get(reverse("scope_change_list") + "?release=NOPE")
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_detail_shows_the_history(client, draft_release, dave, paula):
    change = _change(draft_release, dave)
    scope_changes.decide(change, paula, accept=False, note="No room.")
    client.force_login(paula)
    body = client.get(change.get_absolute_url()).content.decode()
    assert "No room." in body and f"requested for {draft_release.key}" in body


def test_the_release_page_shows_the_conflict_and_tech_debt_advice(client, dave, payments, alice):
    feature = ReleaseFactory(
        author=dave,
        services=[(payments, "2.0.0")],
        planned_start=timezone.now() + timedelta(days=9),
    )
    builders.submit(feature, dave)
    fix = ReleaseFactory(
        author=dave,
        kind="hotfix",
        services=[(payments, "1.4.3")],
        planned_start=timezone.now() + timedelta(hours=3),
    )
    item = ScopeItemFactory(release=fix, kind="tech_debt", title="Old retry loop", service=payments)
    TechDebtEstimate.objects.create(scope_item=item, effort_days=1, risk_reduction=3)
    client.force_login(alice)
    body = client.get(feature.get_absolute_url()).content.decode()
    assert 'data-testid="scope-conflicts"' in body and "fold_in" in body
    body = client.get(fix.get_absolute_url()).content.decode()
    assert 'data-testid="tech-debt-advice"' in body and "Old retry loop" in body


def test_estimate_form_and_backlog_take(client, alice, draft_release):
    item = ScopeItemFactory(release=draft_release, kind="tech_debt", title="Drop v1")
    client.force_login(alice)
    url = reverse("tech_debt_estimate_edit", args=[item.pk])
    assert client.post(url, {"effort_days": "2", "risk_reduction": "7"}).status_code == 400
    assert client.post(url, {"effort_days": "2", "risk_reduction": "4"}).status_code == 302
    item.decision, item.rationale = "deferred", "No room."
    item.save()
    assert "Drop v1" in client.get(reverse("maintenance_backlog")).content.decode()
    maintenance = ReleaseFactory(author=alice, kind="maintenance")
    response = client.post(
        reverse("backlog_item_update", args=[item.pk]), {"release": maintenance.key}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.release == maintenance


@pytest.mark.parametrize("size", [1, 8])
def test_list_pages_use_a_constant_number_of_queries(
    client, draft_release, dave, audrey, django_assert_max_num_queries, size
):
    for n in range(size):
        _change(draft_release, dave, title=f"Item {n}")
        ScopeItemFactory(
            release=draft_release, kind="tech_debt", decision="deferred", rationale="x"
        )
    client.force_login(audrey)
    for url in (reverse("scope_change_list"), reverse("maintenance_backlog")):
        with django_assert_max_num_queries(10):
            assert client.get(url).status_code == 200


def test_the_panel_adds_a_constant_number_of_queries_to_the_release_page(
    client, draft_release, dave, paula, payments
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def grow(start, stop):
        for n in range(start, stop):
            _change(draft_release, dave, title=f"Item {n}", service=payments)
            _change(draft_release, dave, kind="emergency_fix", title=f"Fix {n}", service=payments)
            item = ScopeItemFactory(release=draft_release, kind="tech_debt", title=f"Debt {n}")
            TechDebtEstimate.objects.create(scope_item=item, effort_days=1, risk_reduction=2)

    client.force_login(paula)
    client.get(draft_release.get_absolute_url())  # creates the risk configuration once
    counts = []
    for start, stop in ((0, 1), (1, 8)):
        grow(start, stop)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(draft_release.get_absolute_url()).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]
