"""API of change types: change models, retrospectives, release risk, risk config, report."""

from datetime import timedelta

import pytest
from django.utils import timezone

from governance import change_types, risk
from governance.models import ChangeModel, DecisionRecord, Retrospective, RiskConfig
from tests.factories import ReleaseFactory


@pytest.fixture
def cert_rotation(payments, carol):
    model = ChangeModel.objects.create(
        slug="certificate-rotation",
        name="Certificate rotation",
        steps="Issue\nDeploy",
        risk_ceiling="medium",
        approved_by=carol,
    )
    model.services.set([payments])
    return model


# --- change models ---------------------------------------------------------------------------


def test_change_models_are_listed_and_read_by_slug(api_client, audrey, cert_rotation):
    client = api_client(audrey)

    listing = client.get("/api/v1/change-models/", {"service": "payments-api"})
    one = client.get("/api/v1/change-models/certificate-rotation/")

    assert listing.status_code == 200
    assert [m["slug"] for m in listing.json()["results"]] == ["certificate-rotation"]
    assert one.json()["services"] == ["payments-api"]
    assert one.json()["approved_by"] == "carol"
    assert one.json()["release_count"] == 0


def test_a_cab_member_creates_a_model_over_the_api_and_pre_approves_it(api_client, erin, payments):
    response = api_client(erin).post(
        "/api/v1/change-models/",
        {
            "slug": "flag-toggle",
            "name": "Feature flag toggle",
            "services": ["payments-api"],
            "steps": "Flip\n\nWatch",
            "risk_ceiling": "low",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    model = ChangeModel.objects.get(slug="flag-toggle")
    assert (model.approved_by, model.owner, model.steps) == (erin, erin, "Flip\nWatch")
    assert model.history.first().history_user == erin


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"services": []}, "services"),
        ({"services": ["nope"]}, "services"),
        ({"steps": "  "}, "steps"),
        ({"risk_ceiling": "extreme"}, "risk_ceiling"),
        ({"slug": "certificate-rotation"}, "slug"),
    ],
)
def test_a_bad_change_model_is_refused_with_field_errors(
    api_client, alice, cert_rotation, body, field
):
    data = {
        "slug": "other",
        "name": "Other",
        "services": ["payments-api"],
        "steps": "Do it",
        "risk_ceiling": "low",
        **body,
    }

    response = api_client(alice).post("/api/v1/change-models/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert ChangeModel.objects.count() == 1


def test_developers_cannot_write_the_catalogue(api_client, dave, cert_rotation):
    client = api_client(dave)

    assert client.delete("/api/v1/change-models/certificate-rotation/").status_code == 403
    assert (
        client.patch(
            "/api/v1/change-models/certificate-rotation/", {"active": False}, format="json"
        ).status_code
        == 403
    )
    assert ChangeModel.objects.get().active


def test_a_model_in_use_cannot_be_deleted(api_client, alice, dave, payments, cert_rotation):
    release = ReleaseFactory(author=dave, services=[(payments, "1.0.0")], change_type="standard")
    release.change_model = cert_rotation
    release.save()

    response = api_client(alice).delete("/api/v1/change-models/certificate-rotation/")

    assert response.status_code == 409
    assert ChangeModel.objects.exists()


# --- retrospectives --------------------------------------------------------------------------


@pytest.fixture
def retro(dave, alice):
    release = ReleaseFactory(author=dave, change_type="emergency")
    made = change_types.open_retrospective(release, alice)
    Retrospective.objects.filter(pk=made.pk).update(due_at=timezone.now() - timedelta(hours=1))
    return made


def test_retrospectives_are_listed_with_overdue_flag(api_client, audrey, retro):
    response = api_client(audrey).get("/api/v1/retrospectives/", {"state": "overdue"})

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["overdue"] is True
    assert row["release"] == retro.release.key


def test_a_cab_member_completes_a_retrospective_over_the_api(api_client, carol, retro):
    response = api_client(carol).post(
        f"/api/v1/retrospectives/{retro.pk}/complete/",
        {"findings": "Skipped staging.", "actions": "Add smoke test"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["completed_by"] == "carol"
    assert response.json()["overdue"] is False
    assert DecisionRecord.objects.get().outcome == "completed_late"


@pytest.mark.parametrize(
    ("persona", "body", "status"),
    [
        ("carol", {"findings": " "}, 400),
        ("carol", {}, 400),
        ("dave", {"findings": "x"}, 403),
        ("audrey", {"findings": "x"}, 403),
    ],
)
def test_bad_or_unauthorised_completions_change_nothing(
    api_client, retro, request, persona, body, status
):
    user = request.getfixturevalue(persona)

    response = api_client(user).post(
        f"/api/v1/retrospectives/{retro.pk}/complete/", body, format="json"
    )

    assert response.status_code == status
    retro.refresh_from_db()
    assert retro.completed_at is None
    assert not DecisionRecord.objects.exists()


def test_completing_twice_answers_409(api_client, carol, erin, retro):
    url = f"/api/v1/retrospectives/{retro.pk}/complete/"
    api_client(carol).post(url, {"findings": "Done."}, format="json")

    response = api_client(erin).post(url, {"findings": "Again."}, format="json")

    assert response.status_code == 409


# --- risk ------------------------------------------------------------------------------------


def test_a_release_risk_answers_the_live_assessment_and_snapshots(
    api_client, audrey, draft_release, dave
):
    risk.record_assessment(draft_release, dave)

    response = api_client(audrey).get(f"/api/v1/releases/{draft_release.key}/risk/")

    body = response.json()
    assert response.status_code == 200
    assert body["release"] == draft_release.key
    assert [f["code"] for f in body["factors"]] == risk.FACTORS
    assert body["score"] == sum(f["points"] for f in body["factors"])
    assert body["band"] in {"low", "medium", "high", "critical"}
    assert body["snapshots"][0]["assessed_by"] == "dave"
    assert api_client(audrey).get("/api/v1/releases/REL-1-1/risk/").status_code == 404


def test_the_risk_config_is_read_by_all_and_patched_by_compliance(api_client, audrey, olivia):
    assert api_client(audrey).get("/api/v1/risk-config/").json()["weights"] == risk.DEFAULT_WEIGHTS

    response = api_client(olivia).patch(
        "/api/v1/risk-config/",
        {"weights": {"rollback": 25, "blast_radius": 5}, "critical_from": 80, "reason": "audit"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["weights"]["rollback"] == 25
    assert RiskConfig.current().critical_from == 80


@pytest.mark.parametrize(
    ("persona", "body", "status"),
    [
        ("olivia", {"weights": {"rollback": 50}}, 400),
        ("olivia", {"weights": {"luck": 0}}, 400),
        ("olivia", {"medium_from": 60}, 400),
        ("olivia", {"high_from": "high"}, 400),
        ("alice", {"critical_from": 80}, 403),
        ("audrey", {"critical_from": 80}, 403),
    ],
)
def test_bad_or_unauthorised_risk_config_changes_change_nothing(
    api_client, request, persona, body, status
):
    response = api_client(request.getfixturevalue(persona)).patch(
        "/api/v1/risk-config/", body, format="json"
    )

    assert response.status_code == status
    config = RiskConfig.current()
    assert (config.weights, config.medium_from, config.critical_from) == ({}, 25, 75)
    assert not DecisionRecord.objects.exists()


# --- report ----------------------------------------------------------------------------------


def test_the_report_endpoint_counts_by_type(api_client, audrey, dave, payments):
    ReleaseFactory(author=dave, change_type="emergency", services=[(payments, "1.0.0")])
    ReleaseFactory(author=dave, change_type="standard")
    today = timezone.now().date()

    response = api_client(audrey).get(
        "/api/v1/reports/change-types/",
        {"since": str(today), "until": str(today + timedelta(days=1)), "team": "payments"},
    )

    body = response.json()
    assert response.status_code == 200
    assert body["total"] == 1
    assert body["team"] == "payments"
    assert {r["change_type"]: r["total"] for r in body["by_type"]}["emergency"] == 1


@pytest.mark.parametrize(
    "query",
    [{"since": "yesterday"}, {"team": "nope"}, {"since": "2025-05-01", "until": "2025-04-01"}],
)
def test_a_bad_report_query_answers_400(api_client, audrey, query):
    assert api_client(audrey).get("/api/v1/reports/change-types/", query).status_code == 400


def test_change_endpoints_need_a_token(api_client, cert_rotation):
    client = api_client()
    for url in (
        "/api/v1/change-models/",
        "/api/v1/retrospectives/",
        "/api/v1/risk-config/",
        "/api/v1/reports/change-types/",
    ):
        assert client.get(url).status_code == 401


# --- query counts ----------------------------------------------------------------------------


def test_list_endpoints_take_a_bounded_number_of_queries(
    api_client, alice, dave, payments, django_assert_max_num_queries
):
    client = api_client(alice)
    for size in (3, 15):
        for i in range(size):
            model = ChangeModel.objects.create(slug=f"m{size}-{i}", name=f"M {size} {i}", steps="x")
            model.services.set([payments])
            change_types.open_retrospective(
                ReleaseFactory(author=dave, change_type="emergency"), alice
            )
        with django_assert_max_num_queries(10):
            assert client.get("/api/v1/change-models/").status_code == 200
        with django_assert_max_num_queries(10):
            assert client.get("/api/v1/retrospectives/").status_code == 200
