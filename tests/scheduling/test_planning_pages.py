"""Planning pages: the Schedule tab panel, check a date, apply, deadlines, vendor deliverables
and go-live rules, for every kind of visitor; bad input writes nothing; bounded queries."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from releasemgr.models import Notification
from scheduling.models import GoLiveRule, VendorDeliverable
from tests.factories import ServiceFactory
from tests.scheduling.planning_builders import (
    deliverable,
    hours,
    monday,
    planned,
    production,
    region,
    rule,
    window,
)

pytestmark = pytest.mark.django_db

FMT = "%Y-%m-%dT%H:%M"


@pytest.fixture
def start():
    return monday() + hours(10)


@pytest.fixture
def release(dave, alice, payments, start):
    production()
    return planned(dave, payments, start, owner=alice)


@pytest.fixture
def item(release, start):
    return deliverable(release, start - timedelta(days=3), buffer_hours=24)


@pytest.fixture
def eu():
    return region("eu-de", "Europe/Berlin", order=1, name="Germany")


@pytest.fixture
def golive(eu, release, start):
    return rule(eu, start + timedelta(days=2), release=release, basis="BaFin notice")


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# ------------------------------------------------------------------ who may see and do what


READ_PAGES = [
    ("release_schedule_check", "release"),
    ("vendor_deliverable_list", None),
    ("golive_rule_list", None),
    ("golive_rule_detail", "rule"),
]
WRITE_PAGES = [
    ("release_deadlines_edit", "release", "releases.change_release"),
    ("release_vendor_deliverable_create", "release", "scheduling.add_vendordeliverable"),
    ("vendor_deliverable_edit", "item", "scheduling.change_vendordeliverable"),
    ("vendor_deliverable_delete", "item", "scheduling.delete_vendordeliverable"),
    ("vendor_deliverable_late_action", "item", "scheduling.change_vendordeliverable"),
    ("vendor_deliverable_delivered_action", "item", "scheduling.change_vendordeliverable"),
    ("golive_rule_create", None, "scheduling.add_goliverule"),
    ("golive_rule_edit", "rule", "scheduling.change_goliverule"),
    ("golive_rule_delete", "rule", "scheduling.delete_goliverule"),
]


def _url(name, target, release, item, golive):
    args = {
        None: [],
        "release": [release.key],
        "item": [item.pk],
        "rule": [golive.pk],
    }[target]
    return reverse(name, args=args)


@pytest.mark.parametrize(
    "name, target",
    READ_PAGES + [(n, t) for n, t, _ in WRITE_PAGES] + [("release_replan_action", "release")],
)
def test_anonymous_visitors_are_sent_to_login(client, release, item, golive, name, target):
    response = client.get(_url(name, target, release, item, golive))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "name, target",
    READ_PAGES + [(n, t) for n, t, _ in WRITE_PAGES] + [("release_replan_action", "release")],
)
def test_a_user_without_a_role_is_refused(client, nobody, release, item, golive, name, target):
    client.force_login(nobody)
    assert client.get(_url(name, target, release, item, golive)).status_code == 403


@pytest.mark.parametrize("name, target", READ_PAGES)
def test_the_auditor_reads_every_planning_page(client, audrey, release, item, golive, name, target):
    client.force_login(audrey)
    assert client.get(_url(name, target, release, item, golive)).status_code == 200


@pytest.mark.parametrize("name, target, perm", WRITE_PAGES)
def test_the_auditor_writes_nothing(client, audrey, release, item, golive, name, target, perm):
    client.force_login(audrey)
    url = _url(name, target, release, item, golive)
    assert client.get(url).status_code == 403
    assert client.post(url, {}).status_code == 403


@pytest.mark.parametrize(
    "persona, name, target",
    [
        ("dave", "vendor_deliverable_late_action", "item"),
        ("dave", "release_vendor_deliverable_create", "release"),
        ("olivia", "golive_rule_create", None),
        ("olivia", "golive_rule_edit", "rule"),
        ("alice", "release_deadlines_edit", "release"),
        ("alice", "golive_rule_delete", "rule"),
    ],
)
def test_the_right_role_opens_the_form(
    request, client, release, item, golive, persona, name, target
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_url(name, target, release, item, golive)).status_code == 200


@pytest.mark.parametrize(
    "persona, name, target",
    [
        ("paula", "vendor_deliverable_late_action", "item"),
        ("bob", "release_vendor_deliverable_create", "release"),
        ("dave", "golive_rule_create", None),
        ("carol", "release_deadlines_edit", "release"),
    ],
)
def test_the_wrong_role_is_refused(request, client, release, item, golive, persona, name, target):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_url(name, target, release, item, golive)).status_code == 403


# ------------------------------------------------------------------ the Schedule tab


def test_the_schedule_tab_shows_conflicts_the_next_slot_rollout_and_vendors(
    client, alice, release, start, eu, golive
):
    window("Quarter-end freeze", start - hours(1), start + hours(5))
    deliverable(release, start + hours(1), buffer_hours=24, vendor="PixelGuard")
    client.force_login(alice)
    body = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="planning-panel"' in body
    assert 'data-code="freeze_window"' in body and "Quarter-end freeze" in body
    assert 'data-code="vendor_deliverable"' in body and "PixelGuard" in body
    assert 'data-testid="next-free-slot"' in body
    assert 'data-testid="apply-slot"' in body
    # The rollout: Germany waits for its rule; shown on its own clock and in UTC.
    assert 'data-region="eu-de"' in body and "BaFin notice" in body
    assert " CET" in body or " CEST" in body


def test_the_auditor_sees_the_plan_but_no_buttons(client, audrey, release, start, item):
    window("Freeze", start - hours(1), start + hours(5))
    client.force_login(audrey)
    body = client.get(release.get_absolute_url()).content.decode()
    assert 'data-testid="next-free-slot"' in body
    assert 'data-testid="apply-slot"' not in body
    assert "Mark late" not in body and "Add deliverable" not in body


def test_check_a_date_answers_with_conflicts_and_a_slot_over_htmx(client, dave, release, start):
    window("Change freeze", start + timedelta(days=1), start + timedelta(days=1, hours=6))
    client.force_login(dave)
    check_start = start + timedelta(days=1, hours=1)
    response = client.get(
        reverse("release_schedule_check", args=[release.key]),
        {"start": check_start.strftime(FMT), "end": (check_start + hours(2)).strftime(FMT)},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # a partial
    assert 'data-code="freeze_window"' in body and "Change freeze" in body
    assert (start + timedelta(days=1, hours=6)).strftime("%Y-%m-%d %H:%M UTC") in body


@pytest.mark.parametrize(
    "start_offset, end_offset, message",
    [
        (timedelta(hours=3), timedelta(hours=1), "The end must be after the start."),
        (timedelta(days=-30), timedelta(days=-29), "The start is in the past"),
    ],
)
def test_check_a_date_explains_bad_input(
    client, dave, release, start, start_offset, end_offset, message
):
    client.force_login(dave)
    response = client.get(
        reverse("release_schedule_check", args=[release.key]),
        {
            "start": (start + start_offset).strftime(FMT),
            "end": (start + end_offset).strftime(FMT),
        },
        HTTP_HX_REQUEST="true",
    )
    assert message in response.content.decode()
    assert 'data-testid="next-free-slot"' not in response.content.decode()


def test_apply_re_plans_with_the_reason_in_history(client, alice, release, start):
    window("Quarter-end freeze", start - hours(1), start + hours(5))
    client.force_login(alice)
    response = client.post(
        reverse("release_replan_action", args=[release.key]),
        {
            "start": (start + hours(5)).isoformat(),
            "end": (start + hours(7)).isoformat(),
            "why": "freeze window Quarter-end freeze",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#schedule")
    release.refresh_from_db()
    assert release.planned_start == start + hours(5)
    row = release.history.order_by("-history_date").first()
    assert row.history_change_reason == "re-planned: freeze window Quarter-end freeze"
    assert row.history_user == alice


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"start": "not a date", "end": "2030-01-01T10:00"}, "could not be read"),
        ({"start": "S+3", "end": "S+1"}, "The end must be after the start."),
        ({"start": "S-500", "end": "S-498"}, "in the past"),
        ({"start": "S+1", "end": "S+3"}, "Quarter-end freeze"),  # a slot with a conflict
    ],
)
def test_apply_refuses_bad_slots_and_writes_nothing(client, alice, release, start, data, expected):
    window("Quarter-end freeze", start - hours(1), start + hours(5))

    def value(text):
        if text.startswith("S"):
            return (start + hours(int(text[1:]))).isoformat()
        return text

    before = release.history.count()
    client.force_login(alice)
    response = client.post(
        reverse("release_replan_action", args=[release.key]), {k: value(v) for k, v in data.items()}
    )
    assert response.status_code == 302
    assert any(expected in m for m in _messages(response)), _messages(response)
    release.refresh_from_db()
    assert release.planned_start == start
    assert release.history.count() == before


def test_a_deployer_cannot_re_plan(client, bob, release, start):
    client.force_login(bob)
    response = client.post(
        reverse("release_replan_action", args=[release.key]),
        {"start": (start + hours(5)).isoformat(), "end": (start + hours(7)).isoformat()},
    )
    assert response.status_code == 403
    release.refresh_from_db()
    assert release.planned_start == start


# ------------------------------------------------------------------ the release form hook


def test_editing_the_planned_window_into_a_freeze_warns_with_the_conflict(
    client, dave, release, start
):
    from tests.web.test_release_pages import release_form_data

    window("Year-end freeze", start + timedelta(days=3), start + timedelta(days=5))
    client.force_login(dave)
    moved = start + timedelta(days=4)
    response = client.post(
        reverse("release_edit", args=[release.key]),
        release_form_data(
            name=release.name,
            version=release.version,
            planned_start=moved.strftime(FMT),
            planned_end=(moved + hours(2)).strftime(FMT),
            **{"services-0-version": "2.0.0"},
        ),
    )
    assert response.status_code == 302
    warnings = [m for m in _messages(response) if "conflict" in m]
    assert warnings and "Year-end freeze" in warnings[0]


def test_an_edit_that_keeps_the_window_says_nothing_about_the_plan(client, dave, release, start):
    from tests.web.test_release_pages import release_form_data

    window("Current freeze", start - hours(1), start + hours(5))
    client.force_login(dave)
    response = client.post(
        reverse("release_edit", args=[release.key]),
        release_form_data(
            name="Renamed",
            version=release.version,
            planned_start=start.strftime(FMT),
            planned_end=(start + hours(2)).strftime(FMT),
            **{"services-0-version": "2.0.0"},
        ),
    )
    assert response.status_code == 302
    assert not [m for m in _messages(response) if "conflict" in m]


# ------------------------------------------------------------------ deadlines


def test_deadlines_change_with_a_reason_in_history(client, alice, release, start):
    client.force_login(alice)
    url = reverse("release_deadlines_edit", args=[release.key])
    audit = start + timedelta(days=10)
    refused = client.post(url, {"compliance_deadline": audit.strftime(FMT)})
    assert refused.status_code == 400
    assert "Say why the deadline changes." in refused.content.decode()
    release.refresh_from_db()
    assert release.compliance_deadline is None

    response = client.post(
        url, {"compliance_deadline": audit.strftime(FMT), "change_reason": "SOX audit Q1"}
    )
    assert response.status_code == 302
    release.refresh_from_db()
    assert release.compliance_deadline == audit
    assert release.history.order_by("-history_date").first().history_change_reason == (
        "deadlines: SOX audit Q1"
    )


# ------------------------------------------------------------------ vendor deliverables


def test_adding_a_deliverable_records_it(client, dave, release, start):
    client.force_login(dave)
    response = client.post(
        reverse("release_vendor_deliverable_create", args=[release.key]),
        {
            "vendor": "Acme",
            "description": "SDK 5",
            "expected_at": (start - timedelta(days=4)).strftime(FMT),
            "buffer_hours": "24",
        },
    )
    assert response.status_code == 302
    created = VendorDeliverable.objects.get(vendor="Acme")
    assert created.release == release
    assert created.history.first().history_user == dave


def test_a_deliverable_without_a_date_is_refused(client, dave, release):
    client.force_login(dave)
    response = client.post(
        reverse("release_vendor_deliverable_create", args=[release.key]),
        {"vendor": "Acme", "description": "SDK 5", "expected_at": "", "buffer_hours": "24"},
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not VendorDeliverable.objects.filter(vendor="Acme").exists()


def test_moving_the_expected_date_by_editing_needs_a_reason(client, dave, item, start):
    client.force_login(dave)
    url = reverse("vendor_deliverable_edit", args=[item.pk])
    data = {
        "vendor": item.vendor,
        "description": item.description,
        "expected_at": (start - timedelta(days=2)).strftime(FMT),
        "buffer_hours": "24",
    }
    assert client.post(url, data).status_code == 400
    item.refresh_from_db()
    assert item.expected_at == start - timedelta(days=3)
    assert client.post(url, {**data, "change_reason": "vendor confirmed"}).status_code == 302
    item.refresh_from_db()
    assert item.expected_at == start - timedelta(days=2)
    assert item.history.order_by("-history_date").first().history_change_reason == (
        "vendor confirmed"
    )


def test_marking_late_in_the_browser_re_plans_and_warns_about_the_audit_deadline(
    client, dave, alice, release, item, start
):
    release.compliance_deadline = start + timedelta(days=1)
    release.save()
    client.force_login(dave)
    response = client.post(
        reverse("vendor_deliverable_late_action", args=[item.pk]),
        {"expected_at": (start + timedelta(days=2)).strftime(FMT), "reason": "QA failed"},
    )
    assert response.status_code == 302
    messages = _messages(response)
    assert any("re-planned" in m for m in messages)
    assert any("compliance deadline" in m for m in messages)
    release.refresh_from_db()
    assert release.planned_start == start + timedelta(days=3)
    assert Notification.objects.filter(user=alice, kind="compliance_deadline_missed").count() == 1
    # And the Schedule tab shows the flag.
    body = client.get(release.get_absolute_url()).content.decode()
    assert 'data-code="compliance_deadline_missed"' in body


@pytest.mark.parametrize(
    "data, message",
    [
        ({"expected_at": "S-5", "reason": "late"}, "A late delivery comes after"),
        ({"expected_at": "S+1", "reason": ""}, "This field is required."),
        ({"expected_at": "", "reason": "late"}, "This field is required."),
    ],
)
def test_marking_late_with_bad_input_writes_nothing(
    client, dave, release, item, start, data, message
):
    def value(text):
        if text.startswith("S"):
            return (start + timedelta(days=int(text[1:]))).strftime(FMT)
        return text

    client.force_login(dave)
    response = client.post(
        reverse("vendor_deliverable_late_action", args=[item.pk]),
        {k: value(v) for k, v in data.items()},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    item.refresh_from_db()
    release.refresh_from_db()
    assert item.expected_at == start - timedelta(days=3)
    assert release.planned_start == start
    assert item.history.count() == 1


def test_marking_delivered_in_the_browser(client, dave, item):
    client.force_login(dave)
    response = client.post(
        reverse("vendor_deliverable_delivered_action", args=[item.pk]), {"note": "on SFTP"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.delivered_at is not None


def test_the_vendor_list_filters_overdue_deliverables(client, audrey, release, start):
    deliverable(release, timezone.now() - timedelta(days=1), vendor="LateCo")
    deliverable(release, start, vendor="FutureCo")
    client.force_login(audrey)
    body = client.get(reverse("vendor_deliverable_list"), {"status": "overdue"}).content.decode()
    assert "LateCo" in body and "FutureCo" not in body


# ------------------------------------------------------------------ go-live rules


def test_a_compliance_officer_creates_a_go_live_rule(client, olivia, release, eu, start):
    client.force_login(olivia)
    response = client.post(
        reverse("golive_rule_create") + f"?release={release.key}",
        {
            "region": "eu-de",
            "release": release.key,
            "earliest_at": (start + timedelta(days=2)).strftime(FMT),
            "legal_basis": "BaFin notice",
            "back": "release",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith("#schedule")
    created = GoLiveRule.objects.get(release=release)
    assert created.history.first().history_user == olivia


@pytest.mark.parametrize(
    "data, message",
    [
        ({"release": "", "service": ""}, "Name the release the rule holds back"),
        ({"service": "payments-api"}, "Name a release or a service, not both"),
        ({"legal_basis": ""}, "This field is required."),
        ({"earliest_at": "soon"}, "Enter a valid date/time."),
    ],
)
def test_a_go_live_rule_with_bad_input_writes_nothing(
    client, olivia, release, eu, start, data, message
):
    client.force_login(olivia)
    payload = {
        "region": "eu-de",
        "release": release.key,
        "service": "",
        "earliest_at": (start + timedelta(days=2)).strftime(FMT),
        "legal_basis": "BaFin notice",
        **data,
    }
    response = client.post(reverse("golive_rule_create"), payload)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not GoLiveRule.objects.exists()


def test_the_rule_list_filters_per_region_and_per_release(client, audrey, release, start, eu, dave):
    us = region("us-east", "America/New_York", order=2)
    other = planned(dave, ServiceFactory(slug="ledger"), start)
    rule(eu, start + timedelta(days=1), release=release, basis="Rule for the release")
    rule(us, start + timedelta(days=1), release=other, basis="Rule elsewhere")
    client.force_login(audrey)
    url = reverse("golive_rule_list")
    per_release = client.get(url, {"release": release.key}).content.decode()
    assert "Rule for the release" in per_release and "Rule elsewhere" not in per_release
    per_region = client.get(url, {"region": "us-east"}).content.decode()
    assert "Rule elsewhere" in per_region and "Rule for the release" not in per_region


def test_deleting_a_rule_keeps_its_history(client, alice, golive):
    client.force_login(alice)
    response = client.post(reverse("golive_rule_delete", args=[golive.pk]))
    assert response.status_code == 302
    assert not GoLiveRule.objects.exists()
    assert GoLiveRule.history.filter(id=golive.pk, history_type="-").exists()


# ------------------------------------------------------------------ bounded queries


LIST_BOUND = 12
PANEL_BOUND = 22  # the planning panel alone
# the whole release page: Schedule-tab panels, governance tabs, quality (+3); scope changes (+3)
PAGE_BOUND = 72 + 3 + 3
PAGE_BOUND += 8  # the Packaging tab's panel: artifacts, migrations, rollback package, verdict
PAGE_BOUND += 7  # the Scope tab's train panel: car, pins (+5 library conflicts if pinned)
PAGE_BOUND += 14  # API compatibility (2), hotfix carry-forward (6), integration (6)
PAGE_BOUND += 5  # Validation tab: rollback scope (services, steps, edges), DR tests (2)


@pytest.mark.parametrize("rows", [5, 200])
def test_the_rule_list_runs_a_bounded_number_of_queries(
    client, audrey, release, start, rows, django_assert_max_num_queries
):
    regions = [region(f"r-{i}", order=i) for i in range(5)]
    for i in range(rows):
        rule(regions[i % 5], start + timedelta(hours=i), release=release)
    client.force_login(audrey)
    with django_assert_max_num_queries(LIST_BOUND):
        assert client.get(reverse("golive_rule_list")).status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_the_vendor_list_runs_a_bounded_number_of_queries(
    client, audrey, release, start, rows, django_assert_max_num_queries
):
    for i in range(rows):
        deliverable(release, start - timedelta(hours=i), vendor=f"Vendor {i}")
    client.force_login(audrey)
    with django_assert_max_num_queries(LIST_BOUND):
        assert client.get(reverse("vendor_deliverable_list")).status_code == 200


@pytest.mark.parametrize("rows", [5, 200])
def test_the_schedule_tab_runs_a_bounded_number_of_queries(
    client, alice, release, start, rows, django_assert_max_num_queries
):
    from django.test import RequestFactory

    from releases.models import Release
    from scheduling.templatetags.planning_tags import planning_panel

    regions = [region(f"r-{i}", order=i) for i in range(min(rows, 20))]
    for i in range(rows):
        deliverable(release, start - timedelta(hours=i), vendor=f"Vendor {i}")
        rule(regions[i % len(regions)], start + timedelta(hours=i), release=release)
        window(
            f"Freeze {i}",
            start + timedelta(days=1, hours=3 * i),
            start + timedelta(days=1, hours=3 * i + 2),
        )
    request = RequestFactory().get("/")
    request.user = alice
    fresh = Release.objects.with_related().get(pk=release.pk)
    with django_assert_max_num_queries(PANEL_BOUND):
        panel = planning_panel({"request": request}, fresh)
    assert len(panel["deliverables"]) == rows and len(panel["rollout"]) == len(regions)
    client.force_login(alice)
    with django_assert_max_num_queries(PAGE_BOUND):
        response = client.get(release.get_absolute_url())
    assert response.status_code == 200
    assert response.content.decode().count("data-deliverable=") == rows
