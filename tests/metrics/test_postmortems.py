"""Blameless post-mortems: subjects, the no-person-as-a-cause rule, actions with owners and
due dates, overdue actions on the dashboard and in daily notifications, pages and API."""

import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics import jobs_postmortems, postmortems
from metrics.models import ActionItem, ContributingFactor, Incident, PostMortem, TimelineEntry
from releasemgr.decisions import IllegalTransition
from releasemgr.models import Notification


def _incident(service, severity="high"):
    incident = Incident(
        title="Checkout errors", service=service, severity=severity, started_at=timezone.now()
    )
    incident.save_with_reason("test")
    return incident


@pytest.fixture
def failed_release(move_to):
    return move_to("rolled_back")


@pytest.fixture
def pm(alice, payments):
    return postmortems.create_postmortem(alice, "Checkout outage", incident=_incident(payments))


def counts():
    return {
        m.__name__: m.objects.count()
        for m in (PostMortem, TimelineEntry, ContributingFactor, ActionItem)
    }


# --- subjects ------------------------------------------------------------------------------


def test_a_post_mortem_may_be_written_for_a_failed_release(alice, failed_release):
    pm = postmortems.create_postmortem(alice, "Rollback", release=failed_release)
    assert pm.release == failed_release
    assert pm.history.first().history_change_reason == "created"


def test_a_release_that_did_not_fail_or_a_minor_incident_is_refused(alice, draft_release, payments):
    before = counts()
    with pytest.raises(postmortems.InvalidInput, match="has not failed"):
        postmortems.create_postmortem(alice, "x", release=draft_release)
    with pytest.raises(postmortems.InvalidInput, match="critical and high"):
        postmortems.create_postmortem(alice, "x", incident=_incident(payments, "low"))
    with pytest.raises(postmortems.InvalidInput, match="Say what the post-mortem is about"):
        postmortems.create_postmortem(alice, "x")
    assert counts() == before


# --- no person as a cause --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "dave deployed without checking the migration",
        "Human error during the rollout",
        "The on-call engineer forgot to drain the node",
        "It was Bob's mistake",
        "Carelessness in the review",
        "Operator error in the failover step",
        "Dave did not run the smoke tests",  # a first name (case-insensitive)
    ],
)
def test_a_factor_that_names_or_blames_a_person_is_refused_with_a_systemic_hint(
    alice, bob, dave, pm, text
):
    dave.first_name = "Dave"
    dave.save()
    before = counts()
    with pytest.raises(postmortems.InvalidInput) as exc:
        postmortems.add_factor(alice, pm, "process", text, ["review"])
    assert "blameless" in exc.value.message
    assert "Describe the condition of the system instead" in exc.value.message
    assert counts() == before


def test_a_systemic_factor_is_accepted_with_its_tags(alice, dave, pm):
    factor = postmortems.add_factor(
        alice,
        pm,
        "testing",
        "No automated check that the migration ran first",
        "db-migration, load",
    )
    assert factor.tags == ["db-migration", "load"]


def test_a_service_account_named_in_a_factor_is_not_a_person(alice, pipeline, pm):
    factor = postmortems.add_factor(
        alice, pm, "tooling", "The pipeline has no step that runs the migration first", []
    )
    assert factor.pk is not None


def test_a_bad_tag_is_refused(alice, pm):
    with pytest.raises(postmortems.InvalidInput, match="is not a tag"):
        postmortems.add_factor(alice, pm, "testing", "No load test", ["Not A Slug!"])
    assert ContributingFactor.objects.count() == 0


# --- actions ---------------------------------------------------------------------------------


def test_an_action_needs_an_owner_and_a_due_date_not_in_the_past(alice, dave, pm):
    today = timezone.localdate()
    with pytest.raises(postmortems.InvalidInput, match="needs an owner"):
        postmortems.add_action(alice, pm, "Add a check", None, today)
    with pytest.raises(postmortems.InvalidInput, match="is in the past"):
        postmortems.add_action(alice, pm, "Add a check", dave, today - timedelta(days=1))
    assert ActionItem.objects.count() == 0
    action = postmortems.add_action(alice, pm, "Add a check", dave, today)
    assert action.status == "open"


def test_an_action_is_tracked_to_done_with_history(alice, dave, pm):
    action = postmortems.add_action(alice, pm, "Add a check", dave, timezone.localdate())
    done = postmortems.complete_action(dave, action)
    assert done.status == "done" and done.done_by == dave and done.done_at is not None
    assert [h.history_change_reason for h in done.history.order_by("history_date")] == [
        "created",
        "done",
    ]
    with pytest.raises(IllegalTransition):
        postmortems.complete_action(dave, done)


def _overdue(alice, dave, pm, days=3):
    today = timezone.localdate()
    return postmortems.add_action(
        alice,
        pm,
        "Rehearse the rollback",
        dave,
        today - timedelta(days=days),
        today=date(2000, 1, 1),
    )


def test_overdue_actions_are_on_the_dashboard_with_owner_and_due_date(
    client, alice, dave, pm, django_assert_max_num_queries
):
    late = _overdue(alice, dave, pm)
    postmortems.add_action(alice, pm, "Future work", dave, timezone.localdate() + timedelta(days=5))
    client.force_login(alice)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    panel = html.split('data-testid="overdue-postmortem-actions"')[1].split("</ul>")[0]
    assert "Rehearse the rollback" in panel and "dave" in panel
    assert late.due_date.isoformat() in panel
    assert "Future work" not in panel
    for n in range(10):
        _overdue(alice, dave, pm, days=n + 1)
    with django_assert_max_num_queries(60):
        assert client.get(reverse("dashboard")).status_code == 200


def test_the_daily_job_notifies_each_owner_once_a_day(alice, dave, pm):
    action = _overdue(alice, dave, pm)
    today = timezone.localdate()
    assert "1 owners notified" in jobs_postmortems.run(today)
    assert "0 owners notified" in jobs_postmortems.run(today)
    jobs_postmortems.run(today + timedelta(days=1))
    notes = Notification.objects.filter(user=dave, kind="postmortem_action_overdue")
    assert notes.count() == 2
    assert str(action.pk) in notes.first().dedupe_key
    postmortems.complete_action(dave, action)
    jobs_postmortems.run(today + timedelta(days=2))
    assert notes.count() == 2


def test_publishing_needs_a_factor_and_is_final(alice, pm):
    postmortems.set_status(alice, pm, "in_review")
    with pytest.raises(IllegalTransition, match="no contributing factor"):
        postmortems.set_status(alice, pm, "published")
    postmortems.add_factor(alice, pm, "tooling", "The deploy tool has no dry run", [])
    postmortems.set_status(alice, pm, "published")
    with pytest.raises(IllegalTransition):
        postmortems.set_status(alice, pm, "draft")
    with pytest.raises(IllegalTransition, match="published"):
        postmortems.add_factor(alice, pm, "tooling", "Another gap", [])


# --- pages -----------------------------------------------------------------------------------


def test_the_incident_page_links_to_a_new_post_mortem_and_the_form_creates_it(
    client, bob, payments
):
    incident = _incident(payments, "critical")
    client.force_login(bob)
    html = client.get(incident.get_absolute_url()).content.decode()
    assert f"{reverse('postmortem_create')}?incident={incident.pk}" in html
    response = client.post(
        reverse("postmortem_create"), {"incident": incident.pk, "title": "Checkout down"}
    )
    pm = PostMortem.objects.get()
    assert response.status_code == 302 and pm.incident == incident and pm.created_by == bob


def test_the_page_form_refuses_a_blaming_factor_and_shows_why(client, alice, pm):
    client.force_login(alice)
    response = client.post(
        reverse("postmortem_factor_add", args=[pm.pk]),
        {
            "factor-category": "process",
            "factor-description": "alice forgot the flag",
            "factor-tags": "",
        },
    )
    assert response.status_code == 400
    assert "post-mortems are blameless" in response.content.decode()
    assert ContributingFactor.objects.count() == 0


def test_the_page_form_refuses_an_action_without_an_owner(client, alice, pm):
    client.force_login(alice)
    response = client.post(
        reverse("postmortem_action_add", args=[pm.pk]),
        {"action-description": "Fix it", "action-owner": "", "action-due_date": "2099-01-01"},
    )
    assert response.status_code == 400
    assert "Every action needs an owner" in response.content.decode()
    assert ActionItem.objects.count() == 0


def test_service_accounts_are_not_offered_as_owner_or_facilitator(
    client, alice, dave, pipeline, pm
):
    from releasemgr.roles import DEVELOPER, PIPELINE
    from tests.conftest import make_user

    make_user("ci-bot-dev", PIPELINE, DEVELOPER)  # also a developer: a person here
    client.force_login(alice)
    response = client.get(pm.get_absolute_url())
    for form in ("action_form", "edit_form"):
        field = "owner" if form == "action_form" else "facilitator"
        offered = {u.username for u in response.context[form].fields[field].queryset}
        assert "pipeline" not in offered
        assert {"alice", "dave", "ci-bot-dev"} <= offered
    html = response.content.decode()
    assert '<option value="pipeline"' not in html
    assert '<option value="dave"' in html


def test_a_service_account_posted_as_owner_is_refused_and_nothing_is_written(
    client, alice, pipeline, pm
):
    client.force_login(alice)
    response = client.post(
        reverse("postmortem_action_add", args=[pm.pk]),
        {
            "action-description": "Fix it",
            "action-owner": "pipeline",
            "action-due_date": "2099-01-01",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert ActionItem.objects.count() == 0


def test_the_timeline_says_in_which_time_zone_to_type_the_time(client, alice, pm):
    client.force_login(alice)
    html = client.get(pm.get_absolute_url()).content.decode()
    assert "Date and time in UTC." in html


def test_the_action_due_date_is_wide_enough_for_a_whole_date(client, alice, pm):
    client.force_login(alice)
    html = client.get(pm.get_absolute_url()).content.decode()
    assert 'type="date" name="action-due_date" class="input-date form-control"' in html
    assert re.search(
        r'<div class="col-md-4">\s*<label class="form-label" for="id_action-due_date"', html
    )


def test_the_detail_page_shows_timeline_factors_actions_and_marks_done(client, alice, dave, pm):
    postmortems.add_timeline_entry(alice, pm, timezone.now(), "Alerts fired")
    postmortems.add_factor(alice, pm, "monitoring", "No alert on settlement drift", ["alerting"])
    action = postmortems.add_action(alice, pm, "Add a drift alert", dave, timezone.localdate())
    client.force_login(dave)
    html = client.get(pm.get_absolute_url()).content.decode()
    for text in ("Alerts fired", "No alert on settlement drift", "alerting", "Add a drift alert"):
        assert text in html
    client.post(reverse("postmortem_action_close", args=[action.pk]))
    action.refresh_from_db()
    assert action.status == "done"


def test_the_list_filters_by_status_and_team_and_refuses_an_inverted_period(
    client, alice, pm, failed_release, django_assert_max_num_queries
):
    other = postmortems.create_postmortem(alice, "Rollback review", release=failed_release)
    postmortems.set_status(alice, other, "in_review")
    client.force_login(alice)
    html = client.get(reverse("postmortem_list"), {"status": "in_review"}).content.decode()
    assert "Rollback review" in html and "Checkout outage" not in html
    html = client.get(reverse("postmortem_list"), {"team": "payments"}).content.decode()
    assert "Rollback review" in html and "Checkout outage" in html
    response = client.get(reverse("postmortem_list"), {"team": "nope"})
    assert response.status_code == 400
    response = client.get(
        reverse("postmortem_list"), {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert response.status_code == 400
    assert "end of the period must be after its start" in response.content.decode()
    with django_assert_max_num_queries(12):
        client.get(reverse("postmortem_list"))
    for n in range(30):
        postmortems.create_postmortem(alice, f"PM {n}", release=failed_release)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("postmortem_list")).status_code == 200


# --- API -------------------------------------------------------------------------------------


def test_api_creates_a_post_mortem_with_nested_timeline_factors_and_actions(
    api_client, bob, dave, payments
):
    incident = _incident(payments)
    client = api_client(bob)
    response = client.post(
        "/api/v1/post-mortems/", {"title": "Outage", "incident": incident.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    assert (
        client.post(
            f"/api/v1/post-mortems/{pk}/timeline/",
            {"at": "2026-11-20T10:00:00Z", "description": "Alert"},
            format="json",
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/post-mortems/{pk}/factors/",
            {"category": "testing", "description": "No load test", "tags": ["load-testing"]},
            format="json",
        ).status_code
        == 201
    )
    due = (timezone.localdate() + timedelta(days=7)).isoformat()
    response = client.post(
        f"/api/v1/post-mortems/{pk}/actions/",
        {"description": "Add a load test", "owner": "dave", "due_date": due},
        format="json",
    )
    assert response.status_code == 201
    body = client.get(f"/api/v1/post-mortems/{pk}/").json()
    assert [len(body[k]) for k in ("timeline", "factors", "actions")] == [1, 1, 1]
    assert body["actions"][0]["owner"] == "dave"


def test_api_bad_input_is_a_400_and_writes_nothing(api_client, bob, pm, draft_release):
    client = api_client(bob)
    before = counts()
    url = f"/api/v1/post-mortems/{pm.pk}"
    cases = [
        (f"{url}/actions/", {"description": "x", "due_date": "2099-01-01"}, "owner"),
        (
            f"{url}/actions/",
            {"description": "x", "owner": "dave", "due_date": "2001-01-01"},
            "due_date",
        ),
        (
            f"{url}/actions/",
            {"description": "x", "owner": "ghost", "due_date": "2099-01-01"},
            "owner",
        ),
        (f"{url}/factors/", {"category": "process", "description": "Human error"}, "description"),
        (f"{url}/factors/", {"category": "people", "description": "x"}, "category"),
        ("/api/v1/post-mortems/", {"title": "x", "release": draft_release.key}, "release"),
        ("/api/v1/post-mortems/", {"title": "x"}, "release"),
    ]
    for path, data, field in cases:
        response = client.post(path, data, format="json")
        assert response.status_code == 400, (path, data, response.content)
        assert field in response.json(), (field, response.json())
    assert counts() == before


def test_api_lists_overdue_actions_and_marks_one_done(api_client, alice, bob, dave, pm):
    late = _overdue(alice, dave, pm)
    postmortems.add_action(alice, pm, "Later", dave, timezone.localdate() + timedelta(days=3))
    client = api_client(bob)
    rows = client.get("/api/v1/post-mortem-actions/?overdue=true").json()["results"]
    assert [r["id"] for r in rows] == [late.pk]
    assert rows[0]["overdue"] is True
    assert client.post(f"/api/v1/post-mortem-actions/{late.pk}/done/").status_code == 200
    assert client.post(f"/api/v1/post-mortem-actions/{late.pk}/done/").status_code == 409
    assert client.get("/api/v1/post-mortem-actions/?overdue=true").json()["results"] == []


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("alice", 201), ("bob", 201), ("dave", 201), ("carol", 403), ("paula", 403), ("audrey", 403)],
)
def test_release_managers_deployers_and_developers_write_post_mortems(
    api_client, request, alice, payments, persona, expected
):
    incident = _incident(payments)
    response = api_client(request.getfixturevalue(persona)).post(
        "/api/v1/post-mortems/", {"title": "Outage", "incident": incident.pk}, format="json"
    )
    assert response.status_code == expected
    assert PostMortem.objects.count() == (1 if expected == 201 else 0)


def test_api_list_queries_are_bounded(
    api_client, alice, dave, failed_release, django_assert_max_num_queries
):
    client = api_client(alice)
    for n in range(3):
        pm = postmortems.create_postmortem(alice, f"PM {n}", release=failed_release)
        postmortems.add_action(alice, pm, "x", dave, timezone.localdate())
    for url in ("/api/v1/post-mortems/", "/api/v1/post-mortem-actions/"):
        with django_assert_max_num_queries(8):
            client.get(url)
    for n in range(30):
        pm = postmortems.create_postmortem(alice, f"PM more {n}", release=failed_release)
        postmortems.add_action(alice, pm, "x", dave, timezone.localdate())
    for url in ("/api/v1/post-mortems/", "/api/v1/post-mortem-actions/"):
        with django_assert_max_num_queries(8):
            assert client.get(url).status_code == 200


def test_a_facilitator_no_longer_offered_is_kept_when_the_post_mortem_is_edited(
    client, alice, pipeline, pm
):
    """Set before service accounts were left out of the picker: it stays selected, and
    editing the title neither drops it nor is refused."""
    PostMortem.objects.filter(pk=pm.pk).update(facilitator=pipeline)
    client.force_login(alice)
    page = client.get(pm.get_absolute_url()).content.decode()
    assert '<option value="pipeline" selected>' in page
    assert (
        '<option value="pipeline"'
        not in client.get(  # not offered for new actions
            pm.get_absolute_url()
        )
        .content.decode()
        .split('name="action-owner"')[1]
        .split("</select>")[0]
    )
    answer = client.post(
        reverse("postmortem_edit", args=[pm.pk]),
        {"pm-title": "Checkout outage, 3 May", "pm-summary": "", "pm-facilitator": "pipeline"},
    )
    assert answer.status_code == 302
    pm.refresh_from_db()
    assert (pm.title, pm.facilitator) == ("Checkout outage, 3 May", pipeline)
