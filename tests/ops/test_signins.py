"""The Sign-ins page (administrators): who is locked out, unlocking from the page, the log of
attempts with filters; and the housekeeping job that keeps the log and the sessions bounded."""

from datetime import timedelta

import pytest
from django.contrib.sessions.backends.base import SessionBase
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from releasemgr import signins, tasks_notify
from releasemgr.models import JobRun
from releasemgr.models_harden import LoginAttempt, LoginOutcome, UserSession
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.ops.test_login_lockout import LOCKED, fail, sign_in, signed_in

pytestmark = pytest.mark.django_db

PAGE = "/security/sign-ins/"
UNLOCK = "/security/sign-ins/unlock/"


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_urls_are_the_named_routes():
    assert reverse("signin_list") == PAGE
    assert reverse("signin_unlock") == UNLOCK


@pytest.mark.parametrize("persona", ["alice", "olivia", "audrey", "dave", "nobody"])
def test_only_administrators_see_the_page_or_unlock(request, persona, client):
    fail(client, "victim", 5)
    before = LoginAttempt.objects.count()
    other = as_user(request.getfixturevalue(persona))
    assert other.get(PAGE).status_code == 403
    assert other.post(UNLOCK, {"username": "victim"}).status_code == 403
    assert LoginAttempt.objects.count() == before
    assert signins.locked_usernames()[0].username == "victim"


def test_anonymous_visitors_are_sent_to_sign_in(client):
    answer = client.get(PAGE)
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    answer = client.post(UNLOCK, {"username": "x"})
    assert answer.status_code == 302 and not LoginAttempt.objects.exists()


def test_the_menu_links_the_page_for_administrators_only(root, alice):
    assert PAGE in as_user(root).get("/").content.decode()
    assert PAGE not in as_user(alice).get("/").content.decode()


def test_an_administrator_sees_the_lock_and_unlocks_it(client, root, alice):
    fail(client, "alice", 5)
    assert LOCKED in sign_in(client, "alice", PASSWORD).content.decode()
    admin = as_user(root)

    page = admin.get(PAGE).content.decode()
    assert 'data-username="alice"' in page
    assert "5 failed tries within 15 minutes lock a username for\n15 minutes" in page
    assert "Locked until (UTC)" in page and "When (UTC)" in page
    assert "Failures in a row" in page and "min left" in page

    answer = admin.post(UNLOCK, {"username": "Alice "}, follow=True)
    assert "alice is unlocked" in answer.content.decode()
    assert 'data-username="alice"' not in answer.content.decode()
    unlocked = LoginAttempt.objects.get(outcome=LoginOutcome.UNLOCKED)
    assert (unlocked.username, unlocked.by) == ("alice", root)
    assert "Unlocked by an administrator" in answer.content.decode()

    sign_in(client, "alice", PASSWORD)
    assert signed_in(client)


def test_unlocking_a_name_that_is_not_locked_writes_nothing(client, root, alice):
    fail(client, "alice", 4)  # one short of the lock
    before = LoginAttempt.objects.count()
    answer = as_user(root).post(UNLOCK, {"username": "alice"}, follow=True)
    assert "&#x27;alice&#x27; is not locked out; nothing to unlock." in answer.content.decode()
    blank = as_user(root).post(UNLOCK, {"username": "  "}, follow=True)
    assert "Give the username to unlock." in blank.content.decode()
    assert LoginAttempt.objects.count() == before


def test_a_success_after_the_failures_is_not_a_lock(client, root, alice):
    fail(client, "alice", 3)
    sign_in(client, "alice", PASSWORD)
    client.logout()
    fail(client, "alice", 4)  # 7 failures in the window, but only 4 since the success
    assert signins.locked_usernames() == []
    fail(client, "alice", 1)
    (row,) = signins.locked_usernames()
    assert (row.username, row.failures) == ("alice", 5)


def test_the_unlock_form_needs_its_csrf_token(client, root):
    fail(client, "victim", 5)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(root)
    assert strict.post(UNLOCK, {"username": "victim"}).status_code == 403
    assert not LoginAttempt.objects.filter(outcome=LoginOutcome.UNLOCKED).exists()


def test_the_log_filters_by_username_outcome_address_and_date(client, root, alice):
    fail(client, "alice", 2)
    sign_in(client, "alice", PASSWORD)
    client.logout()
    fail(client, "mallory", 1)
    LoginAttempt.objects.filter(username="mallory").update(
        ip="203.0.113.9", at=timezone.now() - timedelta(days=3)
    )
    admin = as_user(root)

    def rows(**params):
        html = admin.get(PAGE, params).content.decode()
        return html.count('<tr data-outcome="failed">'), html.count('data-outcome="succeeded"')

    assert rows() == (3, 1)
    assert rows(outcome="failed") == (3, 0)
    assert rows(username="ALI") == (2, 1)
    assert rows(ip="203.0.113") == (1, 0)
    assert rows(since=(timezone.localdate() - timedelta(days=1)).isoformat()) == (2, 1)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"outcome": "maybe"}, "outcome: Choose one of failed, succeeded, locked, unlocked."),
        ({"since": "yesterday"}, "since: Enter a date as YYYY-MM-DD."),
    ],
)
def test_a_bad_filter_is_a_400_with_the_reason(root, params, message):
    answer = as_user(root).get(PAGE, params)
    assert answer.status_code == 400
    assert message in answer.content.decode()


@pytest.mark.parametrize("names", [2, 25])
def test_the_page_needs_a_bounded_number_of_queries(root, names, django_assert_max_num_queries):
    now = timezone.now()
    LoginAttempt.objects.bulk_create(
        LoginAttempt(username=f"user{n}", ip="198.51.100.1", outcome="failed", at=now)
        for n in range(names)
        for _ in range(5)
    )
    LoginAttempt.objects.filter(username="user0").update(by=root)
    admin = as_user(root)
    with django_assert_max_num_queries(9):
        page = admin.get(PAGE)
    assert page.status_code == 200
    assert page.content.decode().count("<tr data-username=") == names


def test_housekeeping_keeps_the_retention_and_the_lockout_window(settings, client, alice):
    settings.LOGIN_ATTEMPT_RETENTION_DAYS = 30
    fail(client, "alice", 3)
    LoginAttempt.objects.filter(username="alice").update(at=timezone.now() - timedelta(days=31))
    fail(client, "bob", 2)
    kept = set(LoginAttempt.objects.filter(username="bob").values_list("pk", flat=True))

    detail = signins.prune()
    assert detail.startswith("3 sign-in attempt(s) older than 30 days deleted")
    assert set(LoginAttempt.objects.values_list("pk", flat=True)) == kept

    # A retention shorter than the failure window would forget failures that still count.
    settings.LOGIN_ATTEMPT_RETENTION_DAYS = 0
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 2 * 86400
    LoginAttempt.objects.filter(username="bob").update(at=timezone.now() - timedelta(days=1))
    assert signins.retention_days() == 2
    signins.prune()
    assert set(LoginAttempt.objects.values_list("pk", flat=True)) == kept


def test_housekeeping_deletes_expired_sessions_only(client, alice):
    client.force_login(alice)
    live = client.session.session_key
    UserSession.objects.create(
        session_key="x" * 32,
        session_data=SessionBase().encode({}),
        expire_date=timezone.now() - timedelta(seconds=1),
        user_pk=str(alice.pk),
    )
    assert "1 expired session(s) deleted" in signins.prune()
    assert list(UserSession.objects.values_list("session_key", flat=True)) == [live]


def test_the_housekeeping_job_is_scheduled_recorded_and_idempotent(settings, client):
    fail(client, "old", 1)
    LoginAttempt.objects.update(at=timezone.now() - timedelta(days=400))
    first = tasks_notify.security_housekeeping_task()
    second = tasks_notify.security_housekeeping_task()
    assert first.startswith("1 sign-in attempt(s)")
    assert second.startswith("0 sign-in attempt(s)")  # a second run has nothing left to do
    runs = JobRun.objects.filter(name=signins.JOB_NAME).order_by("pk")
    assert [(r.status, r.detail) for r in runs] == [("succeeded", first), ("succeeded", second)]
    entry = settings.CELERY_BEAT_SCHEDULE["security-housekeeping"]
    assert entry["task"] == tasks_notify.security_housekeeping_task.name
