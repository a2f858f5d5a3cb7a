"""The quality-gate form's exit criteria as repeated rows: each row's fields are checked by the
model's own rules, errors show next to the field, and bad input saves nothing."""

import pytest
from django.urls import reverse

from releases.models import QualityGate

SMOKE = [{"metric": "smoke_failed", "op": "==", "threshold": 0}]


def post_data(environment, rows, initial=0, **extra):
    data = {
        "environment": environment.pk,
        "name": "Staging exit",
        "active": "on",
        "criteria-TOTAL_FORMS": str(len(rows)),
        "criteria-INITIAL_FORMS": str(initial),
        **extra,
    }
    for n, row in enumerate(rows):
        for field, value in row.items():
            data[f"criteria-{n}-{field}"] = value
    return data


def row(metric="", op="", threshold="", suite="", **more):
    return {"metric": metric, "op": op, "threshold": threshold, "suite": suite, **more}


@pytest.fixture
def staging_gate(environments):
    return QualityGate.objects.create(
        environment=environments["staging"], name="Staging smoke", criteria=SMOKE
    )


def test_the_form_shows_one_row_per_criterion_plus_blank_rows(client, alice, staging_gate):
    client.force_login(alice)

    page = client.get(reverse("quality_gate_edit", args=[staging_gate.pk])).content.decode()

    assert 'data-testid="criteria-rows"' in page
    assert page.count('data-testid="criterion-row-') == 1 + 3
    assert '<option value="smoke_failed" selected>' in page
    assert '<option value="==" selected>' in page
    assert 'name="criteria-0-threshold" value="0"' in page
    assert "textarea" not in page.split('data-testid="criteria-rows"')[1].split("</fieldset>")[0]


def test_rows_become_the_gates_criteria_and_blank_rows_are_ignored(client, alice, environments):
    client.force_login(alice)
    rows = [
        row("smoke_failed", "==", "0"),
        row("p95_latency_ms", "<=", "300"),
        row("error_rate_percent", "<=", "0.5", "perf-eu"),
        row(),
    ]

    response = client.post(reverse("quality_gate_create"), post_data(environments["staging"], rows))

    assert response.status_code == 302
    assert QualityGate.objects.get().criteria == [
        {"metric": "smoke_failed", "op": "==", "threshold": 0},
        {"metric": "p95_latency_ms", "op": "<=", "threshold": 300},
        {"metric": "error_rate_percent", "op": "<=", "threshold": 0.5, "suite": "perf-eu"},
    ]


def test_a_ticked_row_is_removed_and_a_new_one_added(client, alice, staging_gate, environments):
    client.force_login(alice)
    rows = [row("smoke_failed", "==", "0", DELETE="on"), row("coverage_percent", ">=", "80")]

    response = client.post(
        reverse("quality_gate_edit", args=[staging_gate.pk]),
        post_data(environments["staging"], rows, initial=1, reason="coverage instead"),
    )

    assert response.status_code == 302
    staging_gate.refresh_from_db()
    assert staging_gate.criteria == [{"metric": "coverage_percent", "op": ">=", "threshold": 80}]
    assert staging_gate.history.first().history_change_reason == "coverage instead"


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (row("mood", "<=", "1"), "metric", "unknown metric &#x27;mood&#x27;; use one of"),
        (row("p95_latency_ms", "=<", "1"), "op", "unknown operator &#x27;=&lt;&#x27;"),
        (
            row("p95_latency_ms", "<=", "fast"),
            "threshold",
            "the threshold must be a number, not &#x27;fast&#x27;",
        ),
        (row("p95_latency_ms", "<=", "nan"), "threshold", "the threshold must be a number"),
        (row("p95_latency_ms", "<=", "300", "Perf Suite!"), "suite", "short lower-case name"),
        (row("p95_latency_ms", "<=", ""), "threshold", "Give a number."),
        (row("", "<=", "300"), "metric", "Choose a metric."),
    ],
)
def test_a_bad_row_shows_the_models_message_next_to_its_field_and_saves_nothing(
    client, alice, environments, bad, field, message
):
    client.force_login(alice)
    rows = [row("smoke_failed", "==", "0"), bad]

    response = client.post(reverse("quality_gate_create"), post_data(environments["staging"], rows))

    assert response.status_code == 400
    page = response.content.decode()
    cell = page.split(f'name="criteria-1-{field}"')[1].split("</td>")[0]
    assert message in cell
    assert "is-invalid" in page.split(f'name="criteria-1-{field}"')[0].rsplit("<", 1)[1] + cell
    assert "Fix the criteria marked below." in page
    assert 'name="criteria-0-threshold" value="0"' in page  # the good row is kept as typed
    assert not QualityGate.objects.exists()


def test_a_gate_without_any_criterion_says_so(client, alice, environments):
    client.force_login(alice)

    response = client.post(
        reverse("quality_gate_create"), post_data(environments["staging"], [row(), row()])
    )

    assert response.status_code == 400
    assert "Give at least one exit criterion." in response.content.decode()
    assert not QualityGate.objects.exists()


def test_a_bad_edit_leaves_the_gate_and_its_history_as_they_were(
    client, alice, staging_gate, environments
):
    client.force_login(alice)
    versions = staging_gate.history.count()

    response = client.post(
        reverse("quality_gate_edit", args=[staging_gate.pk]),
        post_data(environments["staging"], [row("smoke_failed", ">>", "0")], initial=1),
    )

    assert response.status_code == 400
    staging_gate.refresh_from_db()
    assert staging_gate.criteria == SMOKE
    assert staging_gate.history.count() == versions


def test_a_post_without_the_rows_management_data_is_refused(client, alice, environments):
    client.force_login(alice)

    response = client.post(
        reverse("quality_gate_create"),
        {"environment": environments["staging"].pk, "name": "x", "criteria": "[]"},
    )

    assert response.status_code == 400
    assert "Fix the criteria marked below." in response.content.decode()
    assert not QualityGate.objects.exists()


@pytest.mark.parametrize("persona", ["dave", "audrey"])
def test_only_gate_editors_may_post_criteria_rows(client, request, environments, persona):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(
        reverse("quality_gate_create"),
        post_data(environments["staging"], [row("smoke_failed", "==", "0")]),
    )

    assert response.status_code == 403
    assert not QualityGate.objects.exists()
