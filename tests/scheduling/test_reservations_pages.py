"""Booking pages: list, detail, reserve (with refusals), cancel, occupancy, test data sets,
and the release's Schedule-tab panel (bookings, validation needs, dependencies)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scheduling import reservations
from scheduling.models import ReleaseDependency, Reservation, TestDataSet, ValidationNeed
from tests.conftest import make_user
from tests.factories import EnvironmentFactory, ReleaseFactory

H = timedelta(hours=1)


@pytest.fixture
def t0():
    return timezone.now().replace(second=0, microsecond=0) + timedelta(days=1)


@pytest.fixture
def uat(db):
    return EnvironmentFactory(slug="uat", name="UAT", order=10, capacity=1)


@pytest.fixture
def cards(uat):
    data_set = TestDataSet.objects.create(slug="cards", name="Test cards")
    data_set.environments.set([uat])
    return data_set


@pytest.fixture
def booking(draft_release, uat, dave, t0):
    return reservations.reserve(draft_release, uat, dave, "uat", t0, t0 + 4 * H)


def form_data(release, env, start, end, **extra):
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "release": release.key,
        "environment": env.slug,
        "purpose": "uat",
        "start": timezone.localtime(start).strftime(fmt),
        "end": timezone.localtime(end).strftime(fmt),
        "notes": "",
        **extra,
    }


# --- who may see and do what ----------------------------------------------------------------

READ_PAGES = ["reservation_list", "reservation_occupancy", "test_data_set_list", "sequencing"]


@pytest.mark.parametrize("name", READ_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", READ_PAGES)
def test_a_user_without_a_role_is_refused(client, nobody, name):
    client.force_login(nobody)
    assert client.get(reverse(name)).status_code == 403


@pytest.mark.parametrize("name", READ_PAGES)
def test_the_auditor_reads_every_booking_page(client, audrey, environments, name):
    client.force_login(audrey)
    assert client.get(reverse(name)).status_code == 200


def test_the_auditor_cannot_reserve_or_create_data_sets(client, audrey, uat, draft_release, t0):
    client.force_login(audrey)
    assert client.get(reverse("reservation_create")).status_code == 403
    response = client.post(reverse("reservation_create"), form_data(draft_release, uat, t0, t0 + H))
    assert response.status_code == 403
    assert client.get(reverse("test_data_set_create")).status_code == 403
    assert not Reservation.objects.exists()


def test_a_developer_may_book_but_not_manage_test_data_sets(client, dave):
    client.force_login(dave)
    assert client.get(reverse("reservation_create")).status_code == 200
    assert client.get(reverse("test_data_set_create")).status_code == 403
    response = client.post(reverse("test_data_set_create"), {"slug": "x", "name": "X"})
    assert response.status_code == 403
    assert not TestDataSet.objects.exists()


# --- reserving -------------------------------------------------------------------------------


def test_a_developer_books_an_environment_from_the_form(
    client, dave, uat, cards, draft_release, t0
):
    client.force_login(dave)
    response = client.post(
        reverse("reservation_create"),
        form_data(draft_release, uat, t0, t0 + 3 * H, test_data_sets=["cards"]),
    )
    booking = Reservation.objects.get()
    assert response.status_code == 302 and response["Location"] == booking.get_absolute_url()
    assert booking.reserved_by == dave and list(booking.test_data_sets.all()) == [cards]
    page = client.get(booking.get_absolute_url()).content.decode()
    assert "Test cards" in page and "reserved for user acceptance testing" in page


def test_a_refused_booking_shows_every_reason_and_a_free_period_and_writes_nothing(
    client, alice, uat, cards, booking, t0
):
    other = ReleaseFactory(author=alice, name="Other")
    client.force_login(alice)
    response = client.post(
        reverse("reservation_create"),
        form_data(other, uat, t0 + H, t0 + 2 * H, test_data_sets=["cards"]),
    )
    page = response.content.decode()
    assert response.status_code == 409
    assert 'data-testid="booking-refused"' in page
    assert 'data-code="environment_capacity"' in page
    assert booking.release.key in page
    assert "Nothing was saved" in page
    # The next free period of the same length starts when the booking in the way ends.
    assert 'data-testid="free-slots"' in page
    end = timezone.localtime(booking.end).strftime("%Y-%m-%dT%H:%M")
    assert f"start={end.replace(':', '%3A')}" in page
    assert Reservation.objects.count() == 1


def test_a_booking_in_the_past_is_explained_and_not_saved(client, dave, uat, draft_release):
    client.force_login(dave)
    past = timezone.now() - timedelta(days=3)
    response = client.post(
        reverse("reservation_create"), form_data(draft_release, uat, past, past + H)
    )
    assert response.status_code == 409
    assert "starts in the past" in response.content.decode()
    assert not Reservation.objects.exists()


def test_a_booking_that_ends_before_it_starts_is_explained(client, dave, uat, draft_release, t0):
    client.force_login(dave)
    response = client.post(reverse("reservation_create"), form_data(draft_release, uat, t0, t0 - H))
    assert response.status_code == 409
    assert "must end after it starts" in response.content.decode()
    assert not Reservation.objects.exists()


def test_production_is_not_offered_and_is_refused(client, dave, environments, draft_release, t0):
    client.force_login(dave)
    form = client.get(reverse("reservation_create")).content.decode()
    assert 'value="production"' not in form
    response = client.post(
        reverse("reservation_create"),
        form_data(draft_release, environments["production"], t0, t0 + H),
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Reservation.objects.exists()


def test_checking_availability_books_nothing(client, dave, uat, booking, t0):
    other = ReleaseFactory(author=dave)
    client.force_login(dave)
    busy = client.post(
        reverse("reservation_create"), {**form_data(other, uat, t0, t0 + H), "action": "check"}
    )
    free = client.post(
        reverse("reservation_create"),
        {**form_data(other, uat, t0 + 5 * H, t0 + 6 * H), "action": "check"},
    )
    assert busy.status_code == 200 and "Not available as asked" in busy.content.decode()
    assert free.status_code == 200 and "is free for this booking" in free.content.decode()
    assert Reservation.objects.count() == 1


def test_the_form_is_prefilled_from_the_query_string(client, dave, uat, draft_release):
    client.force_login(dave)
    page = client.get(
        reverse("reservation_create")
        + f"?release={draft_release.key}&environment=uat&start=2031-03-04T09:00&end=2031-03-04T17:00"
    ).content.decode()
    assert f'value="{draft_release.key}" selected' in page
    assert 'value="2031-03-04T09:00"' in page and 'value="2031-03-04T17:00"' in page


def test_after_booking_from_the_release_page_it_returns_there(client, dave, uat, draft_release, t0):
    client.force_login(dave)
    back = draft_release.get_absolute_url() + "?tab=schedule#schedule"
    response = client.post(
        reverse("reservation_create"), {**form_data(draft_release, uat, t0, t0 + H), "next": back}
    )
    assert response["Location"] == back
    evil = client.post(
        reverse("reservation_create"),
        {**form_data(draft_release, uat, t0 + 2 * H, t0 + 3 * H), "next": "https://evil.example/"},
    )
    assert evil["Location"].startswith("/reservations/")


# --- cancelling ------------------------------------------------------------------------------


def test_the_booker_cancels_and_the_place_is_free_again(client, dave, booking):
    client.force_login(dave)
    assert client.get(reverse("reservation_cancel", args=[booking.pk])).status_code == 200
    response = client.post(reverse("reservation_cancel", args=[booking.pk]))
    assert response.status_code == 302
    booking.refresh_from_db()
    assert booking.cancelled_at is not None
    assert reservations.conflicts(booking.environment, booking.start, booking.end) == []


def test_another_developer_may_not_cancel_someone_elses_booking(client, booking):
    dora = make_user("dora", "developer")
    client.force_login(dora)
    page = client.get(reverse("reservation_cancel", args=[booking.pk])).content.decode()
    assert "Only the person who booked it" in page
    assert client.post(reverse("reservation_cancel", args=[booking.pk])).status_code == 403
    booking.refresh_from_db()
    assert booking.cancelled_at is None


def test_the_auditor_sees_the_cancel_page_but_cannot_cancel(client, audrey, booking):
    client.force_login(audrey)
    assert client.post(reverse("reservation_cancel", args=[booking.pk])).status_code == 403
    booking.refresh_from_db()
    assert booking.cancelled_at is None


# --- the list -------------------------------------------------------------------------------


def test_the_list_filters_by_environment_release_time_and_data_set(
    client, audrey, dave, environments, uat, cards, booking, t0
):
    other = ReleaseFactory(author=dave, name="Other")
    later = reservations.reserve(other, environments["staging"], dave, "performance", t0, t0 + H)
    reservations.cancel(later, dave)
    booking.test_data_sets.set([cards])
    client.force_login(audrey)

    def rows(query):
        page = client.get(reverse("reservation_list") + query)
        assert page.status_code == 200
        return [b.pk for b in page.context["page"]]

    assert sorted(rows("")) == sorted([booking.pk, later.pk])
    assert rows("?environment=uat") == [booking.pk]
    assert rows(f"?release={other.key}") == [later.pk]
    assert rows("?when=cancelled") == [later.pk]
    assert rows("?when=upcoming") == [booking.pk]
    assert rows("?data_set=cards") == [booking.pk]
    assert rows("?purpose=performance") == [later.pk]


def test_an_unknown_filter_value_is_reported_not_crashed(client, audrey, booking):
    client.force_login(audrey)
    page = client.get(reverse("reservation_list") + "?environment=nowhere&when=soon")
    assert page.status_code == 200
    assert 'data-testid="filter-errors"' in page.content.decode()


def _many_bookings(n, dave, envs, cards):
    start = timezone.now() + timedelta(days=1)
    releases = [ReleaseFactory(author=dave, name=f"R{i}") for i in range(n)]
    rows = [
        Reservation(
            environment=envs[i % len(envs)],
            release=releases[i],
            purpose="uat",
            start=start + i * H,
            end=start + (i + 1) * H,
            reserved_by=dave,
        )
        for i in range(n)
    ]
    Reservation.objects.bulk_create(rows)
    for booking in Reservation.objects.all()[: n // 2]:
        booking.test_data_sets.add(cards)


@pytest.mark.parametrize("rows", [5, 200])
def test_booking_pages_run_a_bounded_number_of_queries(
    client, audrey, dave, environments, uat, cards, rows, django_assert_max_num_queries
):
    _many_bookings(rows, dave, [uat, environments["staging"], environments["test"]], cards)
    client.force_login(audrey)
    for url in (
        reverse("reservation_list"),
        reverse("reservation_list") + "?when=upcoming&environment=uat",
        reverse("reservation_occupancy") + "?weeks=12",
        reverse("test_data_set_list"),
    ):
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200


# --- occupancy -------------------------------------------------------------------------------


def test_occupancy_shows_each_non_production_environment_with_its_bookings(
    client, audrey, environments, uat, booking
):
    client.force_login(audrey)
    page = client.get(reverse("reservation_occupancy")).content.decode()
    assert "UAT" in page and "capacity 1" in page and "Staging" in page
    assert "Production" not in page.split('data-testid="occupancy"')[1]
    assert booking.get_absolute_url() in page
    assert "busiest moment 1 of 1" in page


# --- test data sets --------------------------------------------------------------------------


def test_a_release_manager_creates_and_edits_a_test_data_set(client, alice, uat, environments):
    client.force_login(alice)
    response = client.post(
        reverse("test_data_set_create"),
        {"slug": "loyalty", "name": "Loyalty members", "description": "", "environments": [uat.pk]},
    )
    data_set = TestDataSet.objects.get(slug="loyalty")
    assert response["Location"] == reverse("test_data_set_detail", args=["loyalty"])
    assert list(data_set.environments.all()) == [uat]
    response = client.post(
        reverse("test_data_set_update", args=["loyalty"]),
        {
            "slug": "loyalty",
            "name": "Loyalty members v2",
            "environments": [uat.pk, environments["staging"].pk],
            "change_reason": "reloaded in staging",
        },
    )
    data_set.refresh_from_db()
    assert data_set.name == "Loyalty members v2" and data_set.environments.count() == 2
    assert (
        "reloaded in staging"
        in client.get(reverse("test_data_set_detail", args=["loyalty"])).content.decode()
    )


def test_a_duplicate_slug_is_refused_with_a_message(client, alice, cards):
    client.force_login(alice)
    response = client.post(reverse("test_data_set_create"), {"slug": "cards", "name": "Again"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert TestDataSet.objects.count() == 1


def test_production_cannot_hold_a_test_data_set(client, alice, environments):
    client.force_login(alice)
    response = client.post(
        reverse("test_data_set_create"),
        {"slug": "x", "name": "X", "environments": [environments["production"].pk]},
    )
    assert "Select a valid choice" in response.content.decode()
    assert not TestDataSet.objects.exists()


# --- the release's Schedule tab --------------------------------------------------------------


def test_the_schedule_tab_shows_bookings_needs_and_a_quick_reserve_form(
    client, dave, draft_release, uat, booking
):
    ValidationNeed.objects.create(release=draft_release, environment=uat, hours=6)
    client.force_login(dave)
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert 'data-testid="reservation-panel"' in page
    assert f'data-reservation="{booking.pk}"' in page
    assert "UAT: <strong>6 h</strong>" in page
    assert 'data-testid="quick-reserve"' in page
    assert 'data-testid="add-dependency"' not in page  # release managers own dependencies


def test_the_auditor_sees_the_panel_without_forms(client, audrey, draft_release, booking):
    client.force_login(audrey)
    page = client.get(draft_release.get_absolute_url()).content.decode()
    assert f'data-reservation="{booking.pk}"' in page
    assert 'data-testid="quick-reserve"' not in page and 'data-testid="add-need"' not in page


def test_a_developer_adds_and_removes_a_validation_need(client, dave, draft_release, uat):
    client.force_login(dave)
    url = reverse("release_validation_need_add", args=[draft_release.key])
    response = client.post(url, {"environment": uat.pk, "hours": 12})
    assert response["Location"].endswith("?tab=schedule#schedule")
    need = ValidationNeed.objects.get()
    assert (
        need.hours == 12
        and need.history.first().history_change_reason == "12 h of validation in UAT"
    )
    again = client.post(url, {"environment": uat.pk, "hours": 3}, follow=True)
    assert "already has a validation need in UAT" in again.content.decode()
    assert ValidationNeed.objects.count() == 1
    bad = client.post(url, {"environment": uat.pk, "hours": 0}, follow=True)
    assert "Validation need not added" in bad.content.decode()
    client.post(reverse("validation_need_delete", args=[need.pk]))
    assert not ValidationNeed.objects.exists()


def test_only_release_managers_add_dependencies_and_a_cycle_is_refused(
    client, alice, dave, draft_release
):
    first = ReleaseFactory(author=dave, name="First")
    url = reverse("release_dependency_add", args=[draft_release.key])
    client.force_login(dave)
    assert client.post(url, {"after": first.key}).status_code == 403
    client.force_login(alice)
    client.post(url, {"after": first.key, "reason": "needs its API"})
    dependency = ReleaseDependency.objects.get()
    assert (dependency.release, dependency.after) == (draft_release, first)
    cycle = client.post(
        reverse("release_dependency_add", args=[first.key]),
        {"after": draft_release.key},
        follow=True,
    )
    page = cycle.content.decode()
    assert "dependency cycle" in page
    assert f"{first.key} after {draft_release.key}, {draft_release.key} after {first.key}" in page
    assert ReleaseDependency.objects.count() == 1
    client.post(reverse("release_dependency_delete", args=[dependency.pk]))
    assert not ReleaseDependency.objects.exists()


def test_the_list_shows_active_then_upcoming_soonest_first_then_past_then_cancelled(
    client, audrey, dave, environments, uat, t0
):
    rs = [ReleaseFactory(author=dave) for _ in range(5)]
    now = timezone.now()
    staging = environments["staging"]
    later = reservations.reserve(rs[0], uat, dave, "uat", t0 + 5 * H, t0 + 6 * H)
    sooner = reservations.reserve(rs[1], uat, dave, "uat", t0, t0 + H)
    active = reservations.reserve(rs[2], staging, dave, "uat", now, now + 2 * H)
    cancelled = reservations.reserve(rs[3], staging, dave, "uat", t0, t0 + H)
    reservations.cancel(cancelled, dave)
    past = Reservation.objects.create(
        environment=uat,
        release=rs[4],
        purpose="uat",
        start=now - 5 * H,
        end=now - 4 * H,
        reserved_by=dave,
    )
    client.force_login(audrey)
    page = client.get(reverse("reservation_list"))
    assert [b.pk for b in page.context["page"]] == [
        active.pk,
        sooner.pk,
        later.pk,
        past.pk,
        cancelled.pk,
    ]
    assert [b.status for b in page.context["page"]] == [
        "active",
        "upcoming",
        "upcoming",
        "past",
        "cancelled",
    ]
