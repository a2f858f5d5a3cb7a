"""Release pages: list, detail, create/edit, lifecycle actions, scope items and deploying."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from governance.models import Approval
from releases import lifecycle
from releases.models import Deployment, Release, ReleaseService, ScopeItem
from tests.factories import (
    DependencyFactory,
    ReleaseFactory,
    ScopeItemFactory,
    ServiceFactory,
    TeamFactory,
    UserFactory,
)

LIST_URL = reverse("release_list")
CREATE_URL = reverse("release_create")
LIST_QUERY_BOUND = 13  # 12 + the navbar bell's unread-notification count
# The same count with 2 or 25 services: one query per panel (scope, impact, approvals and
# policy, risk, CAB, schedule, defects, risks register, deployments, gate, history).
# + quality gates (environments, gates, results); scope changes (+3)
DETAIL_QUERY_BOUND = 48 + 3 + 3
DETAIL_QUERY_BOUND += 8  # Packaging tab: artifacts, migrations, rollback package
DETAIL_QUERY_BOUND += 7  # the Scope tab's train panel: car, pins (+5 library conflicts if pinned)
DETAIL_QUERY_BOUND += 14  # API compatibility (2), hotfix carry-forward (6), integration (6)
DETAIL_QUERY_BOUND += 5  # Validation tab: rollback scope (services, steps, edges), DR tests (2)
# Stabilisation tab: KPI window and charts, incidents, integrity checks, tickets, drift and the
# runbook checklist (constant with 1 or 8 services: tests/releases/test_dr_pages.py).
DETAIL_QUERY_BOUND += 4
DETAIL_QUERY_BOUND += 1  # the quality score panel (metrics.quality_score): one query
# On SQLite the page with 8 services reads one query more than with 1 (94 vs 93; PostgreSQL 93
# both): a panel with a branch that depends on the data, not a query per service. To pin down.
DETAIL_QUERY_BOUND += 1


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def action_url(release, action):
    return reverse("release_action", args=[release.key, action])


@pytest.fixture
def checkout(db):
    team = TeamFactory(slug="shop", name="Shop")
    return ServiceFactory(slug="checkout", name="Checkout", team=team)


def release_form_data(**overrides):
    start = timezone.now() + timedelta(days=3)
    data = {
        "name": "Payments spring release",
        "version": "1.5.0",
        "kind": "feature",
        "change_type": "normal",
        "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
        "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "owner": "",
        "description": "New card flow.",
        "rollback_plan": "Redeploy 1.4.2.",
        "services-TOTAL_FORMS": "2",
        "services-INITIAL_FORMS": "0",
        "services-MIN_NUM_FORMS": "0",
        "services-MAX_NUM_FORMS": "1000",
        "services-0-service": "payments-api",
        "services-0-version": "1.5.0",
        "services-1-service": "",
        "services-1-version": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------- access


@pytest.mark.parametrize(
    "name", ["release_list", "release_detail", "release_create", "release_edit"]
)
def test_anonymous_is_sent_to_login(client, draft_release, name):
    args = [] if name in ("release_list", "release_create") else [draft_release.key]
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "name", ["release_list", "release_detail", "release_create", "release_edit"]
)
def test_user_without_role_gets_403(client, nobody, draft_release, name):
    args = [] if name in ("release_list", "release_create") else [draft_release.key]
    client.force_login(nobody)
    assert client.get(reverse(name, args=args)).status_code == 403


def test_auditor_reads_but_cannot_create_or_edit(client, audrey, draft_release):
    client.force_login(audrey)
    assert client.get(LIST_URL).status_code == 200
    assert client.get(draft_release.get_absolute_url()).status_code == 200
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, release_form_data()).status_code == 403
    assert client.get(reverse("release_edit", args=[draft_release.key])).status_code == 403
    assert Release.objects.count() == 1


def test_action_post_needs_login_and_a_role(client, nobody, draft_release):
    response = client.post(action_url(draft_release, "submit"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(nobody)
    assert client.post(action_url(draft_release, "submit")).status_code == 403
    draft_release.refresh_from_db()
    assert draft_release.state == "draft"


# ---------------------------------------------------------------- list


def test_release_list_shows_releases_with_their_services(client, audrey, draft_release):
    client.force_login(audrey)
    response = client.get(LIST_URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert draft_release.key in body
    assert "Payments 1.4.2" in body
    assert "Payments API" in body
    assert 'class="badge state-badge state-draft"' in body
    assert "New release" not in body


def test_developer_sees_new_release_button(client, dave):
    client.force_login(dave)
    response = client.get(LIST_URL)
    body = response.content.decode()
    assert CREATE_URL in body
    assert "No releases yet" in body


def test_release_list_filters_by_state_search_and_service(
    client, alice, dave, draft_release, payments, checkout
):
    other = ReleaseFactory(author=dave, name="Checkout revamp", services=[(checkout, "2.0.0")])
    lifecycle.submit(other, dave)
    client.force_login(alice)

    submitted = client.get(LIST_URL, {"state": ["submitted"]}).context["releases"]
    assert [r.key for r in submitted] == [other.key]
    both = client.get(LIST_URL, {"state": ["submitted", "draft"]}).context["releases"]
    assert {r.key for r in both} == {other.key, draft_release.key}
    assert [r.key for r in client.get(LIST_URL, {"q": "revamp"}).context["releases"]] == [other.key]
    by_service = client.get(LIST_URL, {"service": "payments-api"}).context["releases"]
    assert [r.key for r in by_service] == [draft_release.key]
    by_team = client.get(LIST_URL, {"team": "shop"}).context["releases"]
    assert [r.key for r in by_team] == [other.key]
    response = client.get(LIST_URL, {"q": "nothing like this"})
    assert "No releases match these filters." in response.content.decode()
    response = client.get(LIST_URL, {"owner": "ghost"})
    assert response.status_code == 200
    assert "These filters were not understood and are ignored" in response.content.decode()


def test_release_list_paginates(client, alice):
    author = UserFactory(username="author")
    for _ in range(30):
        ReleaseFactory(author=author)
    client.force_login(alice)
    first = client.get(LIST_URL)
    assert len(first.context["releases"]) == 25
    assert "Page 1 of 2" in first.content.decode()
    second = client.get(LIST_URL, {"page": 2})
    assert len(second.context["releases"]) == 5


@pytest.mark.parametrize("rows", [5, 200])
def test_release_list_query_count_is_bounded(
    client, alice, payments, checkout, rows, django_assert_max_num_queries
):
    authors = [UserFactory(username=f"dev{i}") for i in range(3)]
    for i in range(rows):
        ReleaseFactory(
            author=authors[i % 3],
            services=[(payments, f"1.{i}.0"), (checkout, f"2.{i}.0")],
        )
    client.force_login(alice)
    with django_assert_max_num_queries(LIST_QUERY_BOUND):
        response = client.get(LIST_URL, {"state": ["draft"], "team": "payments"})
    assert response.status_code == 200
    assert len(response.context["releases"]) == min(rows, 25)


# ---------------------------------------------------------------- create / edit


def test_developer_creates_a_release_through_the_form(client, dave, payments, checkout):
    client.force_login(dave)
    assert client.get(CREATE_URL).status_code == 200
    data = release_form_data(
        **{
            "services-1-service": "checkout",
            "services-1-version": "v2.0.0-rc.1",
        }
    )
    response = client.post(CREATE_URL, data)
    release = Release.objects.get()
    assert response.status_code == 302
    assert response.url == release.get_absolute_url()
    assert release.author == dave
    assert release.owner == dave
    assert release.state == "draft"
    assert {(rs.service.slug, rs.version) for rs in release.release_services.all()} == {
        ("payments-api", "1.5.0"),
        ("checkout", "v2.0.0-rc.1"),
    }
    record = release.history.get()
    assert record.history_user == dave
    assert record.history_change_reason == "created"
    assert ReleaseService.history.filter(history_user=dave).count() == 2
    assert f"{release.key} created" in " ".join(messages_of(response))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"version": "banana"}, "version", "Enter a version such as"),
        ({"services-0-version": "banana"}, "version", "Enter a version such as"),
        ({"services-0-service": "no-such-service"}, "service", "Unknown service"),
        (
            {"services-1-service": "payments-api", "services-1-version": "1.5.1"},
            "service",
            "already listed",
        ),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_invalid_release_form_shows_field_errors_and_creates_nothing(
    client, dave, payments, overrides, field, message
):
    client.force_login(dave)
    response = client.post(CREATE_URL, release_form_data(**overrides))
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body
    assert "Nothing was saved" in body
    errors = dict(response.context["form"].errors)
    for row in response.context["formset"].errors:
        errors.update(row)
    assert field in errors
    assert Release.objects.count() == 0
    assert ReleaseService.objects.count() == 0


def test_planned_end_before_start_is_a_field_error_from_the_model(client, dave, payments):
    client.force_login(dave)
    start = timezone.now() + timedelta(days=3)
    data = release_form_data(
        planned_start=start.strftime("%Y-%m-%dT%H:%M"),
        planned_end=(start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
    )
    response = client.post(CREATE_URL, data)
    assert response.status_code == 200
    assert response.context["form"].errors["planned_end"] == [
        "The planned end must be after the planned start."
    ]
    assert Release.objects.count() == 0
    assert ReleaseService.objects.count() == 0


def test_developer_edits_a_draft_and_changes_its_services(
    client, dave, draft_release, payments, checkout
):
    client.force_login(dave)
    edit = reverse("release_edit", args=[draft_release.key])
    page = client.get(edit)
    assert page.status_code == 200
    assert 'value="1.4.2"' in page.content.decode()
    data = release_form_data(
        **{
            "name": "Payments 1.4.3",
            "version": "1.4.3",
            "owner": "",
            "services-TOTAL_FORMS": "2",
            "services-INITIAL_FORMS": "1",
            "services-0-service": "payments-api",
            "services-0-version": "1.4.3",
            "services-1-service": "checkout",
            "services-1-version": "7.0",
        }
    )
    response = client.post(edit, data)
    assert response.status_code == 302
    draft_release.refresh_from_db()
    assert draft_release.name == "Payments 1.4.3"
    assert {(rs.service.slug, rs.version) for rs in draft_release.release_services.all()} == {
        ("payments-api", "1.4.3"),
        ("checkout", "7.0"),
    }
    assert draft_release.history.first().history_change_reason == "edited"

    # Remove checkout again with the row's delete box.
    data.update(
        {
            "services-INITIAL_FORMS": "2",
            "services-0-version": "1.4.3",
            "services-1-DELETE": "on",
        }
    )
    client.post(edit, data)
    assert [rs.service.slug for rs in draft_release.release_services.all()] == ["payments-api"]
    assert ReleaseService.history.filter(history_type="-", service_id=checkout.pk).exists()


def test_submitted_release_cannot_be_edited(client, dave, draft_release):
    lifecycle.submit(draft_release, dave)
    client.force_login(dave)
    edit = reverse("release_edit", args=[draft_release.key])
    response = client.get(edit)
    assert response.status_code == 302
    assert "its content can only change while it is a draft" in " ".join(messages_of(response))
    response = client.post(edit, release_form_data(name="Sneaky rename"))
    assert response.status_code == 302
    draft_release.refresh_from_db()
    assert draft_release.name == "Payments 1.4.2"


def test_release_manager_deletes_a_draft_but_not_a_submitted_release(
    client, alice, dave, draft_release, payments
):
    client.force_login(alice)
    delete = reverse("release_delete", args=[draft_release.key])
    assert client.get(delete).status_code == 200
    response = client.post(delete)
    assert response.status_code == 302
    assert not Release.objects.filter(pk=draft_release.pk).exists()

    other = ReleaseFactory(author=dave, services=[(payments, "9.0.0")])
    lifecycle.submit(other, dave)
    client.post(reverse("release_delete", args=[other.key]))
    assert Release.objects.filter(pk=other.pk).exists()


def test_developer_may_not_delete_releases(client, dave, draft_release):
    client.force_login(dave)
    assert client.post(reverse("release_delete", args=[draft_release.key])).status_code == 403
    assert Release.objects.filter(pk=draft_release.pk).exists()


# ---------------------------------------------------------------- detail


def test_release_detail_shows_every_section(
    client, alice, bob, carol, dave, draft_release, payments, environments
):
    team = TeamFactory(slug="web", name="Web")
    storefront = ServiceFactory(slug="storefront", name="Storefront", team=team)
    DependencyFactory(service=storefront, depends_on=payments)
    ScopeItemFactory(
        release=draft_release,
        title="Card tokenisation",
        reference="PAY-12",
        service=payments,
        contributor=dave,
    )
    ScopeItemFactory(
        release=draft_release,
        title="Legacy cleanup",
        decision="deferred",
        rationale="Not enough test time.",
    )
    lifecycle.submit(draft_release, dave, "ready")
    lifecycle.approve(draft_release, carol, "looks fine")
    lifecycle.start_deployment(draft_release, environments["dev"], bob)

    client.force_login(alice)
    response = client.get(draft_release.get_absolute_url())
    assert response.status_code == 200
    body = response.content.decode()
    # Header
    assert draft_release.key in body and "Payments 1.4.2" in body
    assert "state-deploying" in body
    assert "Multi-system" in body
    # Overview
    assert reverse("service_detail", args=["payments-api"]) in body
    # Scope
    assert "Card tokenisation" in body and "PAY-12" in body
    assert "Not enough test time." in body
    # Impact
    assert "payments-api → storefront" in body
    assert "Customer-facing services in the blast radius" in body
    # Approvals
    assert "looks fine" in body and "cab_member" in body
    assert "1 of 1 cab_member approval(s)" in body
    # Deployments and gate decisions
    deployment = Deployment.objects.get()
    assert deployment.get_absolute_url() in body
    assert deployment.gate_decision.get_absolute_url() in body
    # History, with who and why
    assert "submit: draft → submitted — ready" in body
    assert "approve: submitted → approved — looks fine" in body
    assert "Scope item “Card tokenisation”" in body


def test_release_detail_query_count_is_bounded(
    client, alice, bob, carol, dave, payments, environments, django_assert_max_num_queries
):
    def build(size):
        services = [ServiceFactory() for _ in range(size)]
        release = ReleaseFactory(author=dave, services=[(s, "1.0.0") for s in services])
        for i in range(size):
            DependencyFactory(service=ServiceFactory(), depends_on=services[i])
            ScopeItemFactory(release=release, service=services[i], contributor=dave)
        lifecycle.submit(release, dave)
        lifecycle.approve(release, carol)
        for _ in range(min(size, 3)):
            deployment, _ = lifecycle.start_deployment(release, environments["dev"], bob)
            lifecycle.record_event(deployment, bob, type="failed")
        return release

    client.force_login(carol)
    for size in (2, 25):
        release = build(size)
        with django_assert_max_num_queries(DETAIL_QUERY_BOUND):
            assert client.get(release.get_absolute_url()).status_code == 200


def test_unknown_release_is_404(client, alice):
    client.force_login(alice)
    assert client.get(reverse("release_detail", args=["REL-1900-0001"])).status_code == 404


def test_detail_offers_the_actions_the_lifecycle_allows(client, dave, carol, draft_release):
    client.force_login(dave)
    actions = [a["name"] for a in client.get(draft_release.get_absolute_url()).context["actions"]]
    assert actions == ["submit"]
    lifecycle.submit(draft_release, dave)
    client.force_login(carol)
    response = client.get(draft_release.get_absolute_url())
    assert [a["name"] for a in response.context["actions"]] == ["approve", "reject"]
    assert response.context["may_decide"].allowed
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()


# ---------------------------------------------------------------- actions


def test_dave_submits_and_carol_approves_through_the_action_buttons(
    client, dave, carol, draft_release
):
    client.force_login(dave)
    response = client.post(action_url(draft_release, "submit"), {"comment": "ready for CAB"})
    assert response.status_code == 302
    draft_release.refresh_from_db()
    assert draft_release.state == "submitted"
    assert "is now submitted" in " ".join(messages_of(response))

    client.force_login(carol)
    response = client.post(action_url(draft_release, "approve"), {"comment": "ship it"})
    assert response.status_code == 302
    draft_release.refresh_from_db()
    assert draft_release.state == "approved"
    latest = draft_release.history.first()
    assert latest.history_user == carol
    assert latest.history_change_reason == "approve: submitted → approved — ship it"
    approval = Approval.objects.get()
    assert (approval.approver, approval.comment) == (carol, "ship it")
    page = client.get(draft_release.get_absolute_url())
    assert "ship it" in page.content.decode()
    newest = page.context["history"][0]
    assert newest["user"] == carol
    assert {"field": "state", "old": "Submitted", "new": "Approved"} in newest["changes"]


def test_dave_cannot_approve_his_own_release(client, dave, draft_release):
    lifecycle.submit(draft_release, dave)
    client.force_login(dave)
    response = client.post(action_url(draft_release, "approve"), {"comment": "mine"})
    assert response.status_code == 403
    body = response.content.decode()
    assert "Your role may not approve releases (your roles: developer)." in body
    assert "governance.approve_release" not in body
    assert "alert-danger" in body
    draft_release.refresh_from_db()
    assert draft_release.state == "submitted"
    assert not Approval.objects.exists()


def test_cab_member_who_contributed_cannot_approve(client, carol, dave, draft_release):
    ScopeItemFactory(release=draft_release, contributor=carol)
    lifecycle.submit(draft_release, dave)
    client.force_login(carol)
    response = client.post(action_url(draft_release, "approve"))
    assert response.status_code == 403
    assert "carol contributed a change to" in response.content.decode()
    draft_release.refresh_from_db()
    assert draft_release.state == "submitted"


def test_illegal_transition_is_shown_as_an_error(client, alice, draft_release):
    client.force_login(alice)
    response = client.post(action_url(draft_release, "close"))
    assert response.status_code == 302
    assert "Cannot close" in " ".join(messages_of(response))
    draft_release.refresh_from_db()
    assert draft_release.state == "draft"


def test_submitting_a_release_without_services_explains_why_not(client, dave):
    release = ReleaseFactory(author=dave)
    client.force_login(dave)
    response = client.post(action_url(release, "submit"), follow=True)
    assert "ships no services" in response.content.decode()
    release.refresh_from_db()
    assert release.state == "draft"


def test_unknown_action_is_404(client, alice, draft_release):
    client.force_login(alice)
    assert client.post(action_url(draft_release, "explode")).status_code == 404


def test_action_urls_refuse_get(client, alice, draft_release):
    client.force_login(alice)
    assert client.get(action_url(draft_release, "submit")).status_code == 405


# ---------------------------------------------------------------- scope items


def test_product_owner_adds_a_scope_item_with_htmx(client, paula, draft_release, payments):
    client.force_login(paula)
    url = reverse("scope_item_add", args=[draft_release.key])
    form = client.get(url, HTTP_HX_REQUEST="true")
    assert form.status_code == 200
    assert 'id="scope-section"' in form.content.decode()
    assert "<html" not in form.content.decode()
    response = client.post(
        url,
        {
            "title": "3-D Secure",
            "kind": "feature",
            "decision": "included",
            "reference": "PAY-77",
            "service": payments.pk,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "Scope item “3-D Secure” added." in response.content.decode()
    item = ScopeItem.objects.get()
    assert item.release == draft_release and item.reference == "PAY-77"
    assert item.history.get().history_user == paula


def test_deferring_a_scope_item_needs_a_rationale(client, paula, draft_release):
    client.force_login(paula)
    response = client.post(
        reverse("scope_item_add", args=[draft_release.key]),
        {"title": "Later", "kind": "fix", "decision": "deferred", "rationale": " "},
    )
    assert response.status_code == 200
    assert "Say why the item is deferred or removed." in response.content.decode()
    assert not ScopeItem.objects.exists()


def test_scope_item_edit_and_delete(client, dave, draft_release):
    item = ScopeItemFactory(release=draft_release, title="Old title")
    client.force_login(dave)
    edit = reverse("scope_item_edit", args=[draft_release.key, item.pk])
    assert client.get(edit).status_code == 200
    response = client.post(
        edit, {"title": "New title", "kind": "fix", "decision": "removed", "rationale": "Dup."}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.title, item.decision) == ("New title", "removed")
    response = client.post(reverse("scope_item_delete", args=[draft_release.key, item.pk]))
    assert response.status_code == 302
    assert not ScopeItem.objects.exists()


def test_scope_is_locked_once_submitted(client, dave, draft_release):
    item = ScopeItemFactory(release=draft_release, title="Frozen")
    lifecycle.submit(draft_release, dave)
    client.force_login(dave)
    response = client.post(
        reverse("scope_item_add", args=[draft_release.key]),
        {"title": "Late addition", "kind": "fix", "decision": "included"},
        HTTP_HX_REQUEST="true",
    )
    assert "its content can only change while it is a draft" in response.content.decode()
    client.post(reverse("scope_item_delete", args=[draft_release.key, item.pk]))
    assert list(ScopeItem.objects.values_list("title", flat=True)) == ["Frozen"]


def test_cab_member_may_not_change_scope(client, carol, draft_release):
    client.force_login(carol)
    response = client.post(
        reverse("scope_item_add", args=[draft_release.key]),
        {"title": "Sneaky", "kind": "fix", "decision": "included"},
    )
    assert response.status_code == 403
    assert not ScopeItem.objects.exists()


# ---------------------------------------------------------------- deploying


@pytest.fixture
def approved_release(dave, carol, draft_release):
    lifecycle.submit(draft_release, dave)
    return lifecycle.approve(draft_release, carol)


def test_deployer_starts_a_deployment_from_the_release_page(
    client, bob, approved_release, environments
):
    client.force_login(bob)
    page = client.get(approved_release.get_absolute_url())
    assert page.context["can_deploy"]
    response = client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "dev", "strategy": "canary", "commit": "abc1234"},
    )
    deployment = Deployment.objects.get()
    assert response.status_code == 302
    assert response.url == deployment.get_absolute_url()
    assert (deployment.environment.slug, deployment.strategy, deployment.started_by) == (
        "dev",
        "canary",
        bob,
    )
    approved_release.refresh_from_db()
    assert approved_release.state == "deploying"


def test_gate_refusal_shows_the_failing_checks(client, bob, approved_release, environments):
    client.force_login(bob)
    response = client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "production", "strategy": "rolling"},
    )
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-code="promotion_order"' in body
    assert "must be deployed successfully to Staging before Production" in body
    assert not Deployment.objects.exists()


def test_invalid_deploy_form_shows_errors(client, bob, approved_release, environments):
    client.force_login(bob)
    response = client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "mars", "strategy": "rolling", "commit": "not-a-sha"},
    )
    assert response.status_code == 200
    errors = response.context["deploy_form"].errors
    assert "environment" in errors and "commit" in errors
    assert not Deployment.objects.exists()


def test_developer_may_not_start_deployments(client, dave, approved_release, environments):
    client.force_login(dave)
    response = client.post(
        reverse("release_deploy", args=[approved_release.key]),
        {"environment": "dev", "strategy": "rolling"},
    )
    assert response.status_code == 403
    assert not Deployment.objects.exists()
