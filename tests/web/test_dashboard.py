"""The dashboard: counts, what is next, what waits for me."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases import lifecycle
from releases.models import Release
from tests.factories import FreezeWindowFactory, ReleaseFactory, ScopeItemFactory

URL = reverse("dashboard")


@pytest.fixture
def submitted_release(dave, payments):
    release = ReleaseFactory(
        author=dave, name="Payments 2.0", version="2.0.0", services=[(payments, "2.0.0")]
    )
    return lifecycle.submit(release, dave)


def test_dashboard_redirects_anonymous_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_user_without_role_gets_403_on_dashboard(client, nobody):
    client.force_login(nobody)
    assert client.get(URL).status_code == 403


def test_empty_dashboard_invites_a_developer_to_create_a_release(client, dave):
    client.force_login(dave)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "No releases yet" in body
    assert reverse("release_create") in body
    assert "Nothing waits for approval." in body
    assert "No active or upcoming freeze windows." in body
    assert "No deployments yet." in body
    assert "The gate has not been asked yet." in body


def test_auditor_sees_empty_state_without_create_link(client, audrey):
    client.force_login(audrey)
    body = client.get(URL).content.decode()
    assert "No releases yet" in body
    assert reverse("release_create") not in body


def test_dashboard_counts_releases_by_state_and_links_to_the_filtered_list(
    client, alice, draft_release, submitted_release
):
    ReleaseFactory(author=alice)
    client.force_login(alice)
    response = client.get(URL)
    counts = {s["state"]: s["count"] for s in response.context["state_counts"]}
    assert counts["draft"] == 2
    assert counts["submitted"] == 1
    assert counts["approved"] == 0
    body = response.content.decode()
    assert f"{reverse('release_list')}?state=draft" in body


def test_cab_member_sees_which_pending_releases_she_may_approve(
    client, carol, dave, payments, submitted_release
):
    own = ReleaseFactory(author=dave, name="Carol's own", services=[(payments, "3.0.0")])
    ScopeItemFactory(release=own, contributor=carol)
    own = lifecycle.submit(own, dave)
    client.force_login(carol)
    response = client.get(URL)
    pending = {r.key: r for r in response.context["pending"]}
    assert pending[submitted_release.key].may_decide.allowed
    assert not pending[own.key].may_decide.allowed
    body = response.content.decode()
    assert "You may approve" in body
    assert "carol contributed a change to" in body


def test_developer_sees_pending_releases_without_approval_hints(client, dave, submitted_release):
    client.force_login(dave)
    response = client.get(URL)
    assert [r.key for r in response.context["pending"]] == [submitted_release.key]
    assert "You may approve" not in response.content.decode()


def test_dashboard_shows_upcoming_deployments_freezes_and_recent_gate_activity(
    client, alice, bob, carol, dave, payments, environments, submitted_release
):
    approved = lifecycle.approve(submitted_release, carol)
    deployment, _ = lifecycle.start_deployment(approved, environments["dev"], bob)
    later = ReleaseFactory(author=dave, name="Later one", services=[(payments, "2.1.0")])
    lifecycle.submit(later, dave)
    lifecycle.approve(later, carol)
    active = FreezeWindowFactory(name="Quarter close")
    upcoming = FreezeWindowFactory(
        name="Black Friday",
        start=timezone.now() + timedelta(days=10),
        end=timezone.now() + timedelta(days=12),
    )
    FreezeWindowFactory(
        name="Long gone",
        start=timezone.now() - timedelta(days=10),
        end=timezone.now() - timedelta(days=9),
    )
    client.force_login(alice)
    response = client.get(URL)
    assert [r.key for r in response.context["upcoming"]] == [approved.key, later.key]
    assert [f["window"].name for f in response.context["freezes"]] == [active.name, upcoming.name]
    assert response.context["freezes"][0]["is_active"]
    assert not response.context["freezes"][1]["is_active"]
    body = response.content.decode()
    assert "Active now" in body
    assert "Long gone" not in body
    assert reverse("freeze_detail", args=[active.pk]) in body
    assert deployment.get_absolute_url() in body
    assert response.context["recent_gate_decisions"][0].release == approved
    assert deployment.gate_decision.get_absolute_url() in body


def test_dashboard_query_count_does_not_grow_with_releases(
    client, carol, dave, payments, django_assert_max_num_queries
):
    for n in range(12):
        release = ReleaseFactory(author=dave, services=[(payments, f"1.{n}.0")])
        lifecycle.submit(release, dave)
    assert Release.objects.filter(state="submitted").count() == 12
    client.force_login(carol)
    with django_assert_max_num_queries(25):
        assert client.get(URL).status_code == 200


def test_dashboard_shows_the_next_occurrence_of_a_recurring_blackout_and_no_release_windows(
    client, alice
):
    first = (timezone.now() - timedelta(days=30)).replace(hour=8, minute=0, second=0, microsecond=0)
    FreezeWindowFactory(
        name="Daily close",
        kind="blackout",
        rrule="FREQ=DAILY",
        start=first,
        end=first + timedelta(hours=1),
    )
    FreezeWindowFactory(name="Deploy slot", kind="release_window")
    client.force_login(alice)

    freezes = client.get(URL).context["freezes"]

    assert [f["window"].name for f in freezes] == ["Daily close"]
    assert freezes[0]["start"] > timezone.now() - timedelta(hours=1)
    assert freezes[0]["end"] - freezes[0]["start"] == timedelta(hours=1)
