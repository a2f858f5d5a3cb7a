"""Notifications: idempotent sending, my list only (page and API), marking read, the bell."""

import pytest
from django.urls import reverse

from releasemgr import notifications
from releasemgr.models import JobRun, Notification

pytestmark = pytest.mark.django_db


def test_notify_is_idempotent_per_user_and_key(alice):
    first, created = notifications.notify(alice, "patch_overdue", "CVE due", "/x/", "k1")
    again, created_again = notifications.notify(alice, "patch_overdue", "CVE due!", "/x/", "k1")

    assert created and not created_again
    assert first.pk == again.pk
    assert Notification.objects.count() == 1
    assert Notification.objects.get().message == "CVE due"


def test_the_same_key_notifies_each_user_once(alice, olivia):
    assert notifications.notify_many([alice, olivia, alice], "k", "m", "", "key") == 2
    assert notifications.notify_many([alice, olivia], "k", "m", "", "key") == 0
    assert notifications.notify(olivia, "k", "m", "", "key")[1] is False
    assert Notification.objects.count() == 2


def test_a_long_key_still_dedupes(alice):
    key = "window:" + "x" * 500
    notifications.notify(alice, "k", "m", "", key)
    notifications.notify(alice, "k", "m", "", key)
    notifications.notify(alice, "k", "m", "", key + "y")
    assert Notification.objects.count() == 2


def test_without_a_key_the_same_words_are_not_repeated(alice):
    notifications.notify(alice, "k", "Freeze starts")
    notifications.notify(alice, "k", "Freeze starts")
    assert Notification.objects.count() == 1


def test_inactive_users_are_not_notified(alice, olivia):
    olivia.is_active = False
    olivia.save()
    assert notifications.notify_many([alice, olivia], "k", "m", "", "key") == 1


# --- page ----------------------------------------------------------------------------------


def test_the_page_needs_a_login(client):
    response = client.get(reverse("notification_list"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_page_lists_only_my_notifications_unread_first(client, alice, olivia):
    read = notifications.notify(alice, "k", "old news", "", "a")[0]
    notifications.mark_read(alice, read.pk)
    notifications.notify(alice, "k", "fresh news", "", "b")
    notifications.notify(olivia, "k", "olivia's secret", "", "c")
    client.force_login(alice)

    response = client.get(reverse("notification_list"))

    messages = [n.message for n in response.context["page"]]
    assert messages == ["fresh news", "old news"]
    assert "olivia&#x27;s secret" not in response.content.decode()


def test_mark_one_and_all_as_read(client, alice):
    one = notifications.notify(alice, "k", "one", "", "1")[0]
    notifications.notify(alice, "k", "two", "", "2")
    notifications.notify(alice, "k", "three", "", "3")
    client.force_login(alice)

    response = client.post(reverse("notification_read", args=[one.pk]))
    assert response.status_code == 302
    one.refresh_from_db()
    assert one.read_at is not None
    assert notifications.unread_count(alice) == 2

    client.post(reverse("notification_read_all"))
    assert notifications.unread_count(alice) == 0


def test_marking_needs_post_and_a_csrf_token(alice):
    from django.test import Client

    one = notifications.notify(alice, "k", "one", "", "1")[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(reverse("notification_read", args=[one.pk])).status_code == 405
    assert client.post(reverse("notification_read", args=[one.pk])).status_code == 403
    one.refresh_from_db()
    assert one.read_at is None


def test_nobody_marks_someone_elses_notification(client, alice, olivia):
    theirs = notifications.notify(olivia, "k", "one", "", "1")[0]
    client.force_login(alice)
    assert client.post(reverse("notification_read", args=[theirs.pk])).status_code == 404
    client.post(reverse("notification_read_all"))
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_bell_shows_my_unread_count(client, alice, olivia):
    notifications.notify(alice, "k", "one", "", "1")
    notifications.notify(alice, "k", "two", "", "2")
    notifications.notify(olivia, "k", "three", "", "3")
    client.force_login(alice)

    body = client.get(reverse("notification_list")).content.decode()

    assert 'data-testid="unread-count">2<' in body


def test_the_badges_show_the_labels_of_the_settings_page_not_the_kind_codes(client, alice):
    notifications.notify(alice, "stabilisation_closed", "REL-1 is stable.", "", "1")
    notifications.notify(alice, "deployment_partially_failed", "profile-3 failed.", "", "2")
    notifications.notify(alice, "kpi_alert", "p99 above its limit.", "", "3")
    notifications.notify(alice, "some_future_kind", "Something new.", "", "4")
    client.force_login(alice)

    body = client.get(reverse("notification_list")).content.decode()

    assert ">Stabilisation window closed</span>" in body
    assert ">Deployment partially failed</span>" in body
    assert ">KPI alert during stabilisation</span>" in body
    assert ">Some future kind</span>" in body  # an unknown kind, humanised
    assert ">stabilisation_closed<" not in body and ">kpi_alert<" not in body


def test_the_page_says_what_it_lists_and_links_the_settings(client, alice):
    client.force_login(alice)

    body = client.get(reverse("notification_list")).content.decode()

    assert "incidents and KPI alerts" in body
    assert "security patches falling due" not in body
    assert f'href="{reverse("notification_preferences")}">Notification settings</a>' in body


def test_the_page_shows_the_last_runs_of_the_freeze_check(client, audrey):
    JobRun.objects.create(name="freeze_check", status="succeeded", detail="3 notification(s)")
    client.force_login(audrey)
    assert "3 notification(s)" in client.get(reverse("notification_list")).content.decode()


def test_a_user_without_a_role_is_refused_like_on_every_page(client, nobody):
    mine = notifications.notify(nobody, "k", "hello", "", "a")[0]
    client.force_login(nobody)
    assert client.get(reverse("notification_list")).status_code == 403
    assert client.post(reverse("notification_read", args=[mine.pk])).status_code == 403


@pytest.mark.parametrize("rows", [5, 200])
def test_the_page_runs_a_bounded_number_of_queries(
    client, alice, django_assert_max_num_queries, rows
):
    Notification.objects.bulk_create(
        Notification(user=alice, kind="k", message=f"m{i}", dedupe_key=str(i)) for i in range(rows)
    )
    client.force_login(alice)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("notification_list"))
    assert response.status_code == 200


# --- API -----------------------------------------------------------------------------------


def test_the_api_needs_authentication(api_client):
    assert api_client().get("/api/v1/notifications/").status_code == 401


def test_the_api_lists_only_mine(api_client, alice, olivia):
    notifications.notify(alice, "patch_overdue", "mine", "/v/1/", "a")
    theirs = notifications.notify(olivia, "k", "theirs", "", "b")[0]

    response = api_client(alice).get("/api/v1/notifications/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["message"], r["kind"], r["link"], r["read"]) for r in rows] == [
        ("mine", "patch_overdue", "/v/1/", False)
    ]
    assert api_client(alice).get(f"/api/v1/notifications/{theirs.pk}/").status_code == 404


def test_the_api_marks_read(api_client, alice, olivia):
    mine = notifications.notify(alice, "k", "mine", "", "a")[0]
    theirs = notifications.notify(olivia, "k", "theirs", "", "b")[0]
    client = api_client(alice)

    response = client.post(f"/api/v1/notifications/{mine.pk}/read/")
    assert response.status_code == 200 and response.json()["read"] is True
    assert client.get("/api/v1/notifications/?unread=true").json()["count"] == 0
    assert client.post(f"/api/v1/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_api_marks_all_read(api_client, alice, olivia):
    notifications.notify(alice, "k", "one", "", "a")
    notifications.notify(alice, "k", "two", "", "b")
    notifications.notify(olivia, "k", "theirs", "", "c")
    response = api_client(alice).post("/api/v1/notifications/read-all/")
    assert response.json() == {"marked": 2}
    assert notifications.unread_count(olivia) == 1


@pytest.mark.parametrize("persona", ["audrey", "pipeline", "paula"])
def test_every_role_reads_its_own_notifications(api_client, request, persona):
    user = request.getfixturevalue(persona)
    notifications.notify(user, "k", "hello", "", "a")
    response = api_client(user).get("/api/v1/notifications/")
    assert response.status_code == 200 and response.json()["count"] == 1


def test_a_user_without_a_role_gets_403_from_the_api(api_client, nobody):
    mine = notifications.notify(nobody, "k", "hello", "", "a")[0]
    client = api_client(nobody)
    assert client.get("/api/v1/notifications/").status_code == 403
    assert client.post(f"/api/v1/notifications/{mine.pk}/read/").status_code == 403


@pytest.mark.parametrize("rows", [5, 200])
def test_the_api_list_runs_a_bounded_number_of_queries(
    api_client, alice, django_assert_max_num_queries, rows
):
    Notification.objects.bulk_create(
        Notification(user=alice, kind="k", message=f"m{i}", dedupe_key=str(i)) for i in range(rows)
    )
    client = api_client(alice)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/notifications/")
    assert response.json()["count"] == rows
