"""ITIL change types (governance.change_types): standard fit, retrospectives, the report."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from governance import change_types
from governance.change_types import InvalidRetrospective
from governance.models import ChangeModel, DecisionRecord, Retrospective
from releasemgr.decisions import DomainError, NotPermitted
from releases.models import Release
from tests.factories import ReleaseFactory, ServiceFactory, TeamFactory


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


@pytest.fixture
def standard_release(dave, payments, cert_rotation):
    """A low-risk standard change of payments-api following the certificate rotation."""
    return ReleaseFactory(
        author=dave,
        services=[(payments, "1.4.3")],
        change_type="standard",
        change_model=cert_rotation,
        planned_strategy="canary",
        rollback_plan="Put the old certificate back.",
        rollback_tested=True,
    )


def codes(decision, passed=None):
    return [r.code for r in decision.reasons if passed is None or r.passed is passed]


# --- standard changes ------------------------------------------------------------------------


def test_a_standard_change_within_its_model_fits(standard_release):
    decision = change_types.standard_change_fit(standard_release)

    assert decision.allowed, decision.messages()
    assert codes(decision) == [
        "change_model_named",
        "change_model_active",
        "services_within_model",
        "risk_within_ceiling",
    ]


def test_a_standard_change_without_a_model_does_not_fit(standard_release):
    standard_release.change_model = None

    decision = change_types.standard_change_fit(standard_release)

    assert codes(decision, passed=False) == ["change_model_named"]
    assert "normal change" in decision.messages()[0]


def test_a_withdrawn_model_does_not_fit(standard_release, cert_rotation):
    cert_rotation.active = False
    cert_rotation.save()

    decision = change_types.standard_change_fit(Release.objects.get(pk=standard_release.pk))

    assert codes(decision, passed=False) == ["change_model_active"]


def test_a_service_outside_the_model_does_not_fit(standard_release):
    search = ServiceFactory(slug="search", name="Search", team=TeamFactory(slug="discovery"))
    standard_release.release_services.create(service=search, version="3.0.0")

    decision = change_types.standard_change_fit(Release.objects.get(pk=standard_release.pk))

    assert codes(decision, passed=False) == ["services_within_model"]
    assert "does not cover Search" in decision.failed[0].message


def test_a_standard_change_above_the_risk_ceiling_does_not_fit(standard_release, cert_rotation):
    cert_rotation.risk_ceiling = "low"
    cert_rotation.save()
    # No rollback plan and a recreate deployment push it past low.
    standard_release.rollback_plan = ""
    standard_release.planned_strategy = "recreate"

    decision = change_types.standard_change_fit(standard_release)

    assert codes(decision, passed=False) == ["risk_within_ceiling"]
    assert decision.failed[0].data["ceiling"] == "low"
    assert "above the model's ceiling" in decision.failed[0].message


# --- emergency retrospectives ----------------------------------------------------------------


def test_a_retrospective_is_due_within_the_configured_days(draft_release, carol, settings):
    settings.EMERGENCY_RETROSPECTIVE_DAYS = 3
    before = timezone.now()

    retro = change_types.open_retrospective(draft_release, carol)

    assert before + timedelta(days=3) <= retro.due_at <= timezone.now() + timedelta(days=3)
    assert retro.completed_at is None
    assert retro.history.first().history_user == carol


def test_opening_a_retrospective_twice_returns_the_same_one(draft_release, carol, erin):
    first = change_types.open_retrospective(draft_release, carol)

    again = change_types.open_retrospective(draft_release, erin)

    assert again.pk == first.pk
    assert again.due_at == first.due_at
    assert Retrospective.objects.count() == 1


def test_completing_a_retrospective_records_findings_and_logs_the_decision(draft_release, alice):
    retro = change_types.open_retrospective(draft_release, alice)

    change_types.complete_retrospective(
        retro, alice, "The hotfix skipped staging.", "Add a smoke test\n\nRehearse rollback"
    )

    retro.refresh_from_db()
    assert retro.completed_by == alice
    assert retro.findings == "The hotfix skipped staging."
    entry = DecisionRecord.objects.get()
    assert (entry.kind, entry.outcome, entry.release_key) == (
        "retrospective",
        "completed",
        draft_release.key,
    )
    assert entry.data["actions"] == ["Add a smoke test", "Rehearse rollback"]


def test_a_late_retrospective_says_so(draft_release, alice):
    retro = change_types.open_retrospective(draft_release, alice)
    Retrospective.objects.filter(pk=retro.pk).update(due_at=timezone.now() - timedelta(days=1))

    change_types.complete_retrospective(retro, alice, "Late, but done.")

    assert DecisionRecord.objects.get().outcome == "completed_late"


def test_a_retrospective_without_findings_is_refused_and_nothing_is_written(draft_release, alice):
    retro = change_types.open_retrospective(draft_release, alice)

    with pytest.raises(InvalidRetrospective) as excinfo:
        change_types.complete_retrospective(retro, alice, "   ")

    assert excinfo.value.reasons[0].data["field"] == "findings"
    retro.refresh_from_db()
    assert retro.completed_at is None
    assert not DecisionRecord.objects.exists()


def test_completing_twice_is_refused(draft_release, alice, carol):
    retro = change_types.open_retrospective(draft_release, alice)
    change_types.complete_retrospective(retro, alice, "Done.")

    with pytest.raises(DomainError, match="was completed"):
        change_types.complete_retrospective(retro, carol, "Again.")

    assert DecisionRecord.objects.count() == 1


@pytest.mark.parametrize("persona", ["dave", "bob", "audrey", "olivia"])
def test_only_release_managers_and_cab_members_complete_retrospectives(
    draft_release, alice, persona, request
):
    retro = change_types.open_retrospective(draft_release, alice)

    with pytest.raises(NotPermitted):
        change_types.complete_retrospective(retro, request.getfixturevalue(persona), "Done.")


def test_overdue_retrospectives_are_the_open_ones_past_their_due_date(dave, alice):
    late, on_time, done = (ReleaseFactory(author=dave, change_type="emergency") for _ in range(3))
    for release in (late, on_time, done):
        change_types.open_retrospective(release, alice)
    Retrospective.objects.filter(release__in=[late, done]).update(
        due_at=timezone.now() - timedelta(hours=1)
    )
    change_types.complete_retrospective(done.retrospective, alice, "Done.")

    overdue = list(change_types.overdue_retrospectives())

    assert [r.release for r in overdue] == [late]


# --- the report ------------------------------------------------------------------------------


def _created(release, when):
    Release.objects.filter(pk=release.pk).update(created=when)


def test_the_report_counts_releases_by_type_outcome_and_month(
    dave, payments, move_to, draft_release, django_assert_max_num_queries
):
    march = datetime(2025, 3, 10, tzinfo=UTC)
    april = datetime(2025, 4, 2, tzinfo=UTC)
    move_to("deployed")
    _created(draft_release, march)
    for change_type, when in [("emergency", march), ("emergency", april), ("standard", april)]:
        _created(ReleaseFactory(author=dave, change_type=change_type), when)
    _created(ReleaseFactory(author=dave), datetime(2025, 6, 1, tzinfo=UTC))  # outside

    with django_assert_max_num_queries(2):
        report = change_types.report_by_type(
            since=datetime(2025, 3, 1, tzinfo=UTC).date(), until=datetime(2025, 5, 1, tzinfo=UTC)
        )

    by_type = {row["change_type"]: row for row in report["by_type"]}
    assert report["total"] == 4
    assert [by_type[t]["total"] for t in ("standard", "normal", "emergency")] == [1, 1, 2]
    assert by_type["normal"]["deployed"] == 1
    assert by_type["emergency"]["in_flight"] == 2
    assert report["emergency_share"] == 0.5
    assert report["by_month"] == [
        {"month": "2025-03", "standard": 0, "normal": 1, "emergency": 1, "total": 2},
        {"month": "2025-04", "standard": 1, "normal": 0, "emergency": 1, "total": 2},
    ]


def test_the_report_narrows_to_a_team_or_service(dave, payments, draft_release):
    other = ServiceFactory(slug="search", team=TeamFactory(slug="discovery"))
    ReleaseFactory(author=dave, services=[(other, "1.0.0")], change_type="emergency")

    assert change_types.report_by_type(team=payments.team)["total"] == 1
    assert change_types.report_by_type(service=other)["by_type"][2]["total"] == 1
    assert change_types.report_by_type()["total"] == 2


def test_an_empty_report_has_zero_rows_not_errors(db):
    report = change_types.report_by_type()

    assert report["total"] == 0
    assert [row["total"] for row in report["by_type"]] == [0, 0, 0]
    assert report["by_month"] == []
