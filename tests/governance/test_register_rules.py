"""The register's rules: who writes, status changes, acceptance in the decision log, export,
and the notice to service management when known errors reach production."""

import csv
import io

import pytest

from governance import register
from governance.choices import DecisionKind, RegisterKind, RegisterStatus
from governance.models import DecisionRecord, RegisterEntry
from releasemgr.decisions import IllegalTransition, NotPermitted
from releasemgr.models import Notification
from tests.factories import UserFactory
from tests.governance.register_support import known_error, risk


def test_a_developer_records_a_known_error_on_a_release_and_owns_it(dave, draft_release):
    entry = known_error(dave, release=draft_release)

    assert entry.owner == dave
    assert entry.status == RegisterStatus.OPEN
    record = entry.history.get()
    assert record.history_user == dave
    assert record.history_change_reason == "recorded"


def test_an_entry_needs_a_release_or_a_service_and_nothing_is_written(dave):
    with pytest.raises(register.InvalidEntry) as exc:
        known_error(dave)

    assert "release, a service, or both" in exc.value.message
    assert not RegisterEntry.objects.exists()


def test_an_entry_needs_a_title_and_a_description(dave, payments):
    with pytest.raises(register.InvalidEntry) as exc:
        register.create(dave, kind=RegisterKind.RISK, service=payments, title="", description="")

    fields = {r.data["field"] for r in exc.value.reasons}
    assert {"title", "description"} <= fields
    assert not RegisterEntry.objects.exists()


@pytest.mark.parametrize("persona", ["bob", "carol", "paula", "audrey", "nobody"])
def test_roles_without_the_register_cannot_record(request, persona, payments):
    user = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        known_error(user, service=payments)

    assert not RegisterEntry.objects.exists()


def test_mitigating_needs_a_note_that_becomes_the_history_reason(dave, payments):
    entry = known_error(dave, service=payments)

    with pytest.raises(register.InvalidEntry):
        register.change_status(entry, dave, RegisterStatus.MITIGATED, "  ")
    changed = register.change_status(entry, dave, RegisterStatus.MITIGATED, "feature flag off")

    assert changed.status == RegisterStatus.MITIGATED
    assert changed.history.first().history_change_reason == "mitigated: feature flag off"


def test_a_developer_cannot_accept_a_risk(dave, payments):
    entry = risk(dave, service=payments)

    with pytest.raises(NotPermitted) as exc:
        register.change_status(entry, dave, RegisterStatus.ACCEPTED, "we live with it")

    assert "accept residual risk" in exc.value.message
    entry.refresh_from_db()
    assert entry.status == RegisterStatus.OPEN
    assert not DecisionRecord.objects.exists()


def test_a_compliance_officer_accepts_a_risk_and_the_decision_is_logged(dave, olivia, payments):
    entry = risk(dave, service=payments)

    register.change_status(entry, olivia, RegisterStatus.ACCEPTED, "Runbook RB-17 covers it")

    record = DecisionRecord.objects.get()
    assert record.kind == DecisionKind.RISK_ACCEPTANCE
    assert record.actor == olivia
    assert record.subject == f"register-entry:{entry.pk}"
    assert "Runbook RB-17" in record.summary


def test_a_closed_entry_cannot_change_again(alice, payments):
    entry = risk(alice, service=payments)
    register.change_status(entry, alice, RegisterStatus.CLOSED, "migration done")

    with pytest.raises(IllegalTransition):
        register.change_status(entry, alice, RegisterStatus.OPEN, "again")
    with pytest.raises(IllegalTransition):
        register.update(entry, alice, title="changed")

    entry.refresh_from_db()
    assert entry.status == RegisterStatus.CLOSED
    assert entry.title == "Vault migration may not roll back"


def test_the_export_lists_open_items_with_their_workarounds(alice, draft_release, payments):
    shipped = known_error(alice, release=draft_release, service=payments)
    closed = risk(alice, service=payments)
    register.change_status(closed, alice, RegisterStatus.CLOSED, "gone")

    rows = list(csv.DictReader(io.StringIO(register.export_csv(register.open_entries()))))

    assert [int(r["id"]) for r in rows] == [shipped.pk]
    assert rows[0]["release"] == draft_release.key
    assert rows[0]["service"] == "payments-api"
    assert rows[0]["team"] == "payments"
    assert rows[0]["workaround"] == "Run it from the replica."
    assert rows[0]["owner"] == "alice"


# --- notice to service management on a production deployment ------------------------------


@pytest.fixture
def service_owner(payments):
    owner = UserFactory(username="sam")
    payments.owners.add(owner)
    return owner


def test_deploying_a_release_with_a_known_error_to_production_notifies_once(
    move_to, draft_release, dave, alice, service_owner, django_capture_on_commit_callbacks
):
    entry = known_error(dave, release=draft_release)

    with django_capture_on_commit_callbacks(execute=True):
        move_to("deployed")

    notified = set(Notification.objects.values_list("user__username", flat=True))
    # The release owner (dave), the service owner and every release manager.
    assert notified == {"dave", "sam", "alice"}
    notice = Notification.objects.get(user=alice)
    assert notice.kind == register.NOTIFY_KIND
    assert entry.title in notice.message
    assert notice.link.endswith("#register")
    assert register.notify_known_errors(draft_release) == 0
    assert Notification.objects.count() == 3


def test_no_notice_for_a_release_without_known_errors(
    move_to, draft_release, dave, alice, service_owner, django_capture_on_commit_callbacks
):
    risk(dave, release=draft_release)
    closed = known_error(dave, release=draft_release)
    register.change_status(closed, dave, RegisterStatus.CLOSED, "fixed before release")

    with django_capture_on_commit_callbacks(execute=True):
        move_to("deployed")

    assert not Notification.objects.filter(kind=register.NOTIFY_KIND).exists()


def test_no_notice_before_production(
    move_to, draft_release, dave, alice, service_owner, django_capture_on_commit_callbacks
):
    known_error(dave, release=draft_release)

    with django_capture_on_commit_callbacks(execute=True):
        move_to("deploying")

    assert not Notification.objects.filter(kind=register.NOTIFY_KIND).exists()
