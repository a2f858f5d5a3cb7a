"""Checklists and their refinement: runs per deployment, recurring factors and failed items
counted by hand, proposals with evidence, accepted into a new version; pages and API."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from metrics import checklist_refinement, checklists, postmortems
from metrics.models import ChecklistRun, ChecklistRunItem, ChecklistVersion, Incident, PostMortem
from metrics.periods import parse_filters
from releasemgr.decisions import IllegalTransition, NotPermitted

ITEMS = [
    {"key": "approvals", "text": "Approvals complete"},
    {"key": "smoke", "text": "Smoke tests green in staging"},
]


@pytest.fixture
def deployments(move_to):
    release = move_to("deployed")
    return list(release.deployments.order_by("pk"))


@pytest.fixture
def template(alice):
    return checklists.create_template(alice, "Production deployment", "prod", "production", ITEMS)


def _pm(alice, payments, title, factors):
    incident = Incident(title=title, service=payments, severity="high", started_at=timezone.now())
    incident.save_with_reason("test")
    pm = postmortems.create_postmortem(alice, title, incident=incident)
    for category, tags in factors:
        postmortems.add_factor(alice, pm, category, f"A gap in {category}", tags)
    return pm


def _run(bob, deployment, template, failed=()):
    run = checklists.start_run(bob, deployment, template)
    for item in run.items.all():
        if item.key in failed:
            checklists.tick(bob, item, "failed", "did not pass")
        else:
            checklists.tick(bob, item, "passed")
    return run


@pytest.fixture
def history(alice, bob, payments, deployments, template):
    """pm1: testing [db-migration, load]; pm2: testing [db-migration]; pm3: process [cache].
    Runs: smoke failed on deployments 0 and 1, approvals failed on deployment 2 only."""
    pms = [
        _pm(alice, payments, "PM one", [("testing", ["db-migration", "load"])]),
        _pm(alice, payments, "PM two", [("testing", ["db-migration"])]),
        _pm(alice, payments, "PM three", [("process", ["cache"])]),
    ]
    runs = [
        _run(bob, deployments[0], template, failed=["smoke"]),
        _run(bob, deployments[1], template, failed=["smoke"]),
        _run(bob, deployments[2], template, failed=["approvals"]),
    ]
    return {"pms": pms, "runs": runs}


def _period():
    return parse_filters({})


def test_recurring_tags_categories_and_failed_items_are_counted_by_hand(template, history):
    pm1, pm2, _pm3 = history["pms"]
    run1, run2, _run3 = history["runs"]
    found = {p.key: p for p in checklist_refinement.recurring(_period(), template)}
    # db-migration in pm1 and pm2 (2); load and cache once; testing in pm1, pm2 (2); process 1;
    # smoke failed in run1 and run2 (2); approvals once.
    assert sorted(found) == ["pm-category-testing", "pm-db-migration", "smoke-double-check"]
    assert {k: p.count for k, p in found.items()} == {
        "pm-category-testing": 2,
        "pm-db-migration": 2,
        "smoke-double-check": 2,
    }
    assert [e["id"] for e in found["pm-db-migration"].evidence] == [pm1.pk, pm2.pk]
    assert [e["id"] for e in found["smoke-double-check"].evidence] == [run1.pk, run2.pk]
    assert "db migration" in found["pm-db-migration"].text
    assert "Smoke tests green in staging" in found["smoke-double-check"].text


def test_post_mortems_outside_the_period_do_not_count(template, history):
    PostMortem.objects.filter(pk=history["pms"][0].pk).update(
        created=timezone.now() - timedelta(days=200)
    )
    keys = {p.key for p in checklist_refinement.recurring(_period(), template)}
    assert "pm-db-migration" not in keys and "pm-category-testing" not in keys
    assert "smoke-double-check" in keys


def test_proposals_already_covered_by_the_current_version_are_skipped(alice, template, history):
    checklists.add_version(
        alice,
        template,
        [*ITEMS, {"key": "db-migration-reviewed", "text": "Migration reviewed"}],
        "x",
    )
    result = checklist_refinement.refine(_period(), template)
    assert [p.key for p in result.proposals] == ["pm-category-testing", "smoke-double-check"]
    assert [p.key for p in result.covered] == ["pm-db-migration"]


def test_accepting_proposals_makes_a_new_version_with_where_they_came_from(
    alice, template, history
):
    version = checklist_refinement.accept(
        alice, template, _period(), ["pm-db-migration", "smoke-double-check"]
    )
    assert version.number == 2 and version.created_by == alice
    assert [i["key"] for i in version.items] == [
        "approvals",
        "smoke",
        "pm-db-migration",
        "smoke-double-check",
    ]
    assert [p["key"] for p in version.accepted_proposals] == [
        "pm-db-migration",
        "smoke-double-check",
    ]
    assert version.accepted_proposals[0]["evidence"][0]["kind"] == "post_mortem"
    assert template.history.first().history_change_reason.startswith("version 2: accepted 2")
    left = [p.key for p in checklist_refinement.refine(_period(), template).proposals]
    assert left == ["pm-category-testing"]


def test_accepting_nothing_an_unknown_proposal_or_as_a_deployer_changes_nothing(
    alice, bob, template, history
):
    for user, keys, error in [
        (alice, [], checklists.InvalidInput),
        (alice, ["pm-nope"], checklists.InvalidInput),
        (bob, ["pm-db-migration"], NotPermitted),
    ]:
        with pytest.raises(error):
            checklist_refinement.accept(user, template, _period(), keys)
    assert ChecklistVersion.objects.filter(template=template).count() == 1


def test_a_run_copies_the_current_version_and_a_deployment_has_one_run_per_checklist(
    alice, bob, template, deployments
):
    run = checklists.start_run(bob, deployments[0], template)
    checklists.add_version(alice, template, [{"key": "new", "text": "New item"}], "replace")
    assert [i.key for i in run.items.all()] == ["approvals", "smoke"]
    with pytest.raises(IllegalTransition, match="already has a run"):
        checklists.start_run(bob, deployments[0], template)
    item = run.items.get(key="smoke")
    with pytest.raises(checklists.InvalidInput, match="Say why"):
        checklists.tick(bob, item, "failed", "")
    item.refresh_from_db()
    assert item.status == "pending"


def test_the_diff_between_versions_shows_added_removed_and_changed_items():
    old = ChecklistVersion(items=[{"key": "a", "text": "A"}, {"key": "b", "text": "B"}])
    new = ChecklistVersion(items=[{"key": "a", "text": "A!"}, {"key": "c", "text": "C"}])
    assert [(r["key"], r["status"]) for r in checklists.diff_items(old, new)] == [
        ("a", "changed"),
        ("c", "added"),
        ("b", "removed"),
    ]


# --- pages ------------------------------------------------------------------------------------


def test_the_checklist_page_shows_proposals_with_evidence_and_accepts_them(
    client, alice, template, history
):
    client.force_login(alice)
    html = client.get(template.get_absolute_url()).content.decode()
    assert "pm-db-migration" in html and "PM one" in html and "run #" in html
    response = client.post(
        reverse("checklist_proposal_apply", args=[template.pk]), {"keys": ["smoke-double-check"]}
    )
    assert response.status_code == 302
    assert template.versions.count() == 2
    html = client.get(template.get_absolute_url()).content.decode()
    assert 'data-testid="version-2"' in html and 'data-status="added"' in html


def test_the_checklist_page_refuses_an_inverted_period_and_an_empty_accept(
    client, alice, template, history
):
    client.force_login(alice)
    response = client.get(
        template.get_absolute_url(), {"since": "2026-06-01", "until": "2026-05-01"}
    )
    assert response.status_code == 400
    # In the words of the page's form ("From", "Until"), not the API's parameter names.
    assert (
        "The period ends (2026-05-01) before it starts (2026-06-01): "
        "“Until” must be a later day than “From”" in response.content.decode()
    )
    response = client.post(reverse("checklist_proposal_apply", args=[template.pk]), {})
    assert response.status_code == 400
    assert "Choose at least one proposal" in response.content.decode()
    assert template.versions.count() == 1


def test_the_deployment_page_has_a_checklist_panel_to_start_and_tick(
    client, bob, template, deployments
):
    deployment = deployments[-1]
    client.force_login(bob)
    html = client.get(deployment.get_absolute_url()).content.decode()
    assert 'data-testid="checklist-panel"' in html and "Start a run" in html
    client.post(reverse("deployment_checklist_start", args=[deployment.pk]), {"template": "prod"})
    run = ChecklistRun.objects.get(deployment=deployment)
    item = run.items.get(key="smoke")
    client.post(reverse("checklist_run_item_edit", args=[item.pk]), {"status": "passed"})
    item.refresh_from_db()
    assert item.status == "passed"
    assert item.history.first().history_user == bob


# --- API -------------------------------------------------------------------------------------


def test_api_runs_proposals_and_accept(api_client, alice, bob, template, history, deployments):
    runs = api_client(bob)
    response = runs.post(
        "/api/v1/checklist-runs/",
        {"deployment": deployments[3].pk, "template": "prod"},
        format="json",
    )
    assert response.status_code == 201
    run_id = response.json()["id"]
    url = f"/api/v1/checklist-runs/{run_id}/items/"
    assert runs.post(url, {"key": "smoke", "status": "failed"}, format="json").status_code == 400
    assert runs.post(url, {"key": "nope", "status": "passed"}, format="json").status_code == 400
    assert ChecklistRunItem.objects.filter(run_id=run_id, status="pending").count() == 2
    assert runs.post(url, {"key": "smoke", "status": "passed"}, format="json").status_code == 200
    again = runs.post(
        "/api/v1/checklist-runs/",
        {"deployment": deployments[3].pk, "template": "prod"},
        format="json",
    )
    assert again.status_code == 409

    body = runs.get("/api/v1/checklist-proposals/?template=prod").json()
    assert [p["key"] for p in body["proposals"]] == [
        "pm-category-testing",
        "pm-db-migration",
        "smoke-double-check",
    ]
    assert runs.get("/api/v1/checklist-proposals/?template=nope").status_code == 400
    bad = runs.get("/api/v1/checklist-proposals/?template=prod&since=2026-06-01&until=2026-05-01")
    assert bad.status_code == 400
    accept = {"template": "prod", "keys": ["pm-db-migration"]}
    assert (
        runs.post("/api/v1/checklist-proposals/accept/", accept, format="json").status_code == 403
    )
    manager = api_client(alice)
    bad_keys = {"template": "prod", "keys": ["pm-nope"]}
    assert (
        manager.post("/api/v1/checklist-proposals/accept/", bad_keys, format="json").status_code
        == 400
    )
    assert template.versions.count() == 1
    response = manager.post("/api/v1/checklist-proposals/accept/", accept, format="json")
    assert response.status_code == 201 and response.json()["number"] == 2


def test_api_checklist_lists_are_bounded(
    api_client, alice, bob, template, deployments, django_assert_max_num_queries
):
    client = api_client(alice)
    _run(bob, deployments[0], template)
    for url in ("/api/v1/checklist-runs/", "/api/v1/checklist-templates/"):
        with django_assert_max_num_queries(9):
            client.get(url)
    for n in range(8):
        other = checklists.create_template(alice, f"T{n}", f"t{n}", "production", ITEMS)
        for d in deployments:
            _run(bob, d, other)
    for url in ("/api/v1/checklist-runs/", "/api/v1/checklist-templates/"):
        with django_assert_max_num_queries(9):
            assert client.get(url).status_code == 200
