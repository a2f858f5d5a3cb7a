"""Config drift: diff, expected configuration, idempotent comparison, reconciliation, secrets."""

import pytest

from metrics import drift
from metrics.models import ConfigBaseline, ConfigSnapshot, DriftItem
from releasemgr.decisions import IllegalTransition
from releasemgr.redaction import MASK
from releases import packaging
from releases.models import ConfigSet

PLANTED = "hunter2-super-secret"


@pytest.fixture
def staging(environments):
    return environments["staging"]


@pytest.fixture
def config_set(dave, payments, staging):
    return packaging.save_config_set(
        dave,
        service=payments,
        environment=staging,
        version="1",
        values={"db_host": "db.staging", "replicas": 2, "db_password": "vault:pay/db"},
    )


def test_diff_names_keys_added_removed_and_changed_with_nested_keys_flattened():
    d = drift.diff({"a": 1, "b": 2, "n": {"x": 1}}, {"b": 3, "c": 4, "n": {"x": 1, "y": 2}})
    assert d.removed == {"a": 1}
    assert d.added == {"c": 4, "n.y": 2}
    assert d.changed == {"b": (2, 3)}
    assert d.same == {"n.x": 1}
    assert [r["status"] for r in d.rows()] == ["removed", "changed", "added", "same", "added"]


def test_a_value_spelled_as_text_by_an_agent_is_not_drift():
    result = drift.diff(
        {"replicas": 2, "ratio": 0.5, "debug": False, "name": "shop"},
        {"replicas": "2", "ratio": "0.50", "debug": "false", "name": "shop "},
    )
    assert result.changed == {}
    # A different value is still a difference, whatever its spelling.
    assert drift.diff({"replicas": 2}, {"replicas": "3"}).changed == {"replicas": (2, "3")}
    assert drift.diff({"debug": False}, {"debug": "yes"}).changed == {"debug": (False, "yes")}


def test_values_that_are_not_an_object_or_nested_too_deep_are_refused():
    assert drift.values_errors([1, 2])
    assert drift.values_errors("x=1")
    deep = {"a": {"b": {"c": {"d": {"e": 1}}}}}
    assert any("nested too deep" in e for e in drift.values_errors(deep))
    assert drift.values_errors({"a": {"b": {"c": {"d": 1}}}}) == []


def test_without_any_expected_configuration_a_snapshot_opens_no_drift(bob, payments, staging):
    result = drift.record_snapshot(bob, payments, staging, {"replicas": 3})
    assert result.expected.source == "none"
    assert "Record a configuration set" in result.expected.message
    assert DriftItem.objects.count() == 0
    assert ConfigSnapshot.objects.count() == 1


def test_a_snapshot_is_compared_with_the_latest_configuration_set(
    bob, payments, staging, config_set
):
    result = drift.record_snapshot(
        bob, payments, staging, {"db_host": "db.other", "replicas": 2, "debug": True}
    )
    assert result.expected.source == "config_set"
    items = {i.key: i for i in DriftItem.objects.all()}
    assert set(items) == {"db_host", "db_password", "debug"}
    assert items["db_host"].kind == "changed" and items["db_host"].actual == "db.other"
    assert items["db_password"].kind == "missing"
    assert items["debug"].kind == "unexpected"
    assert all(i.status == "open" for i in items.values())


def test_reposting_the_same_snapshot_does_not_duplicate_open_items(
    bob, payments, staging, config_set
):
    values = {"db_host": "db.other", "replicas": 2, "db_password": "vault:pay/db"}
    drift.record_snapshot(bob, payments, staging, values)
    second = drift.record_snapshot(bob, payments, staging, values)
    assert DriftItem.objects.count() == 1
    assert len(second.unchanged) == 1 and not second.opened
    assert DriftItem.objects.get().history.count() == 1


def test_a_difference_that_disappears_is_marked_fixed(bob, payments, staging, config_set):
    drift.record_snapshot(bob, payments, staging, {"db_host": "db.other", "replicas": 2})
    result = drift.record_snapshot(
        bob,
        payments,
        staging,
        {"db_host": "db.staging", "replicas": 2, "db_password": "vault:pay/db"},
    )
    assert {i.key for i in result.fixed} == {"db_host", "db_password"}
    assert set(DriftItem.objects.values_list("status", flat=True)) == {"fixed"}


def test_a_changed_difference_updates_the_open_item_with_history(
    bob, payments, staging, config_set
):
    base = {"replicas": 2, "db_password": "vault:pay/db"}
    drift.record_snapshot(bob, payments, staging, {**base, "db_host": "a"})
    drift.record_snapshot(bob, payments, staging, {**base, "db_host": "b"})
    item = DriftItem.objects.get()
    assert item.actual == "b"
    assert item.history.count() == 2


def test_a_planted_secret_is_never_stored(bob, payments, staging, config_set):
    drift.record_snapshot(
        bob,
        payments,
        staging,
        {
            "db_host": "db.staging",
            "replicas": 2,
            "db_password": PLANTED,
            "url": f"postgres://u:{PLANTED}@h/db",
        },
        source=f"agent token={PLANTED}",
    )
    snapshot = ConfigSnapshot.objects.get()
    assert PLANTED not in str(snapshot.values) and PLANTED not in snapshot.source
    assert snapshot.values["db_password"] == MASK
    stored = str(list(DriftItem.objects.values_list("expected", "actual")))
    assert PLANTED not in stored
    # The unexpected URL is drift, shown with its password redacted.
    assert DriftItem.objects.get(key="url").actual == f"postgres://u:{MASK}@h/db"


def test_a_resolved_secret_behind_a_reference_is_not_drift(bob, payments, staging, config_set):
    result = drift.record_snapshot(
        bob, payments, staging, {"db_host": "db.staging", "replicas": 2, "db_password": MASK}
    )
    assert result.open_count == 0


def test_the_running_release_configuration_set_is_expected(
    move_to, bob, payments, environments, dave
):
    production = environments["production"]
    packaging.save_config_set(
        dave, service=payments, environment=production, version="1", values={"replicas": 4}
    )
    packaging.save_config_set(
        dave, service=payments, environment=production, version="1.4.2", values={"replicas": 6}
    )
    release = move_to("deployed")
    expected = drift.expected_configuration(payments, production)
    assert expected.source == "release" and expected.release == release
    assert expected.values == {"replicas": 6}
    assert release.key in expected.message


def test_accepting_an_item_makes_it_the_baseline_and_it_stays_accepted(
    alice, bob, payments, staging, config_set
):
    values = {"db_host": "db.new", "replicas": 2, "db_password": "vault:pay/db"}
    drift.record_snapshot(bob, payments, staging, values)
    item = DriftItem.objects.get()
    drift.reconcile(item, alice, "accept", "moved to the new cluster")
    item.refresh_from_db()
    assert item.status == "accepted_as_baseline" and item.decided_by == alice
    assert item.history.first().history_change_reason.startswith("accepted as baseline")
    baseline = ConfigBaseline.objects.get()
    assert baseline.values["db_host"] == "db.new"
    assert drift.expected_configuration(payments, staging).source == "baseline"
    again = drift.record_snapshot(bob, payments, staging, values)
    assert again.open_count == 0
    assert DriftItem.objects.count() == 1


def test_marking_to_fix_keeps_the_item_until_the_difference_is_gone(
    alice, bob, payments, staging, config_set
):
    drift.record_snapshot(
        bob, payments, staging, {"db_host": "x", "replicas": 2, "db_password": "vault:pay/db"}
    )
    item = drift.reconcile(DriftItem.objects.get(), alice, "fix", "revert by hand")
    assert item.status == "to_fix"
    drift.record_snapshot(
        bob, payments, staging, {"db_host": "x", "replicas": 2, "db_password": "vault:pay/db"}
    )
    assert DriftItem.objects.get().status == "to_fix"
    drift.record_snapshot(
        bob,
        payments,
        staging,
        {"db_host": "db.staging", "replicas": 2, "db_password": "vault:pay/db"},
    )
    assert DriftItem.objects.get().status == "fixed"


def test_reconcile_needs_a_reason_and_an_open_item(alice, bob, payments, staging, config_set):
    drift.record_snapshot(
        bob, payments, staging, {"db_host": "x", "replicas": 2, "db_password": "vault:pay/db"}
    )
    item = DriftItem.objects.get()
    with pytest.raises(drift.InvalidValues):
        drift.reconcile(item, alice, "accept", "  ")
    with pytest.raises(drift.InvalidValues):
        drift.reconcile(item, alice, "ignore", "why")
    drift.reconcile(item, alice, "accept", "fine")
    with pytest.raises(IllegalTransition):
        drift.reconcile(item, alice, "fix", "changed my mind")
    assert ConfigSet.objects.count() == 1


def test_environment_diff_shows_latest_snapshots_side_by_side(bob, payments, environments):
    drift.record_snapshot(bob, payments, environments["staging"], {"replicas": 1, "mode": "old"})
    drift.record_snapshot(bob, payments, environments["staging"], {"replicas": 2, "mode": "a"})
    drift.record_snapshot(bob, payments, environments["production"], {"replicas": 6, "mode": "a"})
    found = drift.environment_diff(payments, environments["staging"], environments["production"])
    assert found["diff"].changed == {"replicas": (2, 6)}
    assert found["diff"].same == {"mode": "a"}
