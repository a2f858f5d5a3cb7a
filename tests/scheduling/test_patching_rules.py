"""Patch SLA rules: severity from CVSS, due dates from the policy, overdue and at-risk lists."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from scheduling import patching
from scheduling.models import PatchSlaPolicy, Vulnerability
from tests.factories import ServiceFactory
from tests.scheduling.patching_support import released, vulnerability


@pytest.mark.parametrize(
    ("cvss", "severity"),
    [
        ("10.0", "critical"),
        ("9.0", "critical"),
        ("8.9", "high"),
        ("7.0", "high"),
        ("6.9", "medium"),
        ("4.0", "medium"),
        ("3.9", "low"),
        ("0.0", "low"),
    ],
)
def test_cvss_score_sets_the_severity(cvss, severity):
    assert patching.severity_for(Decimal(cvss)) == severity


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("cvss", "hours"), [("9.8", 48), ("7.5", 168), ("5.0", 720), ("2.0", 2160)]
)
def test_due_date_is_discovery_plus_the_policy_hours_of_the_severity(cvss, hours):
    service = ServiceFactory()
    v = vulnerability([service], cvss=cvss, discovered_hours_ago=3)

    v.refresh_from_db()
    assert v.severity == patching.severity_for(Decimal(cvss))
    assert v.due_at == v.discovered_at + timedelta(hours=hours)


@pytest.mark.django_db
def test_a_policy_change_applies_to_new_computations_only():
    service = ServiceFactory()
    before = vulnerability([service], cvss="9.1")
    PatchSlaPolicy.objects.filter(severity="critical").update(hours=24)

    after = vulnerability([service], cvss="9.1")
    before.refresh_from_db()

    assert after.due_at == after.discovered_at + timedelta(hours=24)
    assert before.due_at == before.discovered_at + timedelta(hours=48)

    # Saving without touching CVSS or discovery keeps the deadline that was set ...
    before.title = "Renamed"
    before.save()
    before.refresh_from_db()
    assert before.due_at == before.discovered_at + timedelta(hours=48)
    # ... re-scoring computes it again, with today's policy.
    before.cvss = Decimal("9.9")
    before.save()
    before.refresh_from_db()
    assert before.due_at == before.discovered_at + timedelta(hours=24)


@pytest.mark.django_db
def test_saving_a_partly_loaded_vulnerability_keeps_its_deadline():
    v = vulnerability([ServiceFactory()], cvss="9.1")
    PatchSlaPolicy.objects.filter(severity="critical").update(hours=24)

    partial = Vulnerability.objects.only("pk", "title", "status").get(pk=v.pk)
    partial.status = "accepted"
    partial.save()

    v.refresh_from_db()
    assert v.status == "accepted"
    assert v.due_at == v.discovered_at + timedelta(hours=48)


@pytest.mark.django_db
def test_rescoring_to_a_lower_severity_moves_the_due_date_later():
    v = vulnerability([ServiceFactory()], cvss="9.5")
    v.cvss = Decimal("7.1")
    v.save()
    v.refresh_from_db()
    assert v.severity == "high"
    assert v.due_at == v.discovered_at + timedelta(hours=168)


@pytest.mark.django_db
def test_recomputing_open_vulnerabilities_after_a_policy_change_records_why(alice):
    service = ServiceFactory()
    open_one = vulnerability([service], cvss="7.5")
    patched = vulnerability([service], cvss="7.5", status="patched")
    PatchSlaPolicy.objects.filter(severity="high").update(hours=72)

    assert patching.recompute_open("high", alice) == 1

    open_one.refresh_from_db()
    patched.refresh_from_db()
    assert open_one.due_at == open_one.discovered_at + timedelta(hours=72)
    assert patched.due_at == patched.discovered_at + timedelta(hours=168)
    assert "72 h" in open_one.history.first().history_change_reason


@pytest.mark.django_db
def test_status_of_tells_overdue_at_risk_on_track_and_done():
    service = ServiceFactory()
    now = timezone.now()
    # Critical: 48 h, at risk in the last 12 h (fraction 0.75).
    overdue = vulnerability([service], cvss="9.8", discovered_hours_ago=50)
    at_risk = vulnerability([service], cvss="9.8", discovered_hours_ago=40)
    on_track = vulnerability([service], cvss="9.8", discovered_hours_ago=10)
    done = vulnerability([service], cvss="9.8", discovered_hours_ago=50, status="patched")
    planned = vulnerability([service], cvss="9.8", discovered_hours_ago=50, status="patching")

    assert patching.status_of(overdue, now) == patching.OVERDUE
    assert patching.status_of(at_risk, now) == patching.AT_RISK
    assert patching.status_of(on_track, now) == patching.ON_TRACK
    assert patching.status_of(done, now) == patching.DONE
    # A planned patch release does not stop the clock: it is still overdue until shipped.
    assert patching.status_of(planned, now) == patching.OVERDUE


@pytest.mark.django_db
def test_the_at_risk_share_comes_from_the_policy():
    v = vulnerability([ServiceFactory()], cvss="9.8", discovered_hours_ago=30)
    assert patching.status_of(v) == patching.ON_TRACK
    PatchSlaPolicy.objects.filter(severity="critical").update(at_risk_fraction=Decimal("0.5"))
    assert patching.status_of(v) == patching.AT_RISK


@pytest.mark.django_db
def test_overdue_and_at_risk_lists_hold_only_open_vulnerabilities_in_that_state():
    service = ServiceFactory()
    overdue = vulnerability([service], cvss="7.5", discovered_hours_ago=200)
    at_risk = vulnerability([service], cvss="7.5", discovered_hours_ago=150)
    vulnerability([service], cvss="7.5", discovered_hours_ago=10)  # on track
    vulnerability([service], cvss="7.5", discovered_hours_ago=200, status="accepted")

    assert list(patching.overdue()) == [overdue]
    assert list(patching.at_risk()) == [at_risk]
    assert list(patching.overdue_or_at_risk()) == [overdue, at_risk]
    # The SQL filter and status_of agree on every row.
    now = timezone.now()
    for state in (patching.OVERDUE, patching.AT_RISK, patching.ON_TRACK, patching.DONE):
        in_sql = set(Vulnerability.objects.filter(patching.state_q(state, now)))
        in_python = {v for v in Vulnerability.objects.all() if patching.status_of(v, now) == state}
        assert in_sql == in_python, state


@pytest.mark.django_db
@pytest.mark.parametrize(
    "cve_id", ["CVE-24-1234", "CVE-2024-123", "2024-12345", "CVE_2024_1234", "CVE-1899-1234"]
)
def test_a_malformed_cve_id_is_refused_with_a_clear_message(cve_id):
    v = Vulnerability(cve_id=cve_id, title="x", cvss=Decimal("5"), discovered_at=timezone.now())
    with pytest.raises(ValidationError) as caught:
        v.full_clean(exclude=["severity", "due_at"])
    assert "cve_id" in caught.value.message_dict
    assert "CVE" in " ".join(caught.value.message_dict["cve_id"])


@pytest.mark.django_db
def test_a_discovery_date_in_the_future_is_refused():
    v = Vulnerability(
        cve_id="CVE-2024-12345",
        title="x",
        cvss=Decimal("5"),
        discovered_at=timezone.now() + timedelta(days=1),
    )
    with pytest.raises(ValidationError) as caught:
        v.full_clean(exclude=["severity", "due_at"])
    assert "future" in caught.value.message_dict["discovered_at"][0]


@pytest.mark.parametrize(
    ("version", "bumped"),
    [("1.4.2", "1.4.3"), ("v3.1", "v3.1.1"), ("2", "2.0.1"), ("2.0.0-rc.1", "2.0.1")],
)
def test_bump_patch_gives_the_next_patch_version(version, bumped):
    assert patching.bump_patch(version) == bumped


@pytest.mark.django_db
def test_latest_released_version_is_the_highest_deployed_one(dave):
    service = ServiceFactory()
    released(service, "1.10.0", dave)
    released(service, "1.9.3", dave)
    # A draft does not count as released.
    from tests.factories import ReleaseFactory

    ReleaseFactory(author=dave, version="2.0.0", services=[(service, "2.0.0")])

    assert patching.latest_released_versions([service]) == {service.pk: "1.10.0"}


@pytest.mark.django_db
def test_the_default_slas_match_the_seeded_ones_and_are_never_overwritten():
    seeded = dict(PatchSlaPolicy.objects.values_list("severity", "hours"))
    assert seeded == {str(k): v for k, v in patching.DEFAULT_SLA_HOURS.items()}
    PatchSlaPolicy.objects.filter(severity="low").delete()
    PatchSlaPolicy.objects.filter(severity="high").update(hours=100)

    patching.ensure_policies()

    assert dict(PatchSlaPolicy.objects.values_list("severity", "hours"))["low"] == 2160
    assert PatchSlaPolicy.objects.get(severity="high").hours == 100


@pytest.mark.django_db
def test_a_severity_without_an_sla_is_a_clear_error():
    from releasemgr.decisions import DomainError

    PatchSlaPolicy.objects.filter(severity="critical").delete()
    with pytest.raises(DomainError, match="no patch SLA for critical"):
        vulnerability([ServiceFactory()], cvss="9.8")


@pytest.mark.django_db
def test_default_patch_slas_fill_in_missing_severities_only():
    from scheduling.models import PatchSlaPolicy
    from scheduling.signals import ensure_default_patch_slas

    PatchSlaPolicy.objects.filter(severity="low").delete()
    PatchSlaPolicy.objects.filter(severity="high").update(hours=100)
    assert ensure_default_patch_slas() == 1
    assert dict(PatchSlaPolicy.objects.values_list("severity", "hours")) == {
        "critical": 48,
        "high": 100,  # a compliance officer's change stays
        "medium": 720,
        "low": 2160,
    }
    assert ensure_default_patch_slas() == 0
