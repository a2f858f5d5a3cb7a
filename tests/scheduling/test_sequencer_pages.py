"""The sequencing page: Gantt chart, missed deadlines with reasons, applying the dates."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from scheduling import sequencer
from scheduling.models import Environment, ReleaseDependency, ValidationNeed
from tests.factories import EnvironmentFactory, ReleaseFactory

H = timedelta(hours=1)
QUARTER = "2031-Q2"
Q_START = datetime(2031, 4, 1, tzinfo=UTC)


@pytest.fixture
def staging(db):
    return EnvironmentFactory(slug="staging", name="Staging", order=2, capacity=1)


def quarter_release(author, name, hours=None, env=None, **fields):
    release = ReleaseFactory(
        author=author, name=name, planned_start=Q_START + timedelta(days=10), **fields
    )
    if hours:
        ValidationNeed.objects.create(release=release, environment=env, hours=hours)
    return release


def url(quarter=QUARTER):
    return reverse("sequencing") + f"?quarter={quarter}"


def test_the_page_shows_the_gantt_chart_and_why_a_deadline_is_missed(client, audrey, dave, staging):
    first = quarter_release(dave, "First", 48, staging, deadline=Q_START + 3 * 24 * H)
    late = quarter_release(dave, "Late", 48, staging, deadline=Q_START + 3 * 24 * H + H)
    client.force_login(audrey)

    response = client.get(url())

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="gantt"' in page
    assert (
        f'data-release="{first.key}"' in page
        and f'data-release="{late.key}" class="missed"' in page
    )
    missed = page.split('data-testid="missed-deadlines"')[1].split("</table>")[0]
    assert f">{late.key}</a>" in missed and f">{first.key}</a>" not in missed
    assert f"Capacity of Staging (1) is taken by {first.key}" in missed
    assert "Apply proposed dates" not in page  # the auditor reads only


def test_a_dependency_cycle_is_shown_as_an_error(client, alice, dave, staging):
    a = quarter_release(dave, "A", 2, staging)
    b = quarter_release(dave, "B", 2, staging)
    ReleaseDependency.objects.create(release=a, after=b)
    ReleaseDependency.objects.create(release=b, after=a)
    client.force_login(alice)
    page = client.get(url()).content.decode()
    assert 'data-testid="plan-error"' in page
    assert "Dependency cycle" in page and f"{a.key} after {b.key}" in page


def test_a_bad_quarter_is_explained_and_the_current_one_shown(client, audrey, db):
    client.force_login(audrey)
    response = client.get(url("2031-Q9"), follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "write it like 2027-Q1" in page
    assert f"Sequencing {sequencer.quarter_of(datetime.now(UTC))}" in page


def test_a_release_manager_applies_the_proposed_dates_with_the_reason_sequenced(
    client, alice, dave, staging
):
    release = quarter_release(dave, "R", 10, staging)
    client.force_login(alice)
    page = client.get(url())
    fingerprint = page.context["fingerprint"]
    item = page.context["plan"].get(release.key)

    response = client.post(
        reverse("sequencing_update"), {"quarter": QUARTER, "fingerprint": fingerprint}
    )

    assert response.status_code == 302 and response["Location"].endswith(f"?quarter={QUARTER}")
    release.refresh_from_db()
    assert release.planned_start == item.ship_start == Q_START + 10 * H
    assert release.history.order_by("-history_id").first().history_change_reason == "sequenced"


def test_a_stale_plan_is_not_applied(client, alice, dave, staging):
    release = quarter_release(dave, "R", 10, staging)
    before = release.planned_start
    client.force_login(alice)
    fingerprint = client.get(url()).context["fingerprint"]
    quarter_release(dave, "Newcomer", 30, staging, compliance_deadline=Q_START + 40 * H)

    response = client.post(
        reverse("sequencing_update"), {"quarter": QUARTER, "fingerprint": fingerprint}, follow=True
    )

    assert "The plan changed since you looked at it" in response.content.decode()
    release.refresh_from_db()
    assert release.planned_start == before


@pytest.mark.parametrize("persona", ["dave", "audrey", "carol"])
def test_only_release_managers_apply_a_sequence(client, persona, request, dave, staging):
    release = quarter_release(dave, "R", 10, staging)
    before = release.planned_start
    client.force_login(request.getfixturevalue(persona))
    response = client.post(reverse("sequencing_update"), {"quarter": QUARTER, "fingerprint": "x"})
    assert response.status_code == 403
    release.refresh_from_db()
    assert release.planned_start == before


def test_the_apply_url_refuses_a_get(client, alice, db):
    client.force_login(alice)
    assert client.get(reverse("sequencing_update")).status_code == 405


@pytest.mark.parametrize("rows", [5, 200])
def test_the_sequencing_page_runs_a_bounded_number_of_queries(
    client, audrey, dave, rows, django_assert_max_num_queries
):
    envs = [
        EnvironmentFactory(slug=f"e{i}", name=f"E{i}", order=i + 1, capacity=2) for i in range(3)
    ]
    releases = [
        quarter_release(dave, f"R{i}", deadline=Q_START + timedelta(days=i % 20))
        for i in range(rows)
    ]
    ValidationNeed.objects.bulk_create(
        ValidationNeed(release=r, environment=envs[i % 3], hours=4 + i % 5)
        for i, r in enumerate(releases)
    )
    ReleaseDependency.objects.bulk_create(
        ReleaseDependency(release=releases[i], after=releases[i - 1]) for i in range(1, rows, 3)
    )
    client.force_login(audrey)
    with django_assert_max_num_queries(24):
        response = client.get(url())
    assert response.status_code == 200
    assert len(response.context["plan"].releases) == rows
    assert Environment.objects.count() == 3
