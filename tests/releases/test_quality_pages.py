"""Quality-gate and test-result pages, per role, with bounded queries, and the release page's
Validation-tab panel."""

import pytest
from django.urls import reverse

from releases import quality
from releases.models import QualityGate, TestResult

SMOKE = [{"metric": "smoke_failed", "op": "==", "threshold": 0}]


@pytest.fixture
def staging_gate(environments):
    return QualityGate.objects.create(
        environment=environments["staging"], name="Staging smoke", criteria=SMOKE
    )


def form(environment, **extra):
    """The gate form as a browser posts it: one criterion row (see test_quality_criteria_form)."""
    return {
        "environment": environment.pk,
        "name": "Perf",
        "active": "on",
        "min_load_ratio": "0.8",
        "criteria-TOTAL_FORMS": "1",
        "criteria-INITIAL_FORMS": "0",
        "criteria-0-metric": "p95_latency_ms",
        "criteria-0-op": "<=",
        "criteria-0-threshold": "300",
        **extra,
    }


@pytest.mark.parametrize(("persona", "code"), [("alice", 200), ("audrey", 200), ("nobody", 403)])
def test_who_may_read_the_gate_and_result_pages(client, request, staging_gate, persona, code):
    client.force_login(request.getfixturevalue(persona))

    for url in (
        reverse("quality_gate_list"),
        staging_gate.get_absolute_url(),
        reverse("test_result_list"),
    ):
        assert client.get(url).status_code == code, url


def test_the_release_manager_creates_a_gate_from_the_form(client, alice, environments):
    client.force_login(alice)

    response = client.post(reverse("quality_gate_create"), form(environments["staging"]))

    gate = QualityGate.objects.get()
    assert response.status_code == 302
    assert gate.criteria[0]["threshold"] == 300
    assert gate.history.first().history_user == alice


@pytest.mark.parametrize("persona", ["dave", "audrey", "pipeline"])
def test_others_may_not_create_edit_or_delete_gates(client, request, staging_gate, persona):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("quality_gate_create")).status_code == 403
    assert client.post(reverse("quality_gate_edit", args=[staging_gate.pk]), {}).status_code == 403
    assert client.post(reverse("quality_gate_delete", args=[staging_gate.pk])).status_code == 403
    assert QualityGate.objects.filter(pk=staging_gate.pk).exists()


def test_the_release_manager_edits_and_deletes_a_gate(client, alice, staging_gate, environments):
    client.force_login(alice)
    edit = form(environments["staging"], name="Staging perf", reason="latency budget")

    assert (
        client.post(reverse("quality_gate_edit", args=[staging_gate.pk]), edit).status_code == 302
    )
    staging_gate.refresh_from_db()
    assert staging_gate.name == "Staging perf"
    assert staging_gate.history.first().history_change_reason == "latency budget"
    assert client.post(reverse("quality_gate_delete", args=[staging_gate.pk])).status_code == 302
    assert not QualityGate.objects.exists()


def _results(release, env, user, count):
    for n in range(count):
        quality.report_result(release, env, user, suite=f"suite-{n % 5}", status="passed")


def test_the_result_list_runs_the_same_queries_at_two_sizes(
    client, alice, pipeline, draft_release, environments, django_assert_max_num_queries
):
    client.force_login(alice)
    _results(draft_release, environments["staging"], pipeline, 3)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("test_result_list")).status_code == 200
    _results(draft_release, environments["test"], pipeline, 30)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("test_result_list") + "?environment=test&status=passed")
    assert response.status_code == 200
    assert response.content.decode().count('data-status="passed"') == 25


def test_the_result_detail_shows_metrics_and_history(
    client, alice, pipeline, draft_release, environments
):
    result, _ = quality.report_result(
        draft_release,
        environments["staging"],
        pipeline,
        suite="performance",
        status="passed",
        metrics={"p95_latency_ms": 212},
        load_ratio=0.8,
    )
    client.force_login(alice)

    page = client.get(result.get_absolute_url()).content.decode()

    assert "p95_latency_ms" in page and "212" in page
    assert "80% of expected production load" in page


def test_the_release_page_shows_each_criterion_with_its_verdict(
    client, alice, pipeline, draft_release, staging_gate, environments
):
    quality.report_result(
        draft_release, environments["staging"], pipeline, suite="smoke", status="failed", failed=2
    )
    client.force_login(alice)

    page = client.get(draft_release.get_absolute_url()).content.decode()

    assert 'data-testid="quality-failed"' in page
    assert "Smoke tests failed 2, but the gate needs Smoke tests failed = 0" in page


def test_the_quality_panel_costs_the_same_queries_with_more_gates_and_results(
    pipeline, draft_release, environments, rf, alice
):
    from releases.templatetags.quality_tags import quality_panel

    request = rf.get("/")
    request.user = alice

    def measure():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            quality_panel({"request": request}, draft_release)
        return len(ctx)

    QualityGate.objects.create(environment=environments["dev"], name="A", criteria=SMOKE)
    _results(draft_release, environments["dev"], pipeline, 2)
    measure()  # the first call also loads alice's permissions
    small = measure()
    for env in environments.values():
        QualityGate.objects.create(environment=env, name="B", criteria=SMOKE * 3)
        _results(draft_release, env, pipeline, 10)
    assert measure() == small == 3
    assert TestResult.objects.count() == 42
