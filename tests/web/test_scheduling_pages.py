"""Environment and freeze-window pages."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releases.models import Deployment
from scheduling.models import Environment, FreezeWindow
from tests.factories import EnvironmentFactory, FreezeWindowFactory, ReleaseFactory, ServiceFactory


def local(moment):
    """The value a datetime-local input would send for ``moment``."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def windows(db, environments, payments):
    """A current freeze of payments-api in production, an upcoming global one, a past one."""
    now = timezone.now()
    current = FreezeWindowFactory(
        name="Payments freeze", start=now - timedelta(hours=1), end=now + timedelta(hours=3)
    )
    current.services.add(payments)
    current.environments.add(environments["production"])
    upcoming = FreezeWindowFactory(
        name="Year-end freeze",
        start=now + timedelta(days=10),
        end=now + timedelta(days=20),
        reason="Trading peak",
    )
    past = FreezeWindowFactory(
        name="Last audit", start=now - timedelta(days=30), end=now - timedelta(days=29)
    )
    return {"current": current, "upcoming": upcoming, "past": past}


def urls(environments, windows):
    return [
        reverse("environment_list"),
        reverse("environment_detail", args=["production"]),
        reverse("environment_create"),
        reverse("freeze_list"),
        reverse("freeze_detail", args=[windows["current"].pk]),
        reverse("freeze_create"),
        reverse("freeze_update", args=[windows["current"].pk]),
    ]


def test_anonymous_visitor_is_sent_to_login_from_scheduling_pages(client, environments, windows):
    for url in urls(environments, windows):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login"))


def test_user_without_a_role_gets_403_on_scheduling_pages(login, nobody, environments, windows):
    client = login(nobody)
    for url in urls(environments, windows):
        assert client.get(url).status_code == 403, url


# --- environments -------------------------------------------------------------------------


def test_environment_list_is_in_promotion_order_with_production_flagged(
    login, dave, environments, windows
):
    html = login(dave).get(reverse("environment_list")).content.decode()
    table = html[html.index('data-testid="environment-table"') :]
    positions = [table.index(f">{name}</a>") for name in ("Dev", "Test", "Staging", "Production")]
    assert positions == sorted(positions)
    production_row = table[table.index(">Production</a>") :].split("</tr>")[0]
    assert "production</span>" in production_row
    assert "Payments freeze" in production_row  # frozen now
    staging_row = table[table.index(">Staging</a>") :].split("</tr>")[0]
    assert "Payments freeze" not in staging_row


def test_environment_detail_shows_recent_deployments_and_covering_freezes(
    login, bob, dave, environments, windows, payments
):
    release = ReleaseFactory(author=dave, name="Payments 2.0", services=[(payments, "2.0.0")])
    Deployment.objects.create(
        release=release,
        environment=environments["production"],
        started_by=bob,
        started_at=timezone.now() - timedelta(hours=2),
    )
    other = FreezeWindowFactory(name="Staging only")
    other.environments.add(environments["staging"])
    html = login(dave).get(reverse("environment_detail", args=["production"])).content.decode()
    deployments = html[html.index('data-testid="environment-deployments"') :].split("</table>")[0]
    assert release.key in deployments and "bob" in deployments and "Running" in deployments
    freezes = html[html.index('data-testid="environment-freezes"') :]
    assert "Payments freeze" in freezes and "Year-end freeze" in freezes
    assert "Staging only" not in freezes and "Last audit" not in freezes


def test_release_manager_creates_an_environment(login, alice, environments):
    client = login(alice)
    form = client.get(reverse("environment_create")).content.decode()
    assert 'value="5"' in form  # next free promotion order suggested
    response = client.post(
        reverse("environment_create"),
        {"slug": "perf", "name": "Performance", "order": "5", "description": "Load tests"},
    )
    assert response.status_code == 302
    env = Environment.objects.get(slug="perf")
    assert not env.is_production and env.order == 5
    assert env.history.latest().history_user == alice


def test_duplicate_promotion_order_is_refused_and_nothing_is_written(login, alice, environments):
    response = login(alice).post(
        reverse("environment_create"), {"slug": "perf", "name": "Performance", "order": "3"}
    )
    assert response.status_code == 200
    assert "Staging already has promotion order 3" in response.content.decode()
    assert not Environment.objects.filter(slug="perf").exists()


def test_editing_an_environment_keeps_its_own_order(login, alice, environments):
    response = login(alice).post(
        reverse("environment_update", args=["staging"]),
        {"slug": "staging", "name": "Pre-production", "order": "3", "change_reason": "rename"},
    )
    assert response.status_code == 302
    env = Environment.objects.get(slug="staging")
    assert env.name == "Pre-production"
    assert env.history.latest().history_change_reason == "rename"


def test_developer_cannot_create_or_edit_an_environment(login, dave, environments):
    client = login(dave)
    response = client.post(
        reverse("environment_create"), {"slug": "perf", "name": "Performance", "order": "9"}
    )
    assert response.status_code == 403
    assert not Environment.objects.filter(slug="perf").exists()
    response = client.post(
        reverse("environment_update", args=["dev"]), {"slug": "dev", "name": "X", "order": "1"}
    )
    assert response.status_code == 403
    assert Environment.objects.get(slug="dev").name == "Dev"


def test_environment_with_deployments_cannot_be_deleted(
    login, alice, bob, environments, draft_release
):
    Deployment.objects.create(
        release=draft_release,
        environment=environments["dev"],
        started_by=bob,
        started_at=timezone.now(),
    )
    response = login(alice).post(reverse("environment_delete", args=["dev"]), follow=True)
    assert Environment.objects.filter(slug="dev").exists()
    assert "cannot be deleted" in response.content.decode()


def test_unused_environment_is_deleted_after_confirmation(login, alice, environments):
    client = login(alice)
    assert client.get(reverse("environment_delete", args=["test"])).status_code == 200
    assert client.post(reverse("environment_delete", args=["test"])).status_code == 302
    assert not Environment.objects.filter(slug="test").exists()


@pytest.mark.parametrize("rows", [5, 200])
def test_environment_list_runs_a_bounded_number_of_queries(
    login, dave, rows, django_assert_max_num_queries
):
    for i in range(rows):
        EnvironmentFactory(slug=f"e-{i}", order=i + 1)
    window = FreezeWindowFactory()
    window.environments.add(Environment.objects.first())
    client = login(dave)
    client.get(reverse("environment_list"))
    # Session and permissions, the list, the active windows with their environments, the
    # navbar's roles and unread notifications: a constant, whatever the number of rows.
    with django_assert_max_num_queries(10):
        assert client.get(reverse("environment_list")).status_code == 200


# --- freeze windows -----------------------------------------------------------------------


def test_freeze_list_groups_active_upcoming_and_ended_windows_with_their_scope(
    login, audrey, windows
):
    html = login(audrey).get(reverse("freeze_list")).content.decode()
    table = html[html.index('data-testid="freeze-table"') :]
    order = [table.index(name) for name in ("Payments freeze", "Year-end freeze", "Last audit")]
    assert order == sorted(order)
    assert table.index("Active now") < table.index("Upcoming") < table.index("Ended")
    current_row = table[table.index("Payments freeze") :].split("</tr>")[0]
    assert "Payments API" in current_row and "Production" in current_row
    upcoming_row = table[table.index("Year-end freeze") :].split("</tr>")[0]
    assert "All services" in upcoming_row and "All environments" in upcoming_row


def test_freeze_list_filters_by_time_and_scope(login, audrey, windows, payments):
    client = login(audrey)
    html = client.get(reverse("freeze_list"), {"when": "past"}).content.decode()
    assert "Last audit" in html and "Payments freeze" not in html
    html = client.get(reverse("freeze_list"), {"when": "current"}).content.decode()
    assert "Payments freeze" in html and "Year-end freeze" not in html
    other = ServiceFactory(slug="search")
    html = client.get(reverse("freeze_list"), {"service": other.slug}).content.decode()
    table = html[html.index('data-testid="freeze-table"') :]
    # A window with no services covers every service; the payments-only one does not.
    assert "Year-end freeze" in table and "Payments freeze" not in table
    html = client.get(reverse("freeze_list"), {"environment": "staging"}).content.decode()
    table = html[html.index('data-testid="freeze-table"') :]
    assert "Year-end freeze" in table and "Payments freeze" not in table


def test_freeze_list_answers_htmx_with_the_table_only(login, audrey, windows):
    response = login(audrey).get(
        reverse("freeze_list"), {"when": "upcoming"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="freeze-results">')
    assert "Year-end freeze" in html and "Last audit" not in html


@pytest.mark.parametrize("rows", [5, 200])
def test_freeze_list_runs_a_bounded_number_of_queries(
    login, dave, rows, environments, payments, django_assert_max_num_queries
):
    now = timezone.now()
    for i in range(rows):
        window = FreezeWindowFactory(
            start=now + timedelta(days=i - rows // 2),
            end=now + timedelta(days=i - rows // 2, hours=4),
        )
        window.services.add(payments)
        window.environments.add(environments["production"], environments["staging"])
    client = login(dave)
    client.get(reverse("freeze_list"))
    # The page, the windows with their four scope relations, the filter choices (services,
    # teams, environments, regions) and the navbar: a constant, whatever the number of rows.
    with django_assert_max_num_queries(18):
        assert client.get(reverse("freeze_list")).status_code == 200
    with django_assert_max_num_queries(19):
        response = client.get(reverse("freeze_list"), {"service": payments.slug, "page": 2})
        assert response.status_code == 200


def test_freeze_detail_shows_scope_timing_creator_and_history(login, alice, dave, windows):
    window = windows["current"]
    window.created_by = alice
    window.save()
    html = login(dave).get(window.get_absolute_url()).content.decode()
    assert "Active now" in html
    facts = html[html.index('data-testid="freeze-facts"') :]
    assert "Payments API" in facts and "Production" in facts and "alice" in facts
    assert 'data-testid="history"' in html
    html = login(dave).get(windows["upcoming"].get_absolute_url()).content.decode()
    assert "Upcoming" in html and "All services" in html and "Trading peak" in html


def test_release_manager_creates_a_scoped_freeze_and_is_recorded_as_creator(
    login, alice, environments, payments
):
    start = timezone.now() + timedelta(days=1)
    response = login(alice).post(
        reverse("freeze_create"),
        {
            "name": "Black Friday",
            "reason": "Peak trading",
            "start": local(start),
            "end": local(start + timedelta(days=3)),
            "services": [payments.pk],
            "environments": [environments["production"].pk],
        },
    )
    assert response.status_code == 302
    window = FreezeWindow.objects.get(name="Black Friday")
    assert window.created_by == alice
    assert list(window.services.all()) == [payments]
    assert list(window.environments.all()) == [environments["production"]]
    assert window.end - window.start == timedelta(days=3)
    assert window.history.latest().history_user == alice


def test_freeze_with_empty_scope_covers_everything(login, alice):
    start = timezone.now()
    login(alice).post(
        reverse("freeze_create"),
        {"name": "Everything", "start": local(start), "end": local(start + timedelta(hours=2))},
    )
    window = FreezeWindow.objects.get(name="Everything")
    assert not window.services.exists() and not window.environments.exists()
    html = login(alice).get(window.get_absolute_url()).content.decode()
    assert "All services" in html and "All environments" in html


def test_freeze_ending_before_it_starts_is_refused_and_nothing_is_written(login, alice):
    start = timezone.now() + timedelta(days=2)
    response = login(alice).post(
        reverse("freeze_create"),
        {"name": "Backwards", "start": local(start), "end": local(start - timedelta(hours=1))},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "The end must be after the start." in html
    assert "Nothing was saved" in html
    assert not FreezeWindow.objects.exists()
    assert not FreezeWindow.history.exists()


def test_developer_cannot_create_a_freeze(login, dave):
    start = timezone.now()
    client = login(dave)
    assert client.get(reverse("freeze_create")).status_code == 403
    response = client.post(
        reverse("freeze_create"),
        {"name": "Sneaky", "start": local(start), "end": local(start + timedelta(hours=1))},
    )
    assert response.status_code == 403
    assert not FreezeWindow.objects.exists()


def test_release_manager_edits_a_freeze_and_keeps_the_original_creator(login, alice, dave, windows):
    window = windows["upcoming"]
    window.created_by = dave
    window.save()
    response = login(alice).post(
        reverse("freeze_update", args=[window.pk]),
        {
            "name": "Year-end freeze (extended)",
            "start": local(window.start),
            "end": local(window.end + timedelta(days=2)),
            "change_reason": "Extended by CAB",
        },
    )
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.name == "Year-end freeze (extended)" and window.created_by == dave
    record = window.history.latest()
    assert record.history_user == alice and record.history_change_reason == "Extended by CAB"


def test_release_manager_deletes_a_freeze_after_confirmation(login, alice, windows):
    client = login(alice)
    url = reverse("freeze_delete", args=[windows["current"].pk])
    assert "lifts the freeze immediately" in client.get(url).content.decode()
    assert FreezeWindow.objects.filter(pk=windows["current"].pk).exists()
    response = client.post(url)
    assert response.status_code == 302 and response.url == reverse("freeze_list")
    assert not FreezeWindow.objects.filter(pk=windows["current"].pk).exists()


def test_developer_cannot_delete_a_freeze(login, dave, windows):
    response = login(dave).post(reverse("freeze_delete", args=[windows["current"].pk]))
    assert response.status_code == 403
    assert FreezeWindow.objects.filter(pk=windows["current"].pk).exists()
