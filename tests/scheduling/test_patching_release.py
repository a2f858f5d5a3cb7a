"""A patch release created from a vulnerability: versions, kind, change type, dates, link, history."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from releasemgr.decisions import DomainError, NotPermitted
from releases.choices import ChangeType, ReleaseKind, ReleaseState, ScopeKind
from releases.models import Release, ReleaseService
from scheduling import patching
from scheduling.models import Vulnerability
from tests.factories import FreezeWindowFactory, ServiceFactory
from tests.scheduling.patching_support import released, vulnerability


@pytest.fixture
def ledger(db):
    return ServiceFactory(slug="ledger", name="Ledger")


@pytest.mark.django_db
def test_patch_release_ships_the_next_patch_version_of_each_service(alice, dave, payments, ledger):
    released(payments, "1.4.2", dave)
    released(ledger, "2.8.0", dave)
    v = vulnerability([payments, ledger], cvss="7.5", discovered_hours_ago=2)

    release = patching.create_patch_release(v, alice)

    versions = dict(release.release_services.values_list("service__slug", "version"))
    assert versions == {"payments-api": "1.4.3", "ledger": "2.8.1"}
    assert release.state == ReleaseState.DRAFT
    assert release.kind == ReleaseKind.SECURITY_PATCH
    assert release.change_type == ChangeType.NORMAL
    assert "Normal change" in release.description
    assert v.cve_id in release.name
    assert release.owner == alice and release.author == alice
    assert release.deadline == v.due_at
    assert timezone.now() < release.planned_start < release.planned_end <= v.due_at
    assert set(release.scope_items.values_list("kind", flat=True)) == {ScopeKind.SECURITY_PATCH}

    v.refresh_from_db()
    assert v.patch_release == release
    assert v.status == "patching"


@pytest.mark.django_db
def test_a_critical_vulnerability_gets_an_emergency_change_and_says_why(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="9.8")

    release = patching.create_patch_release(v, alice)

    assert release.change_type == ChangeType.EMERGENCY
    assert "Emergency change" in release.description
    assert "48 h" in release.description


@pytest.mark.django_db
def test_every_write_records_its_reason_in_history(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")

    release = patching.create_patch_release(v, alice)

    release_row = release.history.first()
    assert release_row.history_change_reason == f"Patch release for {v.cve_id}"
    assert release_row.history_user == alice
    link_row = ReleaseService.history.filter(release_id=release.pk).first()
    assert "1.4.2 → 1.4.3" in link_row.history_change_reason
    v_row = Vulnerability.objects.get(pk=v.pk).history.first()
    assert v_row.history_change_reason == f"Patch release {release.key} created"
    assert v_row.history_user == alice


@pytest.mark.django_db
def test_a_service_never_released_needs_a_version_and_nothing_is_written(alice, payments):
    v = vulnerability([payments], cvss="7.5")

    with pytest.raises(ValidationError) as caught:
        patching.create_patch_release(v, alice)

    assert "Payments API" in caught.value.message_dict["versions"][0]
    assert not Release.objects.exists()
    v.refresh_from_db()
    assert v.status == "open" and v.patch_release is None

    release = patching.create_patch_release(v, alice, versions={payments.pk: "3.0.1"})
    assert release.release_services.get().version == "3.0.1"
    assert release.version == "3.0.1"


@pytest.mark.django_db
def test_bad_versions_and_dates_are_refused_by_field(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")
    start = timezone.now() + timedelta(days=1)

    with pytest.raises(ValidationError) as caught:
        patching.create_patch_release(
            v,
            alice,
            versions={payments.pk: "one.two"},
            release_version="latest",
            planned_start=start,
            planned_end=start - timedelta(hours=1),
        )

    errors = caught.value.message_dict
    assert set(errors) == {"versions", "version", "planned_end"}
    assert not Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).exists()


@pytest.mark.django_db
def test_the_patch_must_be_planned_before_the_due_date(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="9.8")

    with pytest.raises(ValidationError) as caught:
        patching.create_patch_release(v, alice, planned_start=v.due_at + timedelta(hours=1))

    assert "due date" in caught.value.message_dict["planned_start"][0]
    assert not Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).exists()


@pytest.mark.django_db
def test_an_overdue_vulnerability_is_planned_as_soon_as_possible(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="9.8", discovered_hours_ago=60)

    release = patching.create_patch_release(v, alice)

    assert release.planned_start - timezone.now() < timedelta(hours=2)
    assert "already overdue" in release.description


@pytest.mark.django_db
def test_the_plan_moves_past_a_hard_freeze_when_the_deadline_allows(
    alice, dave, payments, environments
):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5", discovered_hours_ago=1)  # due in 167 h
    now = timezone.now()
    freeze = FreezeWindowFactory(start=now, end=now + timedelta(days=4), name="Quarter close")
    freeze.environments.set([environments["production"]])

    release = patching.create_patch_release(v, alice)

    assert release.planned_start >= freeze.end
    assert release.planned_end <= v.due_at
    assert "Quarter close" in release.description


@pytest.mark.django_db
def test_a_freeze_past_the_due_date_asks_for_an_expedited_exception(
    alice, dave, payments, environments
):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="9.8", discovered_hours_ago=1)
    now = timezone.now()
    FreezeWindowFactory(start=now, end=now + timedelta(days=5), name="Holiday freeze")

    release = patching.create_patch_release(v, alice)

    assert release.planned_start < v.due_at
    assert "expedited freeze exception" in release.description


@pytest.mark.django_db
def test_a_vulnerability_gets_one_live_patch_release(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")
    first = patching.create_patch_release(v, alice)

    with pytest.raises(DomainError) as caught:
        patching.create_patch_release(v, alice)
    assert first.key in caught.value.message
    assert Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).count() == 1


@pytest.mark.django_db
def test_a_patched_vulnerability_gets_no_patch_release(alice, dave, payments):
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5", status="patched")

    with pytest.raises(DomainError):
        patching.create_patch_release(v, alice)
    assert Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["olivia", "dave", "audrey", "nobody"])
def test_only_release_managers_create_patch_releases(persona, request, dave, payments):
    user = request.getfixturevalue(persona)
    released(payments, "1.4.2", dave)
    v = vulnerability([payments], cvss="7.5")

    with pytest.raises(NotPermitted):
        patching.create_patch_release(v, user)
    assert Release.objects.filter(kind=ReleaseKind.SECURITY_PATCH).count() == 0
