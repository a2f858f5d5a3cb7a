"""Runbooks: versions, safe rendering, diffs, the "runbook updated" checklist, API and pages."""

from datetime import timedelta

import pytest
from django.urls import reverse

from metrics import runbooks
from metrics.models import Runbook, RunbookCheck, RunbookVersion
from releasemgr.decisions import IllegalTransition
from releases.models import ApiChange, ApiVersion, ScopeItem
from tests.factories import ServiceFactory


@pytest.fixture
def runbook(dave, payments):
    return runbooks.create_runbook(
        dave,
        payments,
        "Payments failover",
        "payments-failover",
        "# Failover\n\n1. Drain\n2. Switch",
    )


def test_versions_are_numbered_in_order_and_secrets_redacted(dave, runbook):
    v2 = runbooks.add_version(dave, runbook, "# Failover\n\npassword=hunter2secret", "Add creds")
    assert [v.number for v in runbook.versions.order_by("number")] == [1, 2]
    assert "hunter2secret" not in v2.body


def test_empty_text_or_summary_is_refused_and_writes_nothing(dave, runbook):
    for body, summary in (("", "x"), ("text", ""), ("x" * (runbooks.MAX_BODY + 1), "x")):
        with pytest.raises(runbooks.InvalidInput):
            runbooks.add_version(dave, runbook, body, summary)
    assert runbook.versions.count() == 1


def test_markdown_is_rendered_without_scripts_or_javascript_links():
    html = runbooks.render_markdown(
        "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n\n```\ncode\n```"
    )
    assert "<h1>Title</h1>" in html and "<pre><code>" in html
    assert "<script" not in html and "javascript:" not in html and "onerror" not in html


def test_diff_between_two_versions_is_unified_and_side_by_side(dave, runbook):
    runbooks.add_version(dave, runbook, "# Failover\n\n1. Drain\n2. Switch DNS\n3. Verify", "DNS")
    old, new = runbooks.version_pair(runbook, "1", "2")
    d = runbooks.diff_versions(old, new)
    assert "-2. Switch" in d.unified and "+2. Switch DNS" in d.unified and "+3. Verify" in d.unified
    assert {r["status"] for r in d.side_by_side} == {"same", "changed", "added"}
    with pytest.raises(runbooks.InvalidInput, match="no version 9"):
        runbooks.version_pair(runbook, 1, 9)
    with pytest.raises(runbooks.InvalidInput, match="version number"):
        runbooks.version_pair(runbook, "one", 2)


def _scope(release, kind, service=None, decision="included"):
    return ScopeItem.objects.create(
        release=release, title=f"{kind} item", kind=kind, service=service, decision=decision
    )


def test_checklist_rule_feature_fix_config_and_api_changes(dave, draft_release, payments):
    assert runbooks.checklist(draft_release).reasons == []
    _scope(draft_release, "tech_debt", payments)
    _scope(draft_release, "feature", payments, decision="deferred")
    assert runbooks.checklist(draft_release).reasons == []
    _scope(draft_release, "config", payments)
    other = ServiceFactory(slug="ledger")
    api = ApiVersion.objects.create(service=other, name="ledger v1", version="1.0.0")
    ApiChange.objects.create(release=draft_release, api_version=api, change="breaks")
    reasons = runbooks.checklist(draft_release).reasons
    assert [(r.data["service"], r.passed) for r in reasons] == [
        ("ledger", False),
        ("payments-api", False),
    ]
    assert "configuration" in reasons[1].data["why"][0]


def test_linking_a_newer_version_marks_the_item_done(dave, draft_release, payments, runbook):
    _scope(draft_release, "feature", payments)
    v2 = runbooks.add_version(dave, runbook, "new text", "for the release")
    runbooks.link_version(draft_release, payments, v2, dave)
    decision = runbooks.checklist(draft_release)
    assert decision.allowed and decision.reasons[0].data["version"] == 2
    check = RunbookCheck.objects.get()
    assert check.history.first().history_change_reason.startswith("linked")


def test_a_version_older_than_the_release_or_of_another_service_is_refused(
    dave, payments, runbook, draft_release
):
    _scope(draft_release, "fix", payments)
    old = runbook.versions.get()
    RunbookVersion.objects.filter(pk=old.pk).update(
        created=draft_release.created - timedelta(days=1)
    )
    old.refresh_from_db()
    with pytest.raises(runbooks.InvalidInput, match="before"):
        runbooks.link_version(draft_release, payments, old, dave)
    other = runbooks.create_runbook(dave, ServiceFactory(slug="ledger"), "Ledger", "ledger-rb", "x")
    with pytest.raises(runbooks.InvalidInput, match="not of payments-api"):
        runbooks.link_version(draft_release, payments, other.versions.get(), dave)
    assert RunbookCheck.objects.count() == 0


def test_a_service_the_release_does_not_change_cannot_be_linked(
    dave, payments, runbook, draft_release
):
    with pytest.raises(runbooks.InvalidInput, match="does not change"):
        runbooks.link_version(draft_release, payments, runbook.versions.get(), dave)


def test_a_closed_release_checklist_cannot_change(dave, payments, runbook, move_to):
    release = move_to("cancelled")
    _scope(release, "feature", payments)
    with pytest.raises(IllegalTransition):
        runbooks.link_version(release, payments, runbook.versions.get(), dave)


# --- API ---------------------------------------------------------------------------------------


def test_api_create_runbook_version_and_diff(api_client, dave, payments):
    client = api_client(dave)
    created = client.post(
        "/api/v1/runbooks/",
        {"service": "payments-api", "title": "Restart", "slug": "pay-restart", "body": "a\nb"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["current_version"] == 1
    version = client.post(
        "/api/v1/runbook-versions/",
        {"runbook": "pay-restart", "body": "a\nc", "summary": "b → c"},
        format="json",
    )
    assert version.status_code == 201 and version.json()["number"] == 2
    rb = created.json()["id"]
    diff = client.get(f"/api/v1/runbooks/{rb}/diff/?from=1&to=2")
    assert diff.status_code == 200 and diff.json()["changed"] is True
    assert "+c" in diff.json()["unified"]
    assert client.get(f"/api/v1/runbooks/{rb}/diff/?from=1&to=7").status_code == 400
    # Versions are never edited.
    vid = version.json()["id"]
    patched = client.patch(f"/api/v1/runbook-versions/{vid}/", {"body": "x"}, format="json")
    assert patched.status_code in (403, 405)
    assert client.delete(f"/api/v1/runbook-versions/{vid}/").status_code in (403, 405)
    assert RunbookVersion.objects.get(pk=vid).body == "a\nc"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"runbook": "payments-failover", "body": "", "summary": "x"}, "body"),
        ({"runbook": "payments-failover", "body": "x"}, "summary"),
        ({"runbook": "nope", "body": "x", "summary": "x"}, "runbook"),
    ],
)
def test_api_bad_versions_are_400_and_write_nothing(api_client, dave, runbook, body, field):
    response = api_client(dave).post("/api/v1/runbook-versions/", body, format="json")
    assert response.status_code == 400 and field in response.json()
    assert RunbookVersion.objects.count() == 1


def test_api_duplicate_slug_is_400(api_client, dave, runbook):
    response = api_client(dave).post(
        "/api/v1/runbooks/",
        {"service": "payments-api", "title": "T", "slug": "payments-failover", "body": "x"},
        format="json",
    )
    assert response.status_code == 400 and "slug" in response.json()
    assert Runbook.objects.count() == 1


@pytest.mark.parametrize(
    "persona, status",
    [
        ("alice", 201),
        ("dave", 201),
        ("bob", 201),
        ("carol", 403),
        ("paula", 403),
        ("audrey", 403),
        ("pipeline", 403),
    ],
)
def test_who_may_write_runbook_versions(api_client, request, runbook, persona, status):
    user = request.getfixturevalue(persona)
    response = api_client(user).post(
        "/api/v1/runbook-versions/",
        {"runbook": runbook.slug, "body": "new", "summary": "s"},
        format="json",
    )
    assert response.status_code == status


def test_api_checklist_get_and_link(
    api_client, dave, audrey, carol, draft_release, payments, runbook
):
    _scope(draft_release, "feature", payments)
    url = f"/api/v1/releases/{draft_release.key}/runbook-checklist/"
    body = api_client(audrey).get(url).json()
    assert body["done"] is False and body["items"][0]["service"] == "payments-api"
    assert (
        api_client(carol).post(url, {"service": "payments-api"}, format="json").status_code == 403
    )
    bad = api_client(dave).post(
        url, {"service": "payments-api", "runbook": runbook.slug, "version": 5}, format="json"
    )
    assert bad.status_code == 400 and RunbookCheck.objects.count() == 0
    linked = api_client(dave).post(
        url, {"service": "payments-api", "runbook": runbook.slug, "version": 1}, format="json"
    )
    assert linked.status_code == 200, linked.json()
    assert linked.json()["done"] is True


def test_runbook_lists_have_bounded_queries(
    api_client, client, audrey, dave, payments, django_assert_max_num_queries
):
    reader = api_client(audrey)
    client.force_login(audrey)
    runbooks.create_runbook(dave, payments, "One", "one", "x")
    with django_assert_max_num_queries(12):
        assert reader.get("/api/v1/runbooks/").status_code == 200
    with django_assert_max_num_queries(15):
        assert client.get(reverse("runbook_list")).status_code == 200
    for i in range(15):
        rb = runbooks.create_runbook(dave, payments, f"R{i}", f"r{i}", "x")
        runbooks.add_version(dave, rb, "y", "s")
    with django_assert_max_num_queries(12):
        assert reader.get("/api/v1/runbooks/?service=payments-api").json()["count"] == 16
    with django_assert_max_num_queries(12):
        assert reader.get("/api/v1/runbook-versions/").status_code == 200
    with django_assert_max_num_queries(15):
        page = client.get(reverse("runbook_list"))
    assert page.status_code == 200 and b"R14" in page.content


# --- pages -------------------------------------------------------------------------------------


def test_runbook_pages_render_and_diff(client, dave, runbook):
    runbooks.add_version(dave, runbook, "# Failover\n\n1. Drain\n2. Switch DNS", "DNS")
    client.force_login(dave)
    detail = client.get(runbook.get_absolute_url())
    assert b"<h1>Failover</h1>" in detail.content and b"Switch DNS" in detail.content
    diff = client.get(reverse("runbook_diff", args=[runbook.slug]) + "?from=1&to=2")
    assert diff.status_code == 200 and b'data-status="changed"' in diff.content
    unified = client.get(reverse("runbook_diff", args=[runbook.slug]) + "?from=1&to=2&view=unified")
    assert b"+2. Switch DNS" in unified.content
    assert (
        client.get(reverse("runbook_diff", args=[runbook.slug]) + "?from=1&to=9").status_code == 400
    )


def test_new_version_page_saves_and_bad_input_shows_errors(client, dave, runbook):
    client.force_login(dave)
    url = reverse("runbook_version_create", args=[runbook.slug])
    bad = client.post(url, {"body": "text", "summary": ""})
    assert bad.status_code == 400 and runbook.versions.count() == 1
    ok = client.post(url, {"body": "text", "summary": "why"})
    assert ok.status_code == 302 and runbook.versions.count() == 2


def test_release_panel_links_a_version(client, dave, draft_release, payments, runbook):
    _scope(draft_release, "feature", payments)
    client.force_login(dave)
    page = client.get(draft_release.get_absolute_url())
    assert b'data-testid="runbook-check-payments-api"' in page.content
    version = runbook.versions.get()
    response = client.post(
        reverse("release_runbook_check_edit", args=[draft_release.key]),
        {"service": "payments-api", "version": version.pk},
    )
    assert response.status_code == 302
    assert RunbookCheck.objects.get().version == version
