"""Change-type fields on the release and service forms and serializers."""

import pytest
from django.urls import reverse

from governance.models import ChangeModel
from releases.models import Release, Service
from tests.web.test_release_pages import release_form_data


@pytest.fixture
def cert_rotation(payments, carol):
    model = ChangeModel.objects.create(
        slug="certificate-rotation", name="Certificate rotation", steps="Rotate"
    )
    model.services.set([payments])
    return model


# --- the release form ------------------------------------------------------------------------


def test_a_standard_change_names_its_model_touches_and_strategy(client, dave, cert_rotation):
    client.force_login(dave)

    response = client.post(
        reverse("release_create"),
        release_form_data(
            change_type="standard",
            change_model=cert_rotation.pk,
            touches=["access_control", "audit_trail"],
            planned_strategy="blue_green",
            rollback_tested="on",
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    release = Release.objects.get()
    assert release.change_model == cert_rotation
    assert release.touches == ["access_control", "audit_trail"]
    assert (release.planned_strategy, release.rollback_tested) == ("blue_green", True)


def test_the_form_shows_the_new_fields(client, dave):
    client.force_login(dave)

    page = client.get(reverse("release_create"))

    assert 'data-testid="touches"' in page.text
    assert 'name="change_model"' in page.text
    assert 'name="planned_strategy"' in page.text
    assert 'name="rollback_tested"' in page.text


def test_a_release_without_a_strategy_keeps_rolling(client, dave, payments):
    client.force_login(dave)

    response = client.post(reverse("release_create"), release_form_data())

    assert response.status_code == 302
    assert Release.objects.get().planned_strategy == "rolling"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"change_type": "normal"}, "change_model", "Only a standard change"),
        ({"change_type": "standard", "touches": ["weather"]}, "touches", "Select a valid choice"),
        ({"change_type": "standard", "planned_strategy": "yolo"}, "planned_strategy", "valid"),
    ],
)
def test_bad_change_fields_show_errors_and_nothing_is_written(
    client, dave, cert_rotation, overrides, field, message
):
    client.force_login(dave)
    data = release_form_data(change_model=cert_rotation.pk, **overrides)

    response = client.post(reverse("release_create"), data)

    assert response.status_code in (200, 400)
    assert message in " ".join(response.context["form"].errors[field])
    assert not Release.objects.exists()


def test_a_withdrawn_model_cannot_be_picked(client, dave, cert_rotation):
    cert_rotation.active = False
    cert_rotation.save()
    client.force_login(dave)

    response = client.post(
        reverse("release_create"),
        release_form_data(change_type="standard", change_model=cert_rotation.pk),
    )

    assert "Pick an active change model" in " ".join(
        response.context["form"].errors["change_model"]
    )
    assert not Release.objects.exists()


# --- the service form ------------------------------------------------------------------------


def test_a_release_manager_records_a_services_sensitive_areas(client, alice, payments):
    client.force_login(alice)
    page = client.get(reverse("service_update", args=[payments.slug]))
    data = {
        "slug": payments.slug,
        "name": payments.name,
        "team": payments.team.pk,
        "tier": 1,
        "recovery_sla_minutes": 15,
        "risk_profile": "high",
        "sensitive_areas": ["payments", "audit_trail"],
    }

    response = client.post(reverse("service_update", args=[payments.slug]), data)

    assert 'name="sensitive_areas"' in page.text
    assert response.status_code == 302, response.context["form"].errors
    assert Service.objects.get(pk=payments.pk).sensitive_areas == ["payments", "audit_trail"]


# --- the API ---------------------------------------------------------------------------------


def test_the_release_api_writes_the_change_fields(api_client, dave, payments, cert_rotation):
    response = api_client(dave).post(
        "/api/v1/releases/",
        {
            "name": "Rotate certs",
            "version": "1.4.3",
            "change_type": "standard",
            "change_model": "certificate-rotation",
            "touches": ["audit_trail"],
            "planned_strategy": "canary",
            "rollback_tested": True,
            "services": [{"service": "payments-api", "version": "1.4.3"}],
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["change_model"], body["touches"], body["planned_strategy"]) == (
        "certificate-rotation",
        ["audit_trail"],
        "canary",
    )
    assert Release.objects.get().rollback_tested is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"change_type": "normal", "change_model": "certificate-rotation"}, "change_model"),
        ({"change_model": "nope"}, "change_model"),
        ({"touches": ["weather"]}, "touches"),
        ({"planned_strategy": "yolo"}, "planned_strategy"),
    ],
)
def test_bad_change_fields_answer_400_over_the_api(api_client, dave, cert_rotation, body, field):
    data = {"name": "X", "version": "1.0.0", "change_type": "standard", **body}

    response = api_client(dave).post("/api/v1/releases/", data, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert not Release.objects.exists()


def test_the_service_api_reads_and_writes_sensitive_areas(api_client, alice, payments):
    client = api_client(alice)

    ok = client.patch(
        f"/api/v1/services/{payments.slug}/", {"sensitive_areas": ["payments"]}, format="json"
    )
    bad = client.patch(
        f"/api/v1/services/{payments.slug}/", {"sensitive_areas": ["weather"]}, format="json"
    )

    assert ok.status_code == 200
    assert ok.json()["sensitive_areas"] == ["payments"]
    assert bad.status_code == 400
    assert Service.objects.get(pk=payments.pk).sensitive_areas == ["payments"]
