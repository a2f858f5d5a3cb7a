"""``/api/v1/incidents/`` and ``/api/v1/integrity-checks/``: contract, bad input, roles, and
bounded queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from metrics import incidents, integrity
from metrics.models import Incident, IntegrityCheck, IntegrityResult, RecoveryDecision
from tests.factories import ServiceFactory


@pytest.fixture
def deployed(move_to):
    return move_to("deployed")


def body(**extra):
    data = {
        "service": "payments-api",
        "title": "Card payments fail",
        "severity": "critical",
        "started_at": timezone.now().isoformat(),
    }
    data.update(extra)
    return data


def test_a_pipeline_reports_an_incident_attributed_automatically(api_client, deployed, pipeline):
    response = api_client(pipeline).post("/api/v1/incidents/", body(), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["release"] == deployed.key
    assert data["attribution"] == "automatic"
    assert data["status"] == "open"
    assert data["caused_by"] == deployed.deployments.get(environment__is_production=True).pk


def test_the_same_external_id_twice_answers_200_then_409_when_different(
    api_client, deployed, pipeline
):
    client = api_client(pipeline)
    first = client.post("/api/v1/incidents/", body(external_id="PD-9"), format="json")
    same = client.post(
        "/api/v1/incidents/",
        body(external_id="PD-9", started_at=first.json()["started_at"]),
        format="json",
    )
    other = client.post(
        "/api/v1/incidents/",
        body(external_id="PD-9", started_at=first.json()["started_at"], severity="low"),
        format="json",
    )

    assert first.status_code == 201
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    assert other.status_code == 409 and other.json()["code"] == "external_id_conflict"
    assert Incident.objects.count() == 1


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"service": "nope"}, "service"),
        ({"severity": "sev1"}, "severity"),
        ({"started_at": "yesterday"}, "started_at"),
        ({"title": ""}, "title"),
        ({"resolved_at": "2000-01-01T00:00:00Z"}, "resolved_at"),
        ({"release": "REL-1999-0001"}, "release"),
        ({"caused_by": 999999}, "caused_by"),
    ],
)
def test_bad_input_answers_400_with_the_field_and_writes_nothing(
    api_client, payments, pipeline, extra, field
):
    response = api_client(pipeline).post("/api/v1/incidents/", body(**extra), format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert Incident.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 201),
        ("bob", 201),
        ("dave", 201),
        ("pipeline", 201),
        ("carol", 403),
        ("audrey", 403),
        ("paula", 403),
    ],
)
def test_who_may_report_incidents(api_client, request, payments, persona, status):
    response = api_client(request.getfixturevalue(persona)).post(
        "/api/v1/incidents/", body(), format="json"
    )

    assert response.status_code == status
    assert Incident.objects.count() == (1 if status == 201 else 0)


def test_an_incident_is_resolved_by_patch_or_the_resolve_action(api_client, payments, bob):
    client = api_client(bob)
    one = client.post("/api/v1/incidents/", body(), format="json").json()
    two = client.post("/api/v1/incidents/", body(title="Other"), format="json").json()

    patched = client.patch(
        f"/api/v1/incidents/{one['id']}/",
        {"resolved_at": timezone.now().isoformat()},
        format="json",
    )
    resolved = client.post(f"/api/v1/incidents/{two['id']}/resolve/", {}, format="json")
    again = client.post(f"/api/v1/incidents/{two['id']}/resolve/", {}, format="json")

    assert patched.status_code == 200 and patched.json()["status"] == "resolved"
    assert resolved.status_code == 200 and resolved.json()["resolved_at"]
    assert again.status_code == 409


def test_the_service_of_an_incident_cannot_be_changed(api_client, payments, bob):
    client = api_client(bob)
    ServiceFactory(slug="ledger", name="Ledger")
    one = client.post("/api/v1/incidents/", body(), format="json").json()

    response = client.patch(f"/api/v1/incidents/{one['id']}/", {"service": "ledger"}, format="json")

    assert response.status_code == 400 and "service" in response.json()


def test_the_advice_and_a_decision_through_the_api(api_client, deployed, bob, dave):
    client = api_client(bob)
    incident = client.post("/api/v1/incidents/", body(), format="json").json()

    advice = client.get(f"/api/v1/incidents/{incident['id']}/advice/")
    no_reason = client.post(
        f"/api/v1/incidents/{incident['id']}/decide/",
        {"choice": "rollback", "reason": ""},
        format="json",
    )
    refused = api_client(dave).post(
        f"/api/v1/incidents/{incident['id']}/decide/",
        {"choice": "rollback", "reason": "x"},
        format="json",
    )
    decided = client.post(
        f"/api/v1/incidents/{incident['id']}/decide/",
        {"choice": "rollback", "reason": "Checkout is down."},
        format="json",
    )

    assert advice.status_code == 200 and advice.json()["recommendation"] == "rollback"
    assert {r["code"] for r in advice.json()["reasons"]} >= {
        "rollback_plan",
        "db_reversible",
        "fix_readiness",
        "severity",
    }
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    assert refused.status_code == 403
    assert decided.status_code == 201 and decided.json()["recommendation"] == "rollback"
    assert RecoveryDecision.objects.count() == 1
    detail = client.get(f"/api/v1/incidents/{incident['id']}/").json()
    assert detail["recovery_decisions"][0]["choice"] == "rollback"


def test_deciding_on_an_unattributed_incident_answers_409(api_client, payments, bob):
    client = api_client(bob)
    incident = client.post("/api/v1/incidents/", body(), format="json").json()

    response = client.post(
        f"/api/v1/incidents/{incident['id']}/decide/",
        {"choice": "rollback", "reason": "x"},
        format="json",
    )

    assert response.status_code == 409
    assert RecoveryDecision.objects.count() == 0


def test_the_list_filters_by_service_severity_status_release_and_period(
    api_client, deployed, payments, bob
):
    other = ServiceFactory(slug="ledger", name="Ledger")
    incidents.report_incident(
        bob, service=payments, title="A", severity="critical", started_at=timezone.now()
    )
    incidents.report_incident(
        bob, service=other, title="B", severity="low", started_at=timezone.now() - timedelta(days=3)
    )
    client = api_client(bob)

    def titles(query):
        return [i["title"] for i in client.get(f"/api/v1/incidents/?{query}").json()["results"]]

    assert titles("service=ledger") == ["B"]
    assert titles("severity=critical") == ["A"]
    assert titles(f"release={deployed.key}") == ["A"]
    assert titles("status=open") == ["A", "B"]
    since = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert titles(f"since={since}") == ["A"]


def _incidents(n, service, user):
    for i in range(n):
        incidents.report_incident(
            user, service=service, title=f"I{i}", severity="high", started_at=timezone.now()
        )


def test_the_incident_list_uses_a_bounded_number_of_queries(
    api_client, deployed, payments, bob, django_assert_max_num_queries
):
    client = api_client(bob)
    _incidents(2, payments, bob)
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/incidents/")
    _incidents(20, payments, bob)
    for incident in Incident.objects.all()[:10]:
        incidents.decide(incident, bob, "rollback", "x")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get("/api/v1/incidents/").json()["count"] == 22


# --- integrity checks ---------------------------------------------------------------------------


def check_body(release, **extra):
    data = {"release": release.key, "name": "ledger sum", "kind": "sum", "relation": "equal"}
    data.update(extra)
    return data


def test_a_job_posts_results_and_passed_is_computed_not_trusted(
    api_client, deployed, alice, pipeline
):
    made = api_client(alice).post("/api/v1/integrity-checks/", check_body(deployed), format="json")
    url = f"/api/v1/integrity-checks/{made.json()['id']}/results/"

    response = api_client(pipeline).post(
        url, {"before_value": "100.50", "after_value": "100.49", "passed": True}, format="json"
    )

    assert made.status_code == 201
    assert response.status_code == 201
    assert response.json()["passed"] is False
    listed = api_client(alice).get("/api/v1/integrity-checks/").json()["results"][0]
    assert listed["passing"] is False
    assert listed["latest_result"]["after_value"] == "100.49"
    assert api_client(alice).get(url).json()["count"] == 1


def test_a_bad_result_answers_400_and_writes_nothing(api_client, deployed, alice, pipeline):
    c = integrity.add_check(deployed, alice, name="rows", kind="row_count")

    response = api_client(pipeline).post(
        f"/api/v1/integrity-checks/{c.pk}/results/",
        {"before_value": "x", "after_value": "1"},
        format="json",
    )

    assert response.status_code == 400 and "before_value" in response.json()
    assert IntegrityResult.objects.count() == 0


def test_a_bad_check_answers_400_and_writes_nothing(api_client, deployed, alice):
    response = api_client(alice).post(
        "/api/v1/integrity-checks/", check_body(deployed, relation="expected_value"), format="json"
    )

    assert response.status_code == 400 and "expected_value" in response.json()
    assert IntegrityCheck.objects.count() == 0


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("alice", 201),
        ("bob", 201),
        ("pipeline", 201),
        ("dave", 403),
        ("audrey", 403),
        ("carol", 403),
    ],
)
def test_who_may_post_results(api_client, request, deployed, alice, persona, status):
    c = integrity.add_check(deployed, alice, name="rows", kind="row_count")

    response = api_client(request.getfixturevalue(persona)).post(
        f"/api/v1/integrity-checks/{c.pk}/results/",
        {"before_value": "1", "after_value": "1"},
        format="json",
    )

    assert response.status_code == status
    assert IntegrityResult.objects.count() == (1 if status == 201 else 0)


@pytest.mark.parametrize(
    ("persona", "status"),
    [("alice", 201), ("dave", 201), ("bob", 403), ("pipeline", 403), ("audrey", 403)],
)
def test_who_may_define_checks(api_client, request, deployed, persona, status):
    response = api_client(request.getfixturevalue(persona)).post(
        "/api/v1/integrity-checks/", check_body(deployed), format="json"
    )

    assert response.status_code == status


def test_closing_through_the_api_answers_409_naming_the_failing_check(
    api_client, deployed, alice, bob
):
    c = integrity.add_check(deployed, alice, name="ledger sum", kind="sum")
    integrity.post_result(c, bob, before_value="5", after_value="6")

    response = api_client(alice).post(f"/api/v1/releases/{deployed.key}/close/", {}, format="json")

    assert response.status_code == 409
    assert "ledger sum" in response.json()["detail"]
    assert response.json()["checks"][0]["code"] == "data_integrity"
    deployed.refresh_from_db()
    assert deployed.state == "deployed"


def test_the_check_list_uses_a_bounded_number_of_queries(
    api_client, deployed, alice, bob, django_assert_max_num_queries
):
    client = api_client(alice)
    integrity.add_check(deployed, alice, name="c0", kind="row_count")
    with django_assert_max_num_queries(12) as few:
        client.get("/api/v1/integrity-checks/")
    for i in range(1, 15):
        c = integrity.add_check(deployed, alice, name=f"c{i}", kind="row_count")
        integrity.post_result(c, bob, before_value="1", after_value="1")
    with django_assert_max_num_queries(len(few.captured_queries) + 1):
        assert client.get("/api/v1/integrity-checks/").json()["count"] == 15
