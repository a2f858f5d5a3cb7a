"""Freeze exception pages: the queue, one exception (decide, withdraw), the request form,
and the panel on the release's Schedule tab."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from releasemgr.roles import RELEASE_MANAGER
from releases.choices import ReleaseKind
from scheduling import freeze_exceptions
from scheduling.models import FreezeException
from tests.conftest import make_user
from tests.factories import ReleaseFactory, ScopeItemFactory, ServiceFactory
from tests.scheduling.exceptions_support import JUSTIFICATION, RISK, ask, footprint, window

LIST_URL = reverse("exception_list")
CREATE_URL = reverse("exception_create")


@pytest.fixture
def freeze(payments):
    return window("Quarter-end freeze")


@pytest.fixture
def pending(draft_release, freeze, dave):
    return ask(draft_release, freeze, dave)


def detail_url(exception):
    return reverse("exception_detail", args=[exception.pk])


def decide_url(exception):
    return reverse("exception_decide", args=[exception.pk])


def withdraw_url(exception):
    return reverse("exception_withdraw", args=[exception.pk])


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def form_data(release, freeze, **overrides):
    now = timezone.now()
    data = {
        "release": release.key,
        "window": freeze.pk,
        "justification": JUSTIFICATION,
        "risk": RISK,
        "risk_level": "medium",
        "valid_from": local(now),
        "valid_until": local(now + timedelta(hours=8)),
    }
    data.update(overrides)
    return data


# --- who may open what --------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_login(client, pending):
    for url in (LIST_URL, CREATE_URL, detail_url(pending)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    for url in (decide_url(pending), withdraw_url(pending)):
        response = client.post(url, {"decision": "approve"})
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_a_user_without_a_role_is_refused_every_page(client, pending, nobody):
    client.force_login(nobody)

    assert client.get(LIST_URL).status_code == 403
    assert client.get(detail_url(pending)).status_code == 403
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(decide_url(pending), {"decision": "approve"}).status_code == 403
    assert client.post(withdraw_url(pending)).status_code == 403


def test_the_auditor_reads_but_neither_asks_nor_decides(client, pending, audrey):
    client.force_login(audrey)
    before = footprint()

    assert client.get(LIST_URL).status_code == 200
    assert client.get(detail_url(pending)).status_code == 200
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, {}).status_code == 403
    assert client.post(decide_url(pending), {"decision": "approve"}).status_code == 403
    assert client.post(withdraw_url(pending)).status_code == 403
    assert footprint() == before


@pytest.mark.parametrize(("persona", "status"), [("alice", 200), ("dave", 200), ("carol", 403)])
def test_developers_and_release_managers_open_the_request_form(client, persona, status, request):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(CREATE_URL).status_code == status


# --- the queue ----------------------------------------------------------------------------------


def test_the_list_shows_pending_requests_first_and_expedited_ones_first_among_them(
    client, dave, carol, payments, freeze, audrey
):
    normal = ask(ReleaseFactory(author=dave, services=[(payments, "2.0.0")]), freeze, dave)
    decided = ask(ReleaseFactory(author=dave, services=[(payments, "2.0.1")]), freeze, dave)
    freeze_exceptions.decide(decided, carol, approve=True)
    patch = ask(
        ReleaseFactory(
            author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "2.0.2")]
        ),
        freeze,
        dave,
    )
    client.force_login(audrey)

    response = client.get(LIST_URL)

    assert [e.pk for e in response.context["page"]] == [patch.pk, normal.pk, decided.pk]
    assert response.context["pending_count"] == 2
    html = response.content.decode()
    assert html.index("Pending · expedited") < html.index(f">#{patch.pk}<")
    assert html.index(f">#{normal.pk}<") < html.index("Decided or withdrawn")
    assert "⚡ expedited" in html
    assert "Approved · in force" in html


def test_the_list_filters_by_status_release_and_expedited(
    client, dave, carol, payments, freeze, audrey
):
    first = ReleaseFactory(author=dave, services=[(payments, "3.0.0")])
    a = ask(first, freeze, dave)
    b = ask(
        ReleaseFactory(
            author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "3.0.1")]
        ),
        freeze,
        dave,
    )
    freeze_exceptions.decide(a, carol, approve=False, comment="no")
    client.force_login(audrey)

    def pks(**params):
        return [e.pk for e in client.get(LIST_URL, params).context["page"]]

    assert pks(status="rejected") == [a.pk]
    assert pks(status="pending") == [b.pk]
    assert pks(release=first.key) == [a.pk]
    assert pks(expedited="true") == [b.pk]
    assert pks(window=freeze.pk) == [b.pk, a.pk]


def test_an_invalid_filter_is_reported(client, pending, audrey):
    client.force_login(audrey)

    response = client.get(LIST_URL, {"status": "maybe"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()


def test_the_list_answers_htmx_with_the_table_only(client, pending, audrey):
    client.force_login(audrey)

    response = client.get(LIST_URL, {"status": "pending"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="exception-results">')
    assert "<nav" not in html


@pytest.mark.parametrize("rows", [5, 200])
def test_the_list_runs_a_bounded_number_of_queries(
    client, payments, freeze, audrey, rows, django_assert_max_num_queries
):
    requesters = [make_user(f"dev{i}", "developer") for i in range(3)]
    now = timezone.now()
    FreezeException.objects.bulk_create(
        FreezeException(
            release=ReleaseFactory(author=requesters[i % 3], services=[(payments, f"9.{i}.0")]),
            window=freeze,
            justification="j",
            risk="r",
            valid_from=now,
            valid_until=now + timedelta(hours=2),
            requested_by=requesters[i % 3],
            requester_roles=["developer"],
            status="approved" if i % 2 else "pending",
            decided_by=requesters[(i + 1) % 3] if i % 2 else None,
            expedited=i % 5 == 0,
        )
        for i in range(rows)
    )
    client.force_login(audrey)

    with django_assert_max_num_queries(12):
        response = client.get(LIST_URL, {"status": "", "expedited": "unknown"})

    assert response.status_code == 200
    assert len(response.context["page"]) == min(rows, 25)


# --- one exception ------------------------------------------------------------------------------


def test_the_detail_shows_release_window_occurrences_validity_requester_and_history(
    client, pending, draft_release, carol
):
    client.force_login(carol)

    response = client.get(detail_url(pending))

    html = response.content.decode()
    assert response.status_code == 200
    assert draft_release.key in html and "Quarter-end freeze" in html
    assert len(response.context["covered"]) == 1
    assert response.context["covered"][0].window == pending.window
    assert "dave</dd>" not in html and "as developer" in html
    assert JUSTIFICATION in html and RISK in html
    assert "Not decided yet." in html
    assert "Covers all services in all environments." in html
    assert response.context["history"][0]["reason"] == "requested"


def test_a_cab_member_sees_the_decision_form_with_the_reasons_they_may_decide(
    client, pending, carol
):
    client.force_login(carol)

    response = client.get(detail_url(pending))

    assert response.context["can_decide"]
    html = response.content.decode()
    assert 'data-testid="decide-form"' in html
    assert "carol decides as cab_member" in html


def test_the_requester_sees_why_they_may_not_decide_and_can_withdraw(
    client, draft_release, freeze, alice
):
    exception = ask(draft_release, freeze, alice)
    client.force_login(alice)

    response = client.get(detail_url(exception))

    html = response.content.decode()
    assert not response.context["can_decide"]
    assert 'data-testid="decide-form"' not in html
    assert "You may not decide this request" in html
    assert "The requester cannot decide their own exception." in html
    assert 'data-testid="withdraw-form"' in html


def test_a_cab_member_approves_from_the_page(client, pending, carol):
    client.force_login(carol)

    response = client.post(
        decide_url(pending), {"decision": "approve", "comment": "Deploy at 02:00."}
    )

    assert response.status_code == 302
    assert response["Location"] == detail_url(pending)
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by, pending.decision_comment) == (
        "approved",
        carol,
        "Deploy at 02:00.",
    )
    page = client.get(detail_url(pending)).content.decode()
    assert "may deploy during &#x27;Quarter-end freeze&#x27;" in page
    assert "In force" in page


def test_the_requester_is_refused_with_the_reasons_and_nothing_changes(
    client, draft_release, freeze, alice
):
    exception = ask(draft_release, freeze, alice)
    client.force_login(alice)

    response = client.post(decide_url(exception), {"decision": "approve"})

    assert response.status_code == 403
    assert "The requester cannot decide their own exception." in response.content.decode()
    exception.refresh_from_db()
    assert exception.status == "pending"
    assert exception.history.count() == 1


def test_a_release_manager_cannot_approve_another_release_managers_request(
    client, draft_release, freeze, alice
):
    rita = make_user("rita", RELEASE_MANAGER)
    exception = ask(draft_release, freeze, alice)
    client.force_login(rita)

    response = client.post(decide_url(exception), {"decision": "approve"})

    assert response.status_code == 403
    assert "does not hold" in response.content.decode()
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_a_contributor_cannot_approve_from_the_page(client, draft_release, pending, erin):
    ScopeItemFactory(release=draft_release, contributor=erin)
    client.force_login(erin)

    response = client.post(decide_url(pending), {"decision": "approve"})

    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_a_developer_without_the_decide_permission_gets_403(
    client, draft_release, freeze, alice, dave
):
    exception = ask(draft_release, freeze, alice)
    client.force_login(dave)

    assert client.post(decide_url(exception), {"decision": "approve"}).status_code == 403
    exception.refresh_from_db()
    assert exception.status == "pending"


def test_deciding_twice_is_a_409_and_keeps_the_first_decision(client, pending, carol, erin):
    client.force_login(carol)
    client.post(decide_url(pending), {"decision": "reject", "comment": "Wait for Monday."})
    client.force_login(erin)

    response = client.post(decide_url(pending), {"decision": "approve"})

    assert response.status_code == 409
    assert "is already rejected" in response.content.decode()
    pending.refresh_from_db()
    assert (pending.status, pending.decided_by) == ("rejected", carol)


def test_a_decision_must_be_approve_or_reject(client, pending, carol):
    client.force_login(carol)

    response = client.post(decide_url(pending), {"decision": "maybe"})

    assert response.status_code == 400
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_the_requester_withdraws_from_the_page(client, pending, dave):
    client.force_login(dave)

    response = client.post(withdraw_url(pending))

    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "withdrawn"


def test_someone_else_cannot_withdraw_from_the_page(client, pending, alice):
    client.force_login(alice)

    assert client.post(withdraw_url(pending)).status_code == 403
    pending.refresh_from_db()
    assert pending.status == "pending"


def test_get_is_not_a_way_to_decide(client, pending, carol):
    client.force_login(carol)

    assert client.get(decide_url(pending), {"decision": "approve"}).status_code == 405
    pending.refresh_from_db()
    assert pending.status == "pending"


# --- the request form ---------------------------------------------------------------------------


def test_the_form_offers_only_the_windows_that_stop_the_release(
    client, draft_release, freeze, dave
):
    window("Search freeze", services=[ServiceFactory(slug="search")])
    window("Patch Tuesday", kind="maintenance")
    blackout = window("Summer sale", kind="blackout", starts_in=timedelta(days=5))
    client.force_login(dave)

    response = client.get(CREATE_URL, {"release": draft_release.key, "window": freeze.pk})

    form = response.context["form"]
    assert list(form.fields["window"].queryset) == [freeze, blackout]
    assert form.initial["release"] == draft_release.key
    assert form.initial["window"] == freeze.pk
    assert form.initial["valid_from"] >= timezone.now() - timedelta(minutes=1)
    assert form.initial["valid_until"] <= freeze.end


def test_a_window_that_does_not_stop_the_release_is_explained_on_the_form(
    client, draft_release, dave
):
    elsewhere = window("Search freeze", services=[ServiceFactory(slug="search")])
    client.force_login(dave)

    response = client.get(CREATE_URL, {"release": draft_release.key, "window": elsewhere.pk})

    assert response.status_code == 200
    assert "does not stop" in response.content.decode()
    assert response.context["window"] is None


def test_the_form_says_a_security_patch_is_expedited(client, dave, payments, freeze):
    patch = ReleaseFactory(
        author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "1.4.3")]
    )
    client.force_login(dave)

    response = client.get(CREATE_URL, {"release": patch.key})

    assert response.context["expedited"]
    assert "expedited" in response.content.decode()
    # The only window that stops it is chosen already.
    assert response.context["form"].initial["window"] == freeze.pk


def test_a_developer_requests_an_exception_through_the_form(client, draft_release, freeze, dave):
    client.force_login(dave)

    response = client.post(CREATE_URL, form_data(draft_release, freeze))

    exception = FreezeException.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(exception)
    assert (exception.release, exception.window, exception.requested_by) == (
        draft_release,
        freeze,
        dave,
    )
    assert exception.status == "pending"


def test_a_window_that_does_not_apply_is_refused_on_the_form_and_nothing_is_written(
    client, draft_release, dave
):
    elsewhere = window("Search freeze", services=[ServiceFactory(slug="search")])
    client.force_login(dave)
    before = footprint()

    response = client.post(CREATE_URL, form_data(draft_release, elsewhere))

    assert response.status_code == 200
    assert response.context["form"].errors["window"] == [
        f"'Search freeze' does not apply to {draft_release.key} between those times; "
        "no exception is needed."
    ]
    assert footprint() == before


def test_an_end_before_the_start_is_refused_on_the_form(client, draft_release, freeze, dave):
    now = timezone.now()
    client.force_login(dave)

    response = client.post(
        CREATE_URL,
        form_data(
            draft_release,
            freeze,
            valid_from=local(now + timedelta(hours=5)),
            valid_until=local(now + timedelta(hours=1)),
        ),
    )

    assert response.context["form"].errors["valid_until"] == [
        "The exception must end after it starts."
    ]
    assert FreezeException.objects.count() == 0


def test_missing_fields_are_refused_on_the_form(client, dave):
    client.force_login(dave)

    response = client.post(CREATE_URL, {"release": "", "window": "", "valid_from": "soon"})

    errors = response.context["form"].errors
    assert set(errors) >= {"release", "window", "justification", "risk", "valid_from"}
    assert FreezeException.objects.count() == 0


# --- the release's Schedule tab -----------------------------------------------------------------


def test_the_schedule_tab_lists_the_freeze_with_a_request_button(
    client, draft_release, freeze, dave
):
    client.force_login(dave)

    html = client.get(draft_release.get_absolute_url()).content.decode()

    assert 'data-testid="exception-panel"' in html
    assert "Quarter-end freeze" in html
    expected = f"{CREATE_URL}?release={draft_release.key}&amp;window={freeze.pk}"
    assert expected in html
    assert "No exceptions requested." in html


def test_the_schedule_tab_shows_the_exception_instead_of_the_button_once_requested(
    client, draft_release, freeze, pending, carol, dave
):
    freeze_exceptions.decide(pending, carol, approve=True)
    client.force_login(dave)

    html = client.get(draft_release.get_absolute_url()).content.decode()

    assert f"Exception #{pending.pk}" in html
    assert f"{CREATE_URL}?release={draft_release.key}&amp;window={freeze.pk}" not in html
    assert "Approved · in force" in html


def test_the_auditor_sees_the_panel_without_a_request_button(client, draft_release, freeze, audrey):
    client.force_login(audrey)

    html = client.get(draft_release.get_absolute_url()).content.decode()

    assert "Quarter-end freeze" in html
    assert "Request exception" not in html


# --- the dashboard card (offered to the dashboard as a template tag) ----------------------------


def render_queue_card(user) -> str:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load exception_tags %}{% exception_queue_card %}").render(
        Context({"request": request})
    )


def test_the_queue_card_shows_pending_requests_to_deciders_expedited_first(
    dave, carol, payments, freeze, django_assert_max_num_queries
):
    normal = ask(ReleaseFactory(author=dave, services=[(payments, "4.0.0")]), freeze, dave)
    patch = ask(
        ReleaseFactory(
            author=dave, kind=ReleaseKind.SECURITY_PATCH, services=[(payments, "4.0.1")]
        ),
        freeze,
        dave,
    )

    with django_assert_max_num_queries(4):
        html = render_queue_card(carol)

    assert 'data-testid="exception-queue"' in html
    assert html.index(f'data-exception="{patch.pk}"') < html.index(f'data-exception="{normal.pk}"')


def test_the_queue_card_is_empty_for_those_who_cannot_decide_or_when_nothing_waits(
    carol, dave, pending
):
    assert render_queue_card(dave).strip() == ""
    freeze_exceptions.decide(pending, carol, approve=True)
    assert render_queue_card(carol).strip() == ""


def render_window_card(user, freeze) -> str:
    from django.template import Context, Template
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return Template("{% load exception_tags %}{% window_exceptions freeze %}").render(
        Context({"request": request, "freeze": freeze})
    )


def test_the_window_card_lists_its_exceptions_and_offers_a_request(pending, freeze, dave, audrey):
    html = render_window_card(dave, freeze)

    assert f'data-exception="{pending.pk}"' in html
    assert f"{CREATE_URL}?window={freeze.pk}" in html
    assert f"{CREATE_URL}?window={freeze.pk}" not in render_window_card(audrey, freeze)


def test_the_window_card_is_empty_for_a_window_that_blocks_nothing(dave):
    assert render_window_card(dave, window("Patch Tuesday", kind="maintenance")).strip() == ""


def test_the_form_opened_from_a_window_preselects_it(client, draft_release, freeze, dave):
    client.force_login(dave)

    response = client.get(CREATE_URL, {"window": freeze.pk})

    form = response.context["form"]
    assert form.initial["window"] == freeze.pk
    assert "release" not in form.initial
    assert draft_release in form.fields["release"].queryset


def test_a_maintenance_window_is_not_offered_on_the_form(client, dave):
    harmless = window("Patch Tuesday", kind="maintenance")
    client.force_login(dave)

    response = client.get(CREATE_URL, {"window": harmless.pk})

    assert response.context["window"] is None
    assert "it blocks nothing" in response.content.decode()
