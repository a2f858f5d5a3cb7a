"""Pages of the change catalogue, retrospectives, risk scoring and the change-type report."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from governance import change_types
from governance.models import ChangeModel, DecisionRecord, Retrospective, RiskConfig
from tests.factories import ReleaseFactory, ServiceFactory


@pytest.fixture
def cert_rotation(payments, carol):
    model = ChangeModel.objects.create(
        slug="certificate-rotation",
        name="Certificate rotation",
        steps="Issue the certificate\nDeploy it\nCheck the chain",
        risk_ceiling="medium",
        approved_by=carol,
    )
    model.services.set([payments])
    return model


def login(client, user):
    client.force_login(user)
    return client


# --- change models ---------------------------------------------------------------------------


def test_anyone_with_a_role_reads_the_catalogue_and_a_model(client, audrey, cert_rotation):
    login(client, audrey)

    listing = client.get(reverse("change_model_list"))
    detail = client.get(reverse("change_model_detail", args=[cert_rotation.slug]))

    assert listing.status_code == 200
    assert "Certificate rotation" in listing.text
    assert "New change model" not in listing.text
    assert detail.status_code == 200
    assert 'data-testid="change-model-steps"' in detail.text
    assert "Check the chain" in detail.text
    assert "Payments API" in detail.text
    assert 'data-testid="history"' in detail.text


def test_the_catalogue_is_closed_to_anonymous_and_roleless_visitors(client, nobody, cert_rotation):
    assert client.get(reverse("change_model_list")).status_code == 302
    login(client, nobody)
    assert client.get(reverse("change_model_list")).status_code == 403


def test_the_catalogue_filters_by_service_and_ceiling(client, alice, cert_rotation):
    other = ChangeModel.objects.create(
        slug="flag-toggle", name="Feature flag toggle", steps="Flip it", risk_ceiling="low"
    )
    other.services.set([ServiceFactory(slug="search")])
    login(client, alice)

    by_service = client.get(reverse("change_model_list"), {"service": "search"})
    by_ceiling = client.get(reverse("change_model_list"), {"risk_ceiling": "medium"})

    assert "Feature flag toggle" in by_service.text
    assert "Certificate rotation" not in by_service.text
    assert "Certificate rotation" in by_ceiling.text
    assert "Feature flag toggle" not in by_ceiling.text


def _model_form(payments, **overrides):
    data = {
        "slug": "dependency-patch",
        "name": "Dependency patch bump",
        "description": "Patch-level library updates.",
        "services": [payments.pk],
        "steps": "Bump the version\n\n  Run the tests  \nDeploy",
        "risk_ceiling": "low",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_a_cab_member_who_creates_a_model_pre_approves_it(client, carol, payments):
    login(client, carol)

    response = client.post(reverse("change_model_create"), _model_form(payments))

    model = ChangeModel.objects.get(slug="dependency-patch")
    assert response.status_code == 302
    assert response.url == model.get_absolute_url()
    assert model.approved_by == carol
    assert model.owner == carol
    assert model.steps == "Bump the version\nRun the tests\nDeploy"
    assert list(model.services.all()) == [payments]
    assert model.history.first().history_user == carol


def test_a_release_manager_creates_a_model_that_waits_for_cab_approval(client, alice, payments):
    login(client, alice)

    client.post(reverse("change_model_create"), _model_form(payments))

    model = ChangeModel.objects.get(slug="dependency-patch")
    assert model.approved_by is None
    page = client.get(model.get_absolute_url())
    assert "not yet approved by a CAB member" in page.text


def test_a_cab_member_editing_a_model_approves_it(client, alice, erin, payments):
    login(client, alice)
    client.post(reverse("change_model_create"), _model_form(payments))
    login(client, erin)

    response = client.post(
        reverse("change_model_update", args=["dependency-patch"]),
        _model_form(payments, risk_ceiling="medium", change_reason="reviewed at CAB"),
    )

    assert response.status_code == 302
    model = ChangeModel.objects.get(slug="dependency-patch")
    assert (model.approved_by, model.risk_ceiling) == (erin, "medium")
    assert model.history.first().history_change_reason == "reviewed at CAB"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"services": []}, "services", "This field is required"),
        ({"steps": "  \n "}, "steps", "This field is required"),
        ({"risk_ceiling": "extreme"}, "risk_ceiling", "Select a valid choice"),
        ({"slug": "new"}, "slug", "reserved"),
    ],
)
def test_a_bad_model_shows_field_errors_and_nothing_is_written(
    client, carol, payments, overrides, field, message
):
    login(client, carol)

    response = client.post(reverse("change_model_create"), _model_form(payments, **overrides))

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert 'data-testid="form-errors"' in response.text
    assert not ChangeModel.objects.exists()


def test_developers_and_auditors_cannot_change_the_catalogue(client, dave, audrey, cert_rotation):
    for user in (dave, audrey):
        login(client, user)
        assert client.get(reverse("change_model_create")).status_code == 403
        response = client.post(
            reverse("change_model_delete", args=[cert_rotation.slug]), {"confirm": "1"}
        )
        assert response.status_code == 403
    assert ChangeModel.objects.filter(pk=cert_rotation.pk).exists()


def test_a_model_a_release_follows_cannot_be_deleted(client, alice, dave, payments, cert_rotation):
    release = ReleaseFactory(author=dave, services=[(payments, "1.0.1")], change_type="standard")
    release.change_model = cert_rotation
    release.save()
    login(client, alice)

    confirm = client.get(reverse("change_model_delete", args=[cert_rotation.slug]))
    response = client.post(reverse("change_model_delete", args=[cert_rotation.slug]), follow=True)

    assert "make it inactive instead" in confirm.text
    assert "cannot be deleted" in response.text
    assert ChangeModel.objects.filter(pk=cert_rotation.pk).exists()


def test_an_unused_model_is_deleted(client, carol, cert_rotation):
    login(client, carol)

    response = client.post(reverse("change_model_delete", args=[cert_rotation.slug]))

    assert response.status_code == 302
    assert not ChangeModel.objects.exists()


# --- retrospectives --------------------------------------------------------------------------


@pytest.fixture
def retros(dave, alice):
    """An overdue, an open and a completed retrospective."""
    made = {}
    for name in ("overdue", "open", "done"):
        release = ReleaseFactory(author=dave, name=f"Hotfix {name}", change_type="emergency")
        made[name] = change_types.open_retrospective(release, alice)
    Retrospective.objects.filter(pk__in=[made["overdue"].pk, made["done"].pk]).update(
        due_at=timezone.now() - timedelta(days=1)
    )
    change_types.complete_retrospective(made["done"], alice, "Fine.")
    return made


def test_the_retrospective_list_highlights_overdue_ones(client, audrey, retros):
    login(client, audrey)

    response = client.get(reverse("retrospective_list"))

    assert response.status_code == 200
    assert response.text.count('data-overdue="true"') == 1
    assert "1 overdue" in response.text
    overdue = client.get(reverse("retrospective_list"), {"state": "overdue"})
    assert "Hotfix overdue" in overdue.text
    assert "Hotfix open" not in overdue.text


def test_a_bad_retrospective_filter_is_explained(client, audrey, retros):
    login(client, audrey)

    response = client.get(reverse("retrospective_list"), {"state": "sideways"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.text


def test_a_release_manager_completes_a_retrospective(client, alice, retros):
    retro = retros["overdue"]
    login(client, alice)

    response = client.post(
        reverse("retrospective_update", args=[retro.pk]),
        {"findings": "Skipped staging under pressure.", "actions": "Add a smoke test"},
    )

    assert response.status_code == 302
    retro.refresh_from_db()
    assert retro.completed_by == alice
    page = client.get(retro.get_absolute_url())
    assert "Skipped staging under pressure." in page.text
    assert "after its due date" in page.text


def test_a_retrospective_without_findings_shows_the_error_and_nothing_is_written(
    client, carol, retros
):
    retro = retros["open"]
    login(client, carol)
    before = DecisionRecord.objects.count()

    response = client.post(reverse("retrospective_update", args=[retro.pk]), {"findings": " "})

    assert response.status_code == 400
    assert "Findings are required." in response.text
    retro.refresh_from_db()
    assert retro.completed_at is None
    assert DecisionRecord.objects.count() == before


def test_completing_a_completed_retrospective_is_refused(client, carol, retros):
    login(client, carol)

    response = client.post(
        reverse("retrospective_update", args=[retros["done"].pk]), {"findings": "Again"}
    )

    assert response.status_code == 409
    assert "was completed" in response.text


def test_an_auditor_sees_no_form_and_cannot_complete(client, audrey, retros):
    retro = retros["open"]
    login(client, audrey)

    page = client.get(retro.get_absolute_url())
    response = client.post(reverse("retrospective_update", args=[retro.pk]), {"findings": "x"})

    assert "Complete retrospective" not in page.text
    assert response.status_code == 403
    retro.refresh_from_db()
    assert retro.completed_at is None


# --- query counts ----------------------------------------------------------------------------


def _more_models(n, payments):
    for i in range(n):
        model = ChangeModel.objects.create(slug=f"m-{n}-{i}", name=f"Model {n}-{i}", steps="Do")
        model.services.set([payments])


def _more_retros(n, dave, alice):
    for _ in range(n):
        release = ReleaseFactory(author=dave, change_type="emergency")
        change_types.open_retrospective(release, alice)


def test_list_pages_take_a_bounded_number_of_queries(
    client, alice, dave, payments, django_assert_max_num_queries
):
    login(client, alice)
    for size in (3, 15):
        _more_models(size, payments)
        _more_retros(size, dave, alice)
        with django_assert_max_num_queries(14):
            assert client.get(reverse("change_model_list")).status_code == 200
        with django_assert_max_num_queries(14):
            assert client.get(reverse("retrospective_list")).status_code == 200


# --- risk scoring ----------------------------------------------------------------------------


def test_everyone_reads_the_risk_configuration_and_previews_a_release(
    client, audrey, draft_release
):
    login(client, audrey)

    page = client.get(reverse("risk_config"))
    one = client.get(reverse("risk_config"), {"release": draft_release.key})
    missing = client.get(reverse("risk_config"), {"release": "REL-1999-0001"})

    assert page.status_code == 200
    assert "Blast radius" in page.text
    assert "Edit weights and bands" not in page.text
    assert draft_release.key in page.text
    assert 'data-testid="risk-preview"' in one.text
    assert "No release REL-1999-0001." in missing.text


def test_a_compliance_officer_changes_the_weights(client, olivia):
    login(client, olivia)
    form = client.get(reverse("risk_config_update"))
    data = {
        name: value
        for name, value in form.context["form"].initial.items()
        if name.startswith("weight_") or name.endswith("_from")
    }
    data.update(weight_rollback=20, weight_deployment_strategy=0, reason="audit finding 12")

    response = client.post(reverse("risk_config_update"), data)

    assert response.status_code == 302
    config = RiskConfig.current()
    assert config.weights["rollback"] == 20
    assert config.history.first().history_change_reason == "audit finding 12"
    assert DecisionRecord.objects.get().kind == "policy_change"


def _config_form(**overrides):
    from governance import risk

    data = {f"weight_{c}": w for c, w in risk.DEFAULT_WEIGHTS.items()}
    data.update(medium_from=25, high_from=50, critical_from=75)
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"weight_rollback": 30}, "must add up to 100"),
        ({"high_from": 20}, "must rise"),
        ({"weight_rollback": "lots"}, "Enter a whole number"),
        ({"critical_from": 150}, "less than or equal to 100"),
    ],
)
def test_a_bad_configuration_shows_the_error_and_nothing_is_written(
    client, olivia, overrides, message
):
    login(client, olivia)

    response = client.post(reverse("risk_config_update"), _config_form(**overrides))

    assert response.status_code == 400
    assert message in response.text
    assert 'data-testid="form-errors"' in response.text
    assert RiskConfig.current().weights == {}
    assert not DecisionRecord.objects.exists()


def test_previewing_a_configuration_saves_nothing(client, olivia, draft_release):
    login(client, olivia)

    response = client.post(
        reverse("risk_config_update"),
        _config_form(medium_from=1, high_from=2, critical_from=3, preview="1"),
    )

    assert response.status_code == 200
    assert "With these settings" in response.text
    assert 'data-band="critical"' in response.text
    assert RiskConfig.current().critical_from == 75


def test_only_compliance_officers_edit_risk_scoring(client, alice, carol, audrey):
    for user in (alice, carol, audrey):
        login(client, user)
        assert client.get(reverse("risk_config_update")).status_code == 403
        assert client.post(reverse("risk_config_update"), _config_form()).status_code == 403
    assert not DecisionRecord.objects.exists()


def test_the_release_page_shows_the_risk_tab_and_band(client, alice, draft_release):
    login(client, alice)

    response = client.get(draft_release.get_absolute_url())

    assert response.status_code == 200
    assert 'data-testid="risk-factors"' in response.text
    assert 'data-code="team_success_rate"' in response.text
    assert response.text.count('data-testid="risk-band"') >= 2  # header and tab


# --- the report ------------------------------------------------------------------------------


def test_the_report_shows_counts_and_downloads_csv(client, audrey, dave):
    for change_type in ("standard", "emergency", "emergency"):
        ReleaseFactory(author=dave, change_type=change_type)
    login(client, audrey)

    page = client.get(reverse("change_type_report"))
    csv = client.get(reverse("change_type_report"), {"format": "csv"})

    assert page.status_code == 200
    assert 'data-testid="report-by-type"' in page.text
    assert 'data-testid="report-by-month"' in page.text
    assert csv.status_code == 200
    assert csv["Content-Type"] == "text/csv"
    lines = csv.content.decode().splitlines()
    assert lines[0].startswith("section,change_type,total")
    assert "by_type,emergency,2" in csv.content.decode()


def test_a_bad_report_period_is_refused(client, audrey):
    login(client, audrey)

    page = client.get(reverse("change_type_report"), {"since": "2025-05-01", "until": "2025-04-01"})
    csv = client.get(reverse("change_type_report"), {"team": "nope", "format": "csv"})

    assert page.status_code == 400
    assert "must be after its start" in page.text
    assert csv.status_code == 400
    assert "Unknown team" in csv.content.decode()
